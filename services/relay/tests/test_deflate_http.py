"""`/events?compress=deflate` on a real relay process with a real Redis: the same frames, fewer bytes."""

import httpx

from services.relay.tests.test_stream_http import symbols
from tests.support.sequin import batch, post, trade_message
from tests.support.sse import open_stream


def tick(relay, start: int, count: int) -> None:
    for n in range(start, start + count):
        message = trade_message(f"S{n % 8}", f"{100 + n}.25", row_id=n % 8 + 1)
        assert post(relay.url, batch(message)).status_code == 200


def test_deflated_streams_carry_the_same_frames_in_a_fraction_of_the_bytes(start_relay, redis_server):
    relay = start_relay(
        {"REDIS_URL": redis_server.url, "STREAM_KEY": "events:deflate", "SSE_HEARTBEAT_SECONDS": "0.3"}
    )
    plain = open_stream(relay)
    early = open_stream(relay, query="?compress=deflate", inflate=True)
    assert early.headers["content-encoding"] == "deflate" and "content-encoding" not in plain.headers
    tick(relay, 0, 40)
    every = plain.events(40)  # the hub has fanned them out: a stream opened now starts after them
    late = open_stream(relay, query="?compress=deflate", inflate=True)  # joins mid-run
    tick(relay, 40, 40)
    late.wait_comments("ping", 2)  # heartbeats in between: runs restart, clients rejoin
    tick(relay, 80, 40)
    every += plain.events(80)
    assert [(e.id, e.data) for e in early.events(120)] == [(e.id, e.data) for e in every]
    assert [(e.id, e.data) for e in late.events(80)] == [(e.id, e.data) for e in every[40:]]
    print(
        f"deflated {early.body_bytes} B, plain {plain.body_bytes} B: {early.body_bytes / plain.body_bytes:.2f}x"
    )
    assert early.body_bytes < 0.35 * plain.body_bytes


def test_a_deflated_resume_replays_the_gap(redis_relay):
    client = open_stream(redis_relay, query="?compress=deflate", inflate=True)
    tick(redis_relay, 0, 2)
    seen = client.events(2)
    client.close()
    tick(redis_relay, 2, 300)  # past one piece of the replay
    again = open_stream(
        redis_relay, query="?compress=deflate", headers={"Last-Event-ID": seen[-1].id}, inflate=True
    )
    assert symbols(again.events(300)) == [f"S{n % 8}" for n in range(2, 302)]


def test_an_unknown_compression_is_refused_naming_it(redis_relay):
    refused = httpx.get(f"{redis_relay.url}/events?compress=br")
    assert refused.status_code == 400 and "compress value 'br'" in refused.json()["error"]
