"""Fan-out benchmark: the relay and nginx+nchan on the same load, in one run, side by side.

Uses the shared kit (../shared/bench): `sseload` (C, epoll subscribers; built here into build/bench)
and `fanout.py` (the driver). Each load runs against every contender in turn; the table reports
deliveries/s, loss, publish-to-read latency, server CPU per delivery and memory per idle connection.
Figures on a shared machine are noisy: compare contenders within one run, and prefer the ratios.

    python bench/run.py                         # 1,000 and 5,000 clients x 20 events/s, 10,000 idle
    python bench/run.py --clients 300 --duration 3 --idle 0 --json out.json   # the CI guard's load
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def rss_kb(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


class Contender:
    name: str
    kind: str
    headers: list[str] = []

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


class Relay(Contender):
    kind = "sequin"
    headers = [f"Authorization: Bearer {SECRET}"]

    def __init__(self, processes: int, redis_url: str | None, server: str = "uvicorn") -> None:
        self.processes = processes
        self.redis_url = redis_url
        self.server = server
        plural = "es" if processes > 1 else ""
        self.name = f"relay ({server}, {processes} process{plural}{', redis' if redis_url else ''})"
        self.ports = [free_port() for _ in range(processes)]
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        self.procs = []
        for port in self.ports:
            env = {
                **os.environ,
                "SEQUIN_WEBHOOK_SECRET": SECRET,
                "PORT": str(port),
                "HOST": "127.0.0.1",
                "MAX_STREAMS": "19000",
                "LOG_LEVEL": "WARNING",
                "DEDUPE_WINDOW_SECONDS": "60",
            }
            if self.redis_url:
                env["REDIS_URL"] = self.redis_url
                env["STREAM_KEY"] = f"bench:{port}" if self.processes == 1 else "bench:shared"
            if self.server == "granian":
                # Granian's default backpressure would stall streams past 1,024 per worker.
                cmd = [
                    str(Path(sys.executable).parent / "granian"),
                    "--interface",
                    "asgi",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--loop",
                    "uvloop",
                    "--backlog",
                    "4096",
                    "--backpressure",
                    "20000",
                    "--log-level",
                    "warning",
                    "scrollr_relay.asgi:app",
                ]
            else:
                cmd = [sys.executable, "-m", "scrollr_relay"]
            self.procs.append(subprocess.Popen(cmd, env=env))
        for port in self.ports:
            wait_port(port)

    def stop(self) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()

    def pids(self) -> list[int]:
        # granian serves from worker processes it spawns; uvicorn serves in the process itself.
        return [pid for p in self.procs for pid in [p.pid, *children(p.pid)]]

    def sub_url(self) -> str:
        return f"http://127.0.0.1:{self.ports[0]}/events"

    def pub_url(self) -> str:
        return f"http://127.0.0.1:{self.ports[0]}/webhooks/sequin"


def run_load(
    contender: Contender, sseload: Path, *, clients: int, rate: float, duration: float
) -> dict[str, object]:
    contender.start()
    try:
        time.sleep(0.5)  # let the server settle before measuring its baseline memory
        baseline = rss_kb(contender.pids())
        cmd = [
            sys.executable,
            str(KIT / "fanout.py"),
            "--name",
            contender.name,
            "--sub",
            contender.sub_url(),
            "--pub",
            contender.pub_url(),
            "--kind",
            contender.kind,
            "--clients",
            str(clients),
            "--rate",
            str(rate),
            "--duration",
            str(duration),
            "--pids",
            ",".join(map(str, contender.pids())),
            "--sseload",
            str(sseload),
        ]
        for header in contender.headers:
            cmd += ["--header", header]
        result = json.loads(
            subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        )
        result["kb_per_idle_conn"] = round((result["rss_idle_kb"] - baseline) / max(1, result["ready"]), 2)
        result["deliveries_per_s"] = round(result["received"] / max(0.001, result["publish_s"]), 1)
        return result
    finally:
        contender.stop()


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
    parser.add_argument("--servers", default="uvicorn", help="relay ASGI servers to compare: uvicorn,granian")
    args = parser.parse_args()
    sseload = build_sseload()
    contenders: list[Contender] = [Nchan(1), *(Relay(1, None, server) for server in args.servers.split(","))]
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
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
