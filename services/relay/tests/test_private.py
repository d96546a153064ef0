"""private.py with the real hub reading the in-memory bus: a user's private events reach that user's
streams only, live and replayed, and the private part ends when the token expires."""

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scrollr_relay.accounts.tickets import TicketGrant
from scrollr_relay.bus.cursor import Cursor, StreamId
from scrollr_relay.bus.event import Envelope, StoredEvent
from scrollr_relay.bus.memory import MemoryBus
from scrollr_relay.fanout import handover
from scrollr_relay.fanout.hub import Hub
from scrollr_relay.fanout.private import CLOSE_TOKEN_EXPIRED, private_frame, private_runs
from scrollr_relay.fanout.subscriber import Subscriber

from tests.support.sse import Parser

LONG = 3600.0


class Recorder:
    """A sink that records what it is sent (stands in for a client's socket)."""

    writable = True
    on_writable = None

    def __init__(self) -> None:
        self.parser = Parser()
        self.messages: list = []

    def write(self, data: bytes) -> str | None:
        self.messages += self.parser.feed(data)
        return None

    async def finish(self, reason: str) -> None:
        pass

    def watch_disconnect(self, on_gone) -> bool:
        return True

    def detach(self) -> bool:
        return False

    def preferences(self) -> list[dict]:
        return [m.json() for m in self.messages if m.event == "preferences"]


def preferences_change(sub: str, version: int, *, action: str = "update") -> Envelope:
    record = {
        "sub": sub,
        "symbols": ["AAPL"],
        "leagues": None,
        "favourite_teams": {},
        "update_speed": "live",
        "display": {},
        "feed_bar": {"owner": sub},  # who the row belongs to, for the checks below
        "version": version,
        "updated_at": "2026-12-05T10:00:00.000000Z",
    }
    data = json.dumps({"table": "user_preferences", "action": action, "record": record}).encode()
    return Envelope(topic="user_preferences", dedupe_key=f"{sub}:{version}:{action}", data=data)


def trade(n: int) -> Envelope:
    data = json.dumps({"table": "trades", "action": "update", "record": {"id": 1, "symbol": "AAPL", "n": n}})
    return Envelope(topic="trades", dedupe_key=f"t{n}", data=data.encode())


class WatchedBus(MemoryBus):
    """The in-memory bus, noting how far the hub's reader has waited: only the reader waits, and it
    waits after a position once it has fanned out every event up to it."""

    waited: StreamId | None = None

    async def wait_after(self, position: StreamId, timeout_seconds: float) -> None:
        self.waited = position if self.waited is None else max(self.waited, position)
        await super().wait_after(position, timeout_seconds)


async def caught_up(hub: Hub, bus: MemoryBus) -> None:
    assert isinstance(bus, WatchedBus)
    head = await bus.head()
    async with asyncio.timeout(5):
        # The hub has no event for its position: polled, within the timeout.
        while bus.waited is None or bus.waited < head.position:  # noqa: ASYNC110
            await asyncio.sleep(0.001)


@contextlib.asynccontextmanager
async def running_hub(maxlen: int = 1000) -> AsyncIterator[tuple[MemoryBus, Hub]]:
    """The hub reading an in-memory bus, caught up (its reader starts from the head: nothing may be
    published before)."""
    bus = WatchedBus(maxlen=maxlen, dedupe_window_seconds=60)
    hub = Hub(bus, heartbeat_seconds=60)
    await hub.start()
    await caught_up(hub, bus)
    try:
        yield bus, hub
    finally:
        await hub.stop()


async def open_stream(hub: Hub, bus: MemoryBus, sub: str | None, cursor: Cursor | None = None) -> Recorder:
    """A stream's hand-over as serve/stream.py does it: register, replay, live."""
    sink = Recorder()
    subscriber = Subscriber(sink, filter=None)
    resuming = handover.Handover(subscriber)
    hub.add(subscriber)
    part = hub.private.add(subscriber, TicketGrant(sub, time.time() + LONG)) if sub is not None else None
    resuming.go_live(
        await handover.replay(hub, bus, subscriber, cursor, part) if cursor is not None else None
    )
    return sink


