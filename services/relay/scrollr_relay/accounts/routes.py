"""The signed-in user's routes: `GET`/`PUT /me/preferences` and `POST /events/ticket` (Bearer access
token).

Who asks is proven by an access token from AUTH_ISSUER (identity.py, issuer_keys.py); any failure is
a 401 with `WWW-Authenticate` (RFC 6750 3.1) that says why, and neither the answer nor the log ever
holds the token. Without AUTH_ISSUER the routes answer 404: this relay has no accounts.

Rows are read as the change feed encodes them (pgrows.py), so a client reads the same JSON from
`GET /me/preferences` as from an `event: preferences` on its stream.
"""

from __future__ import annotations

import logging
import time
from typing import Annotated, Any

import msgspec
import psycopg
from litestar import Request, Response, get, post, put
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter, JSONBody
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool
from scrollr_core.pgrows import rows_from

from scrollr_relay.accounts.identity import Identity, TokenRejected, bearer_token
from scrollr_relay.accounts.issuer_keys import IssuerKeys, IssuerUnavailable
from scrollr_relay.accounts.preferences import (
    MAX_BODY_BYTES,
    Catalog,
    Precondition,
    Preferences,
    PreferencesError,
    Row,
    StoredPreferences,
    check_preferences,
    etag,
    parse_precondition,
    stored,
)
from scrollr_relay.accounts.tickets import TICKET_SECONDS, TicketGrant, Tickets, TicketStoreUnavailable

log = logging.getLogger("scrollr.accounts")
REALM = "scrollr"
COLUMNS = "sub, symbols, leagues, favourite_teams, update_speed, display, feed_bar, version, updated_at"
SELECT_ROW = f"SELECT {COLUMNS} FROM user_preferences WHERE sub = %s"
CATALOG = (
    "SELECT (SELECT coalesce(array_agg(symbol), '{}') FROM tracked_symbols WHERE enabled), "
    "(SELECT coalesce(array_agg(league), '{}') FROM tracked_leagues WHERE enabled)"
)
VALUES = "%(symbols)s, %(leagues)s, %(teams)s, %(speed)s, %(display)s, %(feed_bar)s"
INSERT = (
    "INSERT INTO user_preferences (sub, symbols, leagues, favourite_teams, update_speed, display, feed_bar) "
    f"VALUES (%(sub)s, {VALUES}) ON CONFLICT (sub) DO NOTHING RETURNING {COLUMNS}"
)
UPDATE = (
    "UPDATE user_preferences SET (symbols, leagues, favourite_teams, update_speed, display, feed_bar, "
    f"version, updated_at) = ({VALUES}, version + 1, now()) "
    f"WHERE sub = %(sub)s AND (%(version)s::bigint IS NULL OR version = %(version)s) RETURNING {COLUMNS}"
)
UNAUTHORIZED = ResponseSpec(None, description="No valid access token (WWW-Authenticate says why)")


