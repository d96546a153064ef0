"""How a stream's bytes reach the client: straight to the socket, or through ASGI `send`.

`SocketSink` is the fast path, used under `scrollr-relay` (serve/uvicorn_server.py offers the socket,
as an `OwnSocket`): one
`transport.write` of an HTTP/1.1 chunk per write. `AsgiSink` serves under any other ASGI server: a
writer task per stream sends what the hub queued, joined.

Either says whether it has room (`writable`) and calls `on_writable` when it drains again, so the
subscriber writes only what the link takes and keeps the rest, conflated if need be (pending.py).
The room is small on purpose: bytes in a buffer can't be conflated any more, and every one of them
makes the newest value later on a slow link. That holds for the kernel's send buffer too, which on
its own takes about 40 kB more than the link carries (measured over 128 kbit/s: 2.5 s of stale
frames) whatever `TCP_NOTSENT_LOWAT` says, because a write to an empty transport goes straight to
`send()`. So the socket sink asks the kernel how much it holds unsent (`SIOCOUTQNSD`) after every
`KERNEL_UNSENT_BYTES` written — a few checks a second for a client of the steady feed, not one
per write — and has no room while that is over the mark. It asks again after a wait that adapts to
the link (halved when the kernel had drained already, doubled when it hadn't, between
`RECHECK_MIN_SECONDS` and `RECHECK_MAX_SECONDS`), so a fast link isn't left idle between pieces and a
slow one isn't polled for nothing. What is in flight is not limited.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import socket
import struct
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from scrollr_relay.fanout.subscriber import CLOSE_CLIENT_GONE, CLOSE_SEND_FAILED, CLOSE_SLOW

Send = Callable[[dict[str, Any]], Awaitable[None]]
END_OF_BODY = {"type": "http.response.body", "body": b"", "more_body": False}
# A client that stopped reading never takes the last chunk; don't wait on it for ever.
FINISH_TIMEOUT_SECONDS = 5.0
# Unsent bytes a stream's transport holds before it has no room, and below which it has room again;
# and those the kernel holds unsent. A fan-out write goes through whole whatever its size.
ROOM_HIGH_BYTES = 16 * 1024
ROOM_LOW_BYTES = 4 * 1024
KERNEL_UNSENT_BYTES = 2 * 1024
RECHECK_MIN_SECONDS = 0.001
RECHECK_MAX_SECONDS = 0.1
# Why a stream ended that leaves nothing to write to its client: gone, or not taking bytes (aborted).
UNWRITABLE = (CLOSE_CLIENT_GONE, CLOSE_SLOW)
SIOCOUTQNSD = 0x894B  # linux/sockios.h: bytes in a TCP socket's send queue not yet sent
_INT = struct.Struct("i")


class FlowListener(Protocol):
    def pause(self) -> None: ...
    def resume(self) -> None: ...


class OwnSocket(Protocol):
    """The connection under one response, as a server that offers it lets the stream use it (the one
    `scrollr-relay` runs does: serve/uvicorn_server.py). The server-specific part stays there."""

    detached: bool
    # Called with a close reason when the connection is lost or (detached) stuck.
    on_end: Callable[[str], None] | None
    # Told when the transport's buffer passes its high mark and when it drains below its low one.
    flow: FlowListener | None

    def chunked_transport(self) -> asyncio.Transport | None: ...
    def take_start(self) -> bytes: ...
    def abort(self) -> None: ...
    def detach(self) -> None: ...
    def end(self) -> None: ...


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


def _tcp_fd(transport: asyncio.Transport) -> int | None:
    """The TCP socket's descriptor; None for any other socket. Its unsent low-water mark
    (TCP_NOTSENT_LOWAT, KERNEL_UNSENT_BYTES) comes from the listening socket (serve/listen.py)."""
    sock = transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return None
    return int(sock.fileno())


def unsent_bytes(fd: int) -> int:
    return int(_INT.unpack(fcntl.ioctl(fd, SIOCOUTQNSD, b"\0\0\0\0"))[0])


class SocketSink:
    __slots__ = (
        "_fd",
        "_paused",
        "_recheck",
        "_send",
        "_socket",
        "_start",
        "_transport",
        "_wait",
        "_written",
        "on_writable",
        "writable",
    )
    kind = "socket"

    def __init__(self, socket: OwnSocket, transport: asyncio.Transport, send: Send) -> None:
        self._socket = socket
        self._transport = transport
        self._send = send
        # A plain attribute, read once per delivery: no room in the transport (its pause/resume,
        # serve/uvicorn_server.py) or in the kernel.
        self.writable = True
        self.on_writable: Callable[[], None] | None = None
        self._paused = False  # the transport's own buffer is past its high mark
        self._written = 0  # bytes written since the kernel was last asked
        self._recheck: asyncio.TimerHandle | None = None
        self._wait = 0.025  # before asking the kernel again (adapts: _check_again)
        transport.set_write_buffer_limits(high=ROOM_HIGH_BYTES, low=ROOM_LOW_BYTES)
        self._fd = _tcp_fd(transport)
        socket.flow = self
        # The response's start, if the server held it (serve/uvicorn_server.py): sent with the first write.
        self._start = socket.take_start()

    def write(self, data: bytes) -> str | None:
        if self._start:
            start, self._start = self._start, b""
            self._transport.write(start + http_chunk(data))
        else:
            self._transport.write(http_chunk(data))
        self._written += len(data)
        if self._written >= KERNEL_UNSENT_BYTES:
            self._written = 0
            if self._kernel_full():
                self.writable = False
                self._ask_again()
        return None

    def _kernel_full(self) -> bool:
        """Is the kernel holding too much unsent?"""
        if self._fd is None or self._transport.is_closing():
            return False
        try:
            return unsent_bytes(self._fd) >= KERNEL_UNSENT_BYTES
        except OSError:  # the connection is going: its loss is reported on its own
            return False

    def _ask_again(self) -> None:
        if self._recheck is None:
            self._recheck = asyncio.get_running_loop().call_later(self._wait, self._check_again)

    def _check_again(self) -> None:
        self._recheck = None
        if self._paused:  # the transport's resume comes
            return
        full = self._kernel_full()
        self._wait = (
            min(self._wait * 2, RECHECK_MAX_SECONDS) if full else max(self._wait / 2, RECHECK_MIN_SECONDS)
        )
        self._room_unless(full)

    def pause(self) -> None:
        self._paused = True
        self.writable = False

    def resume(self) -> None:
        self._paused = False
        self._room_unless(self._kernel_full())

    def _room_unless(self, kernel_full: bool) -> None:
        """Room again, unless the kernel still holds too much unsent: then ask it again after a wait."""
        if kernel_full:
            self._ask_again()
            return
        self.writable = True
        if self.on_writable is not None:
            self.on_writable()

    def watch_disconnect(self, on_end: Callable[[str], None]) -> bool:
        self._socket.on_end = on_end
        return True

    def detach(self) -> bool:
        self._socket.detach()
        # Never used again (a detached response ends on the socket), and it holds the middleware's
        # wrappers and what they captured for as long as the stream lives.
        self._send = _unused_send
        return True

    async def finish(self, reason: str) -> None:
        start, self._start = self._start, b""
        if start and reason not in UNWRITABLE and not self._transport.is_closing():
            self._transport.write(start)  # ended before its first write: the response still begins with it
        self._socket.on_end = None
        self._socket.flow = None
        self.on_writable = None
        if self._recheck is not None:
            self._recheck.cancel()
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
    __slots__ = (
        "_failure",
        "_limit",
        "_pending",
        "_pending_bytes",
        "_ready",
        "_send",
        "_writer",
        "on_writable",
        "writable",
    )
    kind = "asgi"

    def __init__(self, send: Send, limit: int) -> None:
        self._send = send
        self._limit = limit
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._ready = asyncio.Event()
        self._failure: str | None = None  # a send failed: told at the next write
        self.writable = True  # room below ROOM_HIGH_BYTES queued; `send` takes it when the link does
        self.on_writable: Callable[[], None] | None = None
        self._writer = asyncio.get_running_loop().create_task(self._write_forever())

    def write(self, data: bytes) -> str | None:
        if self._failure is not None:
            return self._failure
        self._pending.append(data)
        self._pending_bytes += len(data)
        self.writable = self._pending_bytes < ROOM_HIGH_BYTES
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
                if not self.writable and self._pending_bytes < ROOM_LOW_BYTES:
                    self.writable = True
                    if self.on_writable is not None:
                        self.on_writable()
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


def open_sink(socket: OwnSocket | None, send: Send, limit: int) -> SocketSink | AsgiSink:
    """The fastest sink this server allows, for a response that has just started: straight to the
    socket it offers, if any, or through `send`."""
    if socket is not None and (transport := socket.chunked_transport()) is not None:
        return SocketSink(socket, transport, send)
    return AsgiSink(send, limit)
