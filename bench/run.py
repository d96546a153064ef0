"""Fan-out benchmark: the relay and nginx+nchan on the same load, in one run, side by side.

Uses the shared kit (../shared/bench): `sseload` (C, epoll subscribers; built here into build/bench)
and `fanout.py` (the driver). Each load runs against every contender in turn; the table reports
deliveries/s, loss, publish-to-read latency, server CPU per delivery and memory per idle connection.
Figures on a shared machine are noisy: compare contenders within one run, and prefer the ratios.

    python bench/run.py                         # every load below, both contenders each
    python bench/run.py --only steady           # 1,000 and 5,000 clients x 20 events/s, 10,000 idle, both cores
    python bench/run.py --only storm,filtered,density
    python bench/run.py --only steady --clients 1000 --duration 4 --idle 0 --both-cores ""   # CI's CPU guard

Loads beyond steady fan-out (issue: reconnect storms, density, filtered fan-out), driven by this
project's own loader `bench/sseclients.c` (a request per connection, seq-checked):
- storm: N clients connect at once, each resuming 50 events back, while 20 events/s flow; the time
  until every client is live (has read an event published after the storm began), the servers' CPU
  over the storm, and events lost or duplicated.
- filtered: 5,000 clients, each following 5 of 32 symbols drawn Zipf-like, 20 events/s round the
  symbols; nchan gets a channel per symbol and multiplexed subscribers.
- density: 36,000 idle streams over both cores (two loaders), 1 event/s.
- links: one client on a real, shaped link (veth + tbf, bench/links.py): 128 kbit/s under 60
  changes/s and 20 Mbit/s under 20 changes/s; bytes per change on the wire and staleness, nchan
  beside the relay (plain frames, and deflated). Needs root (network namespaces).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.util
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import types
from collections.abc import Callable
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
worker_rlimit_nofile 19500;
events {{ worker_connections 19000; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  server {{
    listen {port} reuseport backlog=4096;
    location = /events {{ nchan_subscriber eventsource; nchan_subscriber_first_message newest;
                          nchan_channel_id broadcast; nchan_eventsource_ping_interval 15; }}
    location = /publish {{ nchan_publisher; nchan_channel_id broadcast; nchan_message_buffer_length 1000;
                           nchan_message_timeout 60s; }}
    # Filtered: a channel per symbol; a subscriber multiplexes its five.
    location = /sub {{ nchan_subscriber eventsource; nchan_subscriber_first_message newest;
                       nchan_channel_id $arg_c1 $arg_c2 $arg_c3 $arg_c4 $arg_c5;
                       nchan_eventsource_ping_interval 15; }}
    location = /pub {{ nchan_publisher; nchan_channel_id $arg_c; nchan_message_buffer_length 1000;
                       nchan_message_timeout 60s; }}
  }}
}}
"""


