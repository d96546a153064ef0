"""The HTTP server's side of a stream: uvicorn's httptools protocol, offering streams their socket.

Through ASGI `send`, every frame to every client costs a coroutine, a message dict and a copy; the
fan-out benchmark showed that as most of the relay's own CPU per delivery. uvicorn suspends `send`
only for its flow control, which the relay replaces with its own byte bound per client, so once a
response has started with chunked encoding a stream may write its chunks to the transport itself.
`StreamingHttpProtocol` offers that through the ASGI scope's `extensions` (the place ASGI keeps for
server-specific features): `StreamSocket.of(scope)`. Under any other server there is none and
streams go through `send` (sinks.py).

It also bounds how long a request may take to arrive (slowloris): the headers within
`HEADER_TIMEOUT_SECONDS` of the request's start, the body within `BODY_TIMEOUT_SECONDS` after them.
uvicorn has only an idle keep-alive timeout, so a request trickling in byte by byte would otherwise
hold its connection (and, for a webhook, its buffered body) for ever.

The uvicorn internals this touches are few: the request's `RequestResponseCycle` (`transport`,
`response_started`, `chunked_encoding`, `response_complete`, `disconnected`). pyproject.toml bounds
uvicorn's version, and test_sinks.py fails if a release changes them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from scrollr_relay import metrics

log = logging.getLogger("scrollr.server")

SOCKET_EXTENSION = "scrollr.socket"


class StreamSocket:
    """The connection under one HTTP/1.1 response, as far as a stream may use it."""

    __slots__ = ("_cycle", "on_lost")

    def __init__(self, cycle: RequestResponseCycle) -> None:
        self._cycle = cycle
        # Called when the connection is lost: a stream learns of a gone client without a task of
        # its own waiting on `receive` (a task and its coroutines per connection, in memory and GC).
        self.on_lost: Callable[[], None] | None = None

    @staticmethod
    def of(scope: dict[str, Any]) -> StreamSocket | None:
        found = scope.get("extensions", {}).get(SOCKET_EXTENSION, {}).get("socket")
        return found if isinstance(found, StreamSocket) else None

    def chunked_transport(self) -> asyncio.Transport | None:
        """The transport, once the response has started as chunked and while it is open.

        Anything else (a HEAD response, a finished one) keeps to `send`, which knows its framing.
        """
        cycle = self._cycle
        ready = cycle.response_started and cycle.chunked_encoding and not cycle.response_complete
        return cycle.transport if ready and not cycle.disconnected else None

    def abort(self) -> None:
        """Drop the connection and its unsent bytes; the server sees the response as cut short."""
        self._cycle.disconnected = True
        self._cycle.transport.abort()


class StreamingHttpProtocol(HttpToolsProtocol):
    _socket: StreamSocket | None = None  # the latest request's
    _deadline: asyncio.TimerHandle | None = None  # for the part of the request still to arrive
    header_timeout_seconds = 10.0
    body_timeout_seconds = 30.0

    @classmethod
    def with_timeouts(cls, *, header_seconds: float, body_seconds: float) -> type[StreamingHttpProtocol]:
        """This protocol with its own request timeouts (uvicorn instantiates the class it is given)."""
        attrs = {"header_timeout_seconds": header_seconds, "body_timeout_seconds": body_seconds}
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

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm(self.header_timeout_seconds, "headers")

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def on_headers_complete(self) -> None:
        self._arm(self.body_timeout_seconds, "body")
        super().on_headers_complete()
        cycle = self.cycle
        # An upgrade request makes no cycle; a pipelined one is queued with this same scope.
        if cycle is not None and cycle.scope is self.scope:
            self._socket = StreamSocket(cycle)
            extensions: dict[str, Any] = self.scope.setdefault("extensions", {})
            extensions[SOCKET_EXTENSION] = {"socket": self._socket}

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)
        if self._socket is not None and self._socket.on_lost is not None:
            self._socket.on_lost()
