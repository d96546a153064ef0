"""tickets.py: single-use, expiring, bound to the grant they were issued for (memory and Redis)."""

import pytest
from scrollr_relay.accounts import tickets as tickets_module
from scrollr_relay.accounts.tickets import MemoryTickets, RedisTickets, TicketGrant
from scrollr_relay.redis_topology import RedisSettings

GRANT = TicketGrant(sub="alice", expires_at=2e9)


@pytest.fixture(params=["memory", "redis"])
async def store(request):
    if request.param == "memory":
        yield MemoryTickets()
        return
    server = request.getfixturevalue("redis_server")
    redis = RedisTickets(RedisSettings(mode="standalone", url=server.url))
    yield redis
    await redis.close()


async def test_a_ticket_opens_its_grant_once(store):
    ticket = await store.issue(GRANT)
    assert len(ticket) >= 40
    assert await store.redeem(ticket) == GRANT
    assert await store.redeem(ticket) is None  # single use


async def test_unknown_and_oversized_tickets_open_nothing(store):
    await store.issue(GRANT)
    assert await store.redeem("guess") is None
    assert await store.redeem("x" * 10_000) is None


async def test_each_ticket_is_bound_to_its_own_grant(store):
    bob = TicketGrant(sub="bob", expires_at=2e9)
    first, second = await store.issue(GRANT), await store.issue(bob)
    assert await store.redeem(second) == bob
    assert await store.redeem(first) == GRANT


async def test_a_memory_ticket_expires(monkeypatch):
    store = MemoryTickets()
    ticket = await store.issue(GRANT)
    now = tickets_module.time.monotonic()
    monkeypatch.setattr(tickets_module.time, "monotonic", lambda: now + tickets_module.TICKET_SECONDS + 1)
    assert await store.redeem(ticket) is None


async def test_a_redis_ticket_expires_with_its_key(redis_server):
    store = RedisTickets(RedisSettings(mode="standalone", url=redis_server.url))
    try:
        ticket = await store.issue(GRANT)
        client = await store._redis()
        ttl = await client.ttl(tickets_module.ticket_key(ticket))
        assert 0 < ttl <= tickets_module.TICKET_SECONDS
        assert ticket not in str(await client.keys("scrollr:ticket:*"))  # only its hash is stored
    finally:
        await store.close()
