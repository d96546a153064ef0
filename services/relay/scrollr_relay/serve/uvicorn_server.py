"""Everything uvicorn-specific: the server `scrollr-relay` runs, and its protocol offering streams
their socket.

Through ASGI `send`, every frame to every client costs a coroutine, a message dict and a copy; the
fan-out benchmark showed that as most of the relay's own CPU per delivery. uvicorn suspends `send`
only for its flow control, which the relay replaces with its own (the transport's pause_writing and
resume_writing reach the stream through `StreamSocket.flow`; fanout/subscriber.py), so once a response has started with chunked encoding a stream may write its chunks to the transport itself.
`StreamingHttpProtocol` offers that through the ASGI scope's `extensions` (the place ASGI keeps for
server-specific features): `StreamSocket.of(scope)`. Under any other server there is none and
streams go through `send` (fanout/sinks.py, which knows the socket only as its `OwnSocket` protocol).

Once a stream is live it detaches from its request (`StreamSocket.detach`): uvicorn takes the response
as complete, the app's call returns, and the stream ends later by writing its last chunk itself.

It also bounds how long a request may take to arrive (slowloris): the headers within
`HEADER_TIMEOUT_SECONDS` of the connection's start (or, on a kept-alive connection, of the next
request's), the body within `BODY_TIMEOUT_SECONDS` after them.
uvicorn has only an idle keep-alive timeout, so a request trickling in byte by byte would otherwise
hold its connection (and, for a webhook, its buffered body) for ever. And it bounds how many bytes
the headers may take (`MAX_HEADER_BYTES`): the parser keeps an unfinished header line whole, so
without a cap 64 MiB of one unterminated header grew the process by 143 MiB. Bytes are counted as
they arrive, before the parser sees them; past the cap the request gets 431 and its connection is
closed, with no more of it buffered.

The uvicorn internals this touches are few, and `self_check` names them: the protocol's
`_start_asgi_task` (where the socket is offered, before the request's task exists) and the request's
`RequestResponseCycle` (`transport`, `scope`, `response_started`, `chunked_encoding`,
`response_complete`, `disconnected`). pyproject.toml pins the uvicorn minor version this was
verified with; on any other, or if the check fails, streams go through `send` and the start-up log
says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import re
import socket
from collections.abc import Callable
from types import FrameType
from typing import Any

import uvicorn
from litestar import Litestar
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from scrollr_relay import metrics
from scrollr_relay.config import DEFAULT_MAX_HEADER_BYTES, Settings
from scrollr_relay.fanout.hub import Hub
from scrollr_relay.fanout.sinks import FlowListener
from scrollr_relay.fanout.subscriber import CLOSE_CLIENT_GONE, CLOSE_SHUTDOWN
from scrollr_relay.serve.listen import LISTEN_BACKLOG, accept_queues, port_taken
from scrollr_relay.serve.workers import beat_interval

log = logging.getLogger("scrollr.server")

SOCKET_EXTENSION = "scrollr.socket"
VERIFIED_UVICORN = "0.54"  # the minor version the socket path was verified with (pyproject.toml pins it)
CYCLE_ATTRIBUTES = (
    "transport",
    "scope",
    "response_started",
    "chunked_encoding",
    "response_complete",
    "disconnected",
)
GRACEFUL_SHUTDOWN_SECONDS = 5
HEADERS_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
    b'content-length: 29\r\nconnection: close\r\n\r\n{"error":"headers_too_large"}'
)


def self_check() -> str | None:
    """Why this uvicorn can't offer streams their socket, or None if it can."""
    if not uvicorn.__version__.startswith(VERIFIED_UVICORN + "."):
        return f"uvicorn {uvicorn.__version__} is not the verified {VERIFIED_UVICORN}.x"
    if not callable(getattr(HttpToolsProtocol, "_start_asgi_task", None)):
        return "uvicorn's HttpToolsProtocol has no _start_asgi_task"
    if list(inspect.signature(HttpToolsProtocol._start_asgi_task).parameters) != ["self", "cycle", "app"]:
        return "uvicorn's _start_asgi_task takes other arguments"
    source = inspect.getsource(RequestResponseCycle.__init__)
    missing = [name for name in CYCLE_ATTRIBUTES if not re.search(rf"self\.{name}\b\s*(:[^=\n]*)?=", source)]
    return f"uvicorn's RequestResponseCycle lacks {missing}" if missing else None


