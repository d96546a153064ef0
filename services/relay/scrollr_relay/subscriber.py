"""One `/events` connection: its filter, the frames it holds while replaying, and its sink.

The hub hands each subscriber ready-made bytes, and the subscriber hands them to its sink, the thing
that owns the way to the client's socket (sinks.py). A sink reports a client that has fallen too far
behind; such a client is cut off (it resumes from its last event id), so a slow reader never slows
the others or grows memory without bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Protocol

from scrollr_relay.cursor import StreamId
from scrollr_relay.filters import StreamFilter

# (position, topic, frame bytes, filter keys): one event's frame, shared by every subscriber that
# gets it; the keys are the row-filter column's values in its new and old row (filters.py).
Frame = tuple[StreamId, str, bytes, tuple[str, ...]]

CLOSE_CLIENT_GONE = "client_disconnected"
CLOSE_SLOW = "slow_client"
CLOSE_SHUTDOWN = "shutdown"
CLOSE_SEND_FAILED = "send_failed"
CLOSE_BUS_UNAVAILABLE = "bus_unavailable"


class Sink(Protocol):
    def write(self, data: bytes) -> str | None:
        """Queue `data` for the client; a close reason when the connection can't go on."""

    async def finish(self, reason: str) -> None:
        """End the response after the stream closed for `reason`."""

    def watch_disconnect(self, on_end: Callable[[str], None]) -> bool:
        """Have `on_end` called with a close reason when the client goes (or, for a sink that can
        tell, falls too far behind); False if this sink can't tell."""

    def detach(self) -> bool:
        """Go on without the request's call (the stream ends through `finish`); False if it can't."""


class Subscriber:
    __slots__ = ("_held", "_held_reset", "_sink", "client", "closed", "done", "filter", "live", "replayed_to")

    def __init__(self, sink: Sink, *, filter: StreamFilter | None, client: str | None = None) -> None:
        self._sink = sink
        self.filter = filter  # None: everything
        self.client = client  # the address it counts against under a per-client cap
        # Frames that arrive while the connection replays its backlog (until it goes live).
        self._held: list[Frame] = []
        self._held_reset = False
        # Plain attributes, not properties: the hub reads them once per client per event.
        self.live = False
        # The newest position the replay wrote. The replay reads the bus up to its head, which can be
        # ahead of the hub's reader: live frames up to here were sent already and are skipped.
        self.replayed_to: StreamId | None = None
        self.closed = False
        self.done: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def wants(self, frame: Frame) -> bool:
        return self.filter is None or self.filter.wants(frame[1], frame[3])

    def hold(self, frames: Iterable[Frame]) -> None:
        """Keep live frames aside until the backlog has been written."""
        self._held.extend(f for f in frames if self.wants(f))

    def hold_own(self, frame: Frame) -> None:
        """Keep aside, in stream order with the live frames, one meant for this connection alone (its
        user's private event, private.py): no filter applies to it."""
        self._held.append(frame)

    def hold_reset(self, position: StreamId, frame: bytes) -> None:
        """The hub lost continuity while this connection replays: the held frames are moot, the reset isn't.

        Frames held after it belong to the new history, so none of them is compared with the replay's
        position (a position of the old history) when the connection goes live.
        """
        self._held = [(position, "", frame, ())]
        self._held_reset = True

    def go_live(self, replayed_to: StreamId | None) -> None:
        """Write the held frames newer than what the replay wrote, then go live."""
        held, self._held = self._held, []
        self.live = True
        if self._held_reset or replayed_to is None:
            data = b"".join(f[2] for f in held)
        else:
            data = b"".join(f[2] for f in held if f[0] > replayed_to)
            if not held or held[-1][0] <= replayed_to:
                self.replayed_to = replayed_to
        if data:
            self.write(data)

    def write_after_replay(self, frames: list[Frame]) -> int:
        """A live write while the hub's reader is still behind the replay: skip what the replay sent."""
        after = self.replayed_to
        assert after is not None
        if frames[-1][0] > after:
            self.replayed_to = None  # the hub has passed the replay: from now on every frame is new
        chosen = [f[2] for f in frames if f[0] > after and self.wants(f)]
        if chosen:
            self.write(b"".join(chosen))
        return len(chosen)

    def close(self, reason: str) -> None:
        if not self.closed:
            self.closed = True
            self.done.set_result(reason)

    def write(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            failure = self._sink.write(data)
        except Exception:
            # The socket went away before the disconnect was noticed (a closed transport raises):
            # this client ends here; the fan-out to the others must go on.
            failure = CLOSE_SEND_FAILED
        if failure is not None:
            self.close(failure)

    async def finish(self) -> None:
        await self._sink.finish(self.done.result())
