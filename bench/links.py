"""The `links` load of bench/run.py: the relay beside nchan on the same shaped link.

Each contender runs on the relay's host of a `ShapedLink` (tests/support/links.py: two network
namespaces, a veth pair with MTU 1500, `tc tbf` on the server's side) and one client reads its stream
on the other host. A feed of trade changes round 32 symbols is published on the server's host (the
webhook's traffic doesn't share the link). Reported per contender: bytes the server put on the wire
per change (counted on its side of the veth, TCP/IP included), changes received, how stale the
client's symbols were (how long a newer value existed without reaching it, sampled every 100 ms for
every symbol: p50 and p99), and whether every symbol's newest value arrived within 10 s of the feed
stopping. nchan carries the same change JSON the relay's clients get, one message each, and queues
every one (it has no conflation); the relay conflates on a link that can't carry the feed, plain or
deflated (`compress=deflate`).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.links import SYMBOLS, ShapedLink, quote, staleness  # noqa: E402
from tests.support.sse import SSEClient, StreamClosed  # noqa: E402

LINKS = (("128kbit", 60), ("20mbit", 20))  # (link rate, changes/s)
NEWEST_WITHIN_SECONDS = 10.0


class Reader(threading.Thread):
    """Reads one stream; when each symbol's values arrived."""

    def __init__(self, client: SSEClient) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.got: dict[str, list[tuple[float, int]]] = defaultdict(list)
        self.ended = False

    def run(self) -> None:
        try:
            while True:
                event = self.client.next(timeout=3600)
                if event.event in ("change", "message") and event.data.startswith("{"):
                    body = json.loads(event.data)
                    record = body.get("record", body)
                    self.got[record["symbol"]].append((time.monotonic(), int(float(record["price"]))))
        except (StreamClosed, OSError):
            self.ended = True

    def held(self) -> dict[str, int]:
        return {s: max(p for _, p in got) for s, got in self.got.items() if got}


def change_json(message: dict[str, Any]) -> bytes:
    """A Sequin message as the relay's `change` event data (event.py), for nchan to carry the same."""
    meta = message["metadata"]
    change = {
        "table": meta["table_name"],
        "schema": meta["table_schema"],
        "action": message["action"],
        "record": message["record"],
        "changes": message["changes"],
        "pks": meta["record_pks"],
        "commit_lsn": meta["commit_lsn"],
        "commit_idx": meta["commit_idx"],
        "commit_timestamp": meta["commit_timestamp"],
    }
    return json.dumps(change, separators=(",", ":")).encode()


def _feed(contender: Any, rate: int, seconds: float, first: int) -> dict[str, list[tuple[float, int]]]:
    """`rate` changes a second round the symbols, from the server's host; when each value came to be."""
    made: dict[str, list[tuple[float, int]]] = defaultdict(list)
    nchan = contender.kind == "raw"
    url = contender.pub_url()
    headers = dict(h.split(": ", 1) for h in contender.publish_headers)
    per_post = max(1, rate // 10)
    with httpx.Client(headers=headers, timeout=30) as http:
        start = time.monotonic()
        price = first
        for step in range(int(seconds * 10)):
            time.sleep(max(0.0, start + step / 10 - time.monotonic()))
            sent = []
            for _ in range(per_post):
                price += 1
                sent.append((SYMBOLS[price % len(SYMBOLS)], price))
            if nchan:  # one raw message per publish: the change as the relay's clients get it
                for symbol, value in sent:
                    http.post(url, content=change_json(quote(symbol, f"{value}.00")))
            else:
                body = {"data": [quote(symbol, f"{value}.00") for symbol, value in sent]}
                assert http.post(url, json=body).status_code == 200
            now = time.monotonic()
            for symbol, value in sent:
                made[symbol].append((now, value))
    return made


def links_load(
    contender: Any, *, rate: str, changes: int, seconds: float, query: str = ""
) -> dict[str, object]:
    link = ShapedLink(rate).up()
    try:
        link.call("relay", contender.start)  # its processes start inside the server's host
        path = urlsplit(contender.sub_url()).path
        url = f"http://{link.address('relay')}:{contender.port}{path}{query}"
        client = link.call("client", lambda: SSEClient(url, inflate="compress=deflate" in query, timeout=30))
        reader = Reader(client)
        reader.start()
        time.sleep(1.0)
        before = link.relay_sent_bytes()
        made = link.call("relay", lambda: _feed(contender, changes, seconds, 0))
        stopped = time.monotonic()
        latest = {s: values[-1][1] for s, values in made.items()}
        while reader.held() != latest and time.monotonic() - stopped < NEWEST_WITHIN_SECONDS:
            time.sleep(0.1)
        newest = reader.held() == latest
        sent_bytes = link.relay_sent_bytes() - before
        start = min(values[0][0] for values in made.values())
        samples = sorted(
            staleness(made[s], reader.got[s], start + i / 10)
            for i in range(int((stopped - start) * 10))
            for s in made
        )
        total = sum(map(len, made.values()))
        ended = reader.ended  # the stream ended before the test did (cut off, or a server's limit)
        client.close()
    finally:
        contender.stop()
        link.down()
    return {
        "load": "links",
        "target": contender.name + (" deflate" if "deflate" in query else ""),
        "clients": 1,
        "link": rate,
        "rate": changes,
        "published": total,
        "received": sum(map(len, reader.got.values())),
        "bytes_per_change": round(sent_bytes / total),
        "stale_p50_s": round(samples[len(samples) // 2], 2),
        "stale_p99_s": round(samples[int(len(samples) * 0.99)], 2),
        "newest_within_10s": newest,
        "ended": ended,
    }


COLUMNS = [
    ("contender", lambda r: r["target"]),
    ("link, changes/s", lambda r: f"{r['link']}, {r['rate']}"),
    ("received of published", lambda r: f"{r['received']} of {r['published']}"),
    ("bytes/change on the wire", lambda r: r["bytes_per_change"]),
    ("staleness p50 s", lambda r: r["stale_p50_s"]),
    ("staleness p99 s", lambda r: r["stale_p99_s"]),
    ("newest within 10 s", lambda r: "yes" if r["newest_within_10s"] else "no"),
]