class _HeldStart:
    """Stands in for the transport while the server writes a stream's response start: what it
    writes is kept, to leave with the stream's first bytes. uvicorn's `send` only writes to it;
    asking whether it is closing, or closing it, reaches the real transport."""

    __slots__ = ("_transport", "parts")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.parts.append(data)

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def close(self) -> None:
        self._transport.close()


class StreamSocket:
    """The connection under one HTTP/1.1 response, as far as a stream may use it (a sink's
    `OwnSocket`)."""

    __slots__ = ("_cycle", "_protocol", "_start", "detached", "flow", "on_end", "transport")

    def __init__(self, cycle: RequestResponseCycle, protocol: StreamingHttpProtocol) -> None:
        self._cycle: RequestResponseCycle | None = cycle
        self._protocol: StreamingHttpProtocol | None = protocol
        self.transport: asyncio.Transport = cycle.transport
        self.detached = False
        # Called with a close reason when the connection is lost, or (detached) when its send buffer
        # passes the stream's limit: a stream learns of a gone or stuck client without a task of its
        # own waiting on `receive`, and without asking the buffer's size after every write.
        self.on_end: Callable[[str], None] | None = None
        # Told when the transport's buffer passes its high mark and when it drains below its low
        # one, before and after the stream detaches: what the stream writes waits meanwhile.
        self.flow: FlowListener | None = None
        self._start = b""  # the response's start, held for the stream's first write

    @staticmethod
    def of(scope: dict[str, Any]) -> StreamSocket | None:
        found = scope.get("extensions", {}).get(SOCKET_EXTENSION, {}).get("socket")
        return found if isinstance(found, StreamSocket) else None

    def hold_start(self) -> None:
        """Keep what the server writes of the response's start until the stream writes its first
        bytes, and send both in one write: a connection costs one send and one wake-up of the
        client fewer (the single write was about 5% of a connection's CPU, py-spy). Undone by
        `release_start`, which the caller must reach whatever `send` does."""
        if self._cycle is not None:
            self._cycle.transport = _HeldStart(self.transport)  # type: ignore[assignment]

    def release_start(self) -> None:
        """The server's transport back; the start it wrote meanwhile waits for `take_start`."""
        cycle = self._cycle
        if cycle is not None and isinstance(cycle.transport, _HeldStart):
            self._start = b"".join(cycle.transport.parts)
            cycle.transport = self.transport

    def take_start(self) -> bytes:
        start, self._start = self._start, b""
        return start

    def chunked_transport(self) -> asyncio.Transport | None:
        """The transport, once the response has started as chunked and while it is open.

        Anything else (a HEAD response, a finished one) keeps to `send`, which knows its framing; a
        start held for it goes out at once, alone.
        """
        cycle = self._cycle
        if cycle is None:
            return None
        ready = cycle.response_started and cycle.chunked_encoding and not cycle.response_complete
        if ready and not cycle.disconnected:
            return cycle.transport
        if self._start and not cycle.disconnected:
            self.transport.write(self.take_start())
        return None

    def abort(self) -> None:
        """Drop the connection and its unsent bytes; the server sees the response as cut short."""
        if self._cycle is not None:
            self._cycle.disconnected = True
        self.transport.abort()

    def detach(self) -> None:
        """The stream owns the connection from here on. uvicorn takes the response as complete, so
        the request's call (and the app's chain of coroutines under it) can return while the stream
        goes on; and the connection's protocol becomes a `DetachedConnection`, so uvicorn's (its HTTP
        parser, the request's scope and cycle) is freed too: an open stream then costs its
        subscriber, sink and socket. The connection serves nothing else afterwards."""
        cycle, protocol = self._cycle, self._protocol
        assert cycle is not None and protocol is not None
        self.detached = True
        cycle.response_complete = True
        protocol.hand_over(DetachedConnection(self))
        self._cycle = self._protocol = None

    def paused(self) -> None:
        if self.flow is not None:
            self.flow.pause()

    def resumed(self) -> None:
        if self.flow is not None:
            self.flow.resume()

    def ended(self, reason: str) -> None:
        if self.on_end is not None:
            self.on_end(reason)

    def end(self) -> None:
        """End a detached response: its last chunk, then the connection it had to itself."""
        transport = self.transport
        if not transport.is_closing():
            transport.write(b"0\r\n\r\n")
            transport.close()


