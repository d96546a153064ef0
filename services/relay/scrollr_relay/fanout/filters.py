"""Stream filters: which changes a client receives (`topics`, `symbols`, `leagues` on `/events` and
`/snapshot`).

`topics` chooses tables; `symbols` chooses the rows of `trades` by their `symbol`, `leagues` the rows
of `games` by their `league` (declared in tables.py). Omitted means all; an empty value (`symbols=`) means none of them. A
change is delivered when its new *or* its old row matches, so a row that leaves a filter (a game
moved to another league) is seen leaving.

Equal filters are equal values (hashable), so the hub frames a batch once per distinct filter, not
once per client. Pure: no I/O.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Any

import msgspec

from scrollr_relay.tables import FILTER_BY_TABLE, RowFilter
from scrollr_relay.topics import TopicError, decode_value, parse_topic_filter, raw_query


class FilterError(ValueError):
    """A filter parameter is invalid; the message says why."""


MAX_FILTER_VALUES = 256
# Tickers (BRK.B, BTC-USD, ^GSPC, EURUSD=X) and league names (NFL, Premier League, Ligue 1).
_VALUE = re.compile(r"[A-Za-z0-9^][A-Za-z0-9 .&'^=_/:-]*")


@dataclass(frozen=True, slots=True)
class StreamFilter:
    """What one client follows; None in a field means everything of it."""

    topics: frozenset[str] | None = None
    symbols: frozenset[str] | None = None
    leagues: frozenset[str] | None = None

    def rows_of(self, table: str) -> frozenset[str] | None:
        """The values chosen for `table`'s filter column (tables.py); None: every row."""
        spec = FILTER_BY_TABLE.get(table)
        chosen: frozenset[str] | None = None if spec is None else getattr(self, spec.param)
        return chosen

    def wants(self, topic: str, keys: tuple[str, ...]) -> bool:
        """Does a change of `topic`, whose rows hold `keys` in the filter column, pass?"""
        if self.topics is not None and topic not in self.topics:
            return False
        chosen = self.rows_of(topic)
        return chosen is None or not chosen.isdisjoint(keys) or keys is EVERY_ROW


def parse_values(spec: RowFilter, raw_values: list[str]) -> frozenset[str]:
    """`symbols=AAPL,MSFT` (possibly repeated, still percent-encoded) as a set; empty is allowed.

    No symbol or league holds a comma, so unlike topics the list is split after decoding: a client
    that encodes the commas too (URLSearchParams does) means the same list."""
    try:
        values = {part for value in raw_values for part in decode_value(value).split(",") if part}
    except TopicError as exc:
        raise FilterError(f"{spec.param}: {exc}") from None
    if len(values) > MAX_FILTER_VALUES:
        raise FilterError(f"{spec.param} names {len(values)} values; at most {MAX_FILTER_VALUES} are allowed")
    for value in values:
        if len(value) > spec.max_chars or not _VALUE.fullmatch(value):
            raise FilterError(
                f"{spec.param} value {value[:64]!r} is not a valid {spec.column}: up to {spec.max_chars} "
                "letters, digits, spaces or . & ' ^ = _ / : -"
            )
    # Interned: a value named by many streams' filters (and the fan-out's index of them) is one string.
    return frozenset(sys.intern(value) for value in values)


def parse_filter(query_string: bytes, max_topics: int) -> StreamFilter | None:
    """The filter of a request's query string; None when it has none (everything)."""
    try:
        query = raw_query(query_string)
        topics = parse_topic_filter(query["topics"], max_topics) if "topics" in query else None
    except TopicError as exc:
        raise FilterError(str(exc)) from None
    rows = {
        spec.param: parse_values(spec, query[spec.param])
        for spec in FILTER_BY_TABLE.values()
        if spec.param in query
    }
    if topics is None and not rows:
        return None
    return StreamFilter(topics=topics, **rows)


# The filter columns of tables.py (symbol, league): the only fields of a row decoded here.
_Keys = msgspec.defstruct("_Keys", [(spec.column, Any, None) for spec in FILTER_BY_TABLE.values()])


# The keys of a TRUNCATE: every row of its table, so every filter that takes the table passes it.
EVERY_ROW: tuple[str, ...] = ("*",)  # "*" is no symbol or league (parse_values)


class _Change(msgspec.Struct):
    action: str = ""
    record: _Keys | None = None  # type: ignore[valid-type]  # a struct made from the registry
    changes: _Keys | None = None  # type: ignore[valid-type]


_decode_change = msgspec.json.Decoder(_Change).decode


def filter_keys(topic: str, data: bytes) -> tuple[str, ...]:
    """The filter column's values in a change's new row and old one (Sequin's `changes` holds the old
    values of the columns an update changed). Empty for tables without a row filter; `EVERY_ROW` for
    a TRUNCATE."""
    spec = FILTER_BY_TABLE.get(topic)
    try:
        change = _decode_change(data)
    except msgspec.DecodeError:
        return ()
    if change.action == "truncate":
        return EVERY_ROW
    if spec is None:
        return ()
    keys: list[str] = []
    for row in (change.record, change.changes):
        value = getattr(row, spec.column, None) if row is not None else None
        if isinstance(value, str) and value not in keys:
            keys.append(value)
    return tuple(keys)
