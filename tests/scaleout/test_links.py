"""Streams over real links: the relay and a client on two hosts joined by a veth pair (MTU 1500),
the relay's side shaped with tbf (tests/support/links.py). Loopback accepts about a megabyte at
once and drains it at once, so what a slow or busy link does to a stream shows only here.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.links import ShapedLink
from tests.support.procs import read_metric
from tests.support.sequin import batch, post, trade_message
from tests.support.sse import SSEClient, open_stream

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
