"""The change event: what a Sequin message becomes on the bus and in every client's stream.

Encoded to JSON once, when the webhook accepts it (ingest/sequin.py); from there on the relay moves
bytes only.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from scrollr_relay.bus.cursor import StreamId

# `truncate` (record `{}`) is this project's emitter's, for a TRUNCATE of the table; Sequin sends none.
Action = Literal["insert", "update", "delete", "read", "truncate"]


class ChangeEvent(msgspec.Struct, frozen=True):
    """The `data:` of a `change` event (documented in the README)."""

    table: str
    schema: str
    action: Action
    record: msgspec.Raw
    changes: msgspec.Raw
    pks: list[str | int]
    commit_lsn: int | None
    commit_idx: int | None
    commit_timestamp: str | None


class Envelope(msgspec.Struct, frozen=True):
    """An event on its way into the bus: the topic it is filtered by, the key it is deduplicated on."""

    topic: str
    dedupe_key: str
    data: bytes


class StoredEvent(msgspec.Struct, frozen=True):
    """An event as the bus keeps it, at its position in the stream."""

    id: StreamId
    topic: str
    data: bytes
