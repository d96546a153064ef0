"""What a connection costs, and what bounds it: 10,000 clients opening a stream at once.

Beside nginx+nchan and the relay, three servers that do less than the relay, so that the gap can be
read part by part (each answers `GET /events` with a chunked 200 and one chunk, and keeps the
connection, as a stream does):

- `httptools`: an asyncio protocol on uvloop parsing with httptools and writing the answer, nothing
  else. No framework; the floor of Python on this loop.
- `uvicorn`: the relay's server (uvicorn with the relay's protocol, serve/uvicorn_server.py, and its
  accept queues) running a bare ASGI app that detaches as a live stream does.
- `uvicorn+litestar`: the same with a Litestar app in between: CORS configured as the relay's, one
  `GET /events` route returning the app above. What the issue keeps (Litestar routing, CORS) with
  no stream of the relay's behind it.

Each row is the time from the first connect until every client has its 200 (`sseload`'s READY,
as in run.py's steady load) and the server's CPU per connection, the median of `--rounds` rounds
that take the servers in turn. Needs the shared kit's `sseload` (built into build/bench).

    python bench/connect.py                   # 10,000 clients, 3 rounds
    python bench/connect.py --clients 5000 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # the sibling module: contenders, build, /proc readers
from scrollr_relay.fanout.sinks import http_chunk

ANSWER_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-store")]
FIRST_CHUNK = http_chunk(b"retry: 1000\n\n")
RAW_ANSWER = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-store\r\n"
    b"transfer-encoding: chunked\r\n\r\n" + FIRST_CHUNK
)
FLOORS = ("httptools", "uvicorn", "uvicorn+litestar")


async def detaching_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer as a live stream does under the relay's server: the start held for the first chunk,
    one write, then the connection detached from the request (serve/uvicorn_server.py)."""
    from scrollr_relay.serve.stream import start_response
    from scrollr_relay.serve.uvicorn_server import StreamSocket

    own = StreamSocket.of(scope)
    assert own is not None, "the relay's protocol offers the socket"
    await start_response(send, ANSWER_HEADERS, own)
    transport = own.chunked_transport()
    assert transport is not None
    transport.write(own.take_start() + FIRST_CHUNK)
    own.detach()


def litestar_app() -> Any:
    from litestar import Litestar, get
    from litestar.config.cors import CORSConfig
    from litestar.types import ASGIApp

    @get("/events", media_type="text/event-stream")
    async def events() -> ASGIApp:
        return detaching_app  # type: ignore[return-value]

    cors = CORSConfig(
        allow_origins=["https://app.example.com"],
        allow_methods=["GET", "PUT", "POST", "OPTIONS"],
        allow_headers=["Last-Event-ID", "Content-Type", "Authorization", "If-Match", "If-None-Match"],
        expose_headers=["ETag"],
    )
    return Litestar([events], cors_config=cors)


def serve_httptools(port: int) -> None:
    import httptools
    import uvloop

    class Answering(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport
            self.parser = httptools.HttpRequestParser(self)

        def data_received(self, data: bytes) -> None:
            self.parser.feed_data(data)

        def on_headers_complete(self) -> None:
            self.transport.write(RAW_ANSWER)  # type: ignore[attr-defined]

    async def main() -> None:
        from scrollr_relay.serve.listen import accept_queues

        loop = asyncio.get_running_loop()
        servers = [await loop.create_server(Answering, sock=s) for s in accept_queues("127.0.0.1", port)]
        await asyncio.gather(*(s.serve_forever() for s in servers))

    uvloop.run(main())


def serve_uvicorn(port: int, app: Any) -> None:
    import uvicorn
    from scrollr_relay.serve.listen import LISTEN_BACKLOG, accept_queues
    from scrollr_relay.serve.uvicorn_server import StreamingHttpProtocol

    protocol = StreamingHttpProtocol.configured(header_seconds=10, body_seconds=30, offers_socket=True)
    config = uvicorn.Config(
        app, http=protocol, loop="uvloop", log_config=None, access_log=False, lifespan="off",
        backlog=LISTEN_BACKLOG,
    )  # fmt: skip
    uvicorn.Server(config).run(sockets=accept_queues("127.0.0.1", port))


def serve(server: str, port: int) -> None:
    if server == "httptools":
        serve_httptools(port)
    elif server == "uvicorn":
        serve_uvicorn(port, detaching_app)
    else:
        serve_uvicorn(port, litestar_app())


class Floor(bench.Contender):
    """A floor server of this module's, run as `connect.py --serve SERVER PORT`."""

    def __init__(self, server: str) -> None:
        self.name = self.server = server
        self.port = bench.free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve", self.server, str(self.port)])
        bench.wait_port(self.port)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(20)

    def pids(self) -> list[int]:
        assert self.proc is not None
        return [self.proc.pid]


def cpu_seconds(pids: list[int]) -> float:
    ticks = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def connect_once(contender: bench.Contender, sseload: Path, clients: int) -> tuple[float, float]:
    """(seconds until every client has its 200, server CPU µs per connection)."""
    contender.start()
    try:
        time.sleep(0.5)
        pids = contender.pids()
        cpu_before, started = cpu_seconds(pids), time.monotonic()
        load = subprocess.Popen(
            [str(sseload), "127.0.0.1", str(contender.port), "/events", str(clients)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert load.stdout is not None
        ready = int(load.stdout.readline().split()[1])
        seconds, cpu = time.monotonic() - started, cpu_seconds(pids) - cpu_before
        load.kill()
        load.wait()
        if ready != clients:
            raise SystemExit(f"{contender.name}: only {ready} of {clients} clients got their 200")
        return seconds, cpu / clients * 1e6
    finally:
        contender.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", nargs=2, metavar=("SERVER", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    sseload = bench.build(bench.KIT / "sseload.c")
    runs: dict[str, list[tuple[float, float]]] = {}
    for _ in range(args.rounds):
        for contender in [bench.Nchan(1), *(Floor(server) for server in FLOORS), bench.Relay(1)]:
            seconds, cpu = connect_once(contender, sseload, args.clients)
            runs.setdefault(contender.name, []).append((seconds, cpu))
            print(f"{contender.name}: {seconds:.2f} s, {cpu:.0f} µs CPU a connection", flush=True)
    nchan = [seconds for seconds, _ in runs["nchan (1 worker)"]]
    print(f"\n{args.clients} connects, medians of {args.rounds} rounds (÷ nchan: each round's own ratio)")
    print("| server | connect s | ÷ nchan | CPU µs a connection |\n|---|---|---|---|")
    for name, results in runs.items():
        ratio = statistics.median(seconds / base for (seconds, _), base in zip(results, nchan, strict=True))
        seconds = statistics.median(s for s, _ in results)
        cpu = statistics.median(c for _, c in results)
        print(f"| {name} | {seconds:.2f} | {ratio:.2f} | {cpu:.0f} |")


if __name__ == "__main__":
    main()
