"""One `/events` connection: its filter, its sink, and while it resumes its hand-over (handover.py).

The hub hands each subscriber ready-made bytes, and the subscriber hands them to its sink, the thing
that owns the way to the client's socket (sinks.py). While the sink has room, bytes go straight
through. While it has none, they wait (pending.py) and leave in pieces as it drains; on a link that
can't carry the feed, only each row's newest change waits (conflation). A client is cut off (it
resumes from its last event id) only when it makes no progress — its socket took nothing while the
feed offered it more than its bound (CLIENT_BUFFER_BYTES), or for CLIENT_STALL_SECONDS — or when
what waits passes the bound even conflated: a slow reader never slows the others or grows memory
without bound, and a big backlog alone never makes a client slow.

While the stream resumes, its `handover` (handover.py) stands between the hub and it: it holds the
live frames while the backlog is written, then skips those the backlog had. It is None once the
stream is past it, as most are: the fan-out then delivers straight to the subscriber.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from itertools import groupby
from typing import TYPE_CHECKING, Protocol

from scrollr_relay.config import DEFAULT_CLIENT_BUFFER_BYTES
from scrollr_relay.fanout.deflate import ZLIB_HEADER, Segment, alone
from scrollr_relay.fanout.filters import StreamFilter
from scrollr_relay.fanout.frame import Frame
from scrollr_relay.fanout.pending import Pending

if TYPE_CHECKING:  # for the annotation only: handover.py imports this module
    from scrollr_relay.fanout.handover import Handover

CLOSE_CLIENT_GONE = "client_disconnected"
CLOSE_SLOW = "slow_client"
CLOSE_SHUTDOWN = "shutdown"
CLOSE_SEND_FAILED = "send_failed"
CLOSE_BUS_UNAVAILABLE = "bus_unavailable"
# The most written at once while a client catches up: the socket drains between pieces.
PIECE_BYTES = 64 * 1024
# The topic of a frame meant for one connection alone (its user's private event, private.py): no
# table is named so. Such frames never pass the fan-out; a replay and the held frames mix them in.
OWN = "(own)"


class Sink(Protocol):
    writable: bool  # has room for more now
    on_writable: Callable[[], None] | None  # called when it has room again

    def write(self, data: bytes) -> str | None:
        """Queue `data` for the client; a close reason when the connection can't go on."""

    async def finish(self, reason: str) -> None:
        """End the response after the stream closed for `reason`."""

    def watch_disconnect(self, on_end: Callable[[str], None]) -> bool:
        """Have `on_end` called with a close reason when the client goes (or, for a sink that can
        tell, falls too far behind); False if this sink can't tell."""

    def detach(self) -> bool:
        """Go on without the request's call (the stream ends through `finish`); False if it can't."""


