"""Decoder for PostgreSQL's built-in logical replication output, `pgoutput`, protocol version 1.

Pure: bytes in, typed messages out (PostgreSQL docs, "Logical Replication Message Formats"). Only
what the emitter needs is decoded; other message kinds (Origin, Type, Message) come back as `Other`
so a stream holding them never breaks the emitter.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
UNCHANGED_TOAST = "unchanged_toast"  # how Sequin spells a TOASTed value that wasn't sent


class PgOutputError(ValueError):
    pass


class Column(NamedTuple):
    name: str
    type_oid: int
    is_key: bool


class Relation(NamedTuple):
    oid: int
    schema: str
    table: str
    columns: list[Column]


class Begin(NamedTuple):
    final_lsn: int  # the LSN of the transaction's commit record: Sequin's `commit_lsn`
    commit_time: datetime
    xid: int


class Commit(NamedTuple):
    commit_lsn: int
    end_lsn: int  # what to confirm once the transaction is delivered


# A tuple's values as Postgres' text output; None is SQL NULL; UNCHANGED_TOAST is a TOAST not sent.
TupleData = list[str | None]


class Insert(NamedTuple):
    relation_oid: int
    new: TupleData


class Update(NamedTuple):
    relation_oid: int
    old: TupleData | None  # the whole old row under REPLICA IDENTITY FULL
    new: TupleData


class Delete(NamedTuple):
    relation_oid: int
    old: TupleData


class Truncate(NamedTuple):
    relation_oids: list[int]  # every table one TRUNCATE statement emptied (CASCADE included)


class Other(NamedTuple):
    kind: str


Message = Begin | Commit | Relation | Insert | Update | Delete | Truncate | Other


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple[int, ...]:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise PgOutputError("message truncated")
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values

    def byte(self) -> str:
        return chr(self.take("!B")[0])

    def cstring(self) -> str:
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            raise PgOutputError("unterminated string")
        text = self.data[self.pos : end].decode()
        self.pos = end + 1
        return text

    def tuple_data(self) -> TupleData:
        (count,) = self.take("!H")
        values: TupleData = []
        for _ in range(count):
            kind = self.byte()
            if kind == "n":
                values.append(None)
            elif kind == "u":
                values.append(UNCHANGED_TOAST)
            elif kind in ("t", "b"):
                (length,) = self.take("!i")
                raw = self.data[self.pos : self.pos + length]
                self.pos += length
                values.append(raw.decode())
            else:
                raise PgOutputError(f"unknown tuple value kind {kind!r}")
        return values


def decode(payload: bytes) -> Message:
    r = _Reader(payload)
    kind = r.byte()
    if kind == "B":
        final_lsn, micros, xid = r.take("!QqI")
        return Begin(final_lsn, PG_EPOCH + timedelta(microseconds=micros), xid)
    if kind == "C":
        _flags, commit_lsn, end_lsn, _micros = r.take("!BQQq")
        return Commit(commit_lsn, end_lsn)
    if kind == "R":
        (oid,) = r.take("!I")
        schema, table = r.cstring(), r.cstring()
        _identity, ncols = r.take("!BH")
        columns = []
        for _ in range(ncols):
            (flags,) = r.take("!B")
            name = r.cstring()
            type_oid, _typmod = r.take("!Ii")
            columns.append(Column(name, type_oid, bool(flags & 1)))
        return Relation(oid, schema, table, columns)
    if kind == "I":
        (oid,) = r.take("!I")
        if r.byte() != "N":
            raise PgOutputError("insert without new tuple")
        return Insert(oid, r.tuple_data())
    if kind == "U":
        (oid,) = r.take("!I")
        marker = r.byte()
        old = None
        if marker in ("K", "O"):
            old = r.tuple_data()
            marker = r.byte()
        if marker != "N":
            raise PgOutputError("update without new tuple")
        return Update(oid, old, r.tuple_data())
    if kind == "D":
        (oid,) = r.take("!I")
        if r.byte() not in ("K", "O"):
            raise PgOutputError("delete without old tuple")
        return Delete(oid, r.tuple_data())
    if kind == "T":
        count, _options = r.take("!iB")
        return Truncate([r.take("!I")[0] for _ in range(count)])
    return Other(kind)
