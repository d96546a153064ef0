"""`GET /events`: a Server-Sent Events stream that resumes where the client left off.

A raw ASGI handler rather than a Litestar streaming response: the hub writes pre-encoded frames
straight to each connection (see subscriber.py), which a response fed by a generator can't do.

Order of a connection: register (live frames are held) → replay the backlog after the client's
cursor, or send `reset` when it can't be honoured → release the held frames newer than the backlog
→ live. Registering before reading the backlog is what makes the hand-over gap-free.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import msgspec

from scrollr_relay import metrics
from scrollr_relay.bus import Bus, BusUnavailable, HistoryGap
from scrollr_relay.config import Settings
from scrollr_relay.cursor import Cursor, CursorError, StreamId
from scrollr_relay.hub import READ_BATCH, Hub, encode_frames
from scrollr_relay.sinks import Send, open_sink
from scrollr_relay.sse import preamble, reset_frame
from scrollr_relay.subscriber import CLOSE_CLIENT_GONE, Subscriber

log = logging.getLogger("scrollr.stream")

Receive = Callable[[], Awaitable[dict[str, Any]]]
_TOPIC_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
STREAM_HEADERS = (
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
)


class StreamRequestError(ValueError):
    """The query or headers of a stream request are invalid."""


class StreamRequest(msgspec.Struct, frozen=True):
    cursor: Cursor | None
    topics: frozenset[str] | None


def parse_stream_request(query_string: bytes, last_event_id: str | None) -> StreamRequest:
    """Pure: the cursor (header first, then `lastEventId`) and the topic filter of a request."""
    query = parse_qs(query_string.decode("latin-1"))
    raw_cursor = last_event_id if last_event_id else (query.get("lastEventId") or [""])[-1]
    try:
        cursor = Cursor.parse(raw_cursor) if raw_cursor.strip() else None
    except CursorError as exc:
        raise StreamRequestError(str(exc)) from None
    topics = parse_topics(query["topics"]) if "topics" in query else None
    return StreamRequest(cursor=cursor, topics=topics)


def parse_topics(values: list[str]) -> frozenset[str]:
    """`topics=trades,games` (possibly repeated) as a set of table names."""
    names = [t.strip() for value in values for t in value.split(",") if t.strip()]
    bad = [t for t in names if not _TOPIC_RE.match(t)]
    if bad or not names:
        raise StreamRequestError(f"topics must be a comma-separated list of table names, got {bad or ''!r}")
    return frozenset(names)


async def respond(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes = b"") -> None:
    """A whole, short response on the raw ASGI interface."""
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _plain(send: Send, status: int, message: str, headers: list[tuple[bytes, bytes]]) -> None:
    body = msgspec.json.encode({"error": message})
    await respond(send, status, [(b"content-type", b"application/json"), *headers], body)


def header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


async def _watch_disconnect(receive: Receive, subscriber: Subscriber) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            subscriber.close(CLOSE_CLIENT_GONE)
            return


async def _replay(bus: Bus, subscriber: Subscriber, cursor: Cursor) -> StreamId | None:
    """Write the backlog after `cursor`, or a `reset`; return where the held live frames resume."""
    try:
        position = cursor
        while True:
            events = await bus.read_after(position, READ_BATCH)
            wanted = [e for e in events if subscriber.wants(e.topic)]
            if wanted:
                subscriber.write(b"".join(f[2] for f in encode_frames(cursor.epoch, wanted)))
            if events:
                position = Cursor(cursor.epoch, events[-1].id)
            if len(events) < READ_BATCH:
                return position.position
    except HistoryGap as gap:
        head = await bus.head()
        subscriber.write(reset_frame(head, gap.reason))
        metrics.RESETS.labels(gap.reason).inc()
        return head.position


class EventStream:
    """The ASGI app behind `/events`."""

    def __init__(self, hub: Hub, bus: Bus, settings: Settings) -> None:
        self._hub = hub
        self._bus = bus
        self._settings = settings

    async def __call__(
        self, scope: dict[str, Any], receive: Receive, send: Send, *, extra_headers: list[tuple[bytes, bytes]]
    ) -> None:
        try:
            request = parse_stream_request(scope.get("query_string", b""), header(scope, b"last-event-id"))
        except StreamRequestError as exc:
            await _plain(send, 400, str(exc), [])
            return
        if len(self._hub.subscribers) >= self._settings.max_streams:
            metrics.STREAMS_REFUSED.inc()
            retry_after = str(random.randint(1, 10)).encode()
            await _plain(send, 503, "stream limit reached", [(b"retry-after", retry_after)])
            return
        # A fresh list each time: ASGI middleware may append to it in place.
        headers = [*STREAM_HEADERS, *extra_headers]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        sink = open_sink(scope, send, self._settings.client_buffer_bytes)
        subscriber = Subscriber(sink, topics=request.topics)
        self._hub.add(subscriber)
        log.debug("stream opened after %s topics %s", request.cursor, request.topics)
        watcher: asyncio.Task[None] | None = None
        try:
            subscriber.write(preamble(self._settings.retry_milliseconds))
            if not sink.watch_disconnect(functools.partial(subscriber.close, CLOSE_CLIENT_GONE)):
                watcher = asyncio.create_task(_watch_disconnect(receive, subscriber))
            resume_after = None
            if request.cursor is not None:
                try:
                    resume_after = await _replay(self._bus, subscriber, request.cursor)
                except BusUnavailable as exc:
                    # The position can't be checked now; ending the stream makes the client retry.
                    log.warning("backlog unavailable for %s: %s", request.cursor, exc)
                    subscriber.close("bus_unavailable")
            subscriber.go_live(resume_after)
            reason = await subscriber.done
        finally:
            self._hub.remove(subscriber)
            if watcher is not None:
                watcher.cancel()
            subscriber.close(CLOSE_CLIENT_GONE)
        metrics.STREAM_CLOSES.labels(reason).inc()
        await subscriber.finish()