def test_a_private_frame_names_its_user_and_carries_the_preferences():
    bus_event = StoredEvent(StreamId(5, 0), "user_preferences", preferences_change("alice", 3).data)
    sub, frame = private_frame("ep", bus_event)
    assert sub == "alice"
    assert frame.startswith(b"id: ep-5-0\nevent: preferences\ndata: ")
    body = json.loads(frame.split(b"data: ")[1])
    assert body["version"] == 3 and body["preferences"]["symbols"] == ["AAPL"]
    deleted = StoredEvent(
        StreamId(6, 0), "user_preferences", preferences_change("alice", 4, action="delete").data
    )
    assert json.loads(private_frame("ep", deleted)[1].split(b"data: ")[1]) == {
        "version": None,
        "preferences": None,
    }
    assert private_frame("ep", StoredEvent(StreamId(7, 0), "trades", trade(1).data)) is None


async def test_each_user_gets_their_own_events_and_public_streams_none():
    async with running_hub() as (bus, hub):
        alice, bob, public = [await open_stream(hub, bus, s) for s in ("alice", "bob", None)]
        await bus.publish([preferences_change("alice", 1), trade(1), preferences_change("bob", 1)])
        await caught_up(hub, bus)
        assert [p["preferences"]["feedBar"]["owner"] for p in alice.preferences()] == ["alice"]
        assert [p["preferences"]["feedBar"]["owner"] for p in bob.preferences()] == ["bob"]
        assert public.preferences() == []
        assert [m.event for m in public.messages] == ["change"]  # the trade, and nothing private


async def test_a_resumed_stream_replays_its_users_private_events_after_the_cursor():
    async with running_hub() as (bus, hub):
        cursor = await bus.head()
        await bus.publish([preferences_change("alice", 1), preferences_change("bob", 1), trade(1)])
        await bus.publish([preferences_change("alice", 2)])
        await caught_up(hub, bus)
        resumed = await open_stream(hub, bus, "alice", cursor)
        assert [p["version"] for p in resumed.preferences()] == [1, 2]
        # in stream order among the public events: alice 1, the trade, alice 2
        assert [m.event for m in resumed.messages] == ["preferences", "change", "preferences"]
        await bus.publish([preferences_change("alice", 3)])
        await caught_up(hub, bus)
        assert [p["version"] for p in resumed.preferences()] == [1, 2, 3]  # live after the replay, once


async def test_the_stream_ends_when_the_token_expires():
    async with running_hub() as (bus, hub):
        sink = Recorder()
        subscriber = Subscriber(sink, filter=None)
        hub.add(subscriber)
        hub.private.add(subscriber, TicketGrant("alice", time.time() + 0.2))
        assert hub.private.streams_of("alice") == 1
        async with asyncio.timeout(5):
            assert await subscriber.done == CLOSE_TOKEN_EXPIRED
        assert [m.event for m in sink.messages] == ["token_expired"]
        assert hub.private.streams_of("alice") == 0
        await bus.publish([preferences_change("alice", 1)])
        await caught_up(hub, bus)
        assert sink.preferences() == []  # nothing private after the expiry


USERS = [f"user-{i}" for i in range(8)]
step = st.one_of(
    st.tuples(st.just("write"), st.sampled_from(USERS)),
    st.tuples(st.just("trade"), st.none()),
    st.tuples(st.just("open"), st.sampled_from([*USERS, None])),
    st.tuples(st.just("resume"), st.sampled_from(USERS)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, min_size=1, max_size=60))
def test_no_stream_ever_receives_another_users_private_event(steps):
    asyncio.run(_run(steps))


