"""GET /events on real relay processes with a real Redis."""

import contextlib
import socket
import threading
from urllib.parse import quote

import httpx
import pytest

from tests.support.procs import wait_until
from tests.support.sequin import batch, game_message, post, publish, trade_message
from tests.support.sse import open_stream


def symbols(events):
    return [e.json()["record"]["symbol"] for e in events]


def test_headers_and_first_bytes(redis_relay):
    client = open_stream(redis_relay)
    assert client.status == 200
    assert client.headers["content-type"].startswith("text/event-stream")
    assert client.headers["cache-control"] == "no-cache"
    assert client.headers["x-accel-buffering"] == "no"
    assert "connection" not in client.headers


def test_a_held_open_stream_sees_periodic_pings(redis_relay):
    client = open_stream(redis_relay)  # SSE_HEARTBEAT_SECONDS=0.5
    client.wait_comments("ping", 3, timeout=5)


def test_an_authenticated_post_appears_in_an_open_stream_with_an_id(redis_relay):
    client = open_stream(redis_relay)
    publish(redis_relay, "AAA")
    event = client.next()
    assert event.event == "change"
    assert event.id and event.id.count("-") == 2
    assert set(event.json()) >= {"table", "action", "record", "changes", "commit_lsn", "commit_timestamp"}


def test_resume_with_last_event_id_header_replays_the_gap_without_duplicates(redis_relay):
    client = open_stream(redis_relay)
    publish(redis_relay, "A1", "A2")
    seen = client.events(2)
    client.close()
    publish(redis_relay, "A3", "A4")
    again = open_stream(redis_relay, headers={"Last-Event-ID": seen[-1].id})
    publish(redis_relay, "A5")
    assert symbols(again.events(3)) == ["A3", "A4", "A5"]


def test_resume_with_last_event_id_query_parameter(redis_relay):
    client = open_stream(redis_relay)
    publish(redis_relay, "Q1")
    first = client.next()
    client.close()
    publish(redis_relay, "Q2")
    again = open_stream(redis_relay, query=f"?lastEventId={first.id}")
    assert symbols(again.events(1)) == ["Q2"]


def test_ids_increase_along_the_stream(redis_relay):
    client = open_stream(redis_relay)
    publish(redis_relay, *[f"S{n}" for n in range(20)])
    ids = [e.id for e in client.events(20)]
    positions = [tuple(int(p) for p in i.split("-")[1:]) for i in ids]
    assert positions == sorted(positions) and len(set(positions)) == 20


def test_reset_when_the_cursor_was_trimmed_from_history(start_relay, redis_server):
    relay = start_relay(
        {"REDIS_URL": redis_server.url, "STREAM_KEY": "events:trim-test", "STREAM_MAXLEN": "5"}
    )
    client = open_stream(relay)
    publish(relay, "T0")
    old = client.next()
    client.close()
    publish(relay, *[f"T{n}" for n in range(1, 30)])
    again = open_stream(relay, headers={"Last-Event-ID": old.id})
    reset = again.next()
    assert reset.event == "reset"
    assert reset.json()["reason"] == "history_trimmed"
    publish(relay, "AFTER")
    # The hub's own reader may also have been outrun by the 29-event batch and say so: more resets
    # may follow, but nothing else comes between the reset and live.
    following = again.next()
    while following.event == "reset":
        following = again.next()
    assert symbols([following]) == ["AFTER"]


def test_reset_after_redis_restart_for_new_and_open_streams(start_relay, fresh_redis):
    relay = start_relay({"REDIS_URL": fresh_redis.url, "SSE_HEARTBEAT_SECONDS": "0.5"})
    client = open_stream(relay)
    wait_until(lambda: relay.metric("scrollr_bus_up") == 1, what="the bus reader to hold a position")
    publish(relay, "R1")
    before = client.next()
    fresh_redis.restart()
    reset = client.next(timeout=20)
    assert reset.event == "reset" and reset.json()["reason"] == "history_lost"
    wait_until(lambda: httpx.get(f"{relay.url}/readyz").status_code == 200, what="ready")
    publish(relay, "R2")
    assert symbols(client.events(1)) == ["R2"]
    again = open_stream(relay, headers={"Last-Event-ID": before.id})
    late = again.next()
    assert late.event == "reset" and late.json()["reason"] == "history_lost"


