"""The event bus interface: an ordered, bounded, deduplicating history that moves bytes only.

Two implementations keep the same semantics and are tested by one suite: `memory.py` (the embedded
default, single process) and `redis.py` (a Redis stream shared by any number of relay processes).
What they carry is event.py's; where a client is in it, cursor.py's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

from scrollr_relay.bus.cursor import Cursor, StreamId
from scrollr_relay.bus.event import Envelope, StoredEvent


class BusUnavailable(Exception):
    """The bus can't be reached; nothing was written."""


class EvictionRisk(BusUnavailable):
    """The bus answers, but is configured so that it may silently lose what it must keep."""


class HistoryGap(Exception):
    """The cursor can't be resumed without a gap: the client must refetch its snapshot."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PublishResult(msgspec.Struct, frozen=True):
    published: int
    duplicates: int
    head: Cursor


def gap_reason(cursor: Cursor, epoch: str, max_deleted: StreamId, last: StreamId) -> str | None:
    """Why `cursor` can't be resumed from a history with this epoch and bounds, or None if it can.

    Pure, so both buses decide alike: a different epoch means the history was lost (restart); a
    position older than the newest trimmed entry means events after it were trimmed; a position
    past the newest id can only come from a history that no longer exists.
    """
    if cursor.epoch != epoch:
        return "history_lost"
    if cursor.position < max_deleted:
        return "history_trimmed"
    if cursor.position > last:
        return "unknown_position"
    return None


class Bus(Protocol):
    async def publish(self, envelopes: Sequence[Envelope]) -> PublishResult:
        """Append every envelope whose dedupe key is new, in order, atomically; all or nothing."""
        ...

    async def head(self) -> Cursor:
        """The cursor of the newest event (events after it are yet to come)."""
        ...

    async def read_after(self, cursor: Cursor, limit: int) -> list[StoredEvent]:
        """Up to `limit` events after `cursor`, oldest first; HistoryGap if that would skip any."""
        ...

    async def replay_after(self, cursor: Cursor, limit: int) -> list[StoredEvent]:
        """read_after for a client's backlog: it never takes the turns that publishing, the hub's
        reader and readiness need (a flood of resumes must not delay them)."""
        ...

    async def wait_after(self, position: StreamId, timeout_seconds: float) -> None:
        """Return once there may be events after `position`, or after the timeout."""
        ...

    async def ping(self) -> None:
        """Raise BusUnavailable unless the bus answers and takes the relay's commands (EvictionRisk
        if it may evict what it must keep)."""
        ...

    async def close(self) -> None: ...
