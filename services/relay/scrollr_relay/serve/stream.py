"""One Server-Sent Events stream that resumes where the client left off (`GET /events`, events.py).

An ASGI callable rather than a Litestar streaming response: the hub writes pre-encoded frames
straight to each connection (see fanout/subscriber.py), which a response fed by a generator can't do.

Order of a connection: its request checked against the caps → register (live frames are held) →
replay the backlog after the client's cursor, or send `reset` when it can't be honoured
(fanout/handover.py) → release the held frames newer than the backlog → live, detached from its
request where the server offers the socket.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from scrollr_relay import metrics
from scrollr_relay.accounts.tickets import TicketGrant, Tickets, TicketStoreUnavailable
from scrollr_relay.bus import Bus, BusUnavailable
from scrollr_relay.bus.cursor import Cursor, CursorError
from scrollr_relay.config import Settings
from scrollr_relay.fanout import filter_budget, replays
from scrollr_relay.fanout.clients import client_key
from scrollr_relay.fanout.filter_budget import FilterBudget
from scrollr_relay.fanout.filters import FilterError, StreamFilter, parse_filter
from scrollr_relay.fanout.handover import Handover, replay
from scrollr_relay.fanout.hub import Hub
from scrollr_relay.fanout.rate import RateError, parse_max_rate
from scrollr_relay.fanout.replays import ReplaySlot, ReplaySlots
from scrollr_relay.fanout.sinks import Send, open_sink
from scrollr_relay.fanout.sse import preamble
from scrollr_relay.fanout.subscriber import CLOSE_BUS_UNAVAILABLE, CLOSE_CLIENT_GONE, Subscriber
from scrollr_relay.serve.uvicorn_server import StreamSocket
from scrollr_relay.topics import TopicError, decode_value, raw_query

log = logging.getLogger("scrollr.stream")

Receive = Callable[[], Awaitable[dict[str, Any]]]
STREAM_HEADERS = (
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
)


class StreamRequestError(ValueError):
    """The query or headers of a stream request are invalid."""


class StreamRequest(msgspec.Struct, frozen=True):
    cursor: Cursor | None
    filter: StreamFilter | None
    max_rate: float | None = None  # updates per row per second (rate.py); None: as they come
    deflate: bool = False  # `compress=deflate`: Content-Encoding: deflate (deflate.py)
    ticket: str | None = None  # adds the ticket's user's private events (private.py)


def parse_stream_request(query_string: bytes, last_event_id: str | None, max_topics: int) -> StreamRequest:
    """Pure: the cursor (header first, then `lastEventId`) and the filter of a request."""
    try:
        query = raw_query(query_string)
        raw_cursor = last_event_id or decode_value((query.get("lastEventId") or [""])[-1])
        cursor = Cursor.parse(raw_cursor) if raw_cursor.strip() else None
        chosen = parse_filter(query_string, max_topics)
        max_rate = parse_max_rate(decode_value(query["max_rate"][-1]) if "max_rate" in query else None)
        compress = decode_value(query["compress"][-1]) if "compress" in query else ""
        ticket = decode_value((query.get("ticket") or [""])[-1]).strip() or None
    except (CursorError, TopicError, FilterError, RateError) as exc:
        raise StreamRequestError(str(exc)) from None
    if compress not in ("", "deflate"):
        raise StreamRequestError(f"compress value {compress[:32]!r} is not 'deflate'")
    return StreamRequest(
        cursor=cursor, filter=chosen, max_rate=max_rate, deflate=compress == "deflate", ticket=ticket
    )


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


def _stream_headers(request: StreamRequest) -> list[tuple[bytes, bytes]]:
    # A fresh list each time: ASGI middleware (CORS) may append to it in place.
    headers = list(STREAM_HEADERS)
    if request.deflate:
        headers.append((b"content-encoding", b"deflate"))
    return headers


def _retry_after() -> tuple[bytes, bytes]:
    # Spread out the clients' retries, so that a full relay isn't hit by all of them at once.
    return (b"retry-after", str(random.randint(1, 10)).encode())


# The bounds a stream may reach before its 200 (filter_budget.py, replays.py): a full process is a
# 503 (a balancer tries another relay), one client past its share a 429.
REFUSALS = {
    filter_budget.LIMIT_PROCESS: (503, "filter capacity reached"),
    filter_budget.LIMIT_CLIENT: (429, "filters from this address name too many values"),
    replays.LIMIT_PROCESS: (503, "replay limit reached"),
    replays.LIMIT_CLIENT: (429, "too many resumes from this address"),
}


async def _refuse(send: Send, limit: str) -> None:
    metrics.LIMITS_REACHED.labels(limit).inc()
    status, message = REFUSALS[limit]
    await _plain(send, status, message, [_retry_after()])


def _client_address(scope: dict[str, Any]) -> str:
    """The client's address, as the per-client caps count it (clients.py); behind a proxy named in
    TRUSTED_PROXIES the server took it from X-Forwarded-For (uvicorn_server.py), otherwise it is the peer's."""
    client = scope.get("client")
    return client_key(str(client[0])) if client else "unknown"


