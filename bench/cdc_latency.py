"""Idle commit-to-relay latency of the change emitter (issue target: p99 under 50 ms).

One row is updated every 50 ms (an idle database: each commit alone), through a real Postgres with
logical replication, `scrollr-cdc` and a relay; the time is taken from the commit's return to the
event's arrival at an SSE client of the relay, so it bounds commit-to-relay from above.

    python bench/cdc_latency.py [--commits 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.pg import execute, insert_trade, new_database, remove_cluster, start_cluster
from tests.support.procs import CdcProcess, RelayProcess
from tests.support.sse import SSEClient

IDLE_GAP_SECONDS = 0.05


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commits", type=int, default=200)
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="scrollr-cdc-bench-"))
    cluster = start_cluster()
    relay = emitter = None
    try:
        url = new_database(cluster)
        row = insert_trade(url, "BENCH")
        relay = RelayProcess({"LOG_LEVEL": "WARNING"}, log_dir=logs).start()
        client = SSEClient(f"{relay.url}/events")
        client.wait_comment("connected")
        emitter = CdcProcess(
            {"DATABASE_URL": url, "RELAY_WEBHOOK_URL": f"{relay.url}/webhooks/sequin"}, log_dir=logs
        ).start()
        emitter.wait_streaming()
        client.next(timeout=30)  # the backfill of the one row
        latencies = []
        for n in range(args.commits):
            execute(url, "UPDATE trades SET price = %s WHERE id = %s", (f"{100 + n % 50}.{n % 100:02d}", row))
            committed = time.perf_counter()
            client.next(timeout=10)
            latencies.append((time.perf_counter() - committed) * 1000)
            time.sleep(IDLE_GAP_SECONDS)  # the load itself: idle gaps between commits
        ordered = sorted(latencies)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        print(
            f"idle commit-to-relay (to an SSE client) over {len(ordered)} commits: "
            f"p50 {statistics.median(ordered):.2f} ms, p99 {p99:.2f} ms, max {ordered[-1]:.2f} ms"
        )
    finally:
        if emitter is not None:
            emitter.kill()
        if relay is not None:
            relay.kill()
        remove_cluster(cluster)


if __name__ == "__main__":
    main()