class AccountError(Exception):
    """A refused request: its status, a short error code, what to do about it, extra headers."""

    def __init__(self, status: int, error: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = headers or {}


class ErrorBody(msgspec.Struct, frozen=True):
    error: str
    detail: str


def account_error_response(_: Request[Any, Any, Any], exc: AccountError) -> Response[ErrorBody]:
    return Response(ErrorBody(exc.error, exc.detail), status_code=exc.status, headers=exc.headers)


def unauthorized(reason: str) -> AccountError:
    if reason == "missing_token":  # no credentials: no error code (RFC 6750 3.1)
        challenge = f'Bearer realm="{REALM}"'
    else:
        challenge = f'Bearer realm="{REALM}", error="invalid_token", error_description="{reason}"'
    return AccountError(401, "invalid_token", reason, {"WWW-Authenticate": challenge})


async def identify(keys: IssuerKeys | None, authorization: str | None) -> Identity:
    """The caller's identity from its `Authorization` header, or the AccountError to answer."""
    if keys is None:
        raise AccountError(404, "accounts_disabled", "this relay has no accounts (AUTH_ISSUER is not set)")
    try:
        return await keys.verify(bearer_token(authorization))
    except TokenRejected as exc:
        log.info("access token refused: %s", exc.reason)
        raise unauthorized(exc.reason) from None
    except IssuerUnavailable:
        raise AccountError(
            503,
            "issuer_unavailable",
            "the identity provider can't be reached; retry shortly",
            {"Retry-After": "5"},
        ) from None


def _database_error(exc: Exception) -> AccountError:
    log.warning("preferences failed, database error: %s", exc)
    return AccountError(
        503, "database_unavailable", "the database is unavailable; retry shortly", {"Retry-After": "2"}
    )


def _row(cur: psycopg.AsyncCursor[Any], record: tuple[Any, ...]) -> Row:
    return msgspec.convert(rows_from(cur.description or [], [record])[0], Row)


def _answer(row: Row, status: int = 200) -> Response[StoredPreferences]:
    return Response(
        stored(row), status_code=status, headers={"ETag": etag(row.version), "Cache-Control": "no-store"}
    )


def _write_params(sub: str, chosen: Preferences, precondition: Precondition) -> dict[str, Any]:
    return {
        "sub": sub,
        # None (every one of the catalog) is SQL NULL, not a JSON null
        "symbols": Jsonb(chosen.symbols) if chosen.symbols is not None else None,
        "leagues": Jsonb(chosen.leagues) if chosen.leagues is not None else None,
        "teams": Jsonb(chosen.favouriteTeams),
        "speed": chosen.updateSpeed,
        "display": Jsonb(msgspec.to_builtins(chosen.display)),
        "feed_bar": Jsonb(chosen.feedBar),
        "version": precondition.version,
    }


async def _catalog(conn: psycopg.AsyncConnection[Any]) -> Catalog:
    # The pool loads every value as text (snapshot.py); arrays are wanted as lists here.
    async with conn.cursor(binary=True) as cur:
        await cur.execute(CATALOG)
        symbols, leagues = await cur.fetchone() or ([], [])
    return Catalog(symbols=frozenset(symbols), leagues=frozenset(leagues))


def preferences_routes(keys: IssuerKeys | None, pool: AsyncConnectionPool | None) -> list[object]:
    def need_pool() -> AsyncConnectionPool:
        if pool is None:
            raise AccountError(
                503, "unavailable", "preferences are not configured on this relay (DATABASE_URL)"
            )
        return pool

    @get(
        "/me/preferences",
        summary="The signed-in user's preferences (Bearer access token)",
        responses={401: UNAUTHORIZED, 404: ResponseSpec(ErrorBody, description="No preferences stored yet")},
    )
    async def read(request: Request[Any, Any, Any]) -> Response[StoredPreferences]:
        identity = await identify(keys, request.headers.get("authorization"))
        try:
            async with need_pool().connection() as conn:
                cur = await conn.execute(SELECT_ROW, (identity.sub,))
                record = await cur.fetchone()
                row = _row(cur, record) if record is not None else None
        except (psycopg.Error, TimeoutError) as exc:
            raise _database_error(exc) from None
        if row is None:
            raise AccountError(404, "no_preferences", "this account has no preferences yet")
        return _answer(row)

    @put(
        "/me/preferences",
        summary="Replace the signed-in user's preferences (If-Match: the ETag read, or If-None-Match: *)",
        request_max_body_size=MAX_BODY_BYTES,
        responses={
            400: ResponseSpec(ErrorBody, description="Malformed body, or a value the catalog doesn't hold"),
            401: UNAUTHORIZED,
            412: ResponseSpec(ErrorBody, description="Changed meanwhile by another device: read again"),
            413: ResponseSpec(None, description=f"Body larger than {MAX_BODY_BYTES} bytes"),
            428: ResponseSpec(ErrorBody, description="Neither If-Match nor If-None-Match: * was sent"),
        },
    )
    async def write(
        request: Request[Any, Any, Any],
        data: JSONBody[Preferences],
        if_match: Annotated[str | None, HeaderParameter(name="If-Match")] = None,
        if_none_match: Annotated[str | None, HeaderParameter(name="If-None-Match")] = None,
    ) -> Response[StoredPreferences]:
        identity = await identify(keys, request.headers.get("authorization"))
        precondition = parse_precondition(if_match, if_none_match)
        if precondition is None:
            raise AccountError(
                428,
                "precondition_required",
                'send If-Match with the ETag you read, or If-None-Match: "*" to create',
            )
        try:
            async with need_pool().connection() as conn:
                catalog = await _catalog(conn)
                try:
                    chosen = check_preferences(data, catalog)
                except PreferencesError as exc:
                    raise AccountError(400, "bad_preferences", str(exc)) from None
                query = INSERT if precondition.exists is False else UPDATE
                cur = await conn.execute(query, _write_params(identity.sub, chosen, precondition))
                record = await cur.fetchone()
                row = _row(cur, record) if record is not None else None
        except (psycopg.Error, TimeoutError) as exc:
            raise _database_error(exc) from None
        if row is None:
            raise AccountError(
                412,
                "precondition_failed",
                "the preferences changed meanwhile (or don't exist): read them again",
            )
        return _answer(row, 201 if precondition.exists is False else 200)

    return [read, write]


class AuthConfig(msgspec.Struct, frozen=True):
    """What a browser client needs to sign in (authorization code + PKCE at `issuer`)."""

    issuer: str
    audience: str
    dashboardClientId: str
    extensionClientId: str


def auth_config_route(config: AuthConfig | None) -> object:
    @get(
        "/auth/config",
        summary="Where clients sign in: the OpenID issuer, the API's audience, the public client ids",
        responses={404: ResponseSpec(ErrorBody, description="This relay has no accounts")},
    )
    async def handler() -> Response[AuthConfig]:
        if config is None:
            raise AccountError(
                404, "accounts_disabled", "this relay has no accounts (AUTH_ISSUER is not set)"
            )
        return Response(config, headers={"Cache-Control": "public, max-age=300"})

    return handler


class Ticket(msgspec.Struct, frozen=True):
    ticket: str
    expires_in: int


def ticket_route(keys: IssuerKeys | None, tickets: Tickets) -> object:
    @post(
        "/events/ticket",
        summary="A single-use ticket that adds the user's private events to GET /events?ticket=...",
        status_code=200,
        responses={401: UNAUTHORIZED},
    )
    async def issue(request: Request[Any, Any, Any]) -> Response[Ticket]:
        identity = await identify(keys, request.headers.get("authorization"))
        if identity.expires_at <= time.time():
            # Accepted within the clock skew, but a stream would end at once: the client must renew.
            raise unauthorized("token_expired")
        try:
            ticket = await tickets.issue(TicketGrant(sub=identity.sub, expires_at=identity.expires_at))
        except TicketStoreUnavailable as exc:
            log.warning("tickets unavailable: %s", exc)
            raise AccountError(
                503, "unavailable", "tickets can't be issued now; retry shortly", {"Retry-After": "2"}
            ) from None
        return Response(
            Ticket(ticket=ticket, expires_in=TICKET_SECONDS), headers={"Cache-Control": "no-store"}
        )

    return issue
