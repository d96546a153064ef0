"""A signed-in user's preferences as `GET`/`PUT /me/preferences` read and write them. Pure: no I/O.

The JSON mirrors the browser's own preferences (web/shared/preferences.ts): `symbols` and `leagues`
(lists of catalog values; null means every one of the catalog), a favourite team per league, the
update speed, the display options and the extension's feed-bar settings. A body is decoded (by Litestar,
against these Structs: an unknown field or a wrong type is a 400 naming it) and checked against the
catalog whole before anything is written.

Versions: each write increments the row's `version`; the ETag is that number, quoted (RFC 9110
8.8.3), and a write must say which version it replaces (`If-Match`) or that it creates the first one
(`If-None-Match: *`), so two devices editing at once can't silently overwrite each other.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

MAX_BODY_BYTES = 16 * 1024
MAX_CHOICES = 256  # as many values as an /events filter takes (filters.py)
MAX_TEAM_CHARS = 100
MAX_FEED_BAR_BYTES = 4096

UpdateSpeed = Literal["live", "1s", "5s"]
SortKey = Literal["symbol", "price", "change", "updated"]
MarketView = Literal["all", "gainers", "losers"]


class PreferencesError(ValueError):
    """The body can't be stored; the message names the field or value (a 400)."""


class Display(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    showUpcoming: bool = True
    showFinal: bool = True
    sort: SortKey = "symbol"
    descending: bool = False
    view: MarketView = "all"


class Preferences(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """What a client writes (and reads back, with `updatedAt`)."""

    symbols: list[str] | None
    leagues: list[str] | None
    favouriteTeams: dict[str, str] = {}
    updateSpeed: UpdateSpeed = "live"
    display: Display = Display()
    feedBar: dict[str, Any] = {}


class StoredPreferences(Preferences, frozen=True, kw_only=True):
    updatedAt: str


class Catalog(msgspec.Struct, frozen=True):
    """The values a preference may name: the enabled symbols and leagues (catalog.py serves them)."""

    symbols: frozenset[str]
    leagues: frozenset[str]


def _checked_list(name: str, values: list[str] | None, known: frozenset[str]) -> list[str] | None:
    if values is None:
        return None
    if len(values) > MAX_CHOICES:
        raise PreferencesError(f"{name} holds {len(values)} values; at most {MAX_CHOICES} are allowed")
    for value in values:
        if value not in known:
            raise PreferencesError(f"{name}: {value[:64]!r} is not in the catalog")
    return sorted(set(values))


def check_preferences(chosen: Preferences, catalog: Catalog) -> Preferences:
    """`chosen` (already decoded: types and fields are checked) normalised, lists sorted and without
    duplicates; PreferencesError naming the first value the catalog doesn't allow."""
    symbols = _checked_list("symbols", chosen.symbols, catalog.symbols)
    leagues = _checked_list("leagues", chosen.leagues, catalog.leagues)
    for league, team in chosen.favouriteTeams.items():
        if league not in catalog.leagues:
            raise PreferencesError(f"favouriteTeams: league {league[:64]!r} is not in the catalog")
        if not team or len(team) > MAX_TEAM_CHARS:
            raise PreferencesError(
                f"favouriteTeams: the team for {league!r} must be 1 to {MAX_TEAM_CHARS} characters"
            )
    if len(msgspec.json.encode(chosen.feedBar)) > MAX_FEED_BAR_BYTES:
        raise PreferencesError(f"feedBar is larger than {MAX_FEED_BAR_BYTES} bytes")
    return msgspec.structs.replace(chosen, symbols=symbols, leagues=leagues)


class Row(msgspec.Struct, frozen=True):
    """A `user_preferences` row, as the relay reads it and as the change feed carries it."""

    sub: str
    symbols: list[str] | None
    leagues: list[str] | None
    favourite_teams: dict[str, str]
    update_speed: UpdateSpeed
    display: Display
    feed_bar: dict[str, Any]
    version: int
    updated_at: str


def stored(row: Row) -> StoredPreferences:
    """What a client reads: the row under the JSON's names."""
    return StoredPreferences(
        symbols=row.symbols,
        leagues=row.leagues,
        favouriteTeams=row.favourite_teams,
        updateSpeed=row.update_speed,
        display=row.display,
        feedBar=row.feed_bar,
        updatedAt=row.updated_at,
    )


def etag(version: int) -> str:
    return f'"{version}"'


class Precondition(msgspec.Struct, frozen=True):
    """What a write replaces: a version (If-Match), any existing row (If-Match: *) or none (If-None-Match: *)."""

    version: int | None = None
    exists: bool | None = None  # True: some row must exist; False: none may


def parse_precondition(if_match: str | None, if_none_match: str | None) -> Precondition | None:
    """The write's precondition; None when it has none (the handler answers 428) or an unusable one."""
    if if_none_match is not None:
        return Precondition(exists=False) if if_none_match.strip() == "*" else None
    if if_match is None:
        return None
    tag = if_match.strip()
    if tag == "*":
        return Precondition(exists=True)
    inner = tag[1:-1] if len(tag) >= 2 and tag[0] == tag[-1] == '"' else ""
    if not inner.isdigit() or len(inner) > 18:
        return Precondition(version=-1)  # a tag we never issued: matches nothing (412)
    return Precondition(version=int(inner))
