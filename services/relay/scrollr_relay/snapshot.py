"""`GET /snapshot`: the current rows plus the stream cursor to continue from.

Order matters: the cursor is read from the bus *before* the rows are read from Postgres. Every
change committed after the rows were read reaches the bus after that cursor, so opening `/events`
from it misses nothing. Changes the rows already reflect may be delivered again after the cursor;
clients apply them by replacing the row whole (and skip any older than the row they hold by
`commit_lsn`), so repeating one is harmless.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
import psycopg
from litestar import Response, get
from litestar.params import FromQuery
from psycopg_pool import AsyncConnectionPool

from scrollr_relay.bus import Bus, BusUnavailable
from scrollr_relay.pgrows import rows_from, select_all, use_text_values
from scrollr_relay.stream import StreamRequestError, parse_topics

log = logging.getLogger("scrollr.snapshot")
SNAPSHOT_TABLES = ("trades", "games")
SNAPSHOT_SCHEMA = "public"


class Snapshot(msgspec.Struct, frozen=True):
    cursor: str
    rows: dict[str, list[dict[str, Any]]]


class SnapshotError(msgspec.Struct, frozen=True):
    error: str
    detail: str


def make_pool(database_url: str) -> AsyncConnectionPool:
    async def configure(conn: psycopg.AsyncConnection[Any]) -> None:
        use_text_values(conn)
        await conn.set_autocommit(True)
        await conn.execute("SET TimeZone = 'UTC'")

    return AsyncConnectionPool(
        database_url, min_size=1, max_size=4, open=False, configure=configure, timeout=5, name="snapshot"
    )


def snapshot_handler(bus: Bus, pool: AsyncConnectionPool | None) -> object:
    @get("/snapshot", summary="Current rows and the stream cursor that follows them")
    async def handler(topics: FromQuery[str | None] = None) -> Response[Snapshot | SnapshotError]:
        try:
            wanted = parse_topics([topics]) if topics is not None else frozenset(SNAPSHOT_TABLES)
        except StreamRequestError as exc:
            return Response(SnapshotError("bad_topics", str(exc)), status_code=400)
        unknown = sorted(wanted - set(SNAPSHOT_TABLES))
        if unknown:
            return Response(
                SnapshotError("bad_topics", f"no snapshot for {unknown}: choose from {SNAPSHOT_TABLES}"),
                status_code=400,
            )
        if pool is None:
            return Response(SnapshotError("unavailable", "DATABASE_URL is not configured"), status_code=503)
        try:
            cursor = await bus.head()
            rows: dict[str, list[dict[str, Any]]] = {}
            async with pool.connection() as conn, conn.transaction():
                await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                for table in sorted(wanted):
                    cur = await conn.execute(select_all(SNAPSHOT_SCHEMA, table))
                    rows[table] = rows_from(cur.description or [], await cur.fetchall())
        except BusUnavailable as exc:
            return Response(
                SnapshotError("bus_unavailable", str(exc)), status_code=503, headers={"Retry-After": "2"}
            )
        except (psycopg.Error, TimeoutError) as exc:
            log.warning("snapshot failed: %s", exc)
            return Response(
                SnapshotError("database_unavailable", f"database error: {str(exc).strip()[:300]}"),
                status_code=503,
                headers={"Retry-After": "2"},
            )
        return Response(Snapshot(cursor=str(cursor), rows=rows))

    return handler