class DetachedConnection(asyncio.Protocol):
    """The protocol of a connection a stream owns: no parser and no request state, only what the
    stream needs to hear — that the connection is gone."""

    __slots__ = ("_socket",)

    def __init__(self, socket: StreamSocket) -> None:
        self._socket = socket

    def data_received(self, data: bytes) -> None:
        # A request sent behind a stream that owns the connection: nothing can answer it there.
        self._socket.transport.close()

    def eof_received(self) -> bool:
        return False  # the client closed its side: close ours

    def pause_writing(self) -> None:
        self._socket.paused()

    def resume_writing(self) -> None:
        self._socket.resumed()

    def connection_lost(self, exc: Exception | None) -> None:
        self._socket.ended(CLOSE_CLIENT_GONE)


class StreamingHttpProtocol(HttpToolsProtocol):
    _socket: StreamSocket | None = None  # the latest started request's
    offers_socket = True  # False when self_check failed: streams then use `send`
    _deadline: asyncio.TimerHandle | None = None  # for the part of the request still to arrive
    header_timeout_seconds = 10.0
    body_timeout_seconds = 30.0
    max_header_bytes = DEFAULT_MAX_HEADER_BYTES
    # Bytes received towards the headers of the request being read; None once they are complete
    # (its body, if any, is bounded elsewhere).
    _header_bytes: int | None = 0
    _body_due = False  # the headers are complete and the body's deadline isn't armed yet

    @classmethod
    def configured(
        cls,
        *,
        header_seconds: float,
        body_seconds: float,
        offers_socket: bool,
        max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
    ) -> type[StreamingHttpProtocol]:
        """This protocol with its own settings (uvicorn instantiates the class it is given)."""
        attrs = {
            "header_timeout_seconds": header_seconds,
            "body_timeout_seconds": body_seconds,
            "max_header_bytes": max_header_bytes,
            "offers_socket": offers_socket,
        }
        return type(cls.__name__, (cls,), attrs)

    def _arm(self, seconds: float, phase: str) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._timed_out, phase)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _timed_out(self, phase: str) -> None:
        self._deadline = None
        metrics.REQUEST_TIMEOUTS.labels(phase).inc()
        log.info("closing connection from %s: request %s not received in time", self.client, phase)
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout_seconds, "headers")  # a connection that never sends a request

    def data_received(self, data: bytes) -> None:
        self._feed(data)
        if self._body_due:  # the headers ended in this piece and the body didn't
            self._body_due = False
            self._arm(self.body_timeout_seconds, "body")

    def _feed(self, data: bytes) -> None:
        if self.transport.is_closing():
            return  # refused: nothing more of it is parsed or kept
        counted = self._header_bytes
        if counted is None or counted + len(data) <= self.max_header_bytes:
            if counted is not None:
                self._header_bytes = counted + len(data)
            super().data_received(data)
            return
        # Only up to the cap goes to the parser; the rest is parsed only if the headers ended in it.
        room = self.max_header_bytes - counted
        self._header_bytes = self.max_header_bytes
        super().data_received(data[:room])
        if self._header_bytes is not None and self._header_bytes >= self.max_header_bytes:
            self._refuse_headers()
        else:
            self._feed(data[room:])

    def _refuse_headers(self) -> None:
        metrics.LIMITS_REACHED.labels("header_bytes").inc()
        log.info("refusing a request from %s: headers over %d bytes", self.client, self.max_header_bytes)
        self._disarm()
        if self.cycle is None or self.cycle.response_complete:
            self.transport.write(HEADERS_TOO_LARGE)
        # else a response is under way on this connection: a 431 can't go in its middle
        self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:  # a kept-alive connection's next request; the first has the connection's
            self._arm(self.header_timeout_seconds, "headers")

    def on_message_complete(self) -> None:
        self._disarm()
        self._body_due = False
        self._header_bytes = 0  # what arrives next is the next request's
        super().on_message_complete()

    def on_headers_complete(self) -> None:
        self._header_bytes = None
        # The body's deadline is armed once this piece of data is parsed, if the request isn't whole
        # by then: most requests (every stream's) have no body, and a timer armed and cancelled in
        # one call is a cost on every connection.
        self._disarm()
        self._body_due = True
        super().on_headers_complete()

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        # The one place a request's cycle exists and its task doesn't yet (a pipelined request's
        # task starts later, from here too): the socket is in the scope before the app can look.
        if self.offers_socket:
            self._socket = StreamSocket(cycle, self)
            extensions: dict[str, Any] = cycle.scope.setdefault("extensions", {})
            extensions[SOCKET_EXTENSION] = {"socket": self._socket}
        super()._start_asgi_task(cycle, app)

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._socket is not None:
            self._socket.paused()

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._socket is not None:
            self._socket.resumed()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)
        if self._socket is not None:
            self._socket.ended(CLOSE_CLIENT_GONE)

    def hand_over(self, protocol: asyncio.Protocol) -> None:
        """Give the connection to `protocol`, and forget it: uvicorn no longer tracks it (a stream
        is ended by the hub at shutdown) and this object, with its parser, can be freed."""
        self._disarm()
        self.transport.set_protocol(protocol)
        self.connections.discard(self)
        self._socket = None


