"""Redis Cluster and Sentinel for real: the bus on each topology, and a failover of the master that
holds the stream while changes flow (kill -9; its replica is promoted).

What a failover must cost: webhooks answer 503 while no master takes writes (never a 2xx for a
change that isn't stored) and succeed again by themselves; every client gets a `reset` (a promoted
replica may lack writes the old master acknowledged) and converges to the database's rows.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from scrollr_relay.bus import HistoryGap
from scrollr_relay.bus.event import Envelope
from scrollr_relay.bus.redis import RedisBus
from scrollr_relay.redis_topology import redis_settings

from tests.support.pg import PriceWriter, cdc_env, insert_trade, trade_prices
from tests.support.procs import RelayProcess, wait_until
from tests.support.redis_topologies import Node, SentinelSet, cluster_safe_port
from tests.support.sequin import batch, post, publish, trade_message
from tests.support.sse import open_stream
from tests.support.state import Follower

pytestmark = pytest.mark.process
STREAM_KEY = "events:failover"
SYMBOLS = ["AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META"]


def envelope(n: int) -> Envelope:
    return Envelope(topic="trades", dedupe_key=f"k{n}", data=b'{"n":%d}' % n)


def standalone_bus(node: Node) -> RedisBus:
    settings = redis_settings({"REDIS_URL": f"redis://127.0.0.1:{node.port}", "REDIS_MODE": "standalone"})
    assert settings is not None
    return RedisBus(settings, stream_key=STREAM_KEY, maxlen=1000, dedupe_window_seconds=60)


async def test_a_promoted_replica_missing_acknowledged_writes_resets_every_cursor(tmp_path: Path) -> None:
    master = Node(tmp_path, cluster_safe_port()).start()
    replica = Node(tmp_path, cluster_safe_port(), "--replicaof", "127.0.0.1", str(master.port)).start()
    try:
        bus = standalone_bus(master)
        start = await bus.head()
        await bus.publish([envelope(1), envelope(2)])
        with master.client() as r:
            assert r.execute_command("WAIT", 1, 5000) == 1
        replicated = await bus.head()
        replica.pause()  # the replica falls behind: what follows is acknowledged, never replicated
        acknowledged = (await bus.publish([envelope(3), envelope(4)])).head
        await bus.close()
        master.kill()
        replica.resume()
        with replica.client() as r:
            r.execute_command("REPLICAOF", "NO", "ONE")  # what Sentinel or the cluster does
        promoted = standalone_bus(replica)
        await promoted.publish([envelope(5)])
        # Reading after `replicated` would give event 5 alone: 3 and 4 silently gone. Every cursor of
        # the old history must start over instead, including one the new history happens to hold.
        for cursor in (start, replicated, acknowledged):
            with pytest.raises(HistoryGap) as gap:
                await promoted.read_after(cursor, 100)
            assert gap.value.reason == "history_lost"
        head = await promoted.head()
        assert head.epoch != start.epoch
        assert await promoted.read_after(head, 10) == []
        await promoted.publish([envelope(6)])
        assert [e.data for e in await promoted.read_after(head, 10)] == [b'{"n":6}']
        await promoted.close()
    finally:
        master.kill()
        replica.kill()


class Topology:
    def __init__(
        self, env: dict[str, str], kill_master: Callable[[], Node], rejoin: Callable[[Node], None]
    ) -> None:
        self.env = env
        self.kill_master = kill_master  # kill -9 the master holding the stream; the node killed
        self.rejoin = rejoin  # restart a killed node; back once it is a synced replica


@pytest.fixture(params=["cluster", "sentinel"])
def topology(request: pytest.FixtureRequest) -> Topology:
    if request.param == "cluster":
        cluster = request.getfixturevalue("fresh_cluster")
        return Topology(
            {"REDIS_URL": cluster.url}, lambda: cluster.kill_master_of(STREAM_KEY), cluster.rejoin
        )
    sentinels = request.getfixturevalue("fresh_sentinel")
    return Topology(sentinels.env(), sentinels.kill_master, sentinels.rejoin)


def test_failover_of_the_master_holding_the_stream(
    topology: Topology,
    start_relay: Callable[..., RelayProcess],
    start_cdc: Callable[..., object],
    database_url: str,
) -> None:
    env = {
        **topology.env,
        "STREAM_KEY": STREAM_KEY,
        "DATABASE_URL": database_url,
        "SSE_HEARTBEAT_SECONDS": "0.5",
    }
    relays = [start_relay(env), start_relay(env)]
    start_cdc(cdc_env(database_url, relays[0].url)).wait_streaming()  # type: ignore[attr-defined]
    followers = [Follower(relay.url, silence_seconds=3).start() for relay in relays]
    try:
        for follower in followers:
            wait_until(follower.live.is_set, what="followers live")
        ids = [insert_trade(database_url, symbol) for symbol in SYMBOLS]
        wait_until(
            lambda: all(len(f.changes) >= len(ids) for f in followers), what="both relays stream the inserts"
        )
        assert followers[0].changes == followers[1].changes  # the same events, in the same order

        # Twice: the killed master comes back as a replica, then the new master is killed in turn
        # (relays follow the topology each time, not just the first promotion).
        for failover in (1, 2):
            writer = PriceWriter(database_url, ids).start()
            wait_until(lambda w=writer: w.commits >= 20, what="changes flowing")
            refused = relays[0].metric("scrollr_webhook_rejections_total", 'reason="bus_unavailable"')
            killed = topology.kill_master()
            wait_until(
                lambda r=refused: (
                    relays[0].metric("scrollr_webhook_rejections_total", 'reason="bus_unavailable"') > r
                ),
                timeout=30,
                what="webhooks refused with 503 while no master takes writes",
            )
            published = relays[0].metric("scrollr_events_published_total")
            wait_until(
                lambda p=published: relays[0].metric("scrollr_events_published_total") > p + 20,
                timeout=60,
                what="webhooks accepted again, by themselves, once a replica is promoted",
            )
            writer.stop()
            truth = trade_prices(database_url)
            wait_until(
                lambda t=truth: all(f.prices() == t for f in followers),
                timeout=60,
                interval=0.2,
                what="every client's rows to equal the database's",
            )
            for follower in followers:  # each promotion renewed the epoch: one reset per failover
                assert follower.resets.count("history_lost") >= failover, follower.resets
            if failover == 1:
                topology.rejoin(killed)
        print(f"\nresets per client over two failovers: {[f.resets for f in followers]}")
    finally:
        for follower in followers:
            follower.stop()


def test_sentinel_with_passwords_for_the_data_nodes_and_the_sentinels(
    start_relay: Callable[..., RelayProcess],
) -> None:
    sentinels = SentinelSet(password="data-secret-0123", sentinel_password="sentinel-secret-0123").start()
    try:
        env = {**sentinels.env(), "STREAM_KEY": STREAM_KEY}
        relay = start_relay(env)
        assert httpx.get(f"{relay.url}/readyz").status_code == 200
        client = open_stream(relay)
        publish(relay, "AUTH")
        assert client.next().json()["record"]["symbol"] == "AUTH"
        for wrong in ("REDIS_PASSWORD", "REDIS_SENTINEL_PASSWORD"):
            refused = start_relay({**env, wrong: "not-the-password"})
            assert httpx.get(f"{refused.url}/readyz", timeout=30).status_code == 503, wrong
            assert post(refused.url, batch(trade_message("NO", "1.00"))).status_code == 503, wrong
    finally:
        sentinels.stop()