def streaming_when_redis_stops(start_relay, redis, grace_seconds):
    """A relay with one open stream, once its bus reader holds a position; then Redis stops."""
    relay = start_relay(
        {"REDIS_URL": redis.url, "SSE_HEARTBEAT_SECONDS": "0.3", "BUS_OUTAGE_GRACE_SECONDS": grace_seconds}
    )
    client = open_stream(relay, heartbeats_too=True)
    wait_until(lambda: relay.metric("scrollr_bus_up") == 1, what="the bus reader to hold a position")
    redis.stop()
    return relay, client


def next_of(client, event, timeout=10):
    """The next message of this kind (the stream's others skipped)."""
    while (message := client.next(timeout=timeout)).event != event:
        pass
    return message


def test_a_bus_outage_within_the_grace_keeps_streams_open_and_refuses_new_ones(start_relay, fresh_redis):
    relay, client = streaming_when_redis_stops(start_relay, fresh_redis, "600")
    wait_until(lambda: relay.metric("scrollr_bus_up") == 0, what="the relay to notice the bus is gone")
    # New streams are refused before their 200, so a balancer can try another relay.
    refused = httpx.get(f"{relay.url}/events", timeout=5)
    assert refused.status_code == 503 and "retry-after" in refused.headers
    # The open stream goes on with heartbeats that say no change can come through for now (a client
    # shows its data's age instead of "Live").
    while not next_of(client, "heartbeat").json().get("delayed"):
        pass  # beats sent before the relay noticed
    for _ in range(3):
        assert next_of(client, "heartbeat").json() == {"interval_ms": 300, "delayed": True}
    fresh_redis.start()
    reset = next_of(client, "reset", timeout=20)  # this Redis came back empty: history lost, said so
    assert reset.json()["reason"] == "history_lost"
    wait_until(
        lambda: httpx.head(f"{relay.url}/events", timeout=5).status_code == 200, what="streams accepted"
    )
    publish(relay, "AFTER")
    assert symbols([next_of(client, "change")]) == ["AFTER"]  # on the connection from before the outage
    assert next_of(client, "heartbeat").json() == {"interval_ms": 300}


def test_a_bus_outage_past_the_grace_ends_streams_so_clients_move(start_relay, fresh_redis):
    relay, client = streaming_when_redis_stops(start_relay, fresh_redis, "1")
    client.wait_closed(timeout=30)
    assert relay.metric("scrollr_stream_closes_total", 'reason="bus_unavailable"') == 1
    assert httpx.get(f"{relay.url}/events", timeout=5).status_code == 503
    fresh_redis.start()
    wait_until(lambda: relay.metric("scrollr_bus_up") == 1, timeout=30, what="the bus back")
    again = open_stream(relay)
    again.wait_comment("connected")


def test_topics_limit_what_a_client_receives(redis_relay):
    games_only = open_stream(redis_relay, query="?topics=games")
    everything = open_stream(redis_relay)
    post(
        redis_relay.url, batch(trade_message("T", "1.00"), game_message(7, 1, 0), trade_message("U", "1.00"))
    )
    assert [e.json()["table"] for e in everything.events(3)] == ["trades", "games", "trades"]
    assert [e.json()["table"] for e in games_only.events(1)] == ["games"]
    publish(redis_relay, "ONLY-TRADES")
    post(redis_relay.url, batch(game_message(8, 2, 0)))
    assert games_only.next().json()["record"]["id"] == 8


