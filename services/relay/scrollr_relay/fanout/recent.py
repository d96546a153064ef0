"""The frames this process fanned out last, kept for the clients that resume from among them.

After a deploy or a crash every client of a process reconnects at once, each asking for the events
after its cursor. Reading and framing those per client (a bus read, then each event framed and its
filter keys decoded again) made a storm cost thousands of times what one fan-out costs. The hub has
already framed every recent event once: a resume within that window is served from here, with no
bus read, and clients resuming from the same point with the same filter share one joined backlog.

Both are bounded in bytes (`RESUME_CACHE_BYTES`, half for the window and half for the joined
backlogs), not only in entries: 256 resumes from distinct cursors into 4,000 events of 650 B each
once kept 1.69 GB of joined backlogs. A backlog is memoised under its cursor's epoch too: the same
position occurs in two histories (an empty bus, ids replicated through a failover), and another
history's backlog is never this one's. Pure but for counting its bound in a metric: no I/O.
"""

from __future__ import annotations

from bisect import bisect_right

from scrollr_relay import metrics
from scrollr_relay.bus.cursor import Cursor, StreamId
from scrollr_relay.config import DEFAULT_RESUME_CACHE_BYTES
from scrollr_relay.fanout.filters import StreamFilter
from scrollr_relay.fanout.frame import Frame

RECENT_EVENTS = 2048
MEMO_ENTRIES = 256
LIMIT = "resume_cache_bytes"  # the label its metric counts under


def _position(frame: Frame) -> StreamId:
    return frame.position


class RecentFrames:
    """A window of consecutive frames: every event after `base`, up to the hub's head."""

    def __init__(self, capacity: int = RECENT_EVENTS, max_bytes: int = DEFAULT_RESUME_CACHE_BYTES) -> None:
        self._capacity = capacity
        self._frame_budget = self._memo_budget = max_bytes // 2
        self._frames: list[Frame] = []
        self._frame_bytes = 0
        self._epoch: str | None = None
        self._base: StreamId | None = None  # the position just before the first frame kept
        self._memo: dict[tuple[str, StreamId, StreamFilter | None], tuple[bytes, StreamId]] = {}
        self._memo_bytes = 0

    def restart(self, head: Cursor) -> None:
        """The hub starts reading after `head` (at start, or in a new history after a reset)."""
        self._frames = []
        self._frame_bytes = 0
        self._epoch, self._base = head.epoch, head.position
        self._forget_backlogs()

    def extend(self, frames: list[Frame]) -> None:
        """The frames the hub just fanned out, in stream order, right after the ones kept."""
        self._frames.extend(frames)
        self._frame_bytes += sum(len(f.data) for f in frames)
        # Trimmed in chunks (to the capacity, or to half the byte budget): amortised O(1) per frame.
        if len(self._frames) > 2 * self._capacity or self._frame_bytes > self._frame_budget:
            self._trim()
        self._forget_backlogs()

    def _trim(self) -> None:
        drop, size = 0, self._frame_bytes
        while drop < len(self._frames) and (
            len(self._frames) - drop > self._capacity or size > self._frame_budget // 2
        ):
            size -= len(self._frames[drop][2])
            drop += 1
        if drop:
            self._base = self._frames[drop - 1][0]
            del self._frames[:drop]
            self._frame_bytes = size

    def _forget_backlogs(self) -> None:
        self._memo.clear()
        self._memo_bytes = 0

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
        key = (cursor.epoch, cursor.position, chosen)
        found = self._memo.get(key)
        if found is None:
            frames = self.after(cursor)
            if frames is None or self._base is None:
                return None
            joined = b"".join(f.data for f in frames if chosen is None or chosen.wants(f.topic, f.keys))
            end = self._frames[-1][0] if self._frames else self._base
            found = (joined, end)
            self._remember(key, found)
        return found

    def _remember(
        self, key: tuple[str, StreamId, StreamFilter | None], found: tuple[bytes, StreamId]
    ) -> None:
        """Keep a backlog for the next client asking the same, within the entry and byte bounds
        (the oldest go first). One backlog is at most the window, whose bytes are within the same
        budget, so it always fits once older ones are gone."""
        size = len(found[0])
        while self._memo and (len(self._memo) >= MEMO_ENTRIES or self._memo_bytes + size > self._memo_budget):
            if self._memo_bytes + size > self._memo_budget:
                metrics.LIMITS_REACHED.labels(LIMIT).inc()
            oldest = next(iter(self._memo))
            self._memo_bytes -= len(self._memo.pop(oldest)[0])
        self._memo[key] = found
        self._memo_bytes += size
