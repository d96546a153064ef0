"""Fan-out benchmark: the relay and nginx+nchan on the same load, in one run, side by side.

Uses the shared kit (../shared/bench): `sseload` (C, epoll subscribers; built here into build/bench)
and `fanout.py` (the driver). Each load runs against every contender in turn; the table reports
deliveries/s, loss, publish-to-read latency, server CPU per delivery and memory per idle connection.
Figures on a shared machine are noisy: compare contenders within one run, and prefer the ratios.

    python bench/run.py                         # 1,000 and 5,000 clients x 20 events/s, 10,000 idle
    python bench/run.py --clients 1000 --duration 4 --idle 0 --both-cores ""   # the CI guard's CPU load
    python bench/run.py --clients "" --idle 0 --both-cores 5000x60         # the CI guard's throughput load
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
KIT = Path(os.environ.get("SCROLLR_BENCH_KIT", ROOT.parent / "shared" / "bench"))
BUILD = ROOT / "build" / "bench"
SECRET = "bench-secret-0123456789abcdef"
NCHAN_CONF = """
load_module /usr/lib/nginx/modules/ngx_nchan_module.so;
worker_processes {workers};
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
worker_rlimit_nofile 19000;
events {{ worker_connections 19000; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  server {{
    listen 127.0.0.1:{port};
    location = /events {{ nchan_subscriber eventsource; nchan_subscriber_first_message newest;
                          nchan_channel_id broadcast; nchan_eventsource_ping_interval 15; }}
    location = /publish {{ nchan_publisher; nchan_channel_id broadcast; nchan_message_buffer_length 1000;
                           nchan_message_timeout 60s; }}
  }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")


def wait_listeners(port: int, count: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, check=True)
        if len(out.stdout.splitlines()) >= count:
            return
        time.sleep(0.05)
    raise RuntimeError(f"fewer than {count} sockets listening on {port}")


def build_sseload() -> Path:
    source = KIT / "sseload.c"
    if not source.exists():
        raise SystemExit(f"bench: {source} not found (set SCROLLR_BENCH_KIT to the shared bench kit)")
    BUILD.mkdir(parents=True, exist_ok=True)
    binary = BUILD / "sseload"
    if not binary.exists() or binary.stat().st_mtime < source.stat().st_mtime:
        subprocess.run(["gcc", "-O2", "-o", str(binary), str(source)], check=True)
    return binary


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout
    return [int(p) for p in out.split()]


class Contender:
    name: str
    kind: str
    publish_headers: list[str] = []

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def pids(self) -> list[int]: ...
    def sub_url(self) -> str: ...
    def pub_url(self) -> str: ...


class Nchan(Contender):
    kind = "raw"

    def __init__(self, workers: int) -> None:
        self.name = f"nchan ({workers} worker{'s' if workers > 1 else ''})"
        self.workers = workers
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="scrollr-nchan-"))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        conf = self.dir / "nginx.conf"
        conf.write_text(NCHAN_CONF.format(workers=self.workers, dir=self.dir, port=self.port))
        user = "user root;\n" if os.geteuid() == 0 else ""
        conf.write_text(user + conf.read_text())
        self.proc = subprocess.Popen(
            [shutil.which("nginx") or "/usr/sbin/nginx", "-c", str(conf), "-e", str(self.dir / "error.log")]
        )
        wait_port(self.port)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(20)

    def pids(self) -> list[int]:
        assert self.proc is not None
        return children(self.proc.pid)  # the workers do the work

    def sub_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/events"

    def pub_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/publish"


class Redis:
    """A redis-server of the benchmark's own, so that its CPU is counted with the relay's."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_port(self.port)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(20)


class Relay(Contender):
    kind = "sequin"
    publish_headers = [f"Authorization: Bearer {SECRET}"]

    def __init__(self, workers: int, server: str = "scrollr-relay") -> None:
        self.workers = workers
        self.server = server
        # Several processes share the stream through Redis; one alone uses the in-memory bus.
        self.redis = Redis() if workers > 1 else None
        self.name = f"relay ({server}, {workers} process{'es, redis' if workers > 1 else ''})"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        if self.server == "scrollr-relay":  # uvicorn with the socket path (server.py)
            return [sys.executable, "-m", "scrollr_relay"]
        # Granian's default backpressure would stall streams past 1,024 per worker.
        assert self.server == "granian", self.server
        return [
            str(Path(sys.executable).parent / "granian"),
            *("--interface", "asgi", "--host", "127.0.0.1", "--port", str(self.port), "--loop", "uvloop"),
            *("--workers", str(self.workers), "--backlog", "4096", "--backpressure", "20000"),
            *("--log-level", "warning", "scrollr_relay.other_servers:app"),
        ]

    def start(self) -> None:
        env = {
            **os.environ,
            "SEQUIN_WEBHOOK_SECRET": SECRET,
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
            "MAX_STREAMS": "19000",
            "LOG_LEVEL": "WARNING",
            "DEDUPE_WINDOW_SECONDS": "60",
            "WORKERS": str(self.workers),
        }
        if self.redis is not None:
            self.redis.start()
            env["REDIS_URL"] = self.redis.url
        self.proc = subprocess.Popen(self.command(), env=env)
        wait_port(self.port)
        if self.server == "scrollr-relay" and self.workers > 1:
            wait_listeners(self.port, self.workers)  # every worker's socket, not just the first

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.redis is not None:
            self.redis.stop()

    def pids(self) -> list[int]:
        # With WORKERS (or under granian) the work is in child processes, and Redis is part of the relay.
        assert self.proc is not None
        redis = [self.redis.proc.pid] if self.redis is not None and self.redis.proc is not None else []
        return [self.proc.pid, *children(self.proc.pid), *redis]

    def sub_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/events"

    def pub_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/sequin"


@functools.cache
def load_kit_driver() -> types.ModuleType:
    """The shared kit's driver module, for its publisher, event bodies and /proc readers."""
    spec = importlib.util.spec_from_file_location("fanout", KIT / "fanout.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_load(
    contender: Contender,
    sseload: Path,
    *,
    clients: int,
    rate: float,
    duration: float,
    loaders: int = 1,
    drain: float = 2.0,
) -> dict[str, object]:
    """The kit's fanout.py procedure, with the clients split over `loaders` sseload processes.

    One sseload is one core's worth of reading; past ~150,000 deliveries/s it, not the server,
    would be what is measured. With several, latency percentiles are each loader's own: the table
    shows the worst loader's (all loaders see the same distribution; the worst is the honest bound).
    """
    kit = load_kit_driver()
    contender.start()
    loads: list[subprocess.Popen[str]] = []
    try:
        time.sleep(0.5)  # let the server settle before measuring its baseline memory
        pids = contender.pids()
        baseline = kit.proc_rss_kb(pids)
        url = urlsplit(contender.sub_url())
        started = time.monotonic()
        for share in split(clients, loaders):
            loads.append(
                subprocess.Popen(
                    [str(sseload), url.hostname or "127.0.0.1", str(url.port), url.path, str(share)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
        ready = sum(int(load.stdout.readline().split()[1]) for load in loads if load.stdout is not None)
        connect_s = time.monotonic() - started
        time.sleep(0.5)
        rss_idle = kit.proc_rss_kb(pids)
        publisher = kit.Publisher(
            contender.pub_url(), dict(h.split(": ", 1) for h in contender.publish_headers)
        )
        pad = "x" * 100
        events = int(rate * duration)
        cpu_before = kit.proc_cpu_s(pids)
        publish_started = time.monotonic()
        failures = 0
        for seq in range(events):
            wait = publish_started + seq / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            status = publisher.post(kit.body(contender.kind, seq, pad))
            failures += not 200 <= status < 300
        publish_s = time.monotonic() - publish_started
        time.sleep(drain)
        cpu_s = kit.proc_cpu_s(pids) - cpu_before
        reports = []
        for load in loads:
            assert load.stdin is not None and load.stdout is not None
            load.stdin.close()
            reports.append(json.loads(load.stdout.readline()))
            load.wait()
    finally:
        for load in loads:
            if load.poll() is None:
                load.kill()
        contender.stop()
    received = sum(r["received"] for r in reports)
    worst = {key: max(r[key] for r in reports) for key in ("lat_ms_p50", "lat_ms_p99", "lat_ms_max")}
    # Until the last delivery: under overload the backlog drains after the publisher stops.
    busy_s = publish_s + worst["lat_ms_max"] / 1000
    return {
        "target": contender.name,
        "clients": clients,
        "ready": ready,
        "connect_s": round(connect_s, 2),
        "rate": rate,
        "events": events,
        "publish_failures": failures,
        "publish_s": round(publish_s, 2),
        "expected": events * ready,
        "received": received,
        "lost": events * ready - received,
        **worst,
        "server_cpu_s": round(cpu_s, 2),
        "cpu_us_per_delivery": round(cpu_s * 1e6 / max(1, received), 2),
        "deliveries_per_s": round(received / max(0.001, busy_s)),
        "kb_per_idle_conn": round((rss_idle - baseline) / max(1, ready), 2),
    }


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def table(results: list[dict[str, object]]) -> str:
    head = (
        "| contender | clients | events/s | deliveries/s | lost | p50 ms | p99 ms | CPU µs/delivery "
        "| KB/idle conn |\n|---|---|---|---|---|---|---|---|---|"
    )
    rows = [
        f"| {r['target']} | {r['clients']} | {r['rate']} | {'—' if r.get('idle') else r['deliveries_per_s']} | {r['lost']} | "
        f"{r['lat_ms_p50']} | {r['lat_ms_p99']} | {r['cpu_us_per_delivery']} | {r['kb_per_idle_conn']} |"
        for r in results
    ]
    return "\n".join([head, *rows])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", default="1000,5000", help="comma-separated client counts")
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument(
        "--idle", type=int, default=10000, help="idle connections for the memory run (0: skip)"
    )
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument(
        "--servers", default="scrollr-relay", help="relay servers to compare: scrollr-relay,granian"
    )
    parser.add_argument(
        "--both-cores",
        default="5000x60",
        help="CLIENTSxRATE for nchan with 2 workers against the relay with WORKERS=2 on Redis, "
        "a load past one core's capacity (empty: skip)",
    )
    args = parser.parse_args()
    sseload = build_sseload()
    servers = args.servers.split(",")
    contenders: list[Contender] = [Nchan(1), *(Relay(1, server) for server in servers)]
    results = []
    for clients in [int(c) for c in args.clients.split(",") if c]:
        for contender in contenders:
            results.append(
                run_load(contender, sseload, clients=clients, rate=args.rate, duration=args.duration)
            )
            print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    if args.idle:
        for contender in contenders:
            # One event to many idle connections: memory per connection is the figure here.
            results.append(
                {**run_load(contender, sseload, clients=args.idle, rate=1, duration=1), "idle": True}
            )
            print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    if args.both_cores:
        clients, rate = (float(x) for x in args.both_cores.split("x"))
        for contender in [Nchan(2), *(Relay(2, server) for server in servers)]:
            # Two loaders: one sseload alone would be the bottleneck at these rates.
            result = run_load(
                contender, sseload, clients=int(clients), rate=rate, duration=5, loaders=2, drain=10
            )
            results.append(result)
            print(json.dumps(result), file=sys.stderr, flush=True)
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