def test_bad_stream_requests_get_400(redis_relay):
    assert httpx.get(f"{redis_relay.url}/events", headers={"Last-Event-ID": "garbage"}).status_code == 400
    too_long = "x" * 64  # Postgres names hold at most 63 bytes
    for query in (
        f"topics={too_long}",
        "topics=a%00b",
        "topics=%FF",
        "topics=,",
        "topics=" + ",".join(f"t{n}" for n in range(65)),
    ):
        assert httpx.get(f"{redis_relay.url}/events?{query}", timeout=5).status_code == 400, query


def test_two_relays_on_one_redis_deliver_the_same_events_in_the_same_order(start_relay, redis_server):
    env = {"REDIS_URL": redis_server.url, "STREAM_KEY": "events:two-relays"}
    first, second = start_relay(env), start_relay(env)
    a, b = open_stream(first), open_stream(second)
    for n in range(10):
        publish(first if n % 2 else second, f"X{n}")
    on_a, on_b = a.events(10), b.events(10)
    assert symbols(on_a) == symbols(on_b) == [f"X{n}" for n in range(10)]
    assert [e.id for e in on_a] == [e.id for e in on_b]


def test_a_slow_client_is_cut_off_while_a_fast_one_keeps_receiving(start_relay, redis_server):
    relay = start_relay(
        {"REDIS_URL": redis_server.url, "STREAM_KEY": "events:slow", "CLIENT_BUFFER_BYTES": "65536"}
    )
    slow = open_stream(relay, rcvbuf=4096)  # never reads again
    fast = open_stream(relay)
    pad = "x" * 4000
    sent = 0
    got = []
    while relay.metric("scrollr_stream_closes_total", 'reason="slow_client"') < 1:
        assert sent < 2000, "slow client never cut off"
        body = batch(*(trade_message(f"P{sent + i}", pad) for i in range(10)))
        assert post(relay.url, body).status_code == 200
        sent += 10
        got += fast.events(10)
    assert symbols(got) == [f"P{n}" for n in range(sent)]
    publish(relay, "STILL-LIVE")
    assert symbols(fast.events(1)) == ["STILL-LIVE"]
    assert relay.metric("scrollr_open_streams") == 1
    # Its connection is dropped, not left open holding a full buffer: reading reaches the end.
    slow.sock.settimeout(10)
    with contextlib.suppress(ConnectionResetError):
        while slow.sock.recv(65536):
            pass
    slow.close()


def test_under_another_asgi_server_streams_go_through_send_and_resume(start_relay, redis_server):
    relay = start_relay(
        {"REDIS_URL": redis_server.url, "STREAM_KEY": "events:plain-uvicorn"}, server="uvicorn"
    )
    client = open_stream(relay)
    publish(relay, "A")
    (first,) = client.events(1)
    client.close()
    publish(relay, "B")
    resumed = open_stream(relay, headers={"Last-Event-ID": first.id})
    assert symbols(resumed.events(1)) == ["B"]


@pytest.mark.parametrize("server", ["scrollr-relay", "uvicorn"])
def test_disconnects_free_the_stream_at_once(start_relay, redis_server, server):
    # No heartbeat within the wait: a failed write can't be what notices the client is gone.
    relay = start_relay(
        {"REDIS_URL": redis_server.url, "STREAM_KEY": "events:gone", "SSE_HEARTBEAT_SECONDS": "600"},
        server=server,
    )
    clients = [open_stream(relay) for _ in range(5)]
    assert relay.metric("scrollr_open_streams") == 5
    sink = "socket" if server == "scrollr-relay" else "asgi"  # which way bytes went, counted per stream
    assert relay.metric("scrollr_streams_opened_total", f'sink="{sink}"') == 5
    for client in clients:
        client.sock.shutdown(socket.SHUT_RDWR)
        client.close()
    wait_until(lambda: relay.metric("scrollr_open_streams") == 0, timeout=5, what="streams freed")


def test_stream_cap_answers_503_with_retry_after(start_relay, redis_server):
    relay = start_relay({"REDIS_URL": redis_server.url, "STREAM_KEY": "events:cap", "MAX_STREAMS": "2"})
    held = [open_stream(relay), open_stream(relay)]
    refused = httpx.get(f"{relay.url}/events")
    assert refused.status_code == 503
    assert 1 <= int(refused.headers["retry-after"]) <= 10
    held[0].close()
    wait_until(lambda: relay.metric("scrollr_open_streams") == 1, what="slot freed")
    assert open_stream(relay).status == 200


