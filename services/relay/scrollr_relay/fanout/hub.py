"""The hub: one bus reader per process, fanning each event out to this process's subscribers.

Each event's SSE frame is encoded once; each subscriber gets one write per bus read (its events
joined), so a burst costs one write per client, not one per event per client. A stream that is
resuming gets them through its hand-over (handover.py), which holds them while the backlog is
written and then skips those the backlog had; every other one, straight. One ping loop serves every
connection, and cuts off the clients whose sockets took nothing for `client_stall_seconds`.
"""

from __future__ import annotations

import asyncio
import logging
import time

from scrollr_core.backoff import Backoff

from scrollr_relay import metrics
from scrollr_relay.bus import Bus, BusUnavailable, HistoryGap
from scrollr_relay.bus.cursor import Cursor
from scrollr_relay.bus.event import StoredEvent
from scrollr_relay.config import (
    DEFAULT_BUS_OUTAGE_GRACE_SECONDS,
    DEFAULT_CLIENT_STALL_SECONDS,
    DEFAULT_RESUME_CACHE_BYTES,
)
from scrollr_relay.fanout.deflate import Segment
from scrollr_relay.fanout.filters import EVERY_ROW, StreamFilter, filter_keys
from scrollr_relay.fanout.frame import Frame
from scrollr_relay.fanout.groups import FilterGroups
from scrollr_relay.fanout.private import PRIVATE_TOPICS, PrivateRoutes, private_runs
from scrollr_relay.fanout.reading import batches_after
from scrollr_relay.fanout.recent import RecentFrames
from scrollr_relay.fanout.sse import change_frame, heartbeat_frame, reset_frame, truncate_frame
from scrollr_relay.fanout.subscriber import (
    CLOSE_BUS_UNAVAILABLE,
    CLOSE_SHUTDOWN,
    CLOSE_SLOW,
    Subscriber,
)

log = logging.getLogger("scrollr.hub")

WAIT_SECONDS = 5.0
READER_BACKOFF = Backoff(initial_seconds=0.2, max_seconds=5.0)
# A fan-out that held the loop this long, while this many streams or more opened since the last one,
# is followed by a pause of PAUSE_PER_FAN_OUT times as long (see _pause_for_openings).
LONG_FAN_OUT_SECONDS = 0.005
OPENING_BURST = 4
PAUSE_PER_FAN_OUT = 3


def encode_frames(epoch: str, events: list[StoredEvent]) -> list[Frame]:
    """The public frames of `events`: a user's private events never become one (private.py)."""
    return [
        _encode_frame(epoch, e, filter_keys(e.topic, e.data)) for e in events if e.topic not in PRIVATE_TOPICS
    ]


def _encode_frame(epoch: str, event: StoredEvent, keys: tuple[str, ...]) -> Frame:
    encode = truncate_frame if keys is EVERY_ROW else change_frame
    return Frame(event.id, event.topic, encode(Cursor(epoch, event.id), event.data), keys)