async def _run(steps):
    async with running_hub(maxlen=10_000) as (bus, hub):
        streams: list[tuple[str | None, Recorder, int]] = []  # (user, sink, first version it must see)
        versions = dict.fromkeys(USERS, 0)
        written: dict[str, list[int]] = {u: [] for u in USERS}
        heads: list[tuple[Cursor, dict[str, int]]] = [(await bus.head(), dict(versions))]
        for n, (kind, user) in enumerate(steps):
            if kind == "write":
                versions[user] += 1
                written[user].append(versions[user])
                await bus.publish([preferences_change(user, versions[user])])
                heads.append((await bus.head(), dict(versions)))
            elif kind == "trade":
                await bus.publish([trade(n)])
            elif kind == "open":
                await caught_up(hub, bus)
                streams.append((user, await open_stream(hub, bus, user), versions[user] if user else 0))
            else:  # resume from an earlier point of the stream
                cursor, seen = heads[n % len(heads)]
                streams.append((user, await open_stream(hub, bus, user, cursor), seen[user]))
        await caught_up(hub, bus)
        for user, sink, after in streams:
            got = sink.preferences()
            if user is None:
                assert got == []
                continue
            assert {p["preferences"]["feedBar"]["owner"] for p in got} <= {user}
            # ...and every one of the user's writes after the stream's start, once, in order
            assert [p["version"] for p in got] == [v for v in written[user] if v > after]


async def test_a_signed_in_stream_from_another_history_gets_a_reset_then_its_private_events():
    async with running_hub() as (bus, hub):
        stale = Cursor("another-history", StreamId(1, 0))
        sink = await open_stream(hub, bus, "alice", stale)
        assert [m.event for m in sink.messages] == ["reset"]
        await bus.publish([preferences_change("alice", 1)])
        await caught_up(hub, bus)
        assert [m.event for m in sink.messages] == ["reset", "preferences"]


async def test_after_a_reset_a_private_event_of_the_new_history_is_not_skipped_as_replayed():
    """The replay wrote up to a position the hub's reader hasn't reached when the history starts over
    at 0-0: the new history's private events are lower, yet none of them was replayed."""
    hub = Hub(MemoryBus(maxlen=10, dedupe_window_seconds=60), heartbeat_seconds=60)
    sink = Recorder()
    subscriber = Subscriber(sink, filter=None)
    resuming = handover.Handover(subscriber)
    hub.add(subscriber)
    hub.private.add(subscriber, TicketGrant("alice", time.time() + LONG))
    resuming.go_live(StreamId(1_800_000_000_000, 5))  # the hub's reader is still behind the replay
    hub.reset_all(Cursor("new-history", StreamId(0, 0)), "history_lost")
    change = StoredEvent(StreamId(1, 0), "user_preferences", preferences_change("alice", 1).data)
    hub.deliver("new-history", [change])
    assert [m.event for m in sink.messages] == ["reset", "preferences"]


async def test_events_reach_a_signed_in_stream_in_stream_order_live_and_held():
    async with running_hub() as (bus, hub):
        live = await open_stream(hub, bus, "alice")
        replaying_sink = Recorder()
        replaying = Subscriber(replaying_sink, filter=None)
        resuming = handover.Handover(replaying)  # registered, not yet live: holds
        hub.add(replaying)
        hub.private.add(replaying, TicketGrant("alice", time.time() + LONG))
        batch = [preferences_change("alice", 1), trade(1), preferences_change("alice", 2), trade(2)]
        await bus.publish(batch)
        await caught_up(hub, bus)
        resuming.go_live(None)
        in_order = ["preferences", "change", "preferences", "change"]
        assert [m.event for m in live.messages] == in_order
        assert [m.event for m in replaying_sink.messages] == in_order
        ids = [m.id for m in live.messages]
        assert ids == sorted(ids, key=lambda i: StreamId.parse(i.split("-", 1)[1]))


def test_private_runs_cut_a_batch_where_privacy_changes():
    events = [
        StoredEvent(StreamId(i, 0), t, b"{}") for i, t in enumerate(["a", "b", "user_preferences", "c"])
    ]
    assert [[e.topic for e in run] for run in private_runs(events)] == [
        ["a", "b"],
        ["user_preferences"],
        ["c"],
    ]
