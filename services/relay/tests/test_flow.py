"""Flow control of one subscriber, in process, over a sink standing in for a socket whose room the
test decides: bytes wait while it is full, leave in pieces as it drains, conflate on a link that
can't keep up, and a client that takes nothing is still cut off at its bound."""

import asyncio
import json
import time
import zlib

import pytest
from scrollr_relay.bus.event import Envelope
from scrollr_relay.bus.memory import MemoryBus
from scrollr_relay.fanout import handover
from scrollr_relay.fanout.filters import parse_filter
from scrollr_relay.fanout.hub import Hub, encode_frames
from scrollr_relay.fanout.sse import preamble
from scrollr_relay.fanout.subscriber import CLOSE_SLOW, PIECE_BYTES, Subscriber

from services.relay.tests.test_conflation import truncate_data


class Link:
    """A sink whose every write fills it, until the test drains it (a saturated socket)."""

    def __init__(self) -> None:
        self.writable = True
        self.on_writable = None
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> str | None:
        self.writes.append(data)
        self.writable = False
        return None

    def drain(self) -> None:
        self.writable = True
        assert self.on_writable is not None
        self.on_writable()

    def received(self) -> list[dict]:
        text = b"".join(self.writes).decode()
        return [json.loads(line[6:]) for line in text.split("\n") if line.startswith('data: {"table')]

    async def finish(self, reason: str) -> None:
        pass


def trade(symbol: str, price: int) -> Envelope:
    data = {
        "table": "trades",
        "schema": "public",
        "action": "update",
        "record": {"id": symbol, "symbol": symbol, "price": str(price), "pad": "x" * 500},
        "changes": {"price": "0"},
        "pks": [symbol],
        "commit_lsn": price,
        "commit_idx": 0,
        "commit_timestamp": None,
    }
    return Envelope(topic="trades", dedupe_key=f"{symbol}-{price}", data=json.dumps(data).encode())


async def published(bus: MemoryBus, envelopes: list[Envelope]):
    start = await bus.head()
    await bus.publish(envelopes)
    return encode_frames(bus.epoch, await bus.read_after(start, 100_000))


async def test_while_the_link_is_full_frames_wait_and_leave_in_pieces_as_it_drains():
    bus = MemoryBus(maxlen=10_000, dedupe_window_seconds=60)
    link = Link()
    subscriber = Subscriber(link, filter=None)
    frames = await published(bus, [trade(f"S{n % 300}", n) for n in range(300)])
    subscriber.deliver(frames[:1])  # room: straight through, and now the link is full
    subscriber.deliver(frames[1:])
    assert len(link.writes) == 1
    while len(link.received()) < 300:
        link.drain()
    assert all(len(w) <= PIECE_BYTES + 1024 for w in link.writes)
    assert [r["commit_lsn"] for r in link.received()] == list(range(300))
    assert not subscriber.closed and not subscriber.conflating


async def test_a_link_that_cannot_keep_up_gets_each_rows_newest_value_and_ends_on_it():
    bus = MemoryBus(maxlen=10_000, dedupe_window_seconds=60)
    link = Link()
    subscriber = Subscriber(link, filter=None)
    subscriber.write(b": connected\n\n")  # the link is full from here
    subscriber.conflate()  # what waiting longer than CONFLATE_AFTER_SECONDS does
    for n in range(1000):  # the feed: 1,000 ticks of 4 rows between two drains
        subscriber.deliver(await published(bus, [trade("ABCD"[n % 4], n)]))
    link.drain()
    newest = {r["record"]["symbol"]: r["record"]["price"] for r in link.received()}
    assert newest == {"A": "996", "B": "997", "C": "998", "D": "999"}
    assert len(link.received()) == 4 and not subscriber.closed


async def test_a_client_that_takes_nothing_is_cut_off_once_the_feed_offered_it_its_bound():
    bus = MemoryBus(maxlen=10_000, dedupe_window_seconds=60)
    link = Link()
    subscriber = Subscriber(link, filter=None, limit=64 * 1024)
    subscriber.write(b": connected\n\n")
    offered = 0
    while not subscriber.closed:
        assert offered < 64 * 1024, "never cut off"
        (frame,) = await published(bus, [trade("A", offered)])  # one row: conflation keeps one
        subscriber.deliver([frame])
        offered += len(frame[2])
    assert subscriber.done.result() == CLOSE_SLOW
    assert 64 * 1024 < offered <= 64 * 1024 + 1024


async def test_a_client_whose_socket_takes_nothing_for_the_stall_time_is_stalled():
    link = Link()
    subscriber = Subscriber(link, filter=None)
    subscriber.write(b": connected\n\n")
    subscriber.write(b": ping\n\n")  # waits
    now = time.monotonic()
    assert not subscriber.stalled(now, 30)
    assert subscriber.stalled(now + 31, 30)
    link.drain()
    assert not subscriber.stalled(now + 31, 30)  # nothing waits any more


async def test_a_reset_makes_whatever_waits_moot():
    bus = MemoryBus(maxlen=10_000, dedupe_window_seconds=60)
    link = Link()
    subscriber = Subscriber(link, filter=None)
    subscriber.write(b": connected\n\n")
    subscriber.deliver(await published(bus, [trade("A", 1)]))
    subscriber.reset(b"event: reset\ndata: {}\n\n")
    link.drain()
    assert link.writes[-1] == b"event: reset\ndata: {}\n\n" and link.received() == []


