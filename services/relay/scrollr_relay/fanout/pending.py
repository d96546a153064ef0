"""What one client has yet to receive while its link can't take the feed as it comes.

Frames wait here, in order, only while the client's socket is full (subscriber.py); they leave in
pieces as it drains. A link that carries the feed sees every change. One that can't — frames
waiting longer than `CONFLATE_AFTER_SECONDS`, or a resume backlog the link won't carry quickly
(handover.py) — is conflated: from then on each row keeps only its newest pending change
(conflation.py), and all of them go out together each time the socket drains, so a row's news
waits at most about two rounds of the rows the client follows, never behind a queue of stale ticks.
A `truncate` drops what waits of its table and goes
out in its place, before the table's later changes. An event for this client alone (its user's
private event, private.py) is never conflated away and keeps its place in id order: it waits among
the rows as a row of its own that nothing merges with, so the rows whose newest change is older go
before it and those changed after it go after it, and every id the client receives still means
"every row's state as of this id". Conflating stops once the link has taken everything. What waits is bounded by the rows the client
follows (and its own events), not by the events. Pure: no I/O; the caller says what time it is.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from enum import Enum

from scrollr_relay.fanout.conflation import TABLE, RowKey, merge_frames, row_key

CONFLATE_AFTER_SECONDS = 0.5
# An own event's key among the rows: no table is named "", so no truncate drops it, and the frame
# itself (its id line included) makes it unique, so nothing merges with it.
_OWN_TABLE = ""


class Kind(Enum):
    CHANGE = 1  # a row's change: conflated once the client is
    OWN = 2  # an event for this client alone, with an id: kept, in id order among the changes
    OTHER = 3  # no id (a heartbeat): may go ahead of rows


class Pending:
    __slots__ = ("_exact", "_exact_bytes", "_rows", "_rows_bytes", "conflating")

    def __init__(self) -> None:
        # (kind, frame, when it was queued), in stream order
        self._exact: deque[tuple[Kind, bytes, float]] = deque()
        self._exact_bytes = 0
        # the newest pending change of each row, in the order of their ids (a merge moves it last)
        self._rows: dict[RowKey, bytes] = {}
        self._rows_bytes = 0
        self.conflating = False

    def __bool__(self) -> bool:
        return bool(self._exact) or bool(self._rows)

    @property
    def ordered(self) -> bool:
        """Are frames waiting that go out before any row (exact changes, own events, heartbeats)?"""
        return bool(self._exact)

    @property
    def size(self) -> int:
        """Bytes waiting."""
        return self._exact_bytes + self._rows_bytes

    def add_changes(self, frames: Iterable[bytes], now: float) -> None:
        """Change frames, in stream order."""
        exact = self._exact
        if not self.conflating and exact and now - exact[0][2] >= CONFLATE_AFTER_SECONDS:
            self.conflate()
        if self.conflating:
            for frame in frames:
                self._add_row(frame)
            return
        for frame in frames:
            exact.append((Kind.CHANGE, frame, now))
            self._exact_bytes += len(frame)

    def add_own(self, frame: bytes, now: float) -> None:
        """An event for this client alone (a private event): never merged, never dropped, in id order."""
        if self.conflating:
            self._add_row(frame, (_OWN_TABLE, frame))
        else:
            self._exact.append((Kind.OWN, frame, now))
            self._exact_bytes += len(frame)

    def add_other(self, frame: bytes, now: float) -> None:
        """A frame that is no row's change (a heartbeat): kept in order, never merged, not repeated."""
        if self._exact and self._exact[-1][1] is frame:
            return
        self._exact.append((Kind.OTHER, frame, now))
        self._exact_bytes += len(frame)

    def conflate(self) -> None:
        """From now on keep only each row's newest change, starting with those waiting."""
        waiting, self._exact, self._exact_bytes = self._exact, deque(), 0
        self.conflating = True
        for kind, frame, queued in waiting:
            if kind is Kind.CHANGE:
                self._add_row(frame)
            elif kind is Kind.OWN:
                self._add_row(frame, (_OWN_TABLE, frame))
            else:
                self._exact.append((kind, frame, queued))
                self._exact_bytes += len(frame)

    def _add_row(self, frame: bytes, key: RowKey | None = None) -> None:
        key = key or row_key(frame)
        if key[1] == TABLE:  # a truncate: what waits of its table is gone with it
            self._drop_table(key[0])
        older = self._rows.pop(key, None)
        if older is not None:
            self._rows_bytes -= len(older)
            frame = merge_frames(older, frame)
        self._rows[key] = frame
        self._rows_bytes += len(frame)

    def _drop_table(self, table: str) -> None:
        for key in [key for key in self._rows if key[0] == table]:
            self._rows_bytes -= len(self._rows.pop(key))

    def take(self, max_bytes: int) -> bytes:
        """The next bytes to write: frames in order up to about `max_bytes`, or, once only rows are
        left, every row at once (a round: none of them can be overtaken by a busier one)."""
        if self._exact:
            taken: list[bytes] = []
            size = 0
            while self._exact and size < max_bytes:
                frame = self._exact.popleft()[1]
                taken.append(frame)
                size += len(frame)
            self._exact_bytes -= size
            return b"".join(taken)
        rows, self._rows, self._rows_bytes = self._rows, {}, 0
        return b"".join(rows.values())

    def caught_up(self) -> None:
        """The link took everything and has room again: changes go out exact again."""
        if not self:
            self.conflating = False

    def clear(self) -> None:
        """Forget everything waiting (a reset makes it moot)."""
        self._exact.clear()
        self._rows.clear()
        self._exact_bytes = self._rows_bytes = 0
        self.conflating = False
