"""A signed-in stream's private events on the per-client path of its public frames (subscriber.py):
through flow control and conflation in id order, never conflated away, and deflated for their
stream alone, never through the filter group's shared compressor."""

import asyncio
import time
import zlib

from scrollr_relay.accounts.tickets import TicketGrant
from scrollr_relay.fanout import handover
from scrollr_relay.fanout.deflate import ZLIB_HEADER
from scrollr_relay.fanout.subscriber import Subscriber

from services.relay.tests.test_flow import Link, trade
from services.relay.tests.test_hub import Recorder
from services.relay.tests.test_private import LONG, caught_up, preferences_change, running_hub
from tests.support.sse import Parser


def events(body: bytes) -> list[tuple[str, str]]:
    """(event, id) of each message in a stream's body."""
    return [(m.event, m.id) for m in Parser().feed(body)]


def position(event_id: str) -> tuple[int, int]:
    _, ms, seq = event_id.rsplit("-", 2)
    return int(ms), int(seq)


def assert_in_id_order(received: list[tuple[str, str]]) -> None:
    ids = [position(i) for _, i in received]
    assert ids == sorted(ids) and len(set(ids)) == len(ids), received


async def test_a_private_event_on_a_conflated_link_arrives_once_in_id_order_among_the_rows():
    async with running_hub() as (bus, hub):
        link = Link()  # every write fills it until the test drains it
        subscriber = Subscriber(link, filter=None)
        hub.add(subscriber)
        hub.private.add(subscriber, TicketGrant("alice", time.time() + LONG))
        await bus.publish([trade("A", 1)])  # written at once: the link is full from here on
        await bus.publish([trade("B", 2), trade("A", 3)])
        subscriber.conflate()  # as after waiting CONFLATE_AFTER_SECONDS
        await bus.publish([trade("B", 4), preferences_change("alice", 1), trade("A", 5)])
        await bus.publish([preferences_change("bob", 1), trade("A", 6), preferences_change("alice", 2)])
        await caught_up(hub, bus)
        while not link.writable:
            link.drain()
        received = events(b"".join(link.writes))
        assert_in_id_order(received)
        # Both of alice's events, none of bob's; rows conflated around them (B's 4 before the
        # first, A's merged 5-6 after it), each row ending on its newest price.
        assert [e for e, _ in received].count("preferences") == 2
        assert [r["record"]["price"] for r in link.received()][-1] == "6"
        assert len(received) < 8  # conflated: A's 5 and 6 went as one
        assert not subscriber.closed


async def test_a_signed_in_resume_paced_and_conflated_keeps_its_private_events_in_id_order():
    async with running_hub() as (bus, hub):
        cursor = await bus.head()
        for n in range(0, 60, 3):
            await bus.publish([trade("A", n), preferences_change("alice", n + 1), trade("B", n + 2)])
        await caught_up(hub, bus)
        link = Link()
        subscriber = Subscriber(link, filter=None)
        resuming = handover.Handover(subscriber)
        hub.add(subscriber)
        part = hub.private.add(subscriber, TicketGrant("alice", time.time() + LONG))
        replay = handover.replay(hub, bus, subscriber, cursor, part, exact_seconds=0.0)  # conflated at once
        resuming.go_live(await replay)
        while not link.writable:
            link.drain()
        received = events(b"".join(link.writes))
        assert_in_id_order(received)
        assert [e for e, _ in received].count("preferences") == 20  # never conflated away
        assert [e for e, _ in received].count("change") < 40  # the rows were


async def test_a_private_frame_with_deflate_reaches_only_its_user_and_both_streams_inflate():
    async with running_hub() as (bus, hub):
        sinks = {"alice": Recorder(), "bob": Recorder()}
        for sub, sink in sinks.items():  # one filter group (everything): one shared segment
            subscriber = Subscriber(sink, filter=None, deflate=True)
            hub.add(subscriber)
            hub.private.add(subscriber, TicketGrant(sub, time.time() + LONG))
            subscriber.open(b": connected\n\n")
        for n in range(0, 12, 3):  # each publish its own fan-out
            await bus.publish([trade("A", n)])
            await caught_up(hub, bus)
            await bus.publish([preferences_change("alice", n + 1)])
            await caught_up(hub, bus)
            await bus.publish([trade("B", n + 2)])
            await caught_up(hub, bus)
        bodies = {sub: b"".join(sink.bodies) for sub, sink in sinks.items()}
        assert all(body.startswith(ZLIB_HEADER) for body in bodies.values())
        plain = {sub: zlib.decompressobj().decompress(body) for sub, body in bodies.items()}
        alice, bob = events(plain["alice"]), events(plain["bob"])
        assert [e for e, _ in alice] == ["change", "preferences", "change"] * 4
        assert [e for e, _ in bob] == ["change", "change"] * 4  # none of alice's
        assert b"preferences" not in plain["bob"] and b'"owner":"alice"' in plain["alice"]
        # The group's shared run did carry bob's writes: deflate was shared, the private frame not.
        assert len(bodies["bob"]) < len(plain["bob"])


async def test_under_a_max_rate_a_private_event_goes_at_once_alone_and_with_the_next_round_after_rows():
    async with running_hub() as (bus, hub):
        sink = Recorder()
        subscriber = Subscriber(sink, filter=None, max_rate=5)  # a round every 200 ms at most
        hub.add(subscriber)
        hub.private.add(subscriber, TicketGrant("alice", time.time() + LONG))
        await bus.publish([preferences_change("alice", 1)])  # nothing waits: at once
        await caught_up(hub, bus)
        assert [e for e, _ in events(b"".join(sink.bodies))] == ["preferences"]
        for batch in ([trade("A", 1)], [trade("A", 2)], [preferences_change("alice", 2)]):
            await bus.publish(batch)  # A's 1 is the first round, A's 2 waits for the next
            await caught_up(hub, bus)
        assert [e for e, _ in events(b"".join(sink.bodies))] == ["preferences", "change"]  # behind A's 2
        async with asyncio.timeout(5):
            while len(events(b"".join(sink.bodies))) < 4:  # noqa: ASYNC110 (the round's timer)
                await asyncio.sleep(0.01)
        received = events(b"".join(sink.bodies))
        assert [e for e, _ in received] == ["preferences", "change", "change", "preferences"]
        assert_in_id_order(received)  # the private event after A's 2, which waited before it
