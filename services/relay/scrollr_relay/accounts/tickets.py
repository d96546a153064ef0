"""Stream tickets: how a signed-in client opens `/events` without putting its token in a URL.

EventSource can't send an `Authorization` header, and access logs keep URLs, so a long-lived token
must never be a query parameter. `POST /events/ticket` (with the Bearer token) hands out a random
ticket instead: single-use (redeeming deletes it), short-lived (TICKET_SECONDS) and bound to the
token's subject and expiry. Only a hash of the ticket is stored.

With Redis the tickets live there (`SET ... EX`, redeemed with `GETDEL`: atomic, so two relays can't
both accept one ticket), so a ticket issued by one relay process is good at any other; without Redis
the relay is one process and keeps them in memory.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Protocol

import msgspec
from redis.exceptions import RedisError

from scrollr_relay.redis_topology import Client, RedisSettings, connect

TICKET_SECONDS = 60
MAX_TICKET_CHARS = 64
MAX_MEMORY_TICKETS = 100_000
KEY_PREFIX = "scrollr:ticket:"


class TicketGrant(msgspec.Struct, frozen=True):
    """What a ticket opens: the private events of `sub`, until `expires_at` (the token's expiry)."""

    sub: str
    expires_at: float


class TicketStoreUnavailable(Exception):
    """Tickets can't be issued or checked now (Redis out of reach): a 503."""


class Tickets(Protocol):
    async def issue(self, grant: TicketGrant) -> str: ...

    async def redeem(self, ticket: str) -> TicketGrant | None:
        """The ticket's grant, once: None if it is unknown, used or expired."""


def new_ticket() -> str:
    return secrets.token_urlsafe(32)


def ticket_key(ticket: str) -> str:
    return KEY_PREFIX + hashlib.sha256(ticket.encode()).hexdigest()


def usable(ticket: str) -> bool:
    return 0 < len(ticket) <= MAX_TICKET_CHARS


class MemoryTickets:
    def __init__(self) -> None:
        self._tickets: dict[str, tuple[TicketGrant, float]] = {}

    async def issue(self, grant: TicketGrant) -> str:
        now = time.monotonic()
        if len(self._tickets) >= MAX_MEMORY_TICKETS:
            self._tickets = {k: v for k, v in self._tickets.items() if v[1] > now}
            while len(self._tickets) >= MAX_MEMORY_TICKETS:  # still full: the oldest go first
                del self._tickets[next(iter(self._tickets))]
        ticket = new_ticket()
        self._tickets[ticket_key(ticket)] = (grant, now + TICKET_SECONDS)
        return ticket

    async def redeem(self, ticket: str) -> TicketGrant | None:
        if not usable(ticket):
            return None
        found = self._tickets.pop(ticket_key(ticket), None)
        if found is None or found[1] <= time.monotonic():
            return None
        return found[0]


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(TicketGrant).decode


class RedisTickets:
    def __init__(self, settings: RedisSettings) -> None:
        self._settings = settings
        self._client: Client | None = None

    async def _redis(self) -> Client:
        if self._client is None:
            self._client = await connect(self._settings)
        return self._client

    async def issue(self, grant: TicketGrant) -> str:
        ticket = new_ticket()
        try:
            await (await self._redis()).set(ticket_key(ticket), _encode(grant), ex=TICKET_SECONDS)
        except (RedisError, OSError) as exc:
            raise TicketStoreUnavailable(str(exc)) from exc
        return ticket

    async def redeem(self, ticket: str) -> TicketGrant | None:
        if not usable(ticket):
            return None
        try:
            stored = await (await self._redis()).getdel(ticket_key(ticket))
        except (RedisError, OSError) as exc:
            raise TicketStoreUnavailable(str(exc)) from exc
        return _decode(stored) if stored is not None else None

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()


def make_tickets(redis: RedisSettings | None) -> MemoryTickets | RedisTickets:
    return MemoryTickets() if redis is None else RedisTickets(redis)
