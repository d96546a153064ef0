"""Sequin's webhook wire format, decoded and validated at the edge with msgspec, and each message
turned into the change event the bus carries (`envelope_for`; the event's shape is bus/event.py's).

Sequin posts either one bare message or a batch `{"data": [message, ...]}` (examples of both in
tests/fixtures/sequin). Unknown keys are ignored, never rejected: Sequin adds metadata fields over
time. `record` and `changes` are carried as raw JSON: the relay forwards them untouched, so decoding
them into Python objects would only be work undone again when the event is encoded. Raw JSON is not
checked by msgspec below its top level, so the whole body is checked to be UTF-8 here: clients
receive it in a `charset=utf-8` stream.

Nesting deeper than msgspec decodes (about a thousand levels; Postgres jsonb holds more) is refused
with a 400 that says so, rather than a 500: Sequin retries either, but this one is logged and named.
"""

from __future__ import annotations

import msgspec

from scrollr_relay.bus.event import Action, ChangeEvent, Envelope
from scrollr_relay.topics import topic_problem


class WebhookFormatError(ValueError):
    """The body is not a valid Sequin webhook; the message says where and why."""


class Metadata(msgspec.Struct, frozen=True):
    table_schema: str
    table_name: str
    idempotency_key: str
    commit_timestamp: str | None = None
    # Backfill (`read`) messages may lack these two: Sequin reads those rows from a table scan, not the WAL.
    commit_lsn: int | None = None
    commit_idx: int | None = None
    record_pks: list[str | int] = []


class Message(msgspec.Struct, frozen=True):
    record: msgspec.Raw
    action: Action
    metadata: Metadata
    # `null` on insert, delete and read; the old values of changed columns on update.
    changes: msgspec.Raw = msgspec.Raw(b"null")


class Batch(msgspec.Struct, frozen=True):
    data: list[Message]


_decode_message = msgspec.json.Decoder(Message).decode
_decode_batch = msgspec.json.Decoder(Batch).decode
_JSON_OBJECT_START = b"{"


def _first_byte(raw: msgspec.Raw) -> bytes:
    return bytes(raw).lstrip()[:1]


def _check(message: Message, where: str) -> None:
    if _first_byte(message.record) != _JSON_OBJECT_START:
        raise WebhookFormatError(f"Expected `object` for `record` - at `{where}.record`")
    changes = bytes(message.changes).strip()
    if changes != b"null" and changes[:1] != _JSON_OBJECT_START:
        raise WebhookFormatError(f"Expected `object | null` for `changes` - at `{where}.changes`")
    meta = message.metadata
    if not meta.idempotency_key:
        raise WebhookFormatError(f"Empty `idempotency_key` - at `{where}.metadata.idempotency_key`")
    problem = topic_problem(meta.table_name)
    if problem is not None:
        raise WebhookFormatError(f"`table_name` {problem} - at `{where}.metadata.table_name`")
    if message.action != "read" and (meta.commit_lsn is None or meta.commit_idx is None):
        raise WebhookFormatError(
            f"`{message.action}` messages need `commit_lsn` and `commit_idx` - at `{where}.metadata`"
        )


def decode_webhook(body: bytes) -> list[Message]:
    """Decode a bare message or a batch; validate all of it before returning anything."""
    try:
        if not body.isascii():  # ASCII is UTF-8; only other bodies need decoding to be checked
            body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WebhookFormatError(f"Body is not valid UTF-8 at byte {exc.start}") from None
    try:
        return _decode(body)
    except RecursionError:
        raise WebhookFormatError("JSON nested too deeply to decode") from None


def _decode(body: bytes) -> list[Message]:
    try:
        top = msgspec.json.decode(body, type=dict[str, msgspec.Raw])
    except msgspec.ValidationError:
        raise WebhookFormatError("Expected a JSON object at the top level") from None
    except msgspec.DecodeError as exc:
        raise WebhookFormatError(f"Malformed JSON: {exc}") from None
    is_batch = "data" in top and "action" not in top
    try:
        if is_batch:
            messages = _decode_batch(body).data
            if not messages:
                raise WebhookFormatError("Empty batch: `data` holds no messages")
            for index, message in enumerate(messages):
                _check(message, f"$.data[{index}]")
            return messages
        message = _decode_message(body)
    except msgspec.ValidationError as exc:
        raise WebhookFormatError(str(exc)) from None
    _check(message, "$")
    return [message]


_encode = msgspec.json.Encoder().encode


def envelope_for(message: Message) -> Envelope:
    """`message` on its way into the bus: its change event, encoded here once for every client."""
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
