"""`GET /catalog`: the symbols and leagues a user can follow (`tracked_symbols`, `tracked_leagues`:
the catalog tables tables.py names for the `symbols` and `leagues` filters),
each league with its teams (`tracked_teams`) for the favourite-team choice.

Clients build their settings from it and send the chosen values back as `/events` and `/snapshot`
filters (filters.py). Only enabled entries are served: the feeds update nothing else.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
import psycopg
from litestar import Response, get
from psycopg_pool import AsyncConnectionPool

from scrollr_relay.serve.snapshot import SnapshotError, on_pooled_connection, unavailable
from scrollr_relay.tables import FILTER_BY_TABLE

log = logging.getLogger("scrollr.catalog")
CACHE_SECONDS = 60


class TrackedSymbol(msgspec.Struct, frozen=True):
    symbol: str
    name: str
    category: str
    exchange: str
    link: str | None


class TrackedTeam(msgspec.Struct, frozen=True):
    code: str
    name: str


class TrackedLeague(msgspec.Struct, frozen=True):
    league: str
    name: str
    sport: str
    category: str
    country: str
    logo: str | None
    season_months: list[int]
    teams: list[TrackedTeam] = []


class Catalog(msgspec.Struct, frozen=True):
    symbols: list[TrackedSymbol]
    leagues: list[TrackedLeague]


# The values the row filters of tables.py take: their catalog tables, keyed by the filter column.
_SYMBOLS, _LEAGUES = FILTER_BY_TABLE["trades"], FILTER_BY_TABLE["games"]
SYMBOLS_QUERY = (
    f"SELECT {_SYMBOLS.column}, name, category, exchange, link FROM {_SYMBOLS.catalog} WHERE enabled "
    f"ORDER BY category, {_SYMBOLS.column}"
)
LEAGUES_QUERY = (
    f"SELECT {_LEAGUES.column}, name, sport, category, country, logo, season_months::int[] "
    f"FROM {_LEAGUES.catalog} WHERE enabled ORDER BY {_LEAGUES.column}"
)
TEAMS_QUERY = "SELECT league, code, name FROM tracked_teams ORDER BY league, name"


def with_teams(leagues: list[TrackedLeague], teams: list[tuple[str, str, str]]) -> list[TrackedLeague]:
    """Each league with its teams (in the order given)."""
    by_league: dict[str, list[TrackedTeam]] = {}
    for league, code, name in teams:
        by_league.setdefault(league, []).append(TrackedTeam(code, name))
    return [msgspec.structs.replace(league, teams=by_league.get(league.league, [])) for league in leagues]


async def _read_catalog(
    conn: psycopg.AsyncConnection[Any],
) -> tuple[list[TrackedSymbol], list[TrackedLeague]]:
    # The pool loads every value as text (snapshot.py); these queries want typed values.
    async with conn.cursor(binary=True) as cur:
        await cur.execute(SYMBOLS_QUERY)
        symbols = [TrackedSymbol(*row) for row in await cur.fetchall()]
        await cur.execute(LEAGUES_QUERY)
        leagues = [TrackedLeague(*row) for row in await cur.fetchall()]
        await cur.execute(TEAMS_QUERY)
        leagues = with_teams(leagues, await cur.fetchall())
    return symbols, leagues


def catalog_handler(pool: AsyncConnectionPool | None) -> object:
    @get("/catalog", summary="The symbols and leagues a client can filter by")
    async def handler() -> Response[Catalog | SnapshotError]:
        if pool is None:
            return unavailable("unavailable", "the catalog is not configured on this relay")
        try:
            symbols, leagues = await on_pooled_connection(pool, _read_catalog)
        except (psycopg.Error, TimeoutError) as exc:
            log.warning("catalog failed, database error: %s", exc)
            return unavailable("database_unavailable", "the database is unavailable; retry shortly")
        headers = {"Cache-Control": f"public, max-age={CACHE_SECONDS}"}
        return Response(Catalog(symbols=symbols, leagues=leagues), headers=headers)

    return handler
