"""How a stream's bytes reach the client: straight to the socket, or through ASGI `send`.

`SocketSink` is the fast path, used under `scrollr-relay` (server.py offers the socket): one
`transport.write` of an HTTP/1.1 chunk per write, and the transport's own buffer is the bound on a
client that doesn't read. `AsgiSink` serves under any other ASGI server: it steps `send` by hand, so
that the common case (a write that completes at once) costs no task, and only a write that must wait
becomes one, with later writes queued behind it under the same byte bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import types
from collections import deque
from collections.abc import Awaitable, Callable, Generator
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
    __slots__ = ("_limit", "_send", "_socket", "_transport")

    def __init__(self, socket: StreamSocket, transport: asyncio.Transport, send: Send, limit: int) -> None:
        self._socket = socket
        self._transport = transport
        self._send = send
        self._limit = limit

    def write(self, data: bytes) -> str | None:
        transport = self._transport
        transport.write(http_chunk(data))
        return CLOSE_SLOW if transport.get_write_buffer_size() > self._limit else None

    def watch_disconnect(self, on_gone: Callable[[], None]) -> bool:
        self._socket.on_lost = on_gone
        return True

    async def finish(self, reason: str) -> None:
        self._socket.on_lost = None
        if reason == CLOSE_SLOW:
            self._socket.abort()  # its buffer is full: the last chunk would never get through
        elif reason != CLOSE_CLIENT_GONE:
            await _end_response(self._send)


async def _end_response(send: Send) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(send(END_OF_BODY), FINISH_TIMEOUT_SECONDS)


@types.coroutine
def _resume(first_yield: Any, step: Generator[Any, None, Any]) -> Generator[Any, None, Any]:
    """Finish an awaitable that was stepped by hand: hand its pending future to the task, then go on."""
    yield first_yield
    return (yield from step)


class AsgiSink:
    __slots__ = ("_failure", "_limit", "_pending", "_pending_bytes", "_send", "_writer")

    def __init__(self, send: Send, limit: int) -> None:
        self._send = send
        self._limit = limit
        self._pending: deque[bytes] = deque()
        self._pending_bytes = 0
        self._writer: asyncio.Task[None] | None = None
        self._failure: str | None = None  # a waiting write failed: told at the next write

    def write(self, data: bytes) -> str | None:
        if self._failure is not None:
            return self._failure
        if self._writer is not None:
            self._pending.append(data)
            self._pending_bytes += len(data)
            return CLOSE_SLOW if self._pending_bytes > self._limit else None
        step = self._send({"type": "http.response.body", "body": data, "more_body": True}).__await__()
        try:
            # next(), not .send(None): some servers' awaitables (granian's) are plain iterators.
            first_yield = next(step)
        except StopIteration:
            return None
        except Exception:
            return CLOSE_SEND_FAILED
        self._writer = asyncio.get_running_loop().create_task(self._drain(first_yield, step))
        return None

    async def _drain(self, first_yield: Any, step: Generator[Any, None, Any]) -> None:
        try:
            await _resume(first_yield, step)
            while self._pending:
                data = b"".join(self._pending)
                self._pending.clear()
                self._pending_bytes = 0
                await self._send({"type": "http.response.body", "body": data, "more_body": True})
        except Exception:
            self._failure = CLOSE_SEND_FAILED
        finally:
            self._writer = None

    def watch_disconnect(self, on_gone: Callable[[], None]) -> bool:
        return False  # only `receive` tells, and the stream waits on it

    async def finish(self, reason: str) -> None:
        writer = self._writer
        if writer is not None:
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
        self._pending.clear()
        if reason != CLOSE_CLIENT_GONE:
            await _end_response(self._send)


def open_sink(scope: dict[str, Any], send: Send, limit: int) -> SocketSink | AsgiSink:
    """The fastest sink this server allows, for a response that has just started."""
    socket = StreamSocket.of(scope)
    if socket is not None and (transport := socket.chunked_transport()) is not None:
        return SocketSink(socket, transport, send, limit)
    return AsgiSink(send, limit)