async def start_response(send: Send, headers: list[tuple[bytes, bytes]], own: StreamSocket | None) -> None:
    """The 200's start, through `send` (the middleware adds its headers there); on a socket the
    stream may write to, held until the stream's first bytes join it (uvicorn_server.py)."""
    start = {"type": "http.response.start", "status": 200, "headers": headers}
    if own is None:
        await send(start)
        return
    own.hold_start()
    try:
        await send(start)
    finally:
        own.release_start()


async def _watch_disconnect(receive: Receive, subscriber: Subscriber) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            subscriber.close(CLOSE_CLIENT_GONE)
            return


class EventStream:
    """Runs one `/events` request on the raw ASGI interface, once Litestar has routed it."""

    def __init__(self, hub: Hub, bus: Bus, settings: Settings, *, tickets: Tickets | None = None) -> None:
        self._hub = hub
        self._bus = bus
        self._settings = settings
        self._tickets = tickets  # None: no accounts on this relay
        self._endings: set[asyncio.Task[None]] = set()
        self._filter_budget = FilterBudget(
            max_values=settings.max_filter_values, max_values_per_client=settings.max_filter_values_per_client
        )
        self._replays = ReplaySlots(
            per_process=settings.max_replays, per_client=settings.max_replays_per_client
        )
        self._preamble = preamble(settings.retry_milliseconds, settings.heartbeat_seconds)

    # One connection's whole order, top to bottom (the module's docstring): kept in one place.
    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send, *, head: bool) -> None:
        settings = self._settings
        try:
            request = parse_stream_request(
                scope.get("query_string", b""), header(scope, b"last-event-id"), settings.stream_max_topics
            )
        except StreamRequestError as exc:
            await _plain(send, 400, str(exc), [])
            return
        address = _client_address(scope)
        client = address if settings.max_streams_per_client else None
        if len(self._hub.subscribers) >= settings.max_streams:
            metrics.STREAMS_REFUSED.inc()
            await _plain(send, 503, "stream limit reached", [_retry_after()])
            return
        if self._hub.bus_down:
            # Refused before the 200, so a balancer tries another relay (proxy_next_upstream).
            await _plain(send, 503, "event bus unavailable", [_retry_after()])
            return
        if client is not None and self._hub.streams_from(client) >= settings.max_streams_per_client:
            metrics.STREAMS_REFUSED_PER_CLIENT.inc()
            await _plain(send, 429, "too many streams from this address", [_retry_after()])
            return
        too_costly = self._filter_budget.refusal(address, request.filter)
        if too_costly is not None:
            await _refuse(send, too_costly)
            return
        slot = None
        # A signed-in resume always reads the bus (its private events aren't among the recent
        # frames: handover.py), so it takes a replay slot even where the recent frames cover its cursor.
        cursor = request.cursor
        if cursor is not None and (request.ticket is not None or not self._hub.recent.covers(cursor)):
            # This resume will read the bus (replays.py): refused before the 200 past a cap.
            taken = self._replays.take(address)
            if isinstance(taken, str):
                await _refuse(send, taken)
                return
            slot = taken
        headers = _stream_headers(request)
        if head:
            if slot is not None:
                slot.give_back()
            await respond(send, 200, headers)  # the headers a GET would get; no stream, no slot held
            return
        try:
            # Redeemed once the stream is admitted: a refusal for a bound doesn't use the ticket up.
            grant = await self._redeem(request.ticket, send) if request.ticket is not None else None
            if request.ticket is not None and grant is None:
                return  # refused (401 or 503)
            await self._stream(scope, receive, send, request, headers, address, slot, grant)
        finally:
            if slot is not None:
                slot.give_back()

    async def _stream(
        self,
        scope: dict[str, Any],
        receive: Receive,
        send: Send,
        request: StreamRequest,
        headers: list[tuple[bytes, bytes]],
        address: str,
        slot: ReplaySlot | None,
        grant: TicketGrant | None,
    ) -> None:
        settings = self._settings
        client = address if settings.max_streams_per_client else None
        own = StreamSocket.of(scope)
        await start_response(send, headers, own)
        sink = open_sink(own, send, settings.client_buffer_bytes)
        metrics.STREAMS_OPENED.labels(sink.kind).inc()
        subscriber = Subscriber(
            sink,
            filter=request.filter,
            client=client,
            limit=settings.client_buffer_bytes,
            max_rate=request.max_rate,
            deflate=request.deflate,
        )
        handover = Handover(subscriber)  # holds its live frames until it goes live
        self._hub.add(subscriber)
        private = self._hub.private.add(subscriber, grant) if grant is not None else None
        self._filter_budget.charge(address, subscriber.filter)
        log.debug("stream opened after %s filter %s", request.cursor, request.filter)
        watcher: asyncio.Task[None] | None = None
        detached = False
        try:
            subscriber.open(self._preamble)
            if not sink.watch_disconnect(subscriber.close):
                watcher = asyncio.create_task(_watch_disconnect(receive, subscriber))
            resume_after = None
            if request.cursor is not None:
                try:
                    resume_after = await replay(self._hub, self._bus, subscriber, request.cursor, private)
                except BusUnavailable as exc:
                    # The position can't be checked now; ending the stream makes the client retry.
                    log.warning("backlog unavailable for %s: %s", request.cursor, exc)
                    subscriber.close(CLOSE_BUS_UNAVAILABLE)
            if slot is not None:
                slot.give_back()  # the replay is over; the stream may live on for hours
            handover.go_live(resume_after)
            if not subscriber.closed and sink.detach():
                # Live on its own socket: the rest of the stream needs no call of its own, so this
                # request returns (and the middleware chain above it with it); its end comes from
                # the hub, a lost connection or shutdown, through `done`.
                detached = True
                subscriber.done.add_done_callback(functools.partial(self._end_detached, subscriber, address))
                return
            await subscriber.done
        finally:
            if not detached:
                self._remove(subscriber, address)
                if watcher is not None:
                    watcher.cancel()
                subscriber.close(CLOSE_CLIENT_GONE)
        await _end(subscriber)

    async def _redeem(self, ticket: str, send: Send) -> TicketGrant | None:
        """The ticket's grant; None once a refusal has been answered (401, or 503 to retry)."""
        try:
            grant = await self._tickets.redeem(ticket) if self._tickets is not None else None
        except TicketStoreUnavailable as exc:
            log.warning("tickets unavailable: %s", exc)
            await _plain(send, 503, "tickets unavailable", [_retry_after()])
            return None
        if grant is None:
            challenge = (b"www-authenticate", b'Bearer realm="scrollr", error="invalid_token"')
            await _plain(
                send, 401, "unknown, used or expired ticket: ask POST /events/ticket for another", [challenge]
            )
        return grant

    def _remove(self, subscriber: Subscriber, address: str) -> None:
        self._hub.remove(subscriber)
        self._filter_budget.release(address, subscriber.filter)

    def _end_detached(self, subscriber: Subscriber, address: str, _: asyncio.Future[str]) -> None:
        self._remove(subscriber, address)
        ending = asyncio.get_running_loop().create_task(_end(subscriber))
        self._endings.add(ending)  # the loop keeps only weak references to tasks
        ending.add_done_callback(self._endings.discard)


async def _end(subscriber: Subscriber) -> None:
    metrics.STREAM_CLOSES.labels(subscriber.done.result()).inc()
    await subscriber.finish()
