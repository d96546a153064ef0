"""POST /webhooks/sequin on a real relay process with a real Redis."""

import gzip
import json

import httpx
import pytest
from scrollr_relay.auth import signature
from scrollr_relay.cursor import Cursor

from tests.support.procs import SECRET, wait_until
from tests.support.sequin import EXAMPLES, batch, post, trade_message
from tests.support.sse import SSEClient


def stream(relay, query=""):
    client = SSEClient(f"{relay.url}/events{query}")
    client.wait_comment("connected")
    return client


def assert_nothing_published(relay, client):
    """A marker sent after the rejected request must be the next thing the stream shows."""
    assert post(relay.url, batch(trade_message("MARKER", "1.00"))).status_code == 200
    event = client.next()
    assert event.json()["record"]["symbol"] == "MARKER"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_every_sequin_example_reaches_an_open_stream(redis_relay, path):
    client = stream(redis_relay)
    raw = json.loads(path.read_bytes())
    expected = raw.get("data", [raw])
    response = post(redis_relay.url, path.read_bytes())
    assert response.status_code == 200, response.text
    assert response.json()["published"] == len(expected)
    for want in expected:
        event = client.next()
        assert event.event == "change"
        data = event.json()
        assert (data["table"], data["action"]) == (want["metadata"]["table_name"], want["action"])
        assert data["record"] == want["record"]
        assert data["changes"] == want["changes"]
        assert data["commit_lsn"] == want["metadata"]["commit_lsn"]


def test_hmac_signed_and_gzip_bodies_are_accepted(redis_relay):
    client = stream(redis_relay)
    body = batch(trade_message("SIG", "1.00"))
    signed = post(
        redis_relay.url, body, auth=False, headers={"sequin-signature": "sha256=" + signature(SECRET, body)}
    )
    assert signed.status_code == 200
    zipped = gzip.compress(batch(trade_message("GZ", "2.00")))
    assert post(redis_relay.url, zipped, headers={"content-encoding": "gzip"}).status_code == 200
    assert [e.json()["record"]["symbol"] for e in client.events(2)] == ["SIG", "GZ"]


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing_credentials"),
        ({"authorization": "Bearer wrong-secret-wrong"}, "wrong_credentials"),
        ({"sequin-signature": "sha256=" + "0" * 64}, "wrong_credentials"),
        ({"sequin-signature": "not-hex"}, "wrong_credentials"),
    ],
)
def test_missing_or_wrong_credentials_get_401_and_publish_nothing(redis_relay, headers, reason):
    client = stream(redis_relay)
    before = redis_relay.metric("scrollr_webhook_rejections_total", f'reason="{reason}"')
    response = post(redis_relay.url, batch(trade_message("NOPE", "1.00")), auth=False, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == reason
    assert redis_relay.metric("scrollr_webhook_rejections_total", f'reason="{reason}"') == before + 1
    assert_nothing_published(redis_relay, client)


def test_malformed_body_gets_400_naming_the_problem_and_publishes_nothing_of_the_batch(redis_relay):
    client = stream(redis_relay)
    bad = trade_message("BAD", "1.00")
    bad["action"] = "upsert"
    response = post(redis_relay.url, batch(trade_message("GOOD", "1.00"), bad))
    assert response.status_code == 400
    assert "$.data[1].action" in response.json()["detail"]
    assert post(redis_relay.url, b"{oops").status_code == 400
    assert_nothing_published(redis_relay, client)


def test_oversized_body_gets_413(redis_relay):
    client = stream(redis_relay)
    big = trade_message("BIG", "1.00")
    big["record"]["pad"] = "x" * (1024 * 1024)
    response = post(redis_relay.url, batch(big))
    assert response.status_code == 413
    assert_nothing_published(redis_relay, client)


def test_gzip_bomb_is_refused_by_its_decompressed_size(redis_relay):
    client = stream(redis_relay)
    padded = trade_message("BOMB", "1.00")
    padded["record"]["pad"] = " " * (50 * 1024 * 1024)
    bomb = gzip.compress(batch(padded), compresslevel=9)
    assert len(bomb) < 1024 * 1024  # small on the wire, 50 MiB inflated
    response = post(redis_relay.url, bomb, headers={"content-encoding": "gzip"})
    assert response.status_code == 413
    assert post(redis_relay.url, b"\x1f\x8bnot gzip", headers={"content-encoding": "gzip"}).status_code == 400
    assert_nothing_published(redis_relay, client)


def test_a_duplicate_delivery_is_acknowledged_and_published_once(redis_relay):
    client = stream(redis_relay)
    body = batch(trade_message("ONCE", "1.00"))
    first, second = post(redis_relay.url, body), post(redis_relay.url, body)
    assert (first.status_code, second.status_code) == (200, 200)
    assert (first.json()["published"], second.json()["duplicates"]) == (1, 1)
    assert client.next().json()["record"]["symbol"] == "ONCE"
    assert_nothing_published(redis_relay, client)


def test_redis_down_gets_503_and_the_retry_is_published_once_redis_is_back(start_relay, fresh_redis):
    relay = start_relay({"REDIS_URL": fresh_redis.url, "SSE_HEARTBEAT_SECONDS": "0.5"})
    client = stream(relay)
    wait_until(lambda: relay.metric("scrollr_bus_up") == 1, what="the bus reader to hold a position")
    fresh_redis.stop()
    body = batch(trade_message("RETRY", "1.00"))
    response = post(relay.url, body)
    assert response.status_code == 503
    assert response.headers["retry-after"].isdigit()
    assert httpx.get(f"{relay.url}/readyz").status_code == 503
    fresh_redis.start()
    wait_until(lambda: httpx.get(f"{relay.url}/readyz").status_code == 200, what="readyz")
    retried = post(relay.url, body)
    assert retried.status_code == 200
    assert retried.json()["published"] == 1
    # Redis came back empty: the open stream is told to resync. The retried change either follows
    # the reset or is already covered by it (the reset's cursor is at or past it: the snapshot the
    # client refetches holds it).
    reset = client.next(timeout=20)
    assert reset.event == "reset"
    published_at = Cursor.parse(retried.json()["cursor"])
    reset_at = Cursor.parse(reset.id)
    assert reset_at.epoch == published_at.epoch
    if reset_at.position < published_at.position:
        assert client.next(timeout=20).json()["record"]["symbol"] == "RETRY"


def test_one_log_line_per_request(redis_relay):
    post(redis_relay.url, batch(trade_message("LOG", "1.00"), trade_message("LOG2", "1.00")))
    post(redis_relay.url, b"{}", auth=False)

    def lines():
        return [
            json.loads(line.split(" ", 4)[-1][line.split(" ", 4)[-1].index("{") :])
            for line in redis_relay.log().splitlines()
            if '"event":"webhook"' in line
        ]

    logged = wait_until(lambda: len(lines()) >= 2 and lines(), what="log lines")
    accepted, rejected = logged[-2], logged[-1]
    assert accepted["outcome"] == "accepted"
    assert accepted["count"] == 2
    assert accepted["tables"] == {"trades": 2}
    assert accepted["actions"] == {"update": 2}
    assert accepted["duplicates"] == 0
    assert "ms" in accepted
    assert (rejected["outcome"], rejected["status"]) == ("missing_credentials", 401)
