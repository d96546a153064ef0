"""Reading whole tables as JSON-ready rows, the same way the change emitter encodes them."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql
from psycopg.postgres import types as pg_types
from psycopg.types.string import TextLoader

from scrollr_core.pgvalues import decode


def use_text_values(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any]) -> None:
    """Load every value as Postgres' text output, so pgvalues encodes it exactly as pgoutput's."""
    for info in pg_types:
        conn.adapters.register_loader(info.oid, TextLoader)


def select_all(schema: str, table: str) -> sql.Composed:
    return sql.SQL("SELECT * FROM {}.{} ORDER BY 1").format(sql.Identifier(schema), sql.Identifier(table))


def rows_from(description: list[Any], records: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    columns = [(d.name, d.type_code) for d in description]
    return [
        {name: decode(oid, value) for (name, oid), value in zip(columns, rec, strict=True)} for rec in records
    ]
