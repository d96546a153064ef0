"""The change event: what a Sequin message becomes on the bus and in every client's stream.

Encoded to JSON once, when the webhook accepts it; from there on the relay moves bytes only.
"""

from __future__ import annotations

import msgspec

from scrollr_relay.bus.cursor import StreamId
from scrollr_relay.ingest.sequin import Action, Message


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


_encode = msgspec.json.Encoder().encode


def envelope_for(message: Message) -> Envelope:
    meta = message.metadata
    event = ChangeEvent(
        table=meta.table_name,
        schema=meta.table_schema,
        action=message.action,
        record=message.record,
        changes=message.changes,
        pks=meta.record_pks,
        commit_lsn=meta.commit_lsn,
        commit_idx=meta.commit_idx,
        commit_timestamp=meta.commit_timestamp,
    )
    data = _encode(event)
    if b"\n" in data or b"\r" in data:
        # `record`/`changes` pass through as sent, and Sequin may pretty-print; an SSE `data:` field
        # must be one line. (JSON strings can't hold raw newlines, so only whitespace goes.)
        data = msgspec.json.format(data, indent=0)
    return Envelope(topic=meta.table_name, dedupe_key=meta.idempotency_key, data=data)
