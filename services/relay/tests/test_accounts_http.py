"""/me/preferences on a real relay, with real Postgres and the real development OpenID provider:
every bad token refused (401 + WWW-Authenticate, never logged), versions, validation, limits."""

import httpx
import pytest

from tests.support.oidc import AUDIENCE, DEV_SUB, sign_in
from tests.support.pg import execute
from tests.support.tokens import SigningKey, claims, hmac_with_public_key, unsigned

ATTACKER = SigningKey("dev-test-key")  # the provider's key name, someone else's key


@pytest.fixture
def relay(dev_provider, database_url, start_relay):
    return start_relay({"DATABASE_URL": database_url, **dev_provider.relay_env()})


@pytest.fixture
def token(dev_provider):
    return str(sign_in(dev_provider)["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def bad_tokens(provider):
    key, iss = provider.key, provider.issuer
    return {
        "malformed": "not.a.jwt",
        "forged": ATTACKER.sign(claims(issuer=iss, audience=AUDIENCE)),
        "expired": key.sign(claims(issuer=iss, audience=AUDIENCE, lifetime_seconds=-300)),
        "not-yet-valid": key.sign(claims(issuer=iss, audience=AUDIENCE, not_before_seconds=300)),
        "wrong-issuer": key.sign(claims(issuer="https://evil.example.com", audience=AUDIENCE)),
        "wrong-audience": key.sign(claims(issuer=iss, audience="https://another-api")),
        "alg-none": unsigned(claims(issuer=iss, audience=AUDIENCE), kid=key.kid),
        "hs256-public-key": hmac_with_public_key(claims(issuer=iss, audience=AUDIENCE), key),
    }


def test_every_bad_token_is_a_401_with_a_challenge_and_is_never_logged(relay, dev_provider):
    missing = httpx.get(f"{relay.url}/me/preferences")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="scrollr"'
    for name, bad in bad_tokens(dev_provider).items():
        for request in (
            lambda t: httpx.get(f"{relay.url}/me/preferences", headers=bearer(t)),
            lambda t: httpx.put(
                f"{relay.url}/me/preferences",
                headers={**bearer(t), "If-None-Match": "*"},
                json={"symbols": [], "leagues": []},
            ),
        ):
            response = request(bad)
            assert response.status_code == 401, (name, response.text)
            challenge = response.headers["www-authenticate"]
            assert challenge.startswith('Bearer realm="scrollr", error="invalid_token"'), (name, challenge)
            assert bad not in response.text
        log = relay.log()
        assert all(part not in log for part in bad.split(".") if len(part) >= 8), name  # no part of it
    assert execute(relay.env["DATABASE_URL"], "SELECT count(*) FROM user_preferences") == [(0,)]


def test_preferences_are_created_read_and_replaced_by_version(relay, token):
    url = f"{relay.url}/me/preferences"
    assert httpx.get(url, headers=bearer(token)).json()["error"] == "no_preferences"
    body = {"symbols": ["MSFT", "AAPL"], "leagues": ["NFL"], "favouriteTeams": {"NFL": "Kansas City Chiefs"}}
    assert httpx.put(url, headers=bearer(token), json=body).status_code == 428
    created = httpx.put(url, headers={**bearer(token), "If-None-Match": "*"}, json=body)
    assert created.status_code == 201, created.text
    assert created.json()["symbols"] == ["AAPL", "MSFT"]
    first = created.headers["etag"]
    again = httpx.put(url, headers={**bearer(token), "If-None-Match": "*"}, json=body)
    assert again.status_code == 412  # another device created them first
    read = httpx.get(url, headers=bearer(token))
    assert read.headers["etag"] == first and read.json()["favouriteTeams"] == {"NFL": "Kansas City Chiefs"}
    replaced = httpx.put(
        url, headers={**bearer(token), "If-Match": first}, json={**body, "symbols": ["NVDA"]}
    )
    assert replaced.status_code == 200 and replaced.headers["etag"] != first
    stale = httpx.put(url, headers={**bearer(token), "If-Match": first}, json={**body, "symbols": ["AMD"]})
    assert stale.status_code == 412  # two devices at once: the second must read again
    assert httpx.get(url, headers=bearer(token)).json()["symbols"] == ["NVDA"]
    rows = execute(relay.env["DATABASE_URL"], "SELECT sub, symbols FROM user_preferences")
    assert rows == [(DEV_SUB, ["NVDA"])]
    every = httpx.put(
        url, headers={**bearer(token), "If-Match": replaced.headers["etag"]}, json={**body, "symbols": None}
    )
    assert every.status_code == 200, every.text  # null: every symbol of the catalog
    assert httpx.get(url, headers=bearer(token)).json()["symbols"] is None


@pytest.mark.parametrize(
    ("content", "status", "named"),
    [
        (b'{"symbols": ["AAPL", "NOPE"], "leagues": []}', 400, "NOPE"),
        (b'{"symbols": [], "leagues": ["Quidditch"]}', 400, "Quidditch"),
        (b'{"symbols": [], "leagues": [], "colour": "red"}', 400, "colour"),
        (b'{"symbols": [', 400, ""),
        (b"[]", 400, ""),
        (b'{"symbols": [], "leagues": [], "feedBar": {"x": "' + b"y" * 20000 + b'"}}', 413, ""),
    ],
    ids=["unknown-symbol", "unknown-league", "unknown-field", "truncated-json", "not-an-object", "oversized"],
)
def test_a_bad_body_is_refused_and_nothing_is_written(relay, token, content, status, named):
    url = f"{relay.url}/me/preferences"
    created = httpx.put(
        url, headers={**bearer(token), "If-None-Match": "*"}, json={"symbols": ["AAPL"], "leagues": []}
    )
    headers = {**bearer(token), "If-Match": created.headers["etag"], "Content-Type": "application/json"}
    response = httpx.put(url, headers=headers, content=content)
    assert response.status_code == status, response.text
    assert named in response.text
    after = httpx.get(url, headers=bearer(token))
    assert after.headers["etag"] == created.headers["etag"] and after.json()["symbols"] == ["AAPL"]


def test_the_routes_are_in_the_schema(relay):
    paths = httpx.get(f"{relay.url}/schema/openapi.json").json()["paths"]
    assert set(paths["/me/preferences"]) >= {"get", "put"}
    assert "post" in paths["/events/ticket"]
    assert any(p["name"] == "ticket" for p in paths["/events"]["get"]["parameters"])


def test_without_an_issuer_there_are_no_accounts(database_url, start_relay):
    relay = start_relay({"DATABASE_URL": database_url})
    response = httpx.get(f"{relay.url}/me/preferences", headers=bearer("anything"))
    assert response.status_code == 404 and response.json()["error"] == "accounts_disabled"
    assert httpx.get(f"{relay.url}/auth/config").status_code == 404


def test_clients_learn_where_to_sign_in(relay, dev_provider):
    config = httpx.get(f"{relay.url}/auth/config").json()
    assert config == {
        "issuer": dev_provider.issuer,
        "audience": AUDIENCE,
        "dashboardClientId": "scrollr-dashboard",
        "extensionClientId": "scrollr-extension",
    }


def test_an_unreachable_issuer_is_a_503_to_retry_not_a_401(database_url, start_relay):
    relay = start_relay(
        {"DATABASE_URL": database_url, "AUTH_ISSUER": "http://127.0.0.1:9", "AUTH_AUDIENCE": AUDIENCE}
    )
    token = ATTACKER.sign(claims(issuer="http://127.0.0.1:9", audience=AUDIENCE))
    response = httpx.get(f"{relay.url}/me/preferences", headers=bearer(token))
    assert response.status_code == 503 and response.json()["error"] == "issuer_unavailable"
    assert response.headers["retry-after"]
    assert token.split(".")[2] not in relay.log()