class Subscriber:
    __slots__ = (
        "_direct",
        "_drained",
        "_interval",
        "_limit",
        "_next_round",
        "_offered",
        "_pending",
        "_progress_at",
        "_round_timer",
        "_run",
        "_sink",
        "client",
        "closed",
        "deflate",
        "done",
        "filter",
        "handover",
        "segment",
    )

    def __init__(
        self,
        sink: Sink,
        *,
        filter: StreamFilter | None,
        client: str | None = None,
        limit: int = DEFAULT_CLIENT_BUFFER_BYTES,
        max_rate: float | None = None,
        deflate: bool = False,
    ) -> None:
        self._sink = sink
        sink.on_writable = self._flush
        self.filter = filter  # None: everything
        self.client = client  # the address it counts against under a per-client cap
        self._pending = Pending()
        self._limit = limit
        self._progress_at = 0.0  # monotonic: when the sink last drained, or something began to wait
        self._offered = 0  # bytes of live changes that had to wait since the sink last drained
        self._drained: asyncio.Event | None = None  # set when nothing waits any more
        # With a max_rate (rate.py): always conflated, a round of rows at most every `_interval`.
        self._interval = 1 / max_rate if max_rate is not None else None
        self._next_round = 0.0  # monotonic: when the next round may go
        self._round_timer: asyncio.TimerHandle | None = None
        if max_rate is not None:
            self._pending.conflate()
        # A plain attribute the fan-out reads once per delivery: no max_rate, nothing waits, not
        # closed, so a delivery goes straight to the sink when it has room (`_note_waiting`).
        self._direct = max_rate is None
        # Content-Encoding: deflate (deflate.py); `_run`: the generation of the filter group's
        # segment this client has had every write of, 0 for none.
        self.deflate = deflate
        self._run = 0
        self.segment: Segment | None = None  # its filter group's (the hub sets it)
        # A resuming stream's hand-over from its replay to the live frames (handover.py sets it), None
        # once past it: a plain attribute, the one thing the fan-out reads per client per event.
        self.handover: Handover | None = None
        self.closed = False
        self.done: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def is_live(self) -> bool:
        """Past its replay's backlog: no hand-over, or one that has gone live (handover.py)."""
        handover = self.handover
        return handover is None or handover.live

    def wants(self, frame: Frame) -> bool:
        return self.filter is None or self.filter.wants(frame.topic, frame.keys)

    def close(self, reason: str) -> None:
        if not self.closed:
            self.closed = True
            self._direct = False
            self.done.set_result(reason)
            if self._drained is not None:
                self._drained.set()
            if self._round_timer is not None:
                self._round_timer.cancel()

    def open(self, preamble: bytes) -> None:
        """The stream's first bytes."""
        if self.deflate:
            self._write(ZLIB_HEADER)
        self.write(preamble)

    def deliver(
        self, frames: list[Frame], data: bytes | None = None, shared: tuple[int, bool, bytes] | None = None
    ) -> None:
        """Change frames for this client, in stream order; `data`: their bytes joined, if at hand;
        `shared`: them compressed in the filter group's segment (deflate.py), if it has one."""
        if self._direct and self._sink.writable:
            if not self.deflate:
                self._write(data if data is not None else b"".join(f.data for f in frames))
            elif shared is not None and (shared[1] or shared[0] == self._run):
                self._run = shared[0]
                self._write(shared[2])
            else:
                self._run = 0
                if self.segment is not None:
                    self.segment.wanted = True
                self._write(b"".join(alone(f.data) for f in frames))
            return
        if self.closed:
            return
        self._begin_waiting()
        changes = [f.data for f in frames]
        self._pending.add_changes(changes, time.monotonic())
        live = self.is_live()  # not the replay's backlog
        # Offered while the socket has no room; a backlog is offered as fast as it is read, so only
        # the feed measures a stall.
        if live and not self._sink.writable:
            self._offered += sum(map(len, changes))
        self._check_bound()
        if self._interval is not None and live:  # a replay's rows wait for the first round
            self._flush()

    def deliver_own(self, data: bytes) -> None:
        """An event for this connection alone (its user's private event): written on its own, never
        through the group's shared compressor; while rows wait, it waits among them in id order and
        is never conflated away (pending.py), so a resume from any id the client got stays exact."""
        self._send_or_wait(data, own=True)

    def deliver_merged(self, frames: list[Frame]) -> None:
        """Frames in stream order, some of them this connection's own (a replay, the held frames)."""
        for own, run in groupby(frames, key=_is_own):
            if own:
                for f in run:
                    self.deliver_own(f.data)
            else:
                self.deliver(list(run))

    def release(self, held: list[Frame]) -> None:
        """Live at last (handover.py): the frames held meanwhile, in stream order; with none, under a
        max_rate the replay's rows go as the first round."""
        if held:
            self.deliver_merged(held)
        elif self._interval is not None:
            self._flush()

    def write(self, data: bytes) -> None:
        """Bytes that are no row's change (the preamble, a heartbeat, a reset), in order."""
        self._send_or_wait(data, own=False)

    def _send_or_wait(self, data: bytes, *, own: bool) -> None:
        """`data` now if nothing waits and the sink has room, else after what waits (the rows that
        wait go on at their own pace: a drain or the next round of a max_rate)."""
        if self.closed:
            return
        if not self._pending and self._sink.writable:
            self._send(data)
            return
        self._begin_waiting()
        (self._pending.add_own if own else self._pending.add_other)(data, time.monotonic())
        self._check_bound()

    def reset(self, frame: bytes) -> None:
        """A reset makes whatever waits moot: the client starts again from a snapshot."""
        self._pending.clear()
        self._note_waiting()
        self.write(frame)

    def conflate(self) -> None:
        """Keep only each row's newest change from now on, until the link has caught up."""
        self._pending.conflate()

    @property
    def conflating(self) -> bool:
        return self._pending.conflating

    def stalled(self, now: float, seconds: float) -> bool:
        """Has something waited while the socket took nothing for `seconds`?"""
        return bool(self._pending) and now - self._progress_at > seconds

    async def drained(self, timeout: float) -> bool:
        """Wait until nothing waits (or the stream closed); False if `timeout` passed first."""
        if not self._pending or self.closed:
            return True
        self._drained = drained = asyncio.Event()
        try:
            await asyncio.wait_for(drained.wait(), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            self._drained = None

    def _begin_waiting(self) -> None:
        """Something is about to wait: deliveries wait behind it from now on."""
        self._direct = False
        if not self._pending:
            self._progress_at = time.monotonic()

    def _check_bound(self) -> None:
        """Cut off a client whose socket took nothing while the feed offered it more than its bound,
        or whose waiting bytes pass the bound even conflated (it follows too many rows for it)."""
        if self._pending.size > self._limit:
            self._pending.conflate()
        if self._offered > self._limit or self._pending.size > self._limit:
            self._pending.clear()
            self.close(CLOSE_SLOW)

    def _flush(self) -> None:
        """The sink has room (again): write what waits, piece by piece, while it has."""
        pending, sink = self._pending, self._sink
        if sink.writable:
            self._progress_at = time.monotonic()
            self._offered = 0
        while pending and sink.writable and not self.closed:
            in_round = not pending.ordered
            if in_round and not self._round_due():
                break
            self._send(pending.take(PIECE_BYTES))
            if in_round and self._interval is not None:
                # Spaced from when a round was written, not from when it was decided: a pause between
                # the two (GC, a busy core) must not bring two rounds closer than the client's rate.
                self._next_round = time.monotonic() + self._interval
        if sink.writable and self._interval is None:
            pending.caught_up()
        self._note_waiting()
        if not pending and self._drained is not None:
            self._drained.set()

    def _note_waiting(self) -> None:
        """What waits may have left: deliveries go straight through again when nothing does."""
        self._direct = self._interval is None and not self._pending and not self.closed

    def _round_due(self) -> bool:
        """May a round of rows go now? Always, unless a max_rate spaces them (then a timer waits)."""
        if self._interval is None:
            return True
        now = time.monotonic()
        if now >= self._next_round:
            return True
        if self._round_timer is None and not self.closed:
            self._round_timer = asyncio.get_running_loop().call_later(
                self._next_round - now, self._round_time
            )
        return False

    def _round_time(self) -> None:
        self._round_timer = None
        self._flush()

    def _send(self, data: bytes) -> None:
        """Write `data` on its own (out of any shared segment)."""
        if self.deflate:
            self._run = 0
            data = alone(data)
        self._write(data)

    def _write(self, data: bytes) -> None:
        try:
            failure = self._sink.write(data)
        except Exception:
            # The socket went away before the disconnect was noticed (a closed transport raises):
            # this client ends here; the fan-out to the others must go on.
            failure = CLOSE_SEND_FAILED
        if failure is not None:
            self.close(failure)

    async def finish(self) -> None:
        await self._sink.finish(self.done.result())


def _is_own(frame: Frame) -> bool:
    return frame.topic == OWN
