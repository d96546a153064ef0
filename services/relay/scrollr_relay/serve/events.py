"""`GET /events` as a Litestar route: documented in the schema, behind the app's middleware (CORS,
exception handling, anything added later), with the stream itself run as the route's response.

Middleware costs once per connection, not once per frame: the stream's frames go straight to the
socket (sinks.py) and never through the `send` that middleware wraps. Only the response's start
(where CORS adds its headers) and its end pass through it. HEAD is answered by the same route with
the stream's headers and no stream.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from litestar import HttpMethod, route
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIType, Operation, Parameter, Reference, Schema
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.utils.scope.state import CONNECTION_STATE_KEY

from scrollr_relay import metrics
from scrollr_relay.fanout.rate import MAX_RATE, MIN_RATE
from scrollr_relay.serve.stream import EventStream

log = logging.getLogger("scrollr.stream")

EVENTS_DESCRIPTION = """Server-Sent Events: `change` events (id `<epoch>-<ms>-<seq>`, data the change as
JSON), `truncate` when a table was emptied (TRUNCATE: id and data as a change's, `action`
`truncate`; drop the table's rows and refetch `/snapshot`), `reset` when the client's position can't
be resumed (refetch `/snapshot`), and `: ping` comments every `SSE_HEARTBEAT_SECONDS`. Resume with
`Last-Event-ID` (or `lastEventId`). On a link that can't carry every change, each row's newest change
is sent as the link allows (conflated: its id is the newest change merged into it; a `truncate` drops
what waited of its table); `max_rate` asks for that at most so many times a second. With `ticket`
(from `POST /events/ticket`) the stream also carries that user's private events (`event:
preferences`), under the same cursor, never conflated, until the token behind the ticket expires
(`event: token_expired`, then the stream ends: reconnect from the cursor with a new ticket)."""


def _parameter(
    name: str, description: str, kind: OpenAPIType = OpenAPIType.STRING, where: str = "query", **schema: Any
) -> Parameter:
    return Parameter(name=name, param_in=where, description=description, schema=Schema(type=kind, **schema))


# The stream reads its parameters from the raw request (stream.py: the topic list is split before it
# is percent-decoded, and a bad value gets the stream's own 400, which names it), so they are
# declared for the schema only. As handler arguments Litestar would parse and validate all six on
# every connection, for a result nothing reads: about 5% of a connection's CPU (py-spy).
EVENTS_PARAMETERS: list[Parameter | Reference] = [
    _parameter("topics", "Comma-separated tables to receive (default: all)"),
    _parameter("lastEventId", "Resume after this event id"),
    _parameter("ticket", "Single-use ticket from POST /events/ticket: adds private events"),
    _parameter("Last-Event-ID", "Resume after this event id", where="header"),
    _parameter(
        "max_rate",
        "At most this many updates of each row per second (0.01 to 100), each row's newest; "
        "default: every change as it comes",
        OpenAPIType.NUMBER,
        minimum=MIN_RATE,
        maximum=MAX_RATE,
    ),
    _parameter(
        "compress",
        "`deflate`: the body comes with Content-Encoding: deflate, flushed per write (what browsers "
        "decode themselves); default: not compressed",
        enum=["deflate"],
    ),
]


@dataclass
class _EventsOperation(Operation):
    """`/events`' operation in the schema, with the parameters the stream reads."""

    def __post_init__(self) -> None:
        self.parameters = list(EVENTS_PARAMETERS)


class _StreamRunner:
    """The ASGI app that is the stream, as the route's response (Litestar calls it as it would any)."""

    __slots__ = ("_stream",)

    def __init__(self, stream: EventStream) -> None:
        self._stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        head = scope["method"] == "HEAD"  # type: ignore[typeddict-item]
        try:
            await self._stream(scope, receive, send, head=head)  # type: ignore[arg-type]
            # The stream may live on, detached from this call: its scope outlives the request, so
            # drop what Litestar cached in it for the request (headers, parsed query, ...).
            scope["state"].pop(CONNECTION_STATE_KEY, None)
        except Exception:
            # Once the stream has started no handler can answer; log and count it here, then let the
            # app's exception handling do what it still can.
            metrics.UNHANDLED_ERRORS.labels("stream").inc()
            log.exception("unexpected error serving /events")
            raise


def events_route(stream: EventStream) -> object:
    """The route handler, bound to this app's stream."""

    @route(
        "/events",
        http_method=[HttpMethod.GET, HttpMethod.HEAD],
        summary="Stream changes as Server-Sent Events",
        description=EVENTS_DESCRIPTION,
        media_type="text/event-stream",
        responses={
            400: ResponseSpec(None, description="Malformed cursor, topic filter or max_rate"),
            401: ResponseSpec(None, description="Unknown, used or expired ticket"),
            429: ResponseSpec(None, description="Too many streams from this address (Retry-After)"),
            503: ResponseSpec(None, description="Stream limit reached (Retry-After)"),
        },
        response_description="text/event-stream: retry, `: connected`, then change/reset events and pings",
        operation_class=_EventsOperation,
    )
    async def handler() -> ASGIApp:
        # The stream itself, as the ASGI app Litestar calls for the response: no Response object to
        # build and turn into one on every connection.
        return _StreamRunner(stream)

    return handler
