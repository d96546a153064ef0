"""A real link for tests: the relay's host and the client's host (network namespaces named with the
test's pid, tests/support/hosts.py) joined directly by a veth pair (MTU 1500), the relay's side
shaped with `tc tbf` — the rate and queue of a real access link, which loopback never has.

tbf, not netem: netem's kernel module is missing on these machines. Only the relay's egress is
shaped (what a stream sends); requests and webhooks travel the other way unshaped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.support.browser import CHROMIUM
from tests.support.hosts import Hosts
from tests.support.procs import SECRET, wait_until
from tests.support.sequin import trade_message

RELAY_PORT = 8080
MTU = 1500
SYMBOLS = [f"S{n:02d}" for n in range(32)]


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


class ShapedLink(Hosts):
    """`relay` (10.77.0.1) and `client` (10.77.0.2), one veth pair between them."""

    def __init__(self, rate: str, *, burst: str = "4kb", latency: str = "200ms") -> None:
        super().__init__({"relay": 1, "client": 2})
        self.rate, self.burst, self.latency = rate, burst, latency

    def up(self) -> ShapedLink:
        for host in self.octets:
            _ip("netns", "add", self.ns(host))
        relay, client = self.ns("relay"), self.ns("client")
        _ip("link", "add", "eth0", "netns", relay, "type", "veth", "peer", "name", "eth0", "netns", client)
        for host in self.octets:
            ns = self.ns(host)
            _ip("-n", ns, "link", "set", "eth0", "mtu", str(MTU))
            _ip("-n", ns, "addr", "add", f"{self.address(host)}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "link", "set", "eth0", "up")
        self.shape(self.rate)
        return self

    def shape(self, rate: str) -> None:
        """(Re)shape the relay's egress: `rate` through a token bucket of `burst`, queueing at most
        `latency` worth of packets (a real link's buffer) and dropping the rest."""
        tbf = ["tbf", "rate", rate, "burst", self.burst, "latency", self.latency]
        subprocess.run(
            ["tc", "-n", self.ns("relay"), "qdisc", "replace", "dev", "eth0", "root", *tbf],
            check=True,
            capture_output=True,
        )

    def relay_sent_bytes(self) -> int:
        """Bytes the relay's side put on the wire (IP packets, headers included)."""
        out = subprocess.run(
            ["ip", "-j", "-s", "-n", self.ns("relay"), "link", "show", "eth0"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return int(json.loads(out)[0]["stats64"]["tx"]["bytes"])

    @property
    def relay_url(self) -> str:
        return f"http://{self.address('relay')}:{RELAY_PORT}"

    def chromium(self, folder: Path) -> str:
        """An executable that runs Chromium on the client's host, for Playwright's
        `executable_path` (Playwright talks to it over a pipe, which crosses namespaces)."""
        wrapper = folder / "chromium-on-client"
        wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {self.ns("client")} {CHROMIUM} "$@"\n')
        wrapper.chmod(0o755)
        return str(wrapper)

    def start_relay(self, env: dict[str, str], log: Path) -> None:
        """A relay on the relay's host, with the in-memory bus unless `env` names Redis."""
        full = {
            **os.environ,
            "SEQUIN_WEBHOOK_SECRET": SECRET,
            "HOST": "0.0.0.0",
            "PORT": str(RELAY_PORT),
            **env,
        }
        self.popen("relay", [sys.executable, "-m", "scrollr_relay"], env=full, log=log)
        wait_until(
            lambda: (
                self.call("client", lambda: httpx.get(f"{self.relay_url}/healthz", timeout=1).status_code)
                == 200
            ),
            timeout=30,
            what="relay on its host to be healthy",
        )


def quote(symbol: str, price: str, row_id: int | None = None) -> dict[str, Any]:
    """A trade change shaped like the real table's (about 600 bytes as a frame)."""
    message = trade_message(symbol, price, row_id=row_id or SYMBOLS.index(symbol) + 1)
    message["record"].update(
        previous_close="101.25",
        price_change="-0.75",
        percentage_change="-0.74",
        last_updated="2026-12-05T15:48:30.123456+00:00",
        created_at="2026-11-01T09:30:00.000000+00:00",
    )
    message["changes"] = {"price": "100.00", "last_updated": "2026-12-05T15:48:29.123456+00:00"}
    return message


def staleness(made: list[tuple[float, int]], got: list[tuple[float, int]], at: float) -> float:
    """How long, at `at`, a newer value than the client's has existed without reaching it."""
    held = max((p for when, p in got if when <= at), default=-1)
    newer = [when for when, p in made if p > held and when <= at]
    return at - min(newer) if newer else 0.0
