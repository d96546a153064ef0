"""The tables that stream, declared once: each table's primary key, the column its rows are filtered
by (`symbols=` chooses trades by `symbol`, `leagues=` games by `league`), the catalog table whose
enabled rows are the values clients choose from, and the query a snapshot reads it with.

The relay's filters (filters.py), snapshot (snapshot.py) and catalog (catalog.py) read it; the web's
`web/shared/tables.ts` is generated from it (`just tables`, i.e. `python -m scrollr_relay.tables`),
and tests check that the generated file and the migrations agree with it. Pure: no I/O.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

from psycopg import sql

SCHEMA = "public"
TYPESCRIPT_PATH = "web/shared/tables.ts"


@dataclass(frozen=True, slots=True)
class RowFilter:
    """A query parameter that chooses the rows of one table by one column."""

    param: str
    column: str
    max_chars: int  # the column's declared length (varchar(n))
    catalog: str  # the table of the values offered (its primary key is `column`; `enabled` rows only)


@dataclass(frozen=True, slots=True)
class StreamedTable:
    name: str
    key: str  # the primary key column: clients key rows by it
    filter: RowFilter | None

    def snapshot_query(self, values: frozenset[str] | None) -> tuple[sql.Composed, tuple[object, ...]]:
        """The snapshot's read of this table: every row (`values` None), or the rows whose filter
        column holds one of `values` (the rows `/events` would deliver), in key order."""
        table = sql.Identifier(SCHEMA, self.name)
        order = sql.Identifier(self.key)
        if values is None or self.filter is None:
            return sql.SQL("SELECT * FROM {} ORDER BY {}").format(table, order), ()
        query = sql.SQL("SELECT * FROM {} WHERE {} = ANY(%s) ORDER BY {}")
        return query.format(table, sql.Identifier(self.filter.column), order), (sorted(values),)


TABLES = (
    StreamedTable("trades", "id", RowFilter("symbols", "symbol", 30, "tracked_symbols")),
    StreamedTable("games", "id", RowFilter("leagues", "league", 50, "tracked_leagues")),
)
TABLE_NAMES = tuple(table.name for table in TABLES)
BY_NAME = {table.name: table for table in TABLES}
FILTER_BY_TABLE = {table.name: table.filter for table in TABLES if table.filter is not None}


def typescript() -> str:
    """`web/shared/tables.ts`: the same declarations for the browser clients."""
    keys = {table.name: table.key for table in TABLES}
    filters = {name: {"param": spec.param, "column": spec.column} for name, spec in FILTER_BY_TABLE.items()}
    return "\n".join(
        (
            "// Generated from services/relay/scrollr_relay/tables.py by `just tables`; don't edit (a test",
            "// fails when the two differ). The tables that stream, their primary keys and row filters.",
            "",
            "/** The tables that stream, in the snapshot's order. */",
            f"export const TABLES = {json.dumps(TABLE_NAMES)} as const;",
            "export type Table = (typeof TABLES)[number];",
            "/** Each table's primary key column: rows are keyed by it. */",
            f"export const ROW_KEYS = {json.dumps(keys)} as const;",
            "/** Each filtered table's query parameter (`symbols=`) and the column it matches. */",
            f"export const ROW_FILTERS = {json.dumps(filters)} as const;",
            'export type FilterParam = (typeof ROW_FILTERS)[keyof typeof ROW_FILTERS]["param"];',
            "",
        )
    )


if __name__ == "__main__":
    sys.stdout.write(typescript())
