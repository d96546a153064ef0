"""The resume hand-over: a stream that comes back with a cursor gets the backlog after it, then goes
live with nothing lost and nothing twice. This module owns its every step and rule.

1. The stream's `Handover` is attached to it before it registers with the hub: from then on the
   hub's fan-out (and its user's private events, private.py) offer it the live frames, and it holds
   them, in stream order. A reset from the hub meanwhile makes them moot and is held instead.
2. `replay` writes the backlog after the client's cursor as its link takes it (`Pacer`, conflated
   past `REPLAY_EXACT_SECONDS`), or a `reset` when the cursor can't be honoured, and returns the
   newest position it wrote.
3. `Handover.go_live` writes the held frames newer than that. The replay reads the bus up to its
   head, which can be ahead of the hub's reader: until the reader passes that position, the live
   frames the replay had are skipped. Then the hand-over detaches itself (`subscriber.handover` is
   None) and the fan-out writes to the stream straight, one attribute checked per event.

Registering before reading the backlog is what makes the hand-over gap-free (docs/architecture.md).
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
from scrollr_relay.fanout.subscriber import OWN, PIECE_BYTES, Subscriber

# A resume writes its backlog exact for this long at most (then conflates the rest), in pieces of
# this many events (about 60 kB of trades).
REPLAY_EXACT_SECONDS = 5.0
REPLAY_PIECE_EVENTS = 100


class Handover:
    """One stream's way from its replay to the live frames: what it holds, and what it skips after.

    Attached at creation (`subscriber.handover`), detached once the hub's reader has passed what the
    replay wrote. In between, the hub offers it the live frames instead of the subscriber.
    """

    __slots__ = ("_held", "_replayed_to", "_reset", "_subscriber", "live")

    def __init__(self, subscriber: Subscriber) -> None:
        self._subscriber = subscriber
        subscriber.handover = self
        self._held: list[Frame] = []  # live frames that came while the backlog was written
        self._reset: bytes | None = None  # a reset of the hub's that came meanwhile
        # A plain attribute: the subscriber reads it while it delivers (the backlog's writes aren't live).
        self.live = False
        # Once live, the newest position the replay wrote: live frames up to it were sent already.
        self._replayed_to: StreamId | None = None

    def offer(self, frames: list[Frame]) -> int:
        """Live frames of the fan-out, its filter applied: how many went to the client now."""
        if not self.live:
            self._held.extend(frames)
            return 0
        after = self._replayed_to
        assert after is not None  # a live hand-over with nothing to skip has detached
        if frames[-1].position > after:
            self._detach()  # the hub has passed the replay: from now on every frame is new
        chosen = [f for f in frames if f.position > after]
        if chosen:
            self._subscriber.deliver(chosen)
        return len(chosen)

    def offer_own(self, position: StreamId, data: bytes) -> None:
        """One of the stream's own events (its user's private event, private.py), in stream order
        with the live frames; no filter applies to it."""
        if not self.live:
            self._held.append(Frame(position, OWN, data, ()))
            return
        after = self._replayed_to
        assert after is not None
        if position > after:
            self._detach()
            self._subscriber.deliver_own(data)

    def reset(self, frame: bytes) -> None:
        """The hub lost continuity: positions of the old history mean nothing now.

        While the backlog is written, the held frames are moot, the reset isn't: it goes out when the
        stream goes live, and the frames held after it, of the new history, follow it unskipped.
        """
        if self.live:
            self._detach()
            self._subscriber.reset(frame)
        else:
            self._held = []
            self._reset = frame

    def go_live(self, replayed_to: StreamId | None) -> None:
        """The backlog is written up to `replayed_to` (None: no backlog): write the held frames newer
        than it, then follow the live frames."""
        held, self._held = self._held, []
        self.live = True
        subscriber = self._subscriber
        if self._reset is not None:
            subscriber.reset(self._reset)
        elif replayed_to is not None:
            if not held or held[-1].position <= replayed_to:
                self._replayed_to = replayed_to  # the hub's reader may still be behind the replay
            held = [f for f in held if f.position > replayed_to]
        if self._replayed_to is None:
            self._detach()
        subscriber.release(held)

    def _detach(self) -> None:
        self._subscriber.handover = None


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
