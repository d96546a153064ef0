"""Reading the bus in batches from a cursor: the one loop the hub's reader and a resume's replay share.

Each batch is at most READ_BATCH events (a burst costs one write per client per batch, not one per
event), handed over with the cursor after it; the reading ends with the first batch that comes back
short, when the reader has caught up with the bus. What to do with a batch, and what to do once
caught up (wait for more, or go live), is the caller's.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable

from scrollr_relay.bus.cursor import Cursor
from scrollr_relay.bus.event import StoredEvent

READ_BATCH = 1000

Read = Callable[[Cursor, int], Awaitable[list[StoredEvent]]]


async def batches_after(read: Read, cursor: Cursor) -> AsyncGenerator[tuple[list[StoredEvent], Cursor]]:
    """`read`'s events after `cursor`, a batch at a time, each with the cursor after it; the last batch
    is short, and may be empty. HistoryGap and BusUnavailable reach the caller as `read` raises them."""
    while True:
        events = await read(cursor, READ_BATCH)
        if events:
            cursor = Cursor(cursor.epoch, events[-1].id)
        yield events, cursor
        if len(events) < READ_BATCH:
            return