class Hub:
    def __init__(
        self,
        bus: Bus,
        *,
        heartbeat_seconds: float,
        bus_outage_grace_seconds: float = DEFAULT_BUS_OUTAGE_GRACE_SECONDS,
        client_stall_seconds: float = DEFAULT_CLIENT_STALL_SECONDS,
        resume_cache_bytes: int = DEFAULT_RESUME_CACHE_BYTES,
    ) -> None:
        self._bus = bus
        self._heartbeat_seconds = heartbeat_seconds
        self._outage_grace_seconds = bus_outage_grace_seconds
        self._stall_seconds = client_stall_seconds
        # Since when (monotonic) the reader can't reach the bus; None while it can.
        self.bus_down_since: float | None = None
        self._heartbeat = heartbeat_frame(heartbeat_seconds)
        self._heartbeat_delayed = heartbeat_frame(heartbeat_seconds, delayed=True)
        # A dict for its order and its dense, fast iteration; the values are unused.
        self.subscribers: dict[Subscriber, None] = {}
        self._opened = 0  # streams added since the last fan-out (_pause_for_openings)
        # Subscribers grouped by filter (None: everything), indexed by the rows they choose: the
        # fan-out decides per group which frames pass, and only for the groups a batch concerns.
        self._groups = FilterGroups()
        self.recent = RecentFrames(max_bytes=resume_cache_bytes)
        # The deflate segment of each filter group that has deflating subscribers (deflate.py).
        self._segments: dict[StreamFilter | None, Segment] = {}
        self.private = PrivateRoutes()  # signed-in streams' private events (private.py)
        self._per_client: dict[str, int] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._tasks = [asyncio.create_task(self._read_forever()), asyncio.create_task(self._ping_forever())]

    async def stop(self) -> None:
        """End every stream (clients reconnect elsewhere and resume), then stop reading."""
        self.close_all(CLOSE_SHUTDOWN)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def close_all_soon(self, reason: str) -> None:
        """close_all from a signal handler or another thread."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.close_all, reason)

    def close_all(self, reason: str) -> None:
        for subscriber in list(self.subscribers):
            subscriber.close(reason)

    @property
    def bus_down(self) -> bool:
        return self.bus_down_since is not None

    async def _note_bus_down(self, exc: BusUnavailable, attempt: int) -> int:
        """Record and log an unreachable bus, wait out the backoff; the next attempt number."""
        metrics.BUS_UP.set(0)
        if self.bus_down_since is None:
            self.bus_down_since = time.monotonic()
        log.warning("bus unavailable, retrying: %s", exc)
        await asyncio.sleep(READER_BACKOFF.delay(attempt))
        return attempt + 1

    def _note_bus_up(self) -> None:
        metrics.BUS_UP.set(1)
        self.bus_down_since = None

    def end_streams_after_long_outage(self) -> None:
        """End every stream once the bus has been out of reach for the grace period.

        From one relay, Redis down for everyone and this relay cut off from it look alike. A short
        outage (a restart, a failover) keeps streams open with heartbeats: no event is lost, they
        arrive when the bus is back. A long one ends them, so clients reconnect through the balancer
        to a relay that can read the bus (this one refuses new streams meanwhile) instead of
        staying on a stream that has silently gone stale.
        """
        since = self.bus_down_since
        if since is None or not self.subscribers:
            return
        if time.monotonic() - since >= self._outage_grace_seconds:
            log.warning(
                "bus out of reach for %.0f s: ending %d streams",
                time.monotonic() - since,
                len(self.subscribers),
            )
            self.close_all(CLOSE_BUS_UNAVAILABLE)

    def streams_from(self, client: str) -> int:
        return self._per_client.get(client, 0)

    def add(self, subscriber: Subscriber) -> None:
        self._groups.add(subscriber)
        if subscriber.deflate:
            segment = subscriber.segment = self._segments.setdefault(subscriber.filter, Segment())
            segment.users += 1
            segment.wanted = True
        if subscriber.client is not None:
            self._per_client[subscriber.client] = self._per_client.get(subscriber.client, 0) + 1
        self.subscribers[subscriber] = None
        self._opened += 1
        metrics.OPEN_STREAMS.inc()

    def remove(self, subscriber: Subscriber) -> None:
        if subscriber not in self.subscribers:
            return
        del self.subscribers[subscriber]
        metrics.OPEN_STREAMS.dec()
        self._groups.remove(subscriber)
        if subscriber.deflate:
            segment = self._segments[subscriber.filter]
            segment.users -= 1
            if not segment.users:
                del self._segments[subscriber.filter]
        client = subscriber.client
        if client is not None:
            if self._per_client[client] > 1:
                self._per_client[client] -= 1
            else:
                del self._per_client[client]

    def fan_out(self, frames: list[Frame]) -> None:
        delivered = 0
        for chosen, group in self._groups.concerned(frames):
            if chosen is None:
                passing = frames
            else:
                passing = [f for f in frames if chosen.wants(f.topic, f.keys)]
                if not passing:
                    continue
            data = b"".join(f.data for f in passing)
            count = len(passing)
            segment = self._segments.get(chosen) if self._segments else None
            shared = segment.encode(data) if segment is not None else None
            for subscriber in group:
                if subscriber.handover is None:
                    subscriber.deliver(passing, data, shared)
                    delivered += count
                else:  # resuming: its hand-over holds or skips them (handover.py)
                    delivered += subscriber.handover.offer(passing)
        metrics.DELIVERIES.inc(delivered)

    def deliver(self, epoch: str, events: list[StoredEvent]) -> list[Frame]:
        """Fan a batch out in stream order; its public frames. Private events (private.py) go to
        their users' streams between the public runs around them, so no stream's cursor can pass
        an event it hasn't been sent."""
        if not self.private.listening:
            frames = encode_frames(epoch, events)
            self.fan_out(frames)
            return frames
        frames = []
        for run in private_runs(events):
            public = encode_frames(epoch, run)
            if public:
                self.fan_out(public)
                frames += public
            else:
                self.private.route(epoch, run)
        return frames

    def reset_all(self, head: Cursor, reason: str) -> None:
        log.warning("bus history reset (%s): telling %d streams to resync", reason, len(self.subscribers))
        self.recent.restart(head)
        frame = reset_frame(head, reason)
        for subscriber in self.subscribers:
            if subscriber.handover is None:
                subscriber.reset(frame)
            else:
                subscriber.handover.reset(frame)
        metrics.RESETS.labels(reason).inc(len(self.subscribers))

    async def _head_when_available(self) -> Cursor:
        attempt = 0
        while True:
            try:
                head = await self._bus.head()
                self._note_bus_up()
                return head
            except BusUnavailable as exc:
                attempt = await self._note_bus_down(exc, attempt)

    async def _read_forever(self) -> None:
        cursor = await self._head_when_available()
        self.recent.restart(cursor)
        attempt = 0
        while True:
            try:
                async for events, after in batches_after(self._bus.read_after, cursor):
                    if attempt:
                        log.info("bus reachable again")
                    attempt = 0
                    self._note_bus_up()
                    if events:
                        began = time.monotonic()
                        self.recent.extend(self.deliver(cursor.epoch, events))
                        cursor = after
                        await self._pause_for_openings(time.monotonic() - began)
                await self._bus.wait_after(cursor.position, WAIT_SECONDS)
            except HistoryGap as gap:
                head = await self._head_when_available()
                self.reset_all(head, gap.reason)
                cursor = head
            except BusUnavailable as exc:
                attempt = await self._note_bus_down(exc, attempt)
            except Exception:
                # The reader must outlive any one bad read: streams depend on it.
                metrics.UNHANDLED_ERRORS.labels("hub_reader").inc()
                log.exception("bus reader failed; retrying")
                await asyncio.sleep(READER_BACKOFF.delay(attempt))
                attempt += 1

    async def _pause_for_openings(self, took: float) -> None:
        """After a long fan-out amid a burst of new streams, leave the loop to them for a while.

        A fan-out to 10,000 sockets holds the loop for tens of milliseconds (a send per client). In a
        reconnect storm, fan-outs back to back starve the connections being answered and replayed:
        between two of them the loop admitted about 16 new streams, and the last client went live
        after 6-7 s. So while streams open in a burst, the reader pauses after each long fan-out for
        PAUSE_PER_FAN_OUT times as long as it took, leaving the openings most of the loop; events that
        arrive meanwhile go out together, one write per client for all of them, so the storm's
        fan-out costs less too (bench storm, 10,000 clients: 3.2-3.7 s to all live). Live clients
        wait a few fan-outs longer for their news meanwhile. Without a burst (the steady feed,
        however many clients) the reader never pauses: no latency is added.
        """
        opened, self._opened = self._opened, 0
        if took >= LONG_FAN_OUT_SECONDS and opened >= OPENING_BURST:
            await asyncio.sleep(PAUSE_PER_FAN_OUT * took)

    async def _ping_forever(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_seconds)
            self.end_streams_after_long_outage()
            beat = self._heartbeat_delayed if self.bus_down else self._heartbeat
            now = time.monotonic()
            for subscriber in self.subscribers:
                if subscriber.stalled(now, self._stall_seconds):
                    subscriber.close(CLOSE_SLOW)  # its socket took nothing for too long
                elif subscriber.is_live():  # not while it replays
                    subscriber.write(beat)
            for segment in self._segments.values():
                segment.restart()  # the heartbeat took every client out of its run: start a new one
