"""`scrollr-relay`: validate the configuration, then serve the relay with uvicorn.

uvicorn waits for open responses to finish before it runs the lifespan shutdown, and SSE responses
never finish by themselves; so the server's exit hook first ends every stream (clients reconnect
elsewhere and resume from their last id), then lets the server stop.
"""

from __future__ import annotations

import argparse
import logging
import socket
from types import FrameType

import uvicorn

from scrollr_relay.app import create_app, hub_of
from scrollr_relay.config import Settings, load_or_exit, load_settings
from scrollr_relay.hub import Hub
from scrollr_relay.logs import configure
from scrollr_relay.server import StreamingHttpProtocol
from scrollr_relay.subscriber import CLOSE_SHUTDOWN
from scrollr_relay.workers import supervise

log = logging.getLogger("scrollr.relay")
GRACEFUL_SHUTDOWN_SECONDS = 5


class RelayServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, hub: Hub) -> None:
        super().__init__(config)
        self._hub = hub

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._hub.close_all_soon(CLOSE_SHUTDOWN)
        super().handle_exit(sig, frame)


def _announce(settings: Settings) -> None:
    bus = "redis " + settings.redis_url.split("@")[-1] if settings.redis_url else "in-memory (single process)"
    processes = f"{settings.workers} processes" if settings.workers > 1 else "1 process"
    log.info("relay listening on http://%s:%d (%s, bus: %s)", settings.host, settings.port, processes, bus)
    if settings.dev_mode:
        log.warning("DEV MODE: webhook secret is %s", settings.webhook_secret)


def serve(settings: Settings, *, listen_fd: int | None = None) -> None:
    """Serve in this process: on HOST:PORT, or on an inherited listening socket (workers.py)."""
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        http=StreamingHttpProtocol.with_timeouts(
            header_seconds=settings.header_timeout_seconds, body_seconds=settings.body_timeout_seconds
        ),
        loop="uvloop",
        backlog=4096,
        # X-Forwarded-For decides the client's address only when the peer is a proxy named in
        # TRUSTED_PROXIES (uvicorn would otherwise trust any local peer's header).
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies),
    )
    # socket(fileno=) finds the family itself (uvicorn's own `fd` option assumes a Unix socket).
    sockets = None if listen_fd is None else [socket.socket(fileno=listen_fd)]
    RelayServer(config, hub_of(app)).run(sockets=sockets)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="scrollr-relay", description="The Scrollr relay; configured by the environment."
    )
    parser.add_argument(
        "--listen-fd",
        type=int,
        help="serve on this inherited listening socket (how WORKERS starts its processes)",
    )
    args = parser.parse_args(argv)
    configure()
    settings = load_or_exit("scrollr-relay", load_settings)
    if args.listen_fd is not None:
        serve(settings, listen_fd=args.listen_fd)
        return
    _announce(settings)
    if settings.workers > 1:
        raise SystemExit(supervise(settings))
    serve(settings)
