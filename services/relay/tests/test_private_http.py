"""Private events on the same stream, through the project's own pipeline: PUT /me/preferences writes
Postgres, the change emitter carries the row to the relay, the relay sends it to that user's streams
only. Real Postgres, emitter, relay and development OpenID provider."""

import httpx
import pytest

from tests.support.oidc import AUDIENCE, sign_in
from tests.support.pg import cdc_env, insert_trade
from tests.support.sse import Message, SSEClient, open_stream
from tests.support.tokens import claims


@pytest.fixture
def relay(dev_provider, database_url, start_relay, start_cdc):
    relay = start_relay({"DATABASE_URL": database_url, **dev_provider.relay_env()})
    start_cdc(cdc_env(database_url, relay.url)).wait_streaming()
    return relay


def token_for(provider, sub: str, lifetime_seconds: float = 300) -> str:
    """An access token of another account, signed with the provider's key (it has one account)."""
    return provider.key.sign(
        claims(sub, issuer=provider.issuer, audience=AUDIENCE, lifetime_seconds=lifetime_seconds)
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def ticket(relay, token: str) -> str:
    response = httpx.post(f"{relay.url}/events/ticket", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json()["expires_in"] == 60
    return str(response.json()["ticket"])


def save(relay, token: str, symbols: list[str]) -> None:
    url = f"{relay.url}/me/preferences"
    current = httpx.get(url, headers=bearer(token))
    condition = (
        {"If-Match": current.headers["etag"]} if current.status_code == 200 else {"If-None-Match": "*"}
    )
    response = httpx.put(
        url, headers={**bearer(token), **condition}, json={"symbols": symbols, "leagues": []}
    )
    assert response.status_code in (200, 201), response.text


def until_trade(stream: SSEClient, symbol: str) -> list[Message]:
    """Every event up to the change of `symbol`'s trade (a public marker everyone receives)."""
    seen = []
    while True:
        message = stream.next(timeout=15)
        seen.append(message)
        if message.event == "change" and message.json()["record"]["symbol"] == symbol:
            return seen


def preferences(messages: list[Message]) -> list[list[str]]:
    return [m.json()["preferences"]["symbols"] for m in messages if m.event == "preferences"]


def test_a_users_write_reaches_their_streams_only(relay, dev_provider, database_url):
    alice = str(sign_in(dev_provider)["access_token"])  # the development account, signed in for real
    bob = token_for(dev_provider, "bob")
    alice_stream = open_stream(relay, f"?ticket={ticket(relay, alice)}")
    # bob's ticket used from another address: still bob's events, and only his
    bob_stream = open_stream(relay, f"?ticket={ticket(relay, bob)}", source_address="127.0.0.2")
    public = open_stream(relay)
    save(relay, alice, ["AAPL", "MSFT"])
    insert_trade(database_url, "MARK1")
    assert preferences(until_trade(alice_stream, "MARK1")) == [["AAPL", "MSFT"]]
    assert preferences(until_trade(bob_stream, "MARK1")) == []
    assert preferences(until_trade(public, "MARK1")) == []
    save(relay, bob, ["NVDA"])
    insert_trade(database_url, "MARK2")
    assert preferences(until_trade(bob_stream, "MARK2")) == [["NVDA"]]
    assert preferences(until_trade(alice_stream, "MARK2")) == []
    assert all(m.event != "preferences" for m in until_trade(public, "MARK2"))
    for stream in (alice_stream, bob_stream, public):
        stream.close()


def test_a_ticket_is_single_use_and_must_be_real(relay, dev_provider):
    token = token_for(dev_provider, "carol")
    once = ticket(relay, token)
    open_stream(relay, f"?ticket={once}").close()
    for bad in (once, "made-up", "x" * 500):
        refused = SSEClient(f"{relay.url}/events?ticket={bad}")
        assert refused.status == 401, bad
        assert refused.headers["www-authenticate"].startswith("Bearer")
        refused.close()
    assert httpx.post(f"{relay.url}/events/ticket").status_code == 401
    expired = token_for(dev_provider, "carol", lifetime_seconds=-300)
    assert httpx.post(f"{relay.url}/events/ticket", headers=bearer(expired)).status_code == 401
    # Just expired, within the clock skew other routes allow: no ticket (its stream would end at once).
    just = token_for(dev_provider, "carol", lifetime_seconds=-5)
    assert httpx.get(f"{relay.url}/me/preferences", headers=bearer(just)).status_code == 404
    refused = httpx.post(f"{relay.url}/events/ticket", headers=bearer(just))
    assert refused.status_code == 401 and "token_expired" in refused.headers["www-authenticate"]


def test_private_events_resume_under_the_same_cursor(relay, dev_provider, database_url):
    token = token_for(dev_provider, "dave")
    stream = open_stream(relay, f"?ticket={ticket(relay, token)}")
    insert_trade(database_url, "BEFORE")
    until_trade(stream, "BEFORE")
    cursor = stream.last_id
    stream.close()
    save(relay, token, ["AMD"])  # written while the client is away
    insert_trade(database_url, "AFTER")
    public = open_stream(relay, headers={"Last-Event-ID": cursor})
    assert preferences(until_trade(public, "AFTER")) == []  # a resume without a ticket: nothing private
    resumed = open_stream(relay, f"?ticket={ticket(relay, token)}", headers={"Last-Event-ID": cursor})
    missed = until_trade(resumed, "AFTER")
    assert preferences(missed) == [["AMD"]]
    assert all(m.id is not None and m.id > cursor for m in missed if m.event == "preferences")


def test_an_expiring_token_ends_the_stream_and_a_new_ticket_resumes_without_loss(
    relay, dev_provider, database_url
):
    short = token_for(dev_provider, "erin", lifetime_seconds=3)
    stream = open_stream(relay, f"?ticket={ticket(relay, short)}")
    insert_trade(database_url, "LIVE")
    until_trade(stream, "LIVE")
    ended = stream.next(timeout=10)
    assert ended.event == "token_expired"
    stream.wait_closed()
    fresh = token_for(dev_provider, "erin")  # the client refreshes its token...
    save(relay, fresh, ["TSLA"])  # (a write from another device while this one reconnects)
    insert_trade(database_url, "BACK")
    resumed = open_stream(relay, f"?ticket={ticket(relay, fresh)}", headers={"Last-Event-ID": stream.last_id})
    assert preferences(until_trade(resumed, "BACK")) == [["TSLA"]]


def test_a_ticket_from_one_relay_process_opens_a_stream_on_another(dev_provider, redis_server, start_relay):
    """WORKERS=2 on one port: the kernel spreads connections over the processes, so a ticket is
    issued by one and redeemed by either. Only tickets kept in Redis make every redemption work."""
    relay = start_relay(
        {
            "REDIS_URL": redis_server.url,
            "STREAM_KEY": "events:tickets",
            "WORKERS": "2",
            **dev_provider.relay_env(),
        }
    )
    token = token_for(dev_provider, "frank")
    for _ in range(12):  # with in-memory tickets about half of these would land on the other process
        with httpx.Client() as fresh:  # a new connection each time
            issued = fresh.post(f"{relay.url}/events/ticket", headers=bearer(token)).json()["ticket"]
        stream = SSEClient(f"{relay.url}/events?ticket={issued}")
        assert stream.status == 200
        stream.close()
