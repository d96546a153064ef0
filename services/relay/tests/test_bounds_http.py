"""Issue 22's bounds, probed on a real relay process: what one unauthenticated client can make the
relay hold or do (headers, bodies, replays, resume cache, filters), measured as the process's RSS."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.support.procs import SECRET, wait_until
from tests.support.sequin import batch, post, publish, trade_message
from tests.support.sse import open_stream

MiB = 1024 * 1024


def relay_id() -> str:
    return f"{os.getpid()}-{time.monotonic_ns()}"


def connect(relay) -> socket.socket:
    return socket.create_connection(("127.0.0.1", relay.port), timeout=10)


def send_until_refused(sock: socket.socket, data: bytes, total: int) -> int:
    """Send `data` repeatedly up to `total` bytes; how many went before the relay closed."""
    sent = 0
    try:
        while sent < total:
            sock.sendall(data)
            sent += len(data)
    except OSError:
        pass  # the relay closed the connection: the point
    return sent


def read_answer(sock: socket.socket) -> bytes:
    answer = b""
    try:
        while chunk := sock.recv(65536):
            answer += chunk
    except ConnectionResetError:
        pass  # closed with our unread bytes in its buffer: the answer, if any, came first
    return answer


def test_a_mebibyte_of_headers_is_refused_with_431(start_relay):
    relay = start_relay()
    sock = connect(relay)
    filler = b"".join(f"X-Filler-{n}: {'a' * 1000}\r\n".encode() for n in range(1024))
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    send_until_refused(sock, filler + b"\r\n", len(filler) + 2)
    answer = read_answer(sock)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
    assert b"connection: close" in answer.lower()
    wait_until(lambda: relay.metric("scrollr_limits_reached_total", 'limit="header_bytes"') >= 1)


def test_headers_just_under_the_cap_are_served(start_relay):
    relay = start_relay({"MAX_HEADER_BYTES": "8192"})
    sock = connect(relay)
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    pad = b"X-Pad: " + b"a" * (8192 - len(head) - 11) + b"\r\n\r\n"
    sock.sendall(head + pad)
    assert read_answer(sock).startswith(b"HTTP/1.1 200")


def test_64_mib_of_unterminated_headers_grow_the_relay_by_less_than_16_mib(start_relay):
    relay = start_relay()
    before = relay.rss()
    sock = connect(relay)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Endless: ")
    sent = send_until_refused(sock, b"a" * 65536, 64 * MiB)
    grown = relay.rss() - before
    print(f"\n64 MiB of unterminated headers: {sent / MiB:.1f} MiB sent, RSS +{grown / MiB:.1f} MiB")
    assert grown < 16 * MiB, f"RSS grew {grown / MiB:.1f} MiB after {sent / MiB:.1f} MiB of headers"
    assert sent < 64 * MiB, "the relay read all of it"


def unauthenticated_post(relay, body_bytes: int) -> socket.socket:
    sock = connect(relay)
    sock.settimeout(5)
    sock.sendall(
        b"POST /webhooks/sequin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\n"
        + f"Content-Length: {body_bytes}\r\n\r\n".encode()
    )
    return sock


def test_an_early_401_closes_the_connection_without_reading_the_body(start_relay):
    relay = start_relay()
    sock = unauthenticated_post(relay, MiB)
    sock.sendall(b"{" * 1024)  # the rest never comes: only closing ends it before BODY_TIMEOUT_SECONDS
    answer = read_answer(sock)  # EOF within the socket's 5 s, or socket.timeout fails the test
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b"connection: close" in answer.lower()


def test_an_early_413_closes_the_connection(start_relay):
    relay = start_relay({"WEBHOOK_MAX_BODY_BYTES": "4096"})
    sock = connect(relay)
    sock.settimeout(5)
    sock.sendall(
        b"POST /webhooks/sequin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        + SECRET.encode()
        + b"\r\nContent-Length: 1000000\r\n\r\n{"
    )
    answer = read_answer(sock)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_a_thousand_unauthenticated_mebibyte_bodies_grow_the_relay_by_less_than_40_mib(start_relay):
    relay = start_relay()
    before = relay.rss()
    body = b"{" * MiB

    def one(_: int) -> bytes:
        sock = unauthenticated_post(relay, len(body))
        send_until_refused(sock, body, len(body))
        answer = read_answer(sock)  # returns at the relay's close; a socket.timeout fails the test
        sock.close()
        return answer

    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(one, range(1000)))
    grown = relay.rss() - before
    print(f"\n1,000 unauthenticated 1 MiB bodies: RSS +{grown / MiB:.1f} MiB")
    assert grown < 40 * MiB, f"RSS grew {grown / MiB:.1f} MiB"
    assert sum(a.startswith(b"HTTP/1.1 401") for a in answers) >= 990, "401s not received"


def publish_many(relay, count: int, per_batch: int = 500) -> None:
    for first in range(0, count, per_batch):
        messages = [trade_message(f"S{n % 500}", "1.00", row_id=n) for n in range(first, first + per_batch)]
        assert post(relay.url, batch(*messages)).status_code == 200


def resume_and_hang_up(relay, cursor: str) -> None:
    with connect(relay) as sock:
        sock.sendall(
            b"GET /events?symbols=NONE HTTP/1.1\r\nHost: x\r\nLast-Event-ID: " + cursor.encode() + b"\r\n\r\n"
        )
        sock.recv(1)  # the first bytes, then gone


def timed_webhook(relay) -> float:
    started = time.monotonic()
    assert post(relay.url, batch(trade_message("TIMED", "1.00"))).status_code == 200
    return time.monotonic() - started


def test_replays_of_clients_that_hung_up_leave_webhooks_and_readiness_alone(start_relay, redis_server):
    relay = start_relay(
        {
            "REDIS_URL": redis_server.url,
            "STREAM_KEY": f"events:replays:{relay_id()}",
            "MAX_REPLAYS_PER_CLIENT": "0",  # every resume admitted: the replays themselves must stop
        }
    )
    cursor = publish(relay, "FIRST")["cursor"]
    live = open_stream(relay, "?symbols=LAST")
    publish_many(relay, 10_000)
    publish(relay, "LAST")
    assert live.next().json()["record"]["symbol"] == "LAST"  # past the recent frames: replays read Redis
    live.close()
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):
                resume_and_hang_up(relay, cursor)

    during: list[float] = []
    ready: list[int] = []
    with ThreadPoolExecutor(20) as pool:
        for _ in range(20):
            pool.submit(hammer)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            during.append(timed_webhook(relay))
            ready.append(httpx.get(f"{relay.url}/readyz", timeout=30).status_code)
        stop.set()
    time.sleep(3)  # the "3 s later": a fixed point in time to measure at, not a wait for a condition
    after = [timed_webhook(relay) for _ in range(5)]
    print(
        f"\nwebhooks during 20 resume-and-hang-up loops: median {sorted(during)[len(during) // 2]:.3f} s, "
        f"max {max(during):.3f} s over {len(during)}; 3 s later max {max(after):.3f} s"
    )
    assert max(during) < 2, f"webhooks during the resumes: max {max(during):.2f} s over {len(during)}"
    assert max(after) < 0.5, f"webhooks 3 s later: {after}"
    assert set(ready) == {200}, ready
    assert relay.metric("scrollr_replays_abandoned_total") > 0


def resume_status(relay, cursor: str, address: str, held: list[socket.socket]) -> int:
    """The status a resume from `cursor` gets; a 200 stream is kept open in `held`, its replay under way."""
    sock = connect(relay)
    sock.sendall(
        b"GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: "
        + cursor.encode()
        + f"\r\nX-Forwarded-For: {address}\r\n\r\n".encode()
    )
    status = int(sock.recv(64).split(b" ")[1])
    held.append(sock)
    return status


def test_resumes_that_read_the_bus_are_capped_per_process_and_per_client(start_relay, fresh_redis):
    relay = start_relay(
        {
            "REDIS_URL": fresh_redis.url,
            "MAX_REPLAYS": "3",
            "MAX_REPLAYS_PER_CLIENT": "2",
            "TRUSTED_PROXIES": "127.0.0.1",
        }
    )
    cursor = publish(relay, "FIRST")["cursor"]
    live = open_stream(relay, "?symbols=LAST")
    publish_many(relay, 5000)  # the cursor is older than the recent frames: its replay reads Redis
    publish(relay, "LAST")
    assert live.next().json()["record"]["symbol"] == "LAST"  # the hub has read (and trimmed) past it
    live.close()
    fresh_redis.proc.send_signal(signal.SIGSTOP)  # replays now wait on Redis, holding their slots
    held: list[socket.socket] = []
    try:
        statuses = [resume_status(relay, cursor, address, held) for address in ["203.0.113.1"] * 3]
        assert statuses == [200, 200, 429]  # that client's two are under way
        probe = httpx.head(
            f"{relay.url}/events",
            headers={"Last-Event-ID": cursor, "X-Forwarded-For": "203.0.113.1"},
            timeout=5,
        )
        assert probe.status_code == 429  # what a client's HEAD probe learns after its stream failed
        assert resume_status(relay, cursor, "203.0.113.2", held) == 200
        assert resume_status(relay, cursor, "203.0.113.3", held) == 503  # the process's three are
    finally:
        fresh_redis.proc.send_signal(signal.SIGCONT)
        for sock in held:
            sock.close()
    assert relay.metric("scrollr_limits_reached_total", 'limit="replays_per_client"') == 2  # GET, HEAD
    assert relay.metric("scrollr_limits_reached_total", 'limit="replays"') == 1


def test_the_per_client_stream_cap_counts_an_ipv6_64_as_one_client(start_relay):
    relay = start_relay({"MAX_STREAMS_PER_CLIENT": "1", "TRUSTED_PROXIES": "127.0.0.1"})
    first = open_stream(relay, headers={"X-Forwarded-For": "2001:db8:1:2::1"})
    try:
        same_64 = httpx.get(f"{relay.url}/events", headers={"X-Forwarded-For": "2001:db8:1:2::beef"})
        assert same_64.status_code == 429
        other_64 = open_stream(relay, headers={"X-Forwarded-For": "2001:db8:1:3::1"})
        other_64.close()
    finally:
        first.close()


def padded_trade(n: int) -> dict:
    message = trade_message(f"S{n % 500}", "1.00", row_id=n)
    message["record"]["note"] = "x" * 450  # about 650 bytes a frame, as in the probe
    return message


def read_through(relay, cursor: str, last: str) -> None:
    """Resume from `cursor` and read until the event `last` has arrived."""
    with connect(relay) as sock:
        sock.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: " + cursor.encode() + b"\r\n\r\n")
        seen = b""
        while f"id: {last}\n".encode() not in seen:
            chunk = sock.recv(1 << 20)
            assert chunk, "the stream ended early"
            seen = seen[-200:] + chunk


def test_resumes_from_256_distinct_cursors_grow_the_relay_by_less_than_150_mib(start_relay):
    relay = start_relay()
    cursors = []
    for first in range(0, 4000, 15):  # 267 batches: a distinct cursor after each
        response = post(relay.url, batch(*(padded_trade(n) for n in range(first, first + 15))))
        cursors.append(response.json()["cursor"])
    before = relay.rss()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda c: read_through(relay, c, cursors[-1]), cursors[:256]))
    grown = relay.rss() - before
    print(f"\n256 distinct-cursor resumes: RSS +{grown / MiB:.1f} MiB")
    assert grown < 150 * MiB, f"RSS grew {grown / MiB:.1f} MiB"


def test_a_frozen_redis_answers_webhooks_503_within_the_bus_timeout_naming_no_host(start_relay, fresh_redis):
    relay = start_relay({"REDIS_URL": fresh_redis.url, "BUS_TIMEOUT_SECONDS": "2"})
    publish(relay, "WARM")  # a pooled connection exists: it is the one that now hangs
    fresh_redis.proc.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        response = post(relay.url, batch(trade_message("FROZEN", "1.00")))
        took = time.monotonic() - started
        ready = httpx.get(f"{relay.url}/readyz", timeout=30)
    finally:
        fresh_redis.proc.send_signal(signal.SIGCONT)
    assert response.status_code == 503
    assert took < 5, f"the 503 took {took:.1f} s"  # 30.3 s before: three 10 s socket timeouts
    assert str(fresh_redis.port) not in response.text and "127.0.0.1" not in response.text, response.text
    assert ready.status_code == 503
    wait_until(lambda: "no answer within 2 s" in relay.log(), what="the cause, in the log")


def maximal_filter(n: int) -> str:
    """256 symbols and 256 leagues at their length limits, none shared with another stream's."""
    chosen = [f"{n:05d}{i:03d}".ljust(30, "S") for i in range(256)]
    leagues = [f"{n:05d}{i:03d}".ljust(50, "L") for i in range(256)]
    return "symbols=" + ",".join(chosen) + "&leagues=" + ",".join(leagues)


def test_2000_maximal_filters_from_one_address_grow_the_relay_by_less_than_200_mib(start_relay):
    relay = start_relay()
    before = relay.rss()
    held: list[socket.socket] = []
    statuses: dict[int, int] = {}
    try:
        for n in range(2000):
            sock = connect(relay)
            sock.sendall(f"GET /events?{maximal_filter(n)} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            status = int(sock.recv(64).split(b" ")[1])
            statuses[status] = statuses.get(status, 0) + 1
            if status == 200:
                held.append(sock)  # the admitted streams stay open while the relay is measured
            else:
                sock.close()
        grown = relay.rss() - before
        print(f"\n2,000 maximal filters from one address: RSS +{grown / MiB:.1f} MiB, statuses {statuses}")
    finally:
        for sock in held:
            sock.close()
    assert grown < 200 * MiB, f"RSS grew {grown / MiB:.1f} MiB with {len(held)} streams open ({statuses})"
    assert statuses.get(429, 0) > 0, statuses  # the per-client bound, not luck, kept it there
    assert relay.metric("scrollr_limits_reached_total", 'limit="filter_values_per_client"') == statuses[429]