def test_shutdown_ends_streams_cleanly_and_clients_resume_elsewhere(start_relay, redis_server):
    env = {"REDIS_URL": redis_server.url, "STREAM_KEY": "events:shutdown"}
    leaving, staying = start_relay(env), start_relay(env)
    client = open_stream(leaving)
    publish(leaving, "BEFORE")
    last = client.next()
    # uvicorn re-raises the SIGTERM it handled once shutdown is done: exit status -15 means graceful.
    assert leaving.terminate() in (0, -15)
    client.wait_closed(timeout=10)
    assert client.finished  # the chunked body's last chunk arrived: ended, not cut
    publish(staying, "DURING")
    moved = open_stream(staying, headers={"Last-Event-ID": last.id})
    assert symbols(moved.events(1)) == ["DURING"]


def test_cors_allows_configured_origins_and_last_event_id(start_relay):
    relay = start_relay({"ALLOWED_ORIGINS": "https://app.example.com,chrome-extension://abcdefgh"})
    preflight = httpx.options(
        f"{relay.url}/events",
        headers={
            "Origin": "chrome-extension://abcdefgh",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "last-event-id",
        },
    )
    assert preflight.status_code in (200, 204)
    assert preflight.headers["access-control-allow-origin"] == "chrome-extension://abcdefgh"
    assert "last-event-id" in preflight.headers["access-control-allow-headers"].lower()
    client = open_stream(relay, headers={"Origin": "https://app.example.com"})
    assert client.headers.get("access-control-allow-origin") == "https://app.example.com"
    stranger = open_stream(relay, headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in stranger.headers


def test_memory_bus_by_default_with_history_and_resume(start_relay):
    relay = start_relay({})
    client = open_stream(relay)
    publish(relay, "M1")
    first = client.next()
    client.close()
    publish(relay, "M2")
    assert symbols(open_stream(relay, headers={"Last-Event-ID": first.id}).events(1)) == ["M2"]
    assert httpx.get(f"{relay.url}/readyz").json()["status"] == "ready"


def test_metrics_count_and_streams_do_not_enter_request_histograms(redis_relay):
    client = open_stream(redis_relay)
    publish(redis_relay, "MET1", "MET2")
    client.events(2)
    text = httpx.get(f"{redis_relay.url}/metrics").text
    assert redis_relay.metric("scrollr_deliveries_total") >= 2
    assert redis_relay.metric("scrollr_events_published_total") >= 2
    assert redis_relay.metric("scrollr_open_streams") == 1
    assert 'path="/webhooks/sequin"' in text
    assert 'path="/events"' not in text


def test_many_clients_resuming_while_events_flow_see_every_id_once(redis_relay):
    """A replay reads up to the bus head, which can be ahead of the hub's reader: no event twice."""
    first = publish(redis_relay, *[f"OLD{n}" for n in range(40)])
    head = first["cursor"]
    epoch, ms, seq = head.split("-")
    watcher = open_stream(redis_relay)
    publisher = threading.Thread(
        target=lambda: [publish(redis_relay, *[f"N{b}-{n}" for n in range(5)]) for b in range(60)]
    )
    publisher.start()
    clients = []
    for n in range(40):  # resume from 40 different points, some before the last published
        cursor = f"{epoch}-{ms}-{max(0, int(seq) - n)}" if n % 2 else "0"
        clients.append(open_stream(redis_relay, headers={"Last-Event-ID": cursor} if n % 2 else None))
    publisher.join()
    last = watcher.events(300)[-1].id
    for client in clients:
        ids = []
        while not ids or ids[-1] != last:
            ids.append(client.next().id)
        assert len(ids) == len(set(ids)), "an event was delivered twice"
        assert ids == sorted(ids, key=lambda i: tuple(int(p) for p in i.split("-")[1:]))


@pytest.mark.parametrize("bus", ["memory", "redis"])
@pytest.mark.parametrize(
    ("position", "outcome"),
    [
        ("18446744073709551615-18446744073709551615", "reset"),
        ("18446744073709551615-0", "reset"),
        ("0-18446744073709551615", "resume"),
        ("18446744073709551616-0", 400),
        ("1\u00b2-0", 400),
        ("1" * 4000 + "-0", 400),
    ],
)
def test_every_cursor_resumes_gets_reset_or_400_on_both_buses(
    start_relay, redis_server, bus, position, outcome
):
    env = (
        {"REDIS_URL": redis_server.url, "STREAM_KEY": f"events:cursors-{position[:30]}"}
        if bus == "redis"
        else {}
    )
    relay = start_relay(env)
    head = publish(relay, "FIRST")["cursor"]
    epoch = head.split("-")[0]
    cursor = f"{epoch}-{position}".encode().decode("unicode_escape")
    if outcome == 400:
        response = httpx.get(f"{relay.url}/events", params={"lastEventId": cursor}, timeout=5)
        assert response.status_code == 400
        return
    client = open_stream(relay, f"?lastEventId={quote(cursor)}")
    if outcome == "reset":
        assert client.next().event == "reset"
    else:
        assert symbols([client.next()]) == ["FIRST"]


def test_head_events_answers_the_headers_ends_and_holds_no_slot(start_relay):
    relay = start_relay({"MAX_STREAMS": "2"})
    held = []
    for _ in range(3):  # connections kept open, each with a request pipelined behind the HEAD
        sock = socket.create_connection(("127.0.0.1", relay.port), timeout=5)
        sock.sendall(b"HEAD /events HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while b'{"status":"ok"}' not in answer:  # only answered once the HEAD response has ended
            chunk = sock.recv(4096)
            assert chunk, f"connection closed after {answer!r}"
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200") and b"text/event-stream" in answer
        held.append(sock)
    streams = [open_stream(relay), open_stream(relay)]
    assert all(s.status == 200 for s in streams)
    assert relay.metric("scrollr_open_streams") == 2


def test_a_per_client_cap_limits_one_address_but_not_the_others(start_relay):
    relay = start_relay({"MAX_STREAMS_PER_CLIENT": "2", "TRUSTED_PROXIES": "127.0.0.1"})
    mine = [open_stream(relay, headers={"X-Forwarded-For": "203.0.113.7"}) for _ in range(2)]
    refused = httpx.get(f"{relay.url}/events", headers={"X-Forwarded-For": "203.0.113.7"}, timeout=5)
    assert refused.status_code == 429 and "retry-after" in refused.headers
    other = open_stream(relay, headers={"X-Forwarded-For": "198.51.100.1"})
    assert other.status == 200
    mine[0].close()
    wait_until(lambda: relay.metric("scrollr_open_streams") == 2, what="the closed stream to be gone")
    assert open_stream(relay, headers={"X-Forwarded-For": "203.0.113.7"}).status == 200


def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(start_relay):
    relay = start_relay({"MAX_STREAMS_PER_CLIENT": "1"})
    first = open_stream(relay, headers={"X-Forwarded-For": "203.0.113.7"})
    assert first.status == 200
    spoofed = httpx.get(f"{relay.url}/events", headers={"X-Forwarded-For": "198.51.100.1"}, timeout=5)
    assert spoofed.status_code == 429  # the same peer, whatever it claims


@pytest.mark.parametrize("table", ["OrderItems", "trade_history$2026", "a,b"])
def test_any_table_the_webhook_publishes_can_be_subscribed_to(redis_relay, table):
    client = open_stream(redis_relay, f"?topics={quote(table, safe='')}")
    message = trade_message("T", "1.00")
    message["metadata"]["table_name"] = table
    assert post(redis_relay.url, batch(game_message(1, 0, 0), message)).status_code == 200
    event = client.next()
    assert event.json()["table"] == table