def free_port() -> int:
    """A port below the ephemeral range: a storm's tens of thousands of client sockets churn through
    that range, and a port the kernel handed out a moment ago may be taken again by the time a
    server binds it."""
    while True:
        port = random.randint(20000, 30000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


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


def build(source: Path) -> Path:
    """Compile a C load generator into build/bench (the kit's folder is read-only)."""
    if not source.exists():
        raise SystemExit(f"bench: {source} not found (set SCROLLR_BENCH_KIT to the shared bench kit)")
    BUILD.mkdir(parents=True, exist_ok=True)
    binary = BUILD / source.stem
    if not binary.exists() or binary.stat().st_mtime < source.stat().st_mtime:
        subprocess.run(["gcc", "-O2", "-o", str(binary), str(source)], check=True)
    return binary


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout
    return [int(p) for p in out.split()]


class Contender:
    name: str
    kind: str
    port: int
    publish_headers: list[str] = []

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def pids(self) -> list[int]: ...
    def sub_url(self) -> str: ...
    def pub_url(self) -> str: ...
    def filtered_path(self, symbols: list[str]) -> str: ...
    def filtered_publish(self, symbol: str, seq: int, pad: str) -> tuple[str, bytes]: ...


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

    def filtered_path(self, symbols: list[str]) -> str:
        return "/sub?" + "&".join(f"c{n}={s}" for n, s in enumerate(symbols, 1))

    def filtered_publish(self, symbol: str, seq: int, pad: str) -> tuple[str, bytes]:
        body = {"symbol": symbol, "seq": seq, "t": time.time_ns(), "pad": pad}
        return f"/pub?c={symbol}", json.dumps(body, separators=(",", ":")).encode()


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
        if self.server == "scrollr-relay":  # uvicorn with the socket path (serve/uvicorn_server.py)
            return [sys.executable, "-m", "scrollr_relay"]
        # Granian's default backpressure would stall streams past 1,024 per worker.
        assert self.server == "granian", self.server
        return [
            str(Path(sys.executable).parent / "granian"),
            *("--interface", "asgi", "--host", "127.0.0.1", "--port", str(self.port), "--loop", "uvloop"),
            *("--workers", str(self.workers), "--backlog", "4096", "--backpressure", "20000"),
            *("--log-level", "warning", "scrollr_relay.serve.other_servers:app"),
        ]

    def start(self) -> None:
        env = {
            **os.environ,
            "SEQUIN_WEBHOOK_SECRET": SECRET,
            "PORT": str(self.port),
            "HOST": "0.0.0.0",  # loaders connect to 127.0.0.1, .2, ...: a port range each (see run_load)
            "MAX_STREAMS": "19000",
            "LOG_LEVEL": "WARNING",
            "DEDUPE_WINDOW_SECONDS": "60",
            "WORKERS": str(self.workers),
            # nchan pings every 15 s (its config above); the relay's default is 5 s since clients must
            # show Delayed within 20 s. Equal intervals keep the contenders' idle traffic equal.
            "SSE_HEARTBEAT_SECONDS": "15",
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

    def filtered_path(self, symbols: list[str]) -> str:
        return "/events?symbols=" + ",".join(symbols)

    def filtered_publish(self, symbol: str, seq: int, pad: str) -> tuple[str, bytes]:
        record = {
            "id": SYMBOLS.index(symbol) + 1,
            "symbol": symbol,
            "seq": seq,
            "t": time.time_ns(),
            "pad": pad,
        }
        message = {
            "record": record,
            "changes": {"price": 1},
            "action": "update",
            "metadata": {
                "table_schema": "public",
                "table_name": "trades",
                "commit_timestamp": "2026-11-28T00:00:00Z",
                "commit_lsn": 1000 + seq,
                "commit_idx": 0,
                "idempotency_key": f"filtered-{seq}-{record['t']}",
                "record_pks": [str(record["id"])],
            },
        }
        return "/webhooks/sequin", json.dumps({"data": [message]}, separators=(",", ":")).encode()


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
    loads: list[subprocess.Popen[str]] = []
    try:
        contender.start()
        time.sleep(0.5)  # let the server settle before measuring its baseline memory
        pids = contender.pids()
        baseline = kit.proc_rss_kb(pids)
        url = urlsplit(contender.sub_url())
        started = time.monotonic()
        for n, share in enumerate(split(clients, loaders)):
            # One source and destination address pair has one ephemeral port range (28,232 ports
            # here): each loader connects to an address of its own, so 36,000 streams fit.
            loads.append(
                subprocess.Popen(
                    [str(sseload), f"127.0.0.{n + 1}", str(url.port), url.path, str(share)],
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


SYMBOLS = [f"SYM{n:02d}" for n in range(32)]
STORM_BACKLOG = 50


def zipf_sets(clients: int, per_client: int = 5, seed: int = 7) -> list[list[str]]:
    """Each client's symbols: `per_client` of 32, drawn with Zipf weights (1/rank), so many clients
    share the popular sets while the tail makes many distinct filters."""
    rand = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(len(SYMBOLS))]
    sets = []
    for _ in range(clients):
        chosen: set[str] = set()
        while len(chosen) < per_client:
            chosen.add(rand.choices(SYMBOLS, weights)[0])
        sets.append(sorted(chosen))
    return sets


class Observer(threading.Thread):
    """One plain subscriber that records the SSE id of each event by its seq, so the storm's clients
    can resume from a real id of either server (nchan's are `<time>:<tag>`, the relay's its cursors)."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
        self.sock.sendall(
            f"GET {parts.path} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n".encode()
        )
        self.ids: dict[int, str] = {}
        self.start()

    def run(self) -> None:
        pending = b""
        event_id = ""
        with contextlib.suppress(OSError):
            while chunk := self.sock.recv(65536):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for raw in lines:
                    line = raw.rstrip(b"\r").decode("latin-1")
                    if line.startswith("id:"):
                        event_id = line[3:].strip()
                    elif line.startswith("data:") and '"seq":' in line:
                        seq = int(line.split('"seq":', 1)[1].split(",", 1)[0].split("}", 1)[0])
                        self.ids[seq] = event_id

    def id_of(self, seq: int, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while seq not in self.ids:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the observer never saw event {seq}")
            time.sleep(0.01)
        return self.ids[seq]

    def close(self) -> None:
        self.sock.close()


class Loaders:
    """sseclients processes, each with a spec file of its connections' paths and Last-Event-IDs."""

    def __init__(self, binary: Path, port: int, specs: list[list[str]], live_seq: int, max_seq: int) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="scrollr-load-"))
        self.procs: list[subprocess.Popen[str]] = []
        for n, lines in enumerate(specs):
            spec = self.dir / f"spec{n}"
            spec.write_text("".join(f"{line}\n" for line in lines))
            command = [str(binary), "127.0.0.1", str(port), str(spec), str(live_seq), str(max_seq)]
            self.procs.append(
                subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            )

    def ready(self) -> int:
        return sum(int(p.stdout.readline().split()[1]) for p in self.procs if p.stdout is not None)

    def finish(self) -> list[dict[str, float]]:
        reports = []
        for proc in self.procs:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.close()
            reports.append(json.loads(proc.stdout.readline()))
            proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
        return reports

    def kill(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()


def paced(count: int, rate: float, send: Callable[[int], int], first: int = 0) -> int:
    """Publish seqs first..first+count-1 at `rate`; the number of failed publishes."""
    started = time.monotonic()
    failures = 0
    for n in range(count):
        wait = started + n / rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        failures += not 200 <= send(first + n) < 300
    return failures


def storm_load(
    contender: Contender, binary: Path, *, clients: int, loaders: int = 1, rate: float = 20, window: float = 6
) -> dict[str, object]:
    """Every client reconnects at once, each from a cursor STORM_BACKLOG events back, while events flow."""
    kit = load_kit_driver()
    observer: Observer | None = None
    procs: Loaders | None = None
    try:
        contender.start()
        observer = Observer(contender.sub_url())
        publisher = kit.Publisher(
            contender.pub_url(), dict(h.split(": ", 1) for h in contender.publish_headers)
        )
        pad = "x" * 100

        def send(seq: int) -> int:
            return int(publisher.post(kit.body(contender.kind, seq, pad)))

        warmup = STORM_BACKLOG + 10
        failures = paced(warmup, rate, send)
        cursor = observer.id_of(warmup - STORM_BACKLOG - 1)  # resume with the last STORM_BACKLOG behind
        storm_events = int(rate * window)
        pids = contender.pids()
        path = urlsplit(contender.sub_url()).path
        cpu_before = kit.proc_cpu_s(pids)
        procs = Loaders(
            binary,
            contender.port,
            [[f"{path}\t{cursor}"] * share for share in split(clients, loaders)],
            live_seq=warmup,
            max_seq=warmup + storm_events + 1,
        )
        failures += paced(storm_events, rate, send, first=warmup)
        ready = procs.ready()
        time.sleep(2.0)  # drain
        cpu_s = kit.proc_cpu_s(pids) - cpu_before
        reports = procs.finish()
    finally:
        if procs is not None:
            procs.kill()
        if observer is not None:
            observer.close()
        contender.stop()
    per_client = warmup + storm_events - (warmup - STORM_BACKLOG)
    distinct = sum(int(r["distinct"]) for r in reports)
    live = sum(int(r["live"]) for r in reports)
    return {
        "load": "storm",
        "target": contender.name,
        "clients": clients,
        "ready": ready,
        "rate": rate,
        "publish_failures": failures,
        "live": live,
        "all_live_s": round(max(r["all_live_ms"] for r in reports) / 1000, 2) if live == clients else None,
        "all_answered_s": round(max(r["ready_ms"] for r in reports) / 1000, 2),
        "live_p50_s": round(max(r["live_ms_p50"] for r in reports) / 1000, 2),
        "lost": clients * per_client - distinct,
        "duplicates": sum(int(r["duplicates"]) for r in reports),
        "server_cpu_s": round(cpu_s, 2),
        "lat_ms_p99": max(r["lat_ms_p99"] for r in reports),
    }


def filtered_load(
    contender: Contender, binary: Path, *, clients: int, rate: float = 20, duration: float = 10
) -> dict[str, object]:
    """Each client follows its own 5 symbols; events go round the 32 symbols."""
    kit = load_kit_driver()
    sets = zipf_sets(clients)
    followers = {symbol: sum(symbol in chosen for chosen in sets) for symbol in SYMBOLS}
    events = int(rate * duration)
    procs: Loaders | None = None
    try:
        contender.start()
        time.sleep(0.5)
        pids = contender.pids()
        procs = Loaders(
            binary,
            contender.port,
            [[f"{contender.filtered_path(chosen)}\t" for chosen in sets]],
            0,
            events + 1,
        )
        ready = procs.ready()
        publisher = kit.Publisher(
            contender.pub_url(), dict(h.split(": ", 1) for h in contender.publish_headers)
        )
        pad = "x" * 100

        def send(seq: int) -> int:
            publisher.path, body = contender.filtered_publish(SYMBOLS[seq % len(SYMBOLS)], seq, pad)
            return int(publisher.post(body))

        cpu_before = kit.proc_cpu_s(pids)
        failures = paced(events, rate, send)
        time.sleep(2.0)
        cpu_s = kit.proc_cpu_s(pids) - cpu_before
        reports = procs.finish()
    finally:
        if procs is not None:
            procs.kill()
        contender.stop()
    expected = sum(followers[SYMBOLS[seq % len(SYMBOLS)]] for seq in range(events))
    received = sum(int(r["received"]) for r in reports)
    return {
        "load": "filtered",
        "target": contender.name,
        "clients": clients,
        "ready": ready,
        "distinct_filters": len({tuple(chosen) for chosen in sets}),
        "rate": rate,
        "publish_failures": failures,
        "expected": expected,
        "received": received,
        "lost": expected - sum(int(r["distinct"]) for r in reports),
        "duplicates": sum(int(r["duplicates"]) for r in reports),
        "lat_ms_p50": max(r["lat_ms_p50"] for r in reports),
        "lat_ms_p99": max(r["lat_ms_p99"] for r in reports),
        "server_cpu_s": round(cpu_s, 2),
        "cpu_us_per_delivery": round(cpu_s * 1e6 / max(1, received), 2),
    }


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


Column = tuple[str, Callable[[dict[str, object]], object]]


def markdown(columns: list[Column], results: list[dict[str, object]]) -> str:
    head = "| " + " | ".join(name for name, _ in columns) + " |\n|" + "---|" * len(columns)
    rows = ["| " + " | ".join(str(cell(r)) for _, cell in columns) + " |" for r in results]
    return "\n".join([head, *rows])


STEADY_COLUMNS: list[Column] = [
    ("contender", lambda r: r["target"]),
    ("clients", lambda r: r["clients"]),
    ("events/s", lambda r: r["rate"]),
    ("deliveries/s", lambda r: "—" if r.get("idle") else r["deliveries_per_s"]),
    ("lost", lambda r: r["lost"]),
    ("p50 ms", lambda r: r["lat_ms_p50"]),
    ("p99 ms", lambda r: r["lat_ms_p99"]),
    ("CPU µs/delivery", lambda r: r["cpu_us_per_delivery"]),
    ("KB/idle conn", lambda r: r["kb_per_idle_conn"]),
]
STORM_COLUMNS: list[Column] = [
    ("contender", lambda r: r["target"]),
    ("clients resuming", lambda r: f"{r['clients']} (live {r['live']})"),
    ("time to all live s", lambda r: r["all_live_s"]),
    ("median client live s", lambda r: r["live_p50_s"]),
    ("CPU s", lambda r: r["server_cpu_s"]),
    ("lost", lambda r: r["lost"]),
    ("duplicated", lambda r: r["duplicates"]),
]
FILTERED_COLUMNS: list[Column] = [
    ("contender", lambda r: r["target"]),
    ("clients (distinct filters)", lambda r: f"{r['clients']} ({r['distinct_filters']})"),
    ("deliveries", lambda r: r["received"]),
    ("lost", lambda r: r["lost"]),
    ("duplicated", lambda r: r["duplicates"]),
    ("p50 ms", lambda r: r["lat_ms_p50"]),
    ("p99 ms", lambda r: r["lat_ms_p99"]),
    ("CPU µs/delivery", lambda r: r["cpu_us_per_delivery"]),
]


def ratios(results: list[dict[str, object]], keys: tuple[str, ...]) -> str:
    """relay ÷ nchan of each key, for consecutive (nchan, relay) pairs of the same load."""
    lines = []
    for nchan, relay in zip(results[::2], results[1::2], strict=False):
        parts = []
        for key in keys:
            a, b = relay.get(key), nchan.get(key)
            if isinstance(a, int | float) and isinstance(b, int | float) and b:
                parts.append(f"{key} {a / b:.2f}")
        lines.append(f"relay ÷ nchan, {relay.get('load')} {relay['clients']}: {', '.join(parts)}")
    return "\n".join(lines)


LOADS = ("steady", "storm", "filtered", "density", "links")


def report(result: dict[str, object], results: list[dict[str, object]]) -> None:
    results.append(result)
    print(json.dumps(result), file=sys.stderr, flush=True)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default=",".join(LOADS), help=f"comma-separated loads of {LOADS}")
    parser.add_argument("--clients", default="1000,5000", help="steady: comma-separated client counts")
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
    parser.add_argument(
        "--storm", default="10000,2x9000", help="storm: N on one process; WxN per worker on W"
    )
    parser.add_argument("--filtered", type=int, default=5000, help="filtered: clients")
    parser.add_argument("--density", type=int, default=36000, help="density: idle streams over both cores")
    parser.add_argument("--links-seconds", type=float, default=30, help="links: seconds of feed per link")
    args = parser.parse_args()
    unknown = set(args.only.split(",")) - set(LOADS)
    if unknown:
        parser.error(f"unknown loads {sorted(unknown)}: choose from {LOADS}")
    return args


def main() -> None:
    args = arguments()
    loads = set(args.only.split(","))
    sseload = build(KIT / "sseload.c")
    sseclients = build(ROOT / "bench" / "sseclients.c")
    servers = args.servers.split(",")
    results: list[dict[str, object]] = []
    steady: list[dict[str, object]] = []
    if "steady" in loads:
        for clients in [int(c) for c in args.clients.split(",") if c]:
            for contender in [Nchan(1), *(Relay(1, server) for server in servers)]:
                load = run_load(contender, sseload, clients=clients, rate=args.rate, duration=args.duration)
                report({"load": "steady", **load}, steady)
        if args.idle:
            for contender in [Nchan(1), *(Relay(1, server) for server in servers)]:
                # One event to many idle connections: memory per connection is the figure here.
                load = run_load(contender, sseload, clients=args.idle, rate=1, duration=1)
                report({"load": "idle", **load, "idle": True}, steady)
        if args.both_cores:
            clients, rate = (float(x) for x in args.both_cores.split("x"))
            for contender in [Nchan(2), *(Relay(2, server) for server in servers)]:
                # Two loaders: one sseload alone would be the bottleneck at these rates.
                load = run_load(
                    contender, sseload, clients=int(clients), rate=rate, duration=5, loaders=2, drain=10
                )
                report({"load": "both-cores", **load}, steady)
    if "density" in loads and args.density:
        for contender in [Nchan(2), *(Relay(2, server) for server in servers)]:
            load = run_load(contender, sseload, clients=args.density, rate=1, duration=5, loaders=2, drain=5)
            report({"load": "density", **load, "idle": True}, steady)
    storms: list[dict[str, object]] = []
    if "storm" in loads:
        for spec in [s for s in args.storm.split(",") if s]:
            workers, _, per = spec.rpartition("x")
            count = int(workers or 1)
            for contender in [Nchan(count), *(Relay(count, server) for server in servers)]:
                load = storm_load(contender, sseclients, clients=int(per) * count, loaders=count)
                report(load, storms)
    filtered: list[dict[str, object]] = []
    if "filtered" in loads and args.filtered:
        for contender in [Nchan(1), *(Relay(1, server) for server in servers)]:
            report(filtered_load(contender, sseclients, clients=args.filtered), filtered)
    shaped: list[dict[str, object]] = []
    if "links" in loads:
        from links import COLUMNS as LINK_COLUMNS
        from links import LINKS, links_load

        for rate, changes in LINKS:
            for contender, query in [(Nchan(1), ""), (Relay(1), ""), (Relay(1), "?compress=deflate")]:
                report(
                    links_load(
                        contender, rate=rate, changes=changes, seconds=args.links_seconds, query=query
                    ),
                    shaped,
                )
    if shaped:
        print(markdown(LINK_COLUMNS, shaped))
    if steady:
        print(markdown(STEADY_COLUMNS, steady))
        print(ratios(steady, ("cpu_us_per_delivery", "lat_ms_p99", "kb_per_idle_conn", "deliveries_per_s")))
    if storms:
        print(markdown(STORM_COLUMNS, storms))
        print(ratios(storms, ("all_live_s", "server_cpu_s")))
    if filtered:
        print(markdown(FILTERED_COLUMNS, filtered))
        print(ratios(filtered, ("cpu_us_per_delivery", "lat_ms_p99")))
    results = [*steady, *storms, *filtered, *shaped]
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
