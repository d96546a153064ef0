"""`GET /snapshot`: the current rows plus the stream cursor to continue from.

Order matters: the cursor is read from the bus *before* the rows are read from Postgres. Every
change committed after the rows were read reaches the bus after that cursor, so opening `/events`
from it misses nothing. Changes the rows already reflect may be delivered again after the cursor;
clients apply them by replacing the row whole, so repeating one is harmless.

Failures answer 503 with a reason a client can act on; what went wrong inside (SQL, addresses) goes
to the log only.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import msgspec
import psycopg
from litestar import Request, Response, get
from litestar.params import QueryParameter
from psycopg import sql
from psycopg_pool import AsyncConnectionPool
from scrollr_core.pgrows import rows_from, use_text_values

from scrollr_relay.bus import Bus, BusUnavailable
from scrollr_relay.fanout.filters import FilterError, StreamFilter, parse_filter
from scrollr_relay.tables import BY_NAME, TABLE_NAMES

log = logging.getLogger("scrollr.snapshot")
T = TypeVar("T")


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

    # No check on checkout: after a Postgres restart every pooled connection is dead, and the pool
    # backs off a second, then two, then four between checks of each, so with four pooled the first
    # snapshot waited out its 5 s and answered 503. A request that meets a dead connection checks
    # the whole pool at once and tries again instead (`on_pooled_connection`).
    return AsyncConnectionPool(
        database_url,
        min_size=1,
        max_size=4,
        open=False,
        configure=configure,
        timeout=5,
        name="snapshot",
    )


async def on_pooled_connection(
    pool: AsyncConnectionPool, work: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]]
) -> T:
    """`work` on a pooled connection; done again once, on fresh connections, when the pooled one
    turns out dead (a restarted database: the others pooled with it are dead too)."""
    try:
        async with pool.connection() as conn:
            return await work(conn)
    except psycopg.OperationalError as exc:
        log.info("met a broken pooled connection (%s): checking the pool, trying again", exc)
        await pool.check()  # every idle connection tested; the dead ones replaced
        async with pool.connection() as conn:
            return await work(conn)


async def read_rows(
    conn: psycopg.AsyncConnection[Any], tables: list[str], chosen: StreamFilter | None
) -> dict[str, list[dict[str, Any]]]:
    """The rows of `tables` under the filter, in one repeatable-read transaction."""
    rows: dict[str, list[dict[str, Any]]] = {}
    async with conn.transaction():
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        for table in tables:
            cur = await conn.execute(*select_rows(table, chosen))
            rows[table] = rows_from(cur.description or [], await cur.fetchall())
    return rows


def unavailable(error: str, detail: str) -> Response[Any]:
    return Response(SnapshotError(error, detail), status_code=503, headers={"Retry-After": "2"})


def select_rows(table: str, chosen: StreamFilter | None) -> tuple[sql.Composed, tuple[object, ...]]:
    """The query for `table`'s rows under the filter, the same rows `/events` would deliver."""
    return BY_NAME[table].snapshot_query(chosen.rows_of(table) if chosen is not None else None)


def snapshot_handler(bus: Bus, pool: AsyncConnectionPool | None) -> object:
    @get("/snapshot", summary="Current rows and the stream cursor that follows them")
    async def handler(
        request: Request[Any, Any, Any],
        # Declared for the schema; read from the raw query below, as /events reads it.
        topics: Annotated[
            str | None, QueryParameter(description="Comma-separated tables (default: all)")
        ] = None,
        symbols: Annotated[
            str | None,
            QueryParameter(description="Comma-separated symbols: only these trades (default: all)"),
        ] = None,
        leagues: Annotated[
            str | None, QueryParameter(description="Comma-separated leagues: only these games (default: all)")
        ] = None,
    ) -> Response[Snapshot | SnapshotError]:
        try:
            chosen = parse_filter(request.scope["query_string"], len(TABLE_NAMES))
        except FilterError as exc:
            return Response(SnapshotError("bad_filter", str(exc)), status_code=400)
        topics_chosen = chosen.topics if chosen is not None else None
        wanted = topics_chosen if topics_chosen is not None else frozenset(TABLE_NAMES)
        unknown = sorted(wanted - set(TABLE_NAMES))
        if unknown:
            return Response(
                SnapshotError("bad_filter", f"no snapshot for {unknown}: choose from {TABLE_NAMES}"),
                status_code=400,
            )
        if pool is None:
            return unavailable("unavailable", "snapshots are not configured on this relay")
        try:
            cursor = await bus.head()
            rows = await on_pooled_connection(pool, lambda conn: read_rows(conn, sorted(wanted), chosen))
        except BusUnavailable as exc:
            log.warning("snapshot failed, bus unavailable: %s", exc)
            return unavailable("bus_unavailable", "the event bus is unavailable; retry shortly")
        except (psycopg.Error, TimeoutError) as exc:
            log.warning("snapshot failed, database error: %s", exc)
            return unavailable("database_unavailable", "the database is unavailable; retry shortly")
        return Response(Snapshot(cursor=str(cursor), rows=rows))

    return handler
