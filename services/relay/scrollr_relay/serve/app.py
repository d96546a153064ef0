"""The relay's Litestar application: routes, lifespan of the bus and hub, CORS, metrics, OpenAPI."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from litestar import Litestar, Request, Response
from litestar.config.cors import CORSConfig
from litestar.logging.config import LoggingConfig
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from scrollr_relay import metrics
from scrollr_relay.accounts.issuer_keys import IssuerKeys
from scrollr_relay.accounts.routes import (
    AccountError,
    AuthConfig,
    account_error_response,
    auth_config_route,
    preferences_routes,
    ticket_route,
)
from scrollr_relay.accounts.tickets import RedisTickets, make_tickets
from scrollr_relay.bus import Bus
from scrollr_relay.bus.memory import MemoryBus
from scrollr_relay.bus.redis import RedisBus
from scrollr_relay.config import Settings
from scrollr_relay.fanout.hub import Hub
from scrollr_relay.ingest.webhook import WebhookActivity, WebhookRejected, sequin_webhook
from scrollr_relay.serve.catalog import catalog_handler
from scrollr_relay.serve.events import events_route
from scrollr_relay.serve.health import check_bus_at_start, healthz, readyz
from scrollr_relay.serve.response_headers import SCHEMA_PATH, response_headers
from scrollr_relay.serve.snapshot import make_pool, snapshot_handler
from scrollr_relay.serve.static import static_site
from scrollr_relay.serve.stream import EventStream

log = logging.getLogger("scrollr.relay")
UNREAD_BODY_STATUSES = (401, 413)


def make_bus(settings: Settings) -> Bus:
    if settings.redis is None:
        return MemoryBus(
            maxlen=settings.stream_maxlen,
            max_age_seconds=settings.stream_max_age_seconds,
            dedupe_window_seconds=settings.dedupe_window_seconds,
        )
    return RedisBus(
        settings.redis,
        stream_key=settings.stream_key,
        maxlen=settings.stream_maxlen,
        max_age_seconds=settings.stream_max_age_seconds,
        dedupe_window_seconds=settings.dedupe_window_seconds,
        deadline_seconds=settings.bus_timeout_seconds,
    )


def _rejected(_: Request[Any, Any, Any], exc: WebhookRejected) -> Response[dict[str, str]]:
    headers = {"Retry-After": str(random.randint(1, 5))} if exc.status == 503 else {}
    if exc.status in UNREAD_BODY_STATUSES:
        # Refused before (or while) its body was read: close instead of reading the rest of it to
        # reach the next request, which let each such connection hold its buffered body for up to
        # BODY_TIMEOUT_SECONDS (uvicorn closes once a response says `Connection: close`).
        headers["Connection"] = "close"
    return Response({"error": exc.reason, "detail": exc.detail}, status_code=exc.status, headers=headers)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, str]]:
    """Every 500: logged with its traceback and counted, never silent; the client learns nothing inside."""
    metrics.UNHANDLED_ERRORS.labels("http").inc()
    log.error("unexpected error serving %s %s", request.method, request.scope["path"][:200], exc_info=exc)
    return Response({"error": "internal_error"}, status_code=500)


async def _summarise_forever(activity: WebhookActivity, seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        line = activity.summary(seconds)
        if line is not None:
            logging.getLogger("scrollr.webhook").info(line)


def _auth_config(settings: Settings) -> AuthConfig | None:
    if settings.auth_issuer is None or settings.auth_audience is None:
        return None
    return AuthConfig(
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        dashboardClientId=settings.auth_dashboard_client_id,
        extensionClientId=settings.auth_extension_client_id,
    )


def hub_of(app: Litestar) -> Hub:
    """The app's hub (the server ends every stream through it when asked to stop)."""
    hub: Hub = app.state.hub
    return hub


def create_app(settings: Settings, *, bus: Bus | None = None) -> Litestar:
    bus = bus if bus is not None else make_bus(settings)
    pool = make_pool(settings.database_url) if settings.database_url else None
    hub = Hub(
        bus,
        heartbeat_seconds=settings.heartbeat_seconds,
        bus_outage_grace_seconds=settings.bus_outage_grace_seconds,
        client_stall_seconds=settings.client_stall_seconds,
        resume_cache_bytes=settings.resume_cache_bytes,
    )
    keys = (
        IssuerKeys(settings.auth_issuer, settings.auth_audience)
        if settings.auth_issuer is not None and settings.auth_audience is not None
        else None
    )
    tickets = make_tickets(settings.redis)
    stream = EventStream(hub, bus, settings, tickets=tickets if keys is not None else None)
    activity = WebhookActivity()
    cors = CORSConfig(
        allow_origins=list(settings.allowed_origins),
        allow_methods=["GET", "PUT", "POST", "OPTIONS"],
        allow_headers=["Last-Event-ID", "Content-Type", "Authorization", "If-Match", "If-None-Match"],
        expose_headers=["ETag"],
        max_age=3600,
    )

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await hub.start()
        summaries = asyncio.create_task(_summarise_forever(activity, settings.log_summary_seconds))
        bus_check = asyncio.create_task(check_bus_at_start(bus))
        # What exists now (modules, the app) lives as long as the process: keep it out of the
        # cyclic GC's full passes, whose pauses grow with every object they visit and stall every
        # stream (measured at 5,000 streams: the longest pass went from 85 to 55 ms).
        gc.freeze()
        if pool is not None:
            await pool.open(wait=False)  # the relay serves streams even while Postgres is down
        try:
            yield
        finally:
            for task in (summaries, bus_check):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await hub.stop()
            if pool is not None:
                await pool.close()
            await bus.close()
            if isinstance(tickets, RedisTickets):
                await tickets.close()

    route_handlers: list[object] = [
        events_route(stream),
        sequin_webhook(bus, settings, activity),
        snapshot_handler(bus, pool),
        catalog_handler(pool),
        *preferences_routes(keys, pool),
        ticket_route(keys, tickets),
        auth_config_route(_auth_config(settings)),
        healthz,
        readyz(bus),
        PrometheusController,
    ]
    if settings.web_dir is not None:
        # The dashboard signs in at the issuer: its discovery, keys and token endpoint are fetched.
        issuer = (urlsplit(settings.auth_issuer),) if settings.auth_issuer else ()
        route_handlers.append(
            static_site(settings.web_dir, connect=tuple(f"{u.scheme}://{u.netloc}" for u in issuer))
        )
    prometheus = PrometheusConfig(
        app_name="scrollr_relay",
        prefix="scrollr_http",
        exclude=["/events", "/metrics"],
        # Label by route template, never by the path a client made up: one series per route.
        group_path=True,
    )
    app = Litestar(
        route_handlers=route_handlers,  # type: ignore[arg-type]
        lifespan=[lifespan],
        middleware=[prometheus.middleware, response_headers],
        exception_handlers={
            WebhookRejected: _rejected,
            AccountError: account_error_response,
            HTTP_500_INTERNAL_SERVER_ERROR: _unexpected,
        },
        cors_config=cors,
        openapi_config=OpenAPIConfig(
            title="Scrollr relay",
            version="0.1.0",
            path=SCHEMA_PATH,
            # JSON only: no HTML viewer pulling scripts from a CDN (response_headers.py).
            render_plugins=[JsonRenderPlugin(path=["/", "/openapi.json"])],
        ),
        request_max_body_size=None,
        # Litestar's default would take over the root logger (and LOG_LEVEL) with its own handlers.
        logging_config=LoggingConfig(configure_root_logger=False),
    )
    app.state.hub = hub
    return app
