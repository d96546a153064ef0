"""What each Redis topology costs a publish, and what waiting for a replica would add.

One relay process's view: sequential publishes of one change (the latency a webhook's append adds),
through the bus as the relay runs it, on a master with a replica (plain URL), a Sentinel-managed
master, and a Cluster; then the same on the Sentinel master followed by `WAIT 1` (the replica's
acknowledgement: what trading latency for durability across a failover would cost; the relay
doesn't do it, docs/deploy.md says why), and the cost of the lineage check (INFO) inside a script.
Medians and p99 in one run, on local processes.

    python bench/bus_topologies.py [--publishes 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis.asyncio as redis
from scrollr_relay.bus.event import Envelope
from scrollr_relay.bus.redis import _PUBLISH, RedisBus
from scrollr_relay.redis_topology import RedisSettings, redis_settings

from tests.support.redis_topologies import Cluster, SentinelSet

_LINEAGE_ONLY = "return string.match(redis.call('INFO', 'replication'), 'master_replid:(%w+)')"


def bus(settings: RedisSettings | None) -> RedisBus:
    assert settings is not None
    return RedisBus(settings, stream_key="bench:bus", maxlen=10_000, dedupe_window_seconds=3600)


async def timed(count: int, publish: Callable[[int], Awaitable[object]]) -> list[float]:
    for n in range(200):  # warm-up: connections, script cache
        await publish(-n - 1)
    samples = []
    for n in range(count):
        started = time.perf_counter()
        await publish(n)
        samples.append((time.perf_counter() - started) * 1e6)
    return samples


def row(name: str, samples: list[float], base: float | None) -> None:
    median = statistics.median(samples)
    p99 = statistics.quantiles(samples, n=100)[98]
    ratio = f"{median / base:.2f}x" if base else "1.00x"
    print(f"{name:<34} {median:>9.0f} µs {p99:>9.0f} µs {ratio:>8}")


async def run(count: int, sentinels: SentinelSet, cluster: Cluster) -> None:
    assert sentinels.master is not None
    buses = {
        "master with a replica (REDIS_URL)": bus(
            redis_settings({"REDIS_URL": f"redis://127.0.0.1:{sentinels.master.port}"})
        ),
        "Sentinel": bus(redis_settings(sentinels.env())),
        "Cluster (3 masters, 3 replicas)": bus(redis_settings({"REDIS_URL": cluster.url})),
    }
    print(f"{'publish of one change':<34} {'median':>12} {'p99':>12} {'÷ first':>8}")
    base = None
    for name, each in buses.items():
        samples = await timed(
            count, lambda n, b=each, k=name: b.publish([Envelope("trades", f"{k}{n}", b"{}")])
        )
        row(name, samples, base)
        base = base or statistics.median(samples)
    # On one raw connection to the master, as WAIT counts that connection's writes: the publish
    # script alone, then with WAIT 1 in the same round trip; and the lineage check's INFO alone.
    raw = redis.Redis(port=sentinels.master.port)
    keys = [
        "bench:raw",
        "{bench:raw}:epoch",
        "{bench:raw}:dedupe",
        "{bench:raw}:trimmed",
        "{bench:raw}:lineage",
    ]

    def args(n: int) -> list[str | int]:
        return ["e", 10_000, "", int(time.time() * 1000), 3_600_000, f"raw{n}", "trades", "{}"]

    async def script_alone(n: int) -> None:
        await raw.eval(_PUBLISH, len(keys), *keys, *args(n))

    async def script_and_wait(n: int) -> None:
        pipe = raw.pipeline(transaction=False)
        pipe.eval(_PUBLISH, len(keys), *keys, *args(n))
        pipe.execute_command("WAIT", 1, 1000)
        _, acked = await pipe.execute()
        assert acked == 1

    print()
    alone = await timed(count, script_alone)
    row("publish script, one connection", alone, None)
    row("same + WAIT 1 (not used)", await timed(count, script_and_wait), statistics.median(alone))
    empty = await timed(count, lambda n: raw.eval("return 1", 0))
    row("EVAL of an empty script", empty, None)
    row(
        "EVAL of INFO replication",
        await timed(count, lambda n: raw.eval(_LINEAGE_ONLY, 0)),
        statistics.median(empty),
    )
    await raw.aclose()
    for each in buses.values():
        await each.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--publishes", type=int, default=3000)
    args = parser.parse_args()
    sentinels, cluster = SentinelSet().start(), Cluster().start()
    try:
        asyncio.run(run(args.publishes, sentinels, cluster))
    finally:
        sentinels.stop()
        cluster.stop()


if __name__ == "__main__":
    main()
