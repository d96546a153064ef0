"""The frames this process fanned out last, kept for the clients that resume from among them.

After a deploy or a crash every client of a process reconnects at once, each asking for the events
after its cursor. Reading and framing those per client (a bus read, then each event framed and its
filter keys decoded again) made a storm cost thousands of times what one fan-out costs. The hub has
already framed every recent event once: a resume within that window is served from here, with no
bus read, and clients resuming from the same point with the same filter share one joined backlog.
Pure: no I/O.
"""

from __future__ import annotations

from bisect import bisect_right

from scrollr_relay.cursor import Cursor, StreamId
from scrollr_relay.filters import StreamFilter
from scrollr_relay.subscriber import Frame

RECENT_EVENTS = 2048
MEMO_ENTRIES = 256


def _position(frame: Frame) -> StreamId:
    return frame[0]


class RecentFrames:
    """A window of consecutive frames: every event after `base`, up to the hub's head."""

    def __init__(self, capacity: int = RECENT_EVENTS) -> None:
        self._capacity = capacity
        self._frames: list[Frame] = []
        self._epoch: str | None = None
        self._base: StreamId | None = None  # the position just before the first frame kept
        self._memo: dict[tuple[StreamId, StreamFilter | None], tuple[bytes, StreamId]] = {}

    def restart(self, head: Cursor) -> None:
        """The hub starts reading after `head` (at start, or in a new history after a reset)."""
        self._frames = []
        self._epoch, self._base = head.epoch, head.position
        self._memo.clear()

    def extend(self, frames: list[Frame]) -> None:
        """The frames the hub just fanned out, in stream order, right after the ones kept."""
        self._frames.extend(frames)
        if len(self._frames) > 2 * self._capacity:  # trimmed in chunks: amortised O(1) per frame
            drop = len(self._frames) - self._capacity
            self._base = self._frames[drop - 1][0]
            del self._frames[:drop]
        self._memo.clear()

    def covers(self, cursor: Cursor) -> bool:
        """Whether the window can tell what follows `cursor`: not for another history, nor a cursor
        older than the window or ahead of it (the caller reads the bus instead)."""
        if self._base is None or cursor.epoch != self._epoch or cursor.position < self._base:
            return False
        if self._frames:
            return cursor.position <= self._frames[-1][0]
        return cursor.position == self._base

    def after(self, cursor: Cursor) -> list[Frame] | None:
        """The frames after `cursor`; None when the window doesn't cover it."""
        if not self.covers(cursor):
            return None
        return self._frames[bisect_right(self._frames, cursor.position, key=_position) :]

    def backlog(self, cursor: Cursor, chosen: StreamFilter | None) -> tuple[bytes, StreamId] | None:
        """The joined frames after `cursor` that `chosen` passes, and the position the window ends
        at; shared by every client asking the same. None: read the bus instead."""
        key = (cursor.position, chosen)
        found = self._memo.get(key)
        if found is None:
            frames = self.after(cursor)
            if frames is None or self._base is None:
                return None
            joined = b"".join(f[2] for f in frames if chosen is None or chosen.wants(f[1], f[3]))
            end = self._frames[-1][0] if self._frames else self._base
            if len(self._memo) >= MEMO_ENTRIES:
                self._memo.clear()
            found = self._memo[key] = (joined, end)
        return found
