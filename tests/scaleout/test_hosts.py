"""Relays on hosts of their own, behind the deploy nginx, under network faults.

Hosts are network namespaces on one switch (tests/support/hosts.py): Redis on one, three relays on
three others, and an edge host with nginx (deploy/nginx/scrollr-locations.conf balancing `/events`
and the webhook), the change emitter and the clients. Postgres is the test's own cluster, reached
through its Unix socket (not part of the network under test). The clients follow the dashboard
worker's rules (tests/support/state.py Follower): snapshot, stream, resume with `Last-Event-ID`,
a watchdog of 3 heartbeats, `reset` → snapshot.

Each fault ends with every client's rows compared with the database's, and prints its recovery
time (fault to every client live again), which the README quotes.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from scrollr_cdc.localpg import LocalPostgres

from tests.support.hosts import Hosts
from tests.support.nginx import locations, nginx_conf
from tests.support.pg import (
    PriceWriter,
    cdc_env,
    drop_slot,
    insert_trade,
    new_database,
    slot_for,
    trade_prices,
)
from tests.support.procs import SECRET, read_metric, wait_until
from tests.support.redis_topologies import REDIS_SERVER
from tests.support.state import Follower

pytestmark = pytest.mark.process
HOSTS = {"redis": 2, "relay1": 11, "relay2": 12, "relay3": 13, "edge": 100}
RELAYS = ["relay1", "relay2", "relay3"]
RELAY_PORT = 8080
HEARTBEAT_SECONDS = 1.0
CLIENTS = 6
SYMBOLS = ["AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META"]


@dataclass
class Deployment:
    hosts: Hosts
    database_url: str  # from this (the machine's) namespace
    edge_url: str  # nginx, from the edge host
    followers: list[Follower]
    trade_ids: list[int]

    def relay_url(self, relay: str) -> str:
        return f"http://{self.address(relay)}"

    def metric(self, relay: str, name: str, labels: str = "") -> float:
        return self.hosts.call("edge", lambda: read_metric(self.relay_url(relay), name, labels))

    def status(self, relay: str, path: str) -> int:
        return self.hosts.call(
            "edge", lambda: httpx.get(self.relay_url(relay) + path, timeout=30).status_code
        )

    def upstream_of_a_new_stream(self) -> str:
        """Which relay nginx gives a new stream to (HEAD /events: the headers a stream would get)."""
        response = self.hosts.call("edge", lambda: httpx.head(f"{self.edge_url}/events", timeout=10))
        return response.headers.get("x-upstream", "")

    def address(self, relay: str) -> str:
        """host:port of a relay, as nginx names its upstream."""
        return f"{self.hosts.address(relay)}:{RELAY_PORT}"

    def on(self, relay: str) -> list[Follower]:
        return [f for f in self.followers if f.served_by and f.served_by[-1] == self.address(relay)]

    def busiest_relay(self) -> str:
        return max(RELAYS, key=lambda relay: len(self.on(relay)))

    def all_live(self, followers: list[Follower], connects_before: dict[Follower, int]) -> bool:
        return all(f.live.is_set() and f.connects > connects_before[f] for f in followers)

    def converge(self) -> None:
        truth = trade_prices(self.database_url)
        wait_until(
            lambda: all(f.prices() == truth for f in self.followers),
            timeout=90,
            interval=0.2,
            what="every client's rows to equal the database's",
        )
        for follower in self.followers:
            ids = [change_id for change_id, _ in follower.changes]
            assert len(ids) == len(set(ids)), "an event applied twice"


@pytest.fixture
def deployment(socket_postgres: tuple[LocalPostgres, Path], tmp_path: Path) -> Iterator[Deployment]:
    cluster, sockets = socket_postgres
    database_url = new_database(cluster)
    over_socket = (
        f"postgresql://postgres@/{database_url.rsplit('/', 1)[-1]}?host={sockets}&port={cluster.port}"
    )
    hosts = Hosts(HOSTS).up()
    followers: list[Follower] = []
    try:
        redis_address = hosts.address("redis")
        hosts.popen(
            "redis",
            [
                REDIS_SERVER,
                "--bind",
                redis_address,
                "--port",
                "6379",
                "--protected-mode",
                "no",
                "--save",
                "",
                "--dir",
                str(tmp_path),
            ],
            log=tmp_path / "redis.log",
        )
        relay_env = {
            **os.environ,
            "SEQUIN_WEBHOOK_SECRET": SECRET,
            "PORT": str(RELAY_PORT),
            "REDIS_URL": f"redis://{redis_address}:6379/0",
            "DATABASE_URL": over_socket,
            "SSE_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
        }
        for relay in RELAYS:
            env = {**relay_env, "HOST": hosts.address(relay)}
            hosts.popen(
                relay, [sys.executable, "-m", "scrollr_relay"], env=env, log=tmp_path / f"{relay}.log"
            )
        nginx_dir = tmp_path / "nginx"
        nginx_dir.mkdir()
        (nginx_dir / "locations.conf").write_text(locations(None))
        (nginx_dir / "nginx.conf").write_text(
            nginx_conf(
                nginx_dir,
                upstreams=[f"{hosts.address(r)}:{RELAY_PORT}" for r in RELAYS],
                listen=f"{hosts.address('edge')}:80",
                # Which relay served a response, so the test can tell where each client went.
                server_extra="add_header X-Upstream $upstream_addr always;",
            )
        )
        hosts.popen(
            "edge",
            [shutil.which("nginx") or "/usr/sbin/nginx", "-c", str(nginx_dir / "nginx.conf")],
            log=tmp_path / "nginx.out",
        )
        edge_url = f"http://{hosts.address('edge')}"
        deployment = Deployment(hosts, database_url, edge_url, followers, [])
        for relay in RELAYS:
            wait_until(
                lambda r=relay: deployment.status(r, "/readyz") == 200, timeout=30, what=f"{relay} ready"
            )
        slot = slot_for(database_url)
        cdc = {**os.environ, "SEQUIN_WEBHOOK_SECRET": SECRET, **cdc_env(over_socket, edge_url, CDC_SLOT=slot)}
        hosts.popen("edge", [sys.executable, "-m", "scrollr_cdc"], env=cdc, log=tmp_path / "cdc.log")
        wait_until(
            lambda: "streaming changes" in (tmp_path / "cdc.log").read_text(), timeout=30, what="emitter"
        )
        deployment.trade_ids = [insert_trade(database_url, symbol) for symbol in SYMBOLS]
        followers += [
            Follower(edge_url, silence_seconds=3 * HEARTBEAT_SECONDS, netns=hosts.ns("edge")).start()
            for _ in range(CLIENTS)
        ]
        wait_until(lambda: all(f.live.is_set() for f in followers), timeout=30, what="every client live")
        deployment.converge()
        yield deployment
    finally:
        for follower in followers:
            follower.stop()
        hosts.down()
        drop_slot(database_url, slot_for(database_url))


def report(fault: str, seconds: float) -> None:
    print(f"\nrecovery [{fault}]: {seconds:.1f} s")


@dataclass
class Fault:
    """The relay a fault hits (the one serving most clients), its clients, and everyone's
    connection count before it."""

    victim: str
    moving: list[Follower]
    connects_before: dict[Follower, int]


def choose_victim(deployment: Deployment) -> Fault:
    victim = deployment.busiest_relay()
    moving = deployment.on(victim)
    assert moving, "nginx gave the victim no client"
    return Fault(victim, moving, {f: f.connects for f in deployment.followers})


def test_a_relay_host_losing_its_link(deployment: Deployment) -> None:
    writer = PriceWriter(deployment.database_url, deployment.trade_ids).start()
    fault = choose_victim(deployment)
    victim, moving, before = fault.victim, fault.moving, fault.connects_before
    started = time.monotonic()
    deployment.hosts.link(victim, up=False)
    wait_until(
        lambda: deployment.all_live(moving, before),
        timeout=60,
        what="the cut-off relay's clients live elsewhere",
    )
    report("relay host link down", time.monotonic() - started)
    assert not deployment.on(victim), "a client still on the cut-off relay"
    assert all(not f.resets for f in deployment.followers)  # resumed from their cursors, no snapshot
    deployment.hosts.link(victim, up=True)
    wait_until(
        lambda: deployment.upstream_of_a_new_stream() == deployment.address(victim),
        timeout=60,
        what="the relay back in the balancer's rotation",
    )
    writer.stop()
    deployment.converge()


def test_a_relay_partitioned_from_redis(deployment: Deployment) -> None:
    writer = PriceWriter(deployment.database_url, deployment.trade_ids).start()
    fault = choose_victim(deployment)
    victim, moving, before = fault.victim, fault.moving, fault.connects_before
    started = time.monotonic()
    deployment.hosts.partition(victim, "redis")
    wait_until(lambda: deployment.status(victim, "/readyz") == 503, timeout=60, what="/readyz failing")
    wait_until(
        lambda: deployment.metric(victim, "scrollr_webhook_rejections_total", 'reason="bus_unavailable"'),
        timeout=60,
        what="its webhooks answered 503",
    )
    wait_until(
        lambda: deployment.all_live(moving, before),
        timeout=120,
        what="the partitioned relay's clients live elsewhere",
    )
    report("relay partitioned from Redis", time.monotonic() - started)
    assert not deployment.on(victim)
    assert deployment.metric(victim, "scrollr_stream_closes_total", 'reason="bus_unavailable"') >= len(moving)
    deployment.hosts.partition(victim, "redis", cut=False)
    wait_until(
        lambda: deployment.status(victim, "/readyz") == 200, timeout=60, what="ready again once healed"
    )
    writer.stop()
    deployment.converge()


def test_the_redis_host_down_for_20_seconds(deployment: Deployment) -> None:
    writer = PriceWriter(deployment.database_url, deployment.trade_ids).start()
    before = {f: f.connects for f in deployment.followers}
    rejected = sum(
        deployment.metric(r, "scrollr_webhook_rejections_total", 'reason="bus_unavailable"') for r in RELAYS
    )
    deployment.hosts.link("redis", up=False)
    down_until = time.monotonic() + 20
    while time.monotonic() < down_until:  # the outage lasts 20 s; watch the clients through it
        assert all(f.live.is_set() for f in deployment.followers), "a stream ended during the outage"
        time.sleep(0.2)
    deployment.hosts.link("redis", up=True)
    back = time.monotonic()
    assert (
        sum(
            deployment.metric(r, "scrollr_webhook_rejections_total", 'reason="bus_unavailable"')
            for r in RELAYS
        )
        > rejected
    ), "webhooks were not refused during the outage"
    wait_until(
        lambda: all(deployment.metric(r, "scrollr_bus_up") == 1 for r in RELAYS), timeout=60, what="bus back"
    )
    writer.stop()
    deployment.converge()
    report(
        "Redis host down 20 s (link back to every client's rows equal the database's)",
        time.monotonic() - back,
    )
    # The streams stayed open throughout (heartbeats kept every client's watchdog quiet).
    assert all(f.connects == before[f] for f in deployment.followers)