class RelayServer(uvicorn.Server):
    """uvicorn waits for open responses to finish before it runs the lifespan shutdown, and SSE
    responses never finish by themselves; so the exit hook first ends every stream (clients
    reconnect elsewhere and resume from their last id), then lets the server stop.

    Under WORKERS it also tells the supervisor it is alive: a byte down `heartbeat_fd` every
    `beat_seconds`, from the event loop itself, so a stuck loop falls silent (workers.py)."""

    def __init__(
        self, config: uvicorn.Config, hub: Hub, heartbeat_fd: int | None = None, beat_seconds: float = 1.0
    ) -> None:
        super().__init__(config)
        self._hub = hub
        self._heartbeat_fd = heartbeat_fd
        self._beat_seconds = beat_seconds
        self._beats: asyncio.Task[None] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self._heartbeat_fd is not None:
            self._beats = asyncio.create_task(_beat_forever(self._heartbeat_fd, self._beat_seconds))

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._hub.close_all_soon(CLOSE_SHUTDOWN)
        super().handle_exit(sig, frame)


async def _beat_forever(fd: int, seconds: float) -> None:
    os.set_blocking(fd, False)  # a supervisor slow to read must not stop this loop
    while True:
        with contextlib.suppress(BlockingIOError):
            os.write(fd, b".")
        await asyncio.sleep(seconds)


def serve(
    app: Litestar,
    hub: Hub,
    settings: Settings,
    *,
    listen_fd: int | None = None,
    heartbeat_fd: int | None = None,
) -> None:
    """Serve `app` in this process: on HOST:PORT, or on an inherited listening socket and telling
    the supervisor it is alive through `heartbeat_fd` (workers.py)."""
    problem = self_check()
    if problem is None:
        log.info("streams write straight to their sockets (uvicorn %s)", uvicorn.__version__)
    else:
        log.warning("streams go through ASGI send, which costs more CPU per delivery: %s", problem)
    protocol = StreamingHttpProtocol.configured(
        header_seconds=settings.header_timeout_seconds,
        body_seconds=settings.body_timeout_seconds,
        max_header_bytes=settings.max_header_bytes,
        offers_socket=problem is None,
    )
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        http=protocol,
        loop="uvloop",
        backlog=LISTEN_BACKLOG,
        # X-Forwarded-For decides the client's address only when the peer is a proxy named in
        # TRUSTED_PROXIES (uvicorn would otherwise trust any local peer's header).
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies),
    )
    # socket(fileno=) finds the family itself (uvicorn's own `fd` option assumes a Unix socket).
    if listen_fd is not None:
        sockets = [socket.socket(fileno=listen_fd)]
    else:
        try:
            sockets = accept_queues(settings.host, settings.port)  # several queues absorb a storm (listen.py)
        except OSError as exc:
            log.error(port_taken(settings.host, settings.port, exc))
            raise SystemExit(2) from None
    RelayServer(config, hub, heartbeat_fd, beat_interval(settings)).run(sockets=sockets)
