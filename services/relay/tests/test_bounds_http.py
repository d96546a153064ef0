"""Issue 22's bounds, probed on a real relay process: what one unauthenticated client can make the
relay hold or do (headers, bodies, replays, resume cache, filters), measured as the process's RSS."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor

from tests.support.procs import SECRET, wait_until

MiB = 1024 * 1024


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
    assert grown < 40 * MiB, f"RSS grew {grown / MiB:.1f} MiB"
    assert sum(a.startswith(b"HTTP/1.1 401") for a in answers) >= 990, "401s not received"
