"""Headers the relay adds to its responses whatever the route: `Vary: Origin` on all of them, and
a page's security headers on the OpenAPI schema.

CORS headers are added only for an allowed Origin, so a response's bytes depend on the Origin even
when the route's don't. `/catalog` is `Cache-Control: public, max-age=60`: without `Vary: Origin`
on every copy, a shared cache could serve one fetched without an Origin (no
Access-Control-Allow-Origin) to a dashboard for a minute. The CORS middleware sets the same value,
so the two never disagree.

`/schema` serves the schema as JSON only: Litestar's HTML viewers load their scripts from CDNs
(Redoc's unpinned), which a relay has no business asking browsers to run.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

SCHEMA_PATH = "/schema"
SCHEMA_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# Streams set their own headers and are never cached; their `send` is left as it is.
UNTOUCHED_PATHS = ("/events",)


def response_headers(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != ScopeType.HTTP or path in UNTOUCHED_PATHS:
            await app(scope, receive, send)
            return
        schema = path == SCHEMA_PATH or path.startswith(SCHEMA_PATH + "/")

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                if "vary" not in headers:
                    headers["Vary"] = "Origin"
                if schema:
                    headers.update(SCHEMA_HEADERS)
            await send(message)

        await app(scope, receive, sending)

    return middleware