def emptied(table: str, lsn: int) -> Envelope:
    data = truncate_data(table, lsn)
    return Envelope(topic=table, dedupe_key=f"truncate-{lsn}", data=json.dumps(data).encode())


def stream_events(body: bytes) -> list[tuple[str, dict]]:
    """(event name, data) of each event of a stream's bytes; comments and `retry:` left out."""
    found = []
    for block in body.decode().split("\n\n"):
        lines = dict(
            line.split(": ", 1) for line in block.split("\n") if line and not line.startswith((":", "retry"))
        )
        if "event" in lines:
            found.append((lines["event"], json.loads(lines["data"])))
    return found


@pytest.mark.parametrize("deflated", [False, True])
async def test_a_truncate_reaches_a_conflated_client_after_the_protocol_and_supersedes_what_waited(deflated):
    """Through the hub's own frames: the preamble's protocol event comes first; of the ticks that waited
    before the TRUNCATE none is sent, the TRUNCATE is, and the row's change after it follows it (deflated
    too)."""
    bus = MemoryBus(maxlen=10_000, dedupe_window_seconds=60)
    link = Link()
    subscriber = Subscriber(link, filter=parse_filter(b"symbols=A,B", 64), deflate=deflated)
    subscriber.open(preamble(3000, 5))  # the link is full from here
    subscriber.conflate()
    for envelope in [trade("A", 1), trade("B", 2), emptied("trades", 3), trade("A", 4)]:
        subscriber.deliver(await published(bus, [envelope]))
    link.drain()
    while not link.writable:  # the drain wrote more: let it through too, until nothing waits
        link.drain()
    body = b"".join(link.writes)
    if deflated:
        body = zlib.decompressobj().decompress(body)
    got = [(name, data.get("action"), data.get("commit_lsn")) for name, data in stream_events(body)]
    assert got == [
        ("protocol", None, None),
        ("heartbeat", None, None),
        ("truncate", "truncate", 3),
        ("change", "update", 4),
    ]


async def drain_while(link: Link, replay: asyncio.Task) -> None:
    while not replay.done():
        await asyncio.sleep(0)
        if not link.writable:
            link.drain()


async def test_a_backlog_the_link_carries_in_time_is_replayed_whole_in_pieces():
    bus = MemoryBus(maxlen=10_000, dedupe_window_seconds=60)
    hub = Hub(bus, heartbeat_seconds=60)
    start = await bus.head()
    await bus.publish([trade(f"S{n % 32}", n) for n in range(3000)])
    link = Link()
    subscriber = Subscriber(link, filter=None)
    resuming = handover.Handover(subscriber)
    replay = asyncio.create_task(handover.replay(hub, bus, subscriber, start))
    await drain_while(link, replay)
    resuming.go_live(replay.result())
    link.drain()
    assert [r["commit_lsn"] for r in link.received()] == list(range(3000))
    assert len(link.writes) > 10 and not subscriber.closed


async def test_a_backlog_the_link_cannot_carry_in_time_is_conflated_and_the_resume_stays_exact():
    bus = MemoryBus(maxlen=10_000, dedupe_window_seconds=60)
    hub = Hub(bus, heartbeat_seconds=60)
    start = await bus.head()
    await bus.publish([trade(f"S{n % 32}", n) for n in range(3000)])
    link = Link()  # never drained during the replay: nothing gets through in time
    subscriber = Subscriber(link, filter=None)
    resuming = handover.Handover(subscriber)
    end = await handover.replay(hub, bus, subscriber, start, exact_seconds=0.05)
    resuming.go_live(end)
    while not link.writable:
        link.drain()
    received = link.received()
    exact = [r["commit_lsn"] for r in received[:100]]  # the first piece went out as it was
    assert exact == list(range(100))
    rest = received[100:]
    assert {r["record"]["symbol"]: int(r["record"]["price"]) for r in rest} == {
        f"S{n % 32}": n for n in range(2968, 3000)
    }
    lsns = [r["commit_lsn"] for r in rest]
    assert lsns == sorted(lsns) and len(rest) == 32  # each row once, in the order of their ids
    assert not subscriber.closed


async def test_from_any_id_a_conflated_client_received_a_resume_is_exact():
    """After each id received, every row is as of that id, or has a later change a resume brings."""
    bus = MemoryBus(maxlen=10_000, dedupe_window_seconds=60)
    hub = Hub(bus, heartbeat_seconds=60)
    start = await bus.head()
    await bus.publish([trade(f"S{(n * 7) % 32}", n) for n in range(2000)])
    history = [json.loads(e.data) for e in await bus.read_after(start, 10_000)]
    link = Link()
    subscriber = Subscriber(link, filter=None)
    resuming = handover.Handover(subscriber)
    resuming.go_live(await handover.replay(hub, bus, subscriber, start, exact_seconds=0.0))
    while not link.writable:
        link.drain()
    seen: dict[str, int] = {}
    for change in link.received():
        seen[change["record"]["symbol"]] = change["commit_lsn"]
        upto = change["commit_lsn"]
        truth = {h["record"]["symbol"]: h["commit_lsn"] for h in history if h["commit_lsn"] <= upto}
        later = {h["record"]["symbol"] for h in history if h["commit_lsn"] > upto}
        assert all(seen.get(row) == lsn or row in later for row, lsn in truth.items())
    assert seen == {h["record"]["symbol"]: h["commit_lsn"] for h in history}
