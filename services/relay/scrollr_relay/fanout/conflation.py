"""Conflation: the newest pending change of each row, for a client whose link can't take every change.

A ticker on a slow link wants each row's newest state as often as the link allows, not a growing
queue of stale ones (Lightstreamer's MERGE mode, Ably's conflation). Changes of one row (table +
primary key) waiting for the same client merge into one:

- a delete supersedes every earlier change of its row;
- an insert followed by updates is one insert with the newest record (a backfill's `read` likewise);
- updates merge into one update with the newest record, whose `changes` holds each changed column's
  oldest old value (the row as the client last saw it). A row that left the client's filter is still
  delivered as leaving: the change that moved it out passed the filter and is the newest one merged,
  while later changes of the row, outside the filter, never reach the client;
- anything else (a delete then an insert of the same key) is the newest change.

A `truncate` (sse.py) stands for every row of its table (key `(table, TABLE)`): it supersedes every
pending change of the table, and is never merged with a row's change, so the table's changes after
it follow it.

The merged frame keeps the id of the newest change merged. Sent in the order of those ids, every
id a client receives means "every row's state as of this id": a row whose newest change is older was
sent before it, and a row with a newer change is in the history after it, so a resume from that id
is exact. Pure: no I/O.
"""

from __future__ import annotations

import functools
from typing import Any

import msgspec

from scrollr_relay.bus.event import ChangeEvent
from scrollr_relay.fanout.sse import TRUNCATE_EVENT

RowKey = tuple[str, bytes]  # (table, the primary key as JSON)
TABLE = b""  # a truncate's key: the whole table (no primary key's JSON is empty)
_DATA = b"\ndata: "
_TRUNCATE_HEAD = f"event: {TRUNCATE_EVENT}\ndata: ".encode()
_NULL = msgspec.Raw(b"null")


class _Row(msgspec.Struct):
    table: str
    pks: msgspec.Raw


_decode_row = msgspec.json.Decoder(_Row).decode
_decode_change = msgspec.json.Decoder(ChangeEvent).decode
_decode_old = msgspec.json.Decoder(dict[str, msgspec.Raw]).decode
_encode = msgspec.json.Encoder().encode


def _data(frame: bytes) -> tuple[bytes, bytes]:
    """A change frame's head (its `id:` and `event:` lines, through `data: `) and its JSON."""
    at = frame.index(_DATA) + len(_DATA)
    return frame[:at], frame[at:].rstrip(b"\n")


# One decode per frame per process, however many clients conflate it: frames are shared bytes
# objects, whose hash Python caches.
@functools.lru_cache(maxsize=8192)
def row_key(frame: bytes) -> RowKey:
    head, data = _data(frame)
    row = _decode_row(data)
    return row.table, TABLE if head.endswith(_TRUNCATE_HEAD) else bytes(row.pks)


def merge(older: ChangeEvent, newer: ChangeEvent) -> ChangeEvent:
    """One change of a row standing for `older` then `newer` (the rules above)."""
    if newer.action == "delete":
        return newer
    if older.action in ("insert", "read") and newer.action == "update":
        return msgspec.structs.replace(newer, action=older.action, changes=_NULL)
    if older.action == "update" and newer.action == "update":
        return msgspec.structs.replace(newer, changes=_oldest_values(older.changes, newer.changes))
    return newer


def _oldest_values(older: msgspec.Raw, newer: msgspec.Raw) -> msgspec.Raw:
    """Old values of the columns either update changed; the older update's where both did."""
    try:
        first: dict[str, Any] = _decode_old(older)
        then: dict[str, Any] = _decode_old(newer)
    except msgspec.ValidationError:  # `changes` not an object (null): nothing older to keep
        return newer
    return msgspec.Raw(_encode({**then, **first}))


def merge_frames(older: bytes, newer: bytes) -> bytes:
    """The frame of `merge`, with `newer`'s id; `newer` itself when the merge is the newer change."""
    head, data = _data(newer)
    merged = merge(_decode_change(_data(older)[1]), change := _decode_change(data))
    if merged is change:
        return newer
    return head + _encode(merged) + b"\n\n"
