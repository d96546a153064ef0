"""The one bus-read loop the hub's reader and a replay share (fanout/reading.py), over the memory bus."""

import pytest
from scrollr_relay.bus.cursor import Cursor
from scrollr_relay.bus.event import Envelope
from scrollr_relay.bus.memory import MemoryBus
from scrollr_relay.fanout.reading import READ_BATCH, batches_after


@pytest.mark.parametrize(
    ("count", "sizes"),
    [
        (0, [0]),
        (READ_BATCH // 2, [READ_BATCH // 2]),
        (READ_BATCH, [READ_BATCH, 0]),
        (2 * READ_BATCH + 1, [READ_BATCH, READ_BATCH, 1]),
    ],
)
async def test_batches_run_until_one_comes_back_short_each_with_the_cursor_after_it(count, sizes):
    bus = MemoryBus(maxlen=10 * READ_BATCH, dedupe_window_seconds=60)
    origin = await bus.head()
    await bus.publish([Envelope(topic="t", dedupe_key=str(n), data=b"%d" % n) for n in range(count)])
    seen, payloads, cursor = [], [], origin
    async for events, after in batches_after(bus.read_after, origin):
        seen.append(len(events))
        payloads += [e.data for e in events]
        assert after == (Cursor(origin.epoch, events[-1].id) if events else cursor)
        cursor = after
    assert seen == sizes
    assert payloads == [b"%d" % n for n in range(count)]  # every event once, in order
    assert cursor == await bus.head()  # caught up
