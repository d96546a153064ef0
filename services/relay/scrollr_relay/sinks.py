"""How a stream's bytes reach the client: straight to the socket, or through ASGI `send`.

`SocketSink` is the fast path, used under `scrollr-relay` (server.py offers the socket): one
`transport.write` of an HTTP/1.1 chunk per write, and the transport's own buffer is the bound on a
client that doesn't read. `AsgiSink` serves under any other ASGI server: a writer task per stream
sends what the hub queued, joined, and the bytes waiting are the bound on a slow client.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from scrollr_relay.server import StreamSocket
from scrollr_relay.subscriber import CLOSE_CLIENT_GONE, CLOSE_SEND_FAILED, CLOSE_SLOW

Send = Callable[[dict[str, Any]], Awaitable[None]]
END_OF_BODY = {"type": "http.response.body", "body": b"", "more_body": False}
# A client that stopped reading never takes the last chunk; don't wait on it for ever.
FINISH_TIMEOUT_SECONDS = 5.0


class _LastChunk:
    """A fan-out writes one bytes object to many sockets in a row: frame it once, not per socket."""

    data = b""
    chunk = b""


def http_chunk(data: bytes) -> bytes:
    last = _LastChunk
    if data is not last.data:
        last.chunk = b"%x\r\n%b\r\n" % (len(data), data)
        last.data = data
    return last.chunk


class SocketSink:
    __slots__ = ("_limit", "_send", "_socket", "_transport", "_transport_reports_full")
    kind = "socket"

    def __init__(self, socket: StreamSocket, transport: asyncio.Transport, send: Send, limit: int) -> None:
        self._socket = socket
        self._transport = transport
        self._send = send
        self._limit = limit
        self._transport_reports_full = False  # once detached, pause_writing says it (server.py)

    def write(self, data: bytes) -> str | None:
        transport = self._transport
        transport.write(http_chunk(data))
        if self._transport_reports_full:
            return None
        return CLOSE_SLOW if transport.get_write_buffer_size() > self._limit else None

    def watch_disconnect(self, on_end: Callable[[str], None]) -> bool:
        self._socket.on_end = on_end
        return True

    def detach(self) -> bool:
        self._socket.detach(self._limit)
        self._transport_reports_full = True
        # Never used again (a detached response ends on the socket), and it holds the middleware's
        # wrappers and what they captured for as long as the stream lives.
        self._send = _unused_send
        return True

    async def finish(self, reason: str) -> None:
        self._socket.on_end = None
        if reason == CLOSE_SLOW:
            self._socket.abort()  # its buffer is full: the last chunk would never get through
        elif reason != CLOSE_CLIENT_GONE:
            if self._socket.detached:
                self._socket.end()
            else:
                await _end_response(self._send)


async def _unused_send(message: dict[str, Any]) -> None:
    raise RuntimeError("a detached stream has no ASGI send")


async def _send_within_timeout(send: Send, message: dict[str, Any]) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(send(message), FINISH_TIMEOUT_SECONDS)


async def _end_response(send: Send) -> None:
    await _send_within_timeout(send, END_OF_BODY)


class AsgiSink:
    __slots__ = ("_failure", "_limit", "_pending", "_pending_bytes", "_ready", "_send", "_writer")
    kind = "asgi"

    def __init__(self, send: Send, limit: int) -> None:
        self._send = send
        self._limit = limit
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._ready = asyncio.Event()
        self._failure: str | None = None  # a send failed: told at the next write
        self._writer = asyncio.get_running_loop().create_task(self._write_forever())

    def write(self, data: bytes) -> str | None:
        if self._failure is not None:
            return self._failure
        self._pending.append(data)
        self._pending_bytes += len(data)
        self._ready.set()
        return CLOSE_SLOW if self._pending_bytes > self._limit else None

    async def _write_forever(self) -> None:
        try:
            while True:
                await self._ready.wait()
                self._ready.clear()
                data = b"".join(self._pending)
                self._pending.clear()
                self._pending_bytes = 0
                await self._send({"type": "http.response.body", "body": data, "more_body": True})
        except asyncio.CancelledError:
            raise
        except Exception:
            self._failure = CLOSE_SEND_FAILED

    def watch_disconnect(self, on_end: Callable[[str], None]) -> bool:
        return False  # only `receive` tells, and the stream waits on it

    def detach(self) -> bool:
        return False  # `send` lives only as long as the request's call

    async def finish(self, reason: str) -> None:
        self._writer.cancel()
        await asyncio.gather(self._writer, return_exceptions=True)
        rest = b"".join(self._pending)  # queued, not yet taken by the writer
        self._pending.clear()
        if reason == CLOSE_CLIENT_GONE:
            return
        if rest and reason != CLOSE_SLOW and self._failure is None:
            await _send_within_timeout(
                self._send, {"type": "http.response.body", "body": rest, "more_body": True}
            )
        await _end_response(self._send)


def open_sink(scope: dict[str, Any], send: Send, limit: int) -> SocketSink | AsgiSink:
    """The fastest sink this server allows, for a response that has just started."""
    socket = StreamSocket.of(scope)
    if socket is not None and (transport := socket.chunked_transport()) is not None:
        return SocketSink(socket, transport, send, limit)
    return AsgiSink(send, limit)
