"""Streams over real links: the relay and a client on two hosts joined by a veth pair (MTU 1500),
the relay's side shaped with tbf (tests/support/links.py). Loopback accepts about a megabyte at
once and drains it at once, so what a slow or busy link does to a stream shows only here.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.links import RELAY_PORT, ShapedLink
from tests.support.procs import read_metric
from tests.support.sequin import batch, post, trade_message
from tests.support.sse import SSEClient, StreamClosed, open_stream

pytestmark = pytest.mark.process
SYMBOLS = [f"S{n:02d}" for n in range(32)]
_tick = itertools.count(1)


def quote(symbol: str, price: str) -> dict[str, Any]:
    """A trade change shaped like the real table's (about 600 bytes as a frame)."""
    message = trade_message(symbol, price, row_id=SYMBOLS.index(symbol) + 1)
    message["record"].update(
        previous_close="101.25",
        price_change="-0.75",
        percentage_change="-0.74",
        last_updated="2026-12-05T15:48:30.123456+00:00",
        created_at="2026-11-01T09:30:00.000000+00:00",
    )
    message["changes"] = {"price": "100.00", "last_updated": "2026-12-05T15:48:29.123456+00:00"}
    return message


@pytest.fixture
def link_20mbit(tmp_path: Path) -> Iterator[ShapedLink]:
    link = ShapedLink("20mbit").up()
    try:
        link.start_relay({"SSE_HEARTBEAT_SECONDS": "1"}, tmp_path / "relay.log")
        yield link
    finally:
        link.down()


def send_changes(link: ShapedLink, count: int) -> list[tuple[str, str]]:
    """`count` trade changes round the symbols, in batches as Sequin sends them; (symbol, price) each."""
    sent = [(SYMBOLS[n % len(SYMBOLS)], f"{next(_tick)}.00") for n in range(count)]

    def deliver() -> None:
        for start in range(0, count, 100):
            body = batch(*(quote(s, p) for s, p in sent[start : start + 100]))
            assert post(link.relay_url, body).status_code == 200

    link.call("client", deliver)
    return sent


class _At:
    def __init__(self, url: str) -> None:
        self.url = url


def stream(link: ShapedLink, **kwargs: Any) -> SSEClient:
    return link.call("client", lambda: open_stream(_At(link.relay_url), **kwargs))


def test_a_client_back_after_3000_changes_gets_every_one_on_one_connection(link_20mbit):
    link = link_20mbit
    client = stream(link)
    send_changes(link, 1)
    left_at = client.next().id
    client.close()
    sent = send_changes(link, 3000)  # about 1.8 MB of frames
    resumed = stream(link, headers={"Last-Event-ID": left_at or ""})
    got = resumed.events(3000, timeout=60)
    assert [(e.json()["record"]["symbol"], e.json()["record"]["price"]) for e in got] == sent
    ids = [e.id for e in got]
    assert len(set(ids)) == len(ids)
    slow_cuts = link.call(
        "client", lambda: read_metric(link.relay_url, "scrollr_stream_closes_total", 'reason="slow_client"')
    )
    assert slow_cuts == 0
    assert not resumed.closed


@pytest.fixture
def link_128kbit(tmp_path: Path) -> Iterator[ShapedLink]:
    link = ShapedLink("128kbit").up()
    try:
        link.start_relay({"SSE_HEARTBEAT_SECONDS": "5"}, tmp_path / "relay.log")
        yield link
    finally:
        link.down()


class Feed:
    """`rate` trade changes a second round the symbols, posted on the relay's own host (so the
    webhook's traffic doesn't share the shaped link); when each value came to exist."""

    def __init__(self, link: ShapedLink, rate: int, seconds: float) -> None:
        self.link, self.rate, self.seconds = link, rate, seconds
        self.made: dict[str, list[tuple[float, int]]] = {s: [] for s in SYMBOLS}  # (when, price)

    def run(self) -> None:
        url = f"http://127.0.0.1:{RELAY_PORT}"
        per_post = self.rate // 10
        start = time.monotonic()
        for step in range(int(self.seconds * 10)):
            time.sleep(max(0.0, start + step / 10 - time.monotonic()))
            sent = []
            for _ in range(per_post):
                n = next(_tick)
                sent.append((SYMBOLS[n % len(SYMBOLS)], n))
            assert post(url, batch(*(quote(s, f"{p}.00") for s, p in sent))).status_code == 200
            now = time.monotonic()
            for symbol, price in sent:
                self.made[symbol].append((now, price))

    def latest(self) -> dict[str, int]:
        return {s: made[-1][1] for s, made in self.made.items() if made}


class Watcher:
    """Reads a stream in a thread of its own; when each symbol's values arrived."""

    def __init__(self, client: SSEClient) -> None:
        self.client = client
        self.got: dict[str, list[tuple[float, int]]] = {s: [] for s in SYMBOLS}
        self.ended: str | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                event = self.client.next(timeout=3600)
                if event.event == "change":
                    record = event.json()["record"]
                    self.got[record["symbol"]].append((time.monotonic(), int(float(record["price"]))))
        except (StreamClosed, OSError) as exc:
            self.ended = repr(exc)

    def held(self) -> dict[str, int]:
        return {s: max(p for _, p in got) for s, got in self.got.items() if got}


def staleness(made: list[tuple[float, int]], got: list[tuple[float, int]], at: float) -> float:
    """How long, at `at`, a newer value than the client's has existed without reaching it."""
    held = max((p for when, p in got if when <= at), default=-1)
    newer = [when for when, p in made if p > held and when <= at]
    return at - min(newer) if newer else 0.0


def test_a_slow_link_under_a_busy_feed_stays_current_by_conflating(link_128kbit):
    """128 kbit/s under 60 changes/s over 32 symbols: about twice what the link carries as frames."""
    link = link_128kbit
    watcher = Watcher(stream(link))
    feed = Feed(link, rate=60, seconds=60)
    link.call("relay", feed.run)
    stopped = time.monotonic()
    deadline = stopped + 10
    while watcher.held() != feed.latest() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert watcher.held() == feed.latest(), "the latest values didn't all arrive within 10 s"
    start = min(made[0][0] for made in feed.made.values())
    samples = sorted(
        staleness(feed.made[s], watcher.got[s], start + i / 10)
        for i in range(int((stopped - start) * 10))
        for s in SYMBOLS
    )
    p99 = samples[int(len(samples) * 0.99)]

    received = sum(len(g) for g in watcher.got.values())
    print(f"p99 staleness {p99:.2f} s, median {samples[len(samples) // 2]:.2f} s, {received} of 3600 changes")
    assert p99 <= 3.0
    assert watcher.ended is None  # one connection throughout
    slow_cuts = link.call(
        "client", lambda: read_metric(link.relay_url, "scrollr_stream_closes_total", 'reason="slow_client"')
    )
    assert slow_cuts == 0
