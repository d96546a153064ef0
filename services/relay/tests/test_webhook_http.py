"""POST /webhooks/sequin on a real relay process with a real Redis."""

import contextlib
import gzip
import json
import select
import socket
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import redis
from scrollr_core.signature import signature
from scrollr_relay.bus.cursor import Cursor

from tests.support.procs import SECRET, wait_until
from tests.support.sequin import EXAMPLES, batch, post, publish, trade_message
from tests.support.sse import open_stream


def assert_nothing_published(relay, client):
    """A marker sent after the rejected request must be the next thing the stream shows."""
    assert post(relay.url, batch(trade_message("MARKER", "1.00"))).status_code == 200
    event = client.next()
    assert event.json()["record"]["symbol"] == "MARKER"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_every_sequin_example_reaches_an_open_stream(redis_relay, path):
    client = open_stream(redis_relay)
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
    client = open_stream(redis_relay)
    body = batch(trade_message("SIG", "1.00"))
    signed = post(
        redis_relay.url, body, auth=False, headers={"sequin-signature": "sha256=" + signature(SECRET, body)}
    )
    assert signed.status_code == 200
    zipped = gzip.compress(batch(trade_message("GZ", "2.00")))
    assert post(redis_relay.url, zipped, headers={"content-encoding": "gzip"}).status_code == 200
    assert [e.json()["record"]["symbol"] for e in client.events(2)] == ["SIG", "GZ"]


def test_a_duplicate_delivery_is_acknowledged_and_published_once(redis_relay):
    client = open_stream(redis_relay)
    body = batch(trade_message("ONCE", "1.00"))
    first, second = post(redis_relay.url, body), post(redis_relay.url, body)
    assert (first.status_code, second.status_code) == (200, 200)
    assert (first.json()["published"], second.json()["duplicates"]) == (1, 1)
    assert client.next().json()["record"]["symbol"] == "ONCE"
    assert_nothing_published(redis_relay, client)


def test_redis_down_gets_503_and_the_retry_is_published_once_redis_is_back(start_relay, fresh_redis):
    relay = start_relay({"REDIS_URL": fresh_redis.url, "SSE_HEARTBEAT_SECONDS": "0.5"})
    client = open_stream(relay)
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


def test_the_first_webhook_after_a_redis_restart_is_accepted(start_relay, fresh_redis):
    relay = start_relay({"REDIS_URL": fresh_redis.url})
    with ThreadPoolExecutor(8) as pool:  # concurrent posts: several connections in the relay's pool
        before = list(pool.map(lambda n: post(relay.url, batch(trade_message(f"B{n}", "1"))), range(16)))
    assert {r.status_code for r in before} == {200}
    fresh_redis.restart()  # every pooled connection is now stale
    for n in range(4):
        response = post(relay.url, batch(trade_message(f"AFTER{n}", "1.00")))
        assert response.status_code == 200, response.text
    assert relay.metric("scrollr_webhook_rejections_total", 'reason="bus_unavailable"') == 0


def test_the_hub_reader_survives_a_redis_restart_without_a_stalled_stream(start_relay, fresh_redis):
    relay = start_relay({"REDIS_URL": fresh_redis.url})
    client = open_stream(relay)
    assert post(relay.url, batch(trade_message("BEFORE", "1.00"))).status_code == 200
    assert client.next(timeout=15).json()["record"]["symbol"] == "BEFORE"  # the reader is in this history
    fresh_redis.restart()
    cursors = {}
    for symbol in ("AFTER", "LATER"):
        response = post(relay.url, batch(trade_message(symbol, "1.00")))
        assert response.status_code == 200
        cursors[symbol] = Cursor.parse(response.json()["cursor"])
    # First a reset (nothing of the new history before it); after it, exactly the changes its cursor
    # doesn't cover (the reader may have looked before, between or after the two posts), then one
    # posted after the reset arrived: the reader goes on in the new history, no stall.
    reset = client.next(timeout=15)
    assert reset.event == "reset"
    covered = Cursor.parse(reset.json()["cursor"])
    assert post(relay.url, batch(trade_message("FINAL", "1.00"))).status_code == 200
    expected = [s for s, c in cursors.items() if c.epoch == covered.epoch and c.position > covered.position]
    got = [client.next(timeout=15).json()["record"]["symbol"] for _ in range(len(expected) + 1)]
    assert got == [*expected, "FINAL"]


