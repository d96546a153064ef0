"""One suite, both buses: they must keep the same semantics."""

import asyncio
import itertools
import time
import tracemalloc

import pytest
import redis as redis_client
from scrollr_relay.bus import HistoryGap
from scrollr_relay.bus.cursor import Cursor, StreamId
from scrollr_relay.bus.event import Envelope
from scrollr_relay.bus.memory import MemoryBus
from scrollr_relay.bus.redis import LINEAGE_SCRIPT, RedisBus
from scrollr_relay.redis_topology import redis_settings

_keys = itertools.count()
# The suite starts Redis servers of every topology (through the fixtures `make_bus` asks for).
pytestmark = pytest.mark.process


def env(n: int, topic: str = "trades") -> Envelope:
    return Envelope(topic=topic, dedupe_key=f"k{n}", data=b'{"n":%d}' % n)


def _redis_settings(request):
    """Settings for the topology of this run of the suite, its servers started on first use."""
    if request.param == "redis":
        return redis_settings({"REDIS_URL": request.getfixturevalue("redis_server").url})
    if request.param == "cluster":
        return redis_settings({"REDIS_URL": request.getfixturevalue("redis_cluster").url})
    return redis_settings(request.getfixturevalue("redis_sentinel").env())


@pytest.fixture(params=["memory", "redis", "cluster", "sentinel"])
def make_bus(request):
    def make(maxlen=1000, max_age_seconds=0, dedupe_window_seconds=60):
        if request.param == "memory":
            bus = MemoryBus(
                maxlen=maxlen, max_age_seconds=max_age_seconds, dedupe_window_seconds=dedupe_window_seconds
            )
        else:
            bus = RedisBus(
                _redis_settings(request),
                stream_key=f"test:bus:{next(_keys)}:{id(request)}",
                maxlen=maxlen,
                max_age_seconds=max_age_seconds,
                dedupe_window_seconds=dedupe_window_seconds,
            )
        return bus

    return make


async def test_events_are_read_back_in_order_after_a_cursor(make_bus):
    bus = make_bus()
    start = await bus.head()
    result = await bus.publish([env(1), env(2, "games"), env(3)])
    assert (result.published, result.duplicates) == (3, 0)
    events = await bus.read_after(start, 100)
    assert [e.data for e in events] == [b'{"n":1}', b'{"n":2}', b'{"n":3}']
    assert [e.topic for e in events] == ["trades", "games", "trades"]
    assert events[0].id < events[1].id < events[2].id
    assert result.head == Cursor(start.epoch, events[-1].id)
    assert await bus.read_after(Cursor(start.epoch, events[0].id), 1) == events[1:2]
    await bus.close()


async def test_a_repeated_dedupe_key_is_published_once(make_bus):
    bus = make_bus()
    start = await bus.head()
    first = await bus.publish([env(1), env(2)])
    again = await bus.publish([env(2), env(3), env(3)])
    assert (first.published, again.published, again.duplicates) == (2, 1, 2)
    assert [e.data for e in await bus.read_after(start, 10)] == [b'{"n":1}', b'{"n":2}', b'{"n":3}']
    await bus.close()


async def test_a_cursor_older_than_the_trimmed_history_is_a_gap(make_bus):
    bus = make_bus(maxlen=5)
    start = await bus.head()
    await bus.publish([env(n) for n in range(20)])
    with pytest.raises(HistoryGap) as gap:
        await bus.read_after(start, 100)
    assert gap.value.reason == "history_trimmed"
    head = await bus.head()
    assert await bus.read_after(head, 10) == []
    await bus.close()


async def test_the_newest_trimmed_event_still_resumes_without_gap(make_bus):
    bus = make_bus(maxlen=5)
    start = await bus.head()
    await bus.publish([env(n) for n in range(5)])
    first_five = await bus.read_after(start, 10)
    await bus.publish([env(n) for n in range(5, 10)])
    # The client saw event 4; events 5..9 are all still there.
    events = await bus.read_after(Cursor(start.epoch, first_five[-1].id), 10)
    assert [e.data for e in events] == [b'{"n":%d}' % n for n in range(5, 10)]
    await bus.close()


async def test_a_cursor_from_another_epoch_is_a_gap(make_bus):
    bus = make_bus()
    head = await bus.head()
    with pytest.raises(HistoryGap) as gap:
        await bus.read_after(Cursor("otherepoch", head.position), 10)
    assert gap.value.reason == "history_lost"
    await bus.close()


async def test_a_cursor_ahead_of_the_stream_is_a_gap(make_bus):
    bus = make_bus()
    head = await bus.head()
    with pytest.raises(HistoryGap) as gap:
        await bus.read_after(Cursor(head.epoch, StreamId(head.position.ms + 10**9, 0)), 10)
    assert gap.value.reason == "unknown_position"
    await bus.close()


async def test_events_older_than_the_age_limit_are_trimmed(make_bus):
    bus = make_bus(max_age_seconds=1)
    start = await bus.head()
    await bus.publish([env(1)])
    before = await bus.read_after(start, 10)
    # Wait until the clock has passed the age limit (a condition, not a guess at timing).
    while time.time() * 1000 <= before[0].id.ms + 1100:  # noqa: ASYNC110 - waiting on the clock itself
        await asyncio.sleep(0.05)
    await bus.publish([env(2)])
    with pytest.raises(HistoryGap):
        await bus.read_after(start, 10)
    await bus.close()


async def test_wait_after_returns_when_an_event_arrives(make_bus):
    bus = make_bus()
    head = await bus.head()
    waiter = asyncio.create_task(bus.wait_after(head.position, 10))
    await asyncio.sleep(0)
    assert not waiter.done()
    await bus.publish([env(1)])
    await asyncio.wait_for(waiter, 5)
    await bus.close()


def test_the_memory_bus_reads_far_back_without_copying_its_tail():
    """A read costs its own events: resuming from 10,000 back once rebuilt the whole tail per read."""
    bus = MemoryBus(maxlen=20_000, dedupe_window_seconds=60)
    start = asyncio.run(bus.head())
    asyncio.run(bus.publish([env(n) for n in range(10_000)]))
    tracemalloc.start()
    try:
        events = asyncio.run(bus.read_after(start, 100))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [e.data for e in events] == [b'{"n":%d}' % n for n in range(100)]
    assert peak < 40_000, f"{peak} bytes allocated to read 100 events"


@pytest.mark.parametrize(
    ("info", "lineage"),
    [
        ("# Replication\r\nrole:master\r\nmaster_replid:8f1c2d\r\nmaster_repl_offset:0\r\n", "8f1c2d"),
        ("# Replication\r\nrole:master\r\nconnected_slaves:0\r\n", "no-replid"),  # a server without one
    ],
)
def test_a_server_without_a_replication_id_still_has_a_lineage(redis_server, info, lineage):
    """The scripts read `master_replid` from INFO; a Redis-compatible server may not report it."""
    with redis_client.Redis(port=redis_server.port) as r:
        assert r.eval(LINEAGE_SCRIPT + "return lineage_of(ARGV[1])", 0, info).decode() == lineage
