"""The ASGI entry point: `/events` straight to the stream, everything else to Litestar.

Each frame a stream writes goes through whatever wraps ASGI `send`; inside Litestar that is a
coroutine per middleware (CORS, metrics, exceptions) per frame per client, which the fan-out
benchmark showed as a large part of the per-delivery cost. So the long-lived stream is served here,
with the raw server `send`, and CORS decided by the same CORSConfig Litestar uses (cors.py).
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Litestar
from litestar.config.cors import CORSConfig

from scrollr_relay import metrics
from scrollr_relay.cors import preflight, stream_headers
from scrollr_relay.hub import Hub
from scrollr_relay.sinks import Send
from scrollr_relay.stream import EventStream, Receive, header, respond

log = logging.getLogger("scrollr.stream")
EVENTS_PATH = "/events"


class RelayApp:
    def __init__(self, litestar: Litestar, stream: EventStream, hub: Hub, cors: CORSConfig) -> None:
        self.litestar = litestar
        self.stream = stream
        self.hub = hub
        self.cors = cors

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == EVENTS_PATH:
            origin = header(scope, b"origin")
            if scope["method"] in ("GET", "HEAD"):
                try:
                    await self.stream(scope, receive, send, extra_headers=stream_headers(self.cors, origin))
                except Exception:
                    # Outside Litestar no handler sees this: log it, count it, and let the server
                    # answer 500 (or cut the stream) as for any failing ASGI app.
                    metrics.UNHANDLED_ERRORS.labels("stream").inc()
                    log.exception("unexpected error serving /events")
                    raise
                return
            if scope["method"] == "OPTIONS":
                status, headers = preflight(
                    self.cors, origin, header(scope, b"access-control-request-method")
                )
                await respond(send, status, headers)
                return
            await respond(send, 405, [(b"allow", b"GET, OPTIONS")])
            return
        await self.litestar(scope, receive, send)  # type: ignore[arg-type]