def raw_request(relay, head: bytes, body: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", relay.port), timeout=10)
    sock.sendall(head + body)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    return answer


@pytest.mark.parametrize("authorization", [None, "Bearer wrong"])
def test_a_request_without_the_right_token_is_refused_before_its_body_arrives(redis_relay, authorization):
    head = b"POST /webhooks/sequin HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\nConnection: close\r\n"
    if authorization:
        head += f"Authorization: {authorization}\r\n".encode()
    sock = raw_request(redis_relay, head + b"\r\n", b"{")  # a body that never comes
    answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]


@pytest.mark.parametrize(
    ("request_bytes", "phase"),
    [
        (b"", "headers"),  # connects and says nothing
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: a", "headers"),  # headers that never end
        (
            b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: a",
            "headers",
        ),  # the same, as a kept-alive connection's second request
        (
            b"POST /webhooks/sequin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + SECRET.encode()
            + b'\r\nContent-Length: 1000\r\n\r\n{"data":',
            "body",
        ),  # an authenticated body that never ends
    ],
)
def test_a_request_that_trickles_in_is_closed(start_relay, request_bytes, phase):
    relay = start_relay({"HEADER_TIMEOUT_SECONDS": "1", "BODY_TIMEOUT_SECONDS": "1"})
    sock = raw_request(relay, request_bytes)
    trickle = (b"a" if phase == "headers" else b" ") if request_bytes else b""
    for _ in range(3):  # keep trickling: a byte now and then must not keep the connection
        with contextlib.suppress(OSError):
            sock.sendall(trickle)
        if select.select([sock], [], [], 0.4)[0]:
            break
    read_until_closed(sock)  # returns once the relay has closed it (the socket's own timeout is 10 s)
    wait_until(
        lambda: relay.metric("scrollr_request_timeouts_total", f'phase="{phase}"') >= 1,
        what="the timeout counted",
    )


def test_deliveries_are_summarised_at_info_and_logged_one_by_one_only_at_debug(start_relay):
    relay = start_relay({"LOG_LEVEL": "INFO", "LOG_SUMMARY_SECONDS": "0.2"})
    for n in range(3):
        publish(relay, f"S{n}", f"T{n}")

    def summaries() -> list[dict]:
        lines = [line for line in relay.log().splitlines() if '"event":"webhook_summary"' in line]
        return [json.loads(line[line.index("{") :]) for line in lines]

    wait_until(lambda: sum(s["deliveries"] for s in summaries()) == 3, what="the summary of 3 deliveries")
    assert sum(s["changes"] for s in summaries()) == sum(s["published"] for s in summaries()) == 6
    assert '"outcome":"accepted"' not in relay.log()  # the per-delivery line is DEBUG


def test_a_redis_user_refused_the_bus_commands_is_not_ready_and_says_why(start_relay, fresh_redis):
    # PING works for this user; the scripts don't (no `info`, which the failover check needs).
    with redis.Redis(port=fresh_redis.port) as admin:
        admin.execute_command("ACL", "SETUSER", "relay", "on", ">relay-password", "~*", "+@all", "-info")
    relay = start_relay({"REDIS_URL": f"redis://relay:relay-password@127.0.0.1:{fresh_redis.port}/0"})
    assert httpx.get(f"{relay.url}/readyz").status_code == 503
    assert post(relay.url, batch(trade_message("NOPE", "1.00"))).status_code == 503
    wait_until(lambda: "no permissions to run the 'info' command" in relay.log(), what="why, in the log")


@pytest.mark.parametrize(
    ("policy", "ready"),
    [("allkeys-lru", False), ("allkeys-lfu", False), ("volatile-lru", True), ("noeviction", True)],
)
def test_an_eviction_policy_that_can_drop_the_bus_keys_is_refused_loudly(
    start_relay, fresh_redis, policy, ready
):
    with redis.Redis(port=fresh_redis.port) as admin:
        admin.config_set("maxmemory-policy", policy)
    relay = start_relay({"REDIS_URL": fresh_redis.url})
    response = httpx.get(f"{relay.url}/readyz")
    if ready:
        assert response.status_code == 200
        assert "maxmemory-policy" not in relay.log()
        return
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "unavailable": "bus", "reason": "eviction_policy"}
    # Said at start-up already, at ERROR, naming the policy and the fix.
    wait_until(
        lambda: "ERROR scrollr.health the event bus is misconfigured" in relay.log(), what="start-up error"
    )
    assert (
        f"maxmemory-policy is {policy}" in relay.log() and "set maxmemory-policy to noeviction" in relay.log()
    )
    with redis.Redis(port=fresh_redis.port) as admin:
        admin.config_set("maxmemory-policy", "noeviction")
    assert httpx.get(f"{relay.url}/readyz").status_code == 200
