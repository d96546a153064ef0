"""The resume hand-over: a stream that comes back with a cursor gets the backlog after it, then goes
live with nothing lost and nothing twice.

The stream registers with the hub first (its live frames are held: subscriber.py), then `replay`
writes the backlog after the client's cursor as its link takes it (conflated past
`REPLAY_EXACT_SECONDS`), or a `reset` when the cursor can't be honoured, and returns where the held
frames resume (`Subscriber.go_live`). Registering before reading the backlog is what makes the
hand-over gap-free (docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from operator import attrgetter
from typing import Any

from scrollr_relay import metrics
from scrollr_relay.bus import Bus, HistoryGap
from scrollr_relay.bus.cursor import Cursor, StreamId
from scrollr_relay.fanout.frame import Frame
from scrollr_relay.fanout.hub import Hub, encode_frames
from scrollr_relay.fanout.private import PrivatePart
from scrollr_relay.fanout.reading import batches_after
from scrollr_relay.fanout.sse import reset_frame
from scrollr_relay.fanout.subscriber import PIECE_BYTES, Subscriber

# A resume writes its backlog exact for this long at most (then conflates the rest), in pieces of
# this many events (about 60 kB of trades).
REPLAY_EXACT_SECONDS = 5.0
REPLAY_PIECE_EVENTS = 100


class Pacer:
    """Writes a backlog as the client's link takes it: a piece, then wait for it to drain.

    A backlog the link carries within `exact_seconds` arrives whole, change by change. Past that,
    the rest is conflated (pending.py): a client back after an hour needs each row's newest state,
    not an hour of ticks, and gets it without waiting for one. The resume stays exact either way.
    """

    def __init__(self, subscriber: Subscriber, exact_seconds: float) -> None:
        self._subscriber = subscriber
        self._deadline = asyncio.get_running_loop().time() + exact_seconds

    async def write(self, frames: list[Frame]) -> None:
        subscriber = self._subscriber
        for start in range(0, len(frames), REPLAY_PIECE_EVENTS):
            if subscriber.closed:
                return
            subscriber.deliver_merged(frames[start : start + REPLAY_PIECE_EVENTS])
            if subscriber.conflating:
                continue
            left = self._deadline - asyncio.get_running_loop().time()
            if left <= 0 or not await subscriber.drained(left):
                subscriber.conflate()


async def replay(
    hub: Hub,
    bus: Bus,
    subscriber: Subscriber,
    cursor: Cursor,
    private: PrivatePart | None = None,
    exact_seconds: float = REPLAY_EXACT_SECONDS,
) -> StreamId | None:
    """Write the backlog after `cursor`, or a `reset`; return where the held live frames resume, or
    None when the stream closed first.

    A cursor within the frames the hub fanned out last is served from them (recent.py): no bus read,
    and one joined backlog for every client resuming from the same point with the same filter,
    written at once when it is short (the usual resume after a reconnect). A longer one goes out
    through the Pacer as the link takes it, like a backlog read from the bus. A signed-in stream's
    backlog is read from the bus, its user's private events in order among the public ones
    (private.py).
    """
    pacer = Pacer(subscriber, exact_seconds)
    cached = hub.recent.backlog(cursor, subscriber.filter) if private is None else None
    if cached is not None:
        backlog, end = cached
        if len(backlog) <= PIECE_BYTES:
            if backlog:
                subscriber.write(backlog)
            return end
        frames = [f for f in hub.recent.after(cursor) or [] if subscriber.wants(f)]
        return await _until_closed(subscriber, _paced(pacer, frames, end))
    return await _until_closed(subscriber, _replay_from_bus(bus, pacer, subscriber, cursor, private))


async def _paced(pacer: Pacer, frames: list[Frame], end: StreamId) -> StreamId:
    await pacer.write(frames)
    return end


async def _until_closed(subscriber: Subscriber, work: Coroutine[Any, Any, StreamId]) -> StreamId | None:
    """`work`'s result, or None once the stream has closed: a replay stops when its client hangs up,
    instead of reading a backlog no one will receive (orphaned replays once starved the webhooks)."""
    task = asyncio.ensure_future(work)
    await asyncio.wait((task, subscriber.done), return_when=asyncio.FIRST_COMPLETED)
    if not task.done():
        task.cancel()
        metrics.REPLAYS_ABANDONED.inc()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return None
    return task.result()


async def _replay_from_bus(
    bus: Bus, pacer: Pacer, subscriber: Subscriber, cursor: Cursor, private: PrivatePart | None
) -> StreamId:
    try:
        reached = cursor.position
        async with contextlib.aclosing(batches_after(bus.replay_after, cursor)) as batches:
            async for events, after in batches:
                frames = [f for f in encode_frames(cursor.epoch, events) if subscriber.wants(f)]
                if private is not None:  # the user's private events among them, in stream order
                    frames = sorted(frames + private.own(cursor.epoch, events), key=attrgetter("position"))
                await pacer.write(frames)
                reached = after.position
                if subscriber.closed:
                    break
        return reached
    except HistoryGap as gap:
        head = await bus.head()
        subscriber.reset(reset_frame(head, gap.reason))
        metrics.RESETS.labels(gap.reason).inc()
        return head.position
