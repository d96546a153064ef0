"""One `/events` connection: its topic filter, its bounded buffer, and how bytes reach its socket.

The hub hands each subscriber ready-made bytes. Writing starts the ASGI `send` and steps it once
right here: servers complete a body write without suspending unless the socket's buffer is full, so
the common case costs no task and no wake-up per client. Only a write that must wait becomes a task,
and while it waits further frames queue in a buffer bounded by bytes; a client whose buffer
overflows is cut off (it resumes from its last event id), so a slow reader never slows the others
or grows memory without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import types
from collections import deque
from collections.abc import Awaitable, Callable, Generator, Iterable
from typing import Any

from scrollr_relay.cursor import StreamId

Send = Callable[[dict[str, Any]], Awaitable[None]]
# (position, topic, frame bytes): one event's frame, shared by every subscriber that gets it
Frame = tuple[StreamId, str, bytes]

CLOSE_CLIENT_GONE = "client_disconnected"
CLOSE_SLOW = "slow_client"
CLOSE_SHUTDOWN = "shutdown"
CLOSE_SEND_FAILED = "send_failed"


@types.coroutine
def _resume(first_yield: Any, step: Generator[Any, None, Any]) -> Generator[Any, None, Any]:
    """Finish an awaitable that was stepped by hand: hand its pending future to the task, then go on."""
    yield first_yield
    return (yield from step)


class Subscriber:
    __slots__ = ("_held", "_pending", "_pending_bytes", "_send", "_writer", "buffer_limit", "done", "topics")

    def __init__(self, send: Send, *, topics: frozenset[str] | None, buffer_limit_bytes: int) -> None:
        self._send = send
        self.topics = topics
        self.buffer_limit = buffer_limit_bytes
        self._pending: deque[bytes] = deque()
        self._pending_bytes = 0
        self._writer: asyncio.Task[None] | None = None
        # Frames that arrive while the connection replays its backlog; None once live.
        self._held: list[Frame] | None = []
        self.done: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    @property
    def live(self) -> bool:
        return self._held is None

    @property
    def closed(self) -> bool:
        return self.done.done()

    def wants(self, topic: str) -> bool:
        return self.topics is None or topic in self.topics

    def hold(self, frames: Iterable[Frame]) -> None:
        """Keep live frames aside until the backlog has been written."""
        assert self._held is not None
        self._held.extend(f for f in frames if self.wants(f[1]))

    def hold_reset(self, position: StreamId, frame: bytes) -> None:
        """The hub lost continuity while this connection replays: the held frames are moot, the reset isn't."""
        self._held = [(position, "", frame)]

    def go_live(self, after: StreamId | None) -> None:
        """Write the held frames newer than `after` (what the backlog ended with), then go live."""
        held, self._held = self._held or [], None
        data = b"".join(f[2] for f in held if after is None or f[0] > after)
        if data:
            self.write(data)

    def close(self, reason: str) -> None:
        if not self.done.done():
            self.done.set_result(reason)

    def write(self, data: bytes) -> None:
        if self.done.done():
            return
        if self._writer is not None:
            self._pending.append(data)
            self._pending_bytes += len(data)
            if self._pending_bytes > self.buffer_limit:
                self.close(CLOSE_SLOW)
            return
        step = self._send({"type": "http.response.body", "body": data, "more_body": True}).__await__()
        try:
            # next(), not .send(None): some servers' awaitables (granian's) are plain iterators.
            first_yield = next(step)
        except StopIteration:
            return
        except Exception:
            self.close(CLOSE_SEND_FAILED)
            return
        self._writer = asyncio.get_running_loop().create_task(self._drain(first_yield, step))

    async def _drain(self, first_yield: Any, step: Generator[Any, None, Any]) -> None:
        try:
            await _resume(first_yield, step)
            while self._pending and not self.done.done():
                data = b"".join(self._pending)
                self._pending.clear()
                self._pending_bytes = 0
                await self._send({"type": "http.response.body", "body": data, "more_body": True})
        except Exception:
            self.close(CLOSE_SEND_FAILED)
        finally:
            self._writer = None

    async def finish(self) -> None:
        """Stop writing; end the response unless the client is already gone."""
        writer = self._writer
        if writer is not None:
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
        self._pending.clear()
        if self.done.result() != CLOSE_CLIENT_GONE:
            with contextlib.suppress(Exception):
                await self._send({"type": "http.response.body", "body": b"", "more_body": False})
