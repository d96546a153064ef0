"""The issuer's signing keys: found through its discovery document, fetched from its JWKS, cached.

OpenID Connect Discovery 1.0 section 4: `<issuer>/.well-known/openid-configuration` names the
`jwks_uri`, and its `issuer` must be exactly the configured one. Keys are fetched on first use and
kept; a token naming a key the set doesn't hold (the issuer rotated its keys) refetches the set, but
at most once per `refetch_seconds`, so a stream of tokens with made-up `kid`s can't make the relay
hammer the issuer. Fetches are bounded in time and bytes.
"""

from __future__ import annotations

import asyncio
import logging
import time

import httpx
import msgspec
from jwt import PyJWKSet
from jwt.exceptions import PyJWKSetError

from scrollr_relay.accounts.identity import Identity, TokenRejected, UnknownKey, verify_token

log = logging.getLogger("scrollr.identity")

FETCH_TIMEOUT_SECONDS = 5.0
MAX_DOCUMENT_BYTES = 256 * 1024
DEFAULT_REFETCH_SECONDS = 10.0


class IssuerUnavailable(Exception):
    """The issuer's discovery document or key set can't be had now (a 503, not the client's fault)."""


class _Discovery(msgspec.Struct):
    issuer: str
    jwks_uri: str


def may_refetch(last_fetch: float | None, now: float, refetch_seconds: float) -> bool:
    """Pure: has long enough passed since the last fetch of the key set to fetch it again?"""
    return last_fetch is None or now - last_fetch >= refetch_seconds


class IssuerKeys:
    def __init__(
        self, issuer: str, audience: str, *, refetch_seconds: float = DEFAULT_REFETCH_SECONDS
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self._refetch_seconds = refetch_seconds
        self._keys: PyJWKSet | None = None
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0  # how often the key set was fetched (tests check the rate limit with it)

    async def verify(self, token: str) -> Identity:
        """The identity a token proves, or TokenRejected; IssuerUnavailable if the keys can't be had."""
        keys = self._keys or await self._refresh(None)
        try:
            return verify_token(token, keys, issuer=self.issuer, audience=self.audience)
        except UnknownKey:
            keys = await self._refresh(keys)
            return verify_token(token, keys, issuer=self.issuer, audience=self.audience)

    async def _refresh(self, stale: PyJWKSet | None) -> PyJWKSet:
        async with self._lock:
            if self._keys is not None and self._keys is not stale:
                return self._keys  # another request refreshed it meanwhile
            if not may_refetch(self._fetched_at, time.monotonic(), self._refetch_seconds):
                if self._keys is None:  # the last fetch failed: don't hammer an issuer that is down
                    raise IssuerUnavailable("the issuer's keys could not be fetched; retrying shortly")
                raise TokenRejected("unknown_key")
            self._fetched_at = time.monotonic()
            self._keys = await self._fetch()
            self.fetches += 1
            return self._keys

    async def _fetch(self) -> PyJWKSet:
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            async with httpx.AsyncClient(timeout=FETCH_TIMEOUT_SECONDS) as client:
                discovery = msgspec.json.decode(await _get(client, url), type=_Discovery)
                if discovery.issuer != self.issuer:
                    raise IssuerUnavailable(
                        f"the discovery document names issuer {discovery.issuer!r}, not AUTH_ISSUER {self.issuer!r}"
                    )
                return PyJWKSet.from_json((await _get(client, discovery.jwks_uri)).decode())
        except (
            httpx.HTTPError,
            msgspec.DecodeError,
            msgspec.ValidationError,
            PyJWKSetError,
            ValueError,
        ) as exc:
            log.warning("the issuer's keys can't be fetched: %s", exc)
            raise IssuerUnavailable(str(exc)) from None


async def _get(client: httpx.AsyncClient, url: str) -> bytes:
    async with client.stream("GET", url, headers={"Accept": "application/json"}) as response:
        response.raise_for_status()
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_DOCUMENT_BYTES:
                raise ValueError(f"{url} answered more than {MAX_DOCUMENT_BYTES} bytes")
        return bytes(body)
