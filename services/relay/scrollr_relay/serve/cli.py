"""`scrollr-relay`: validate the configuration, then serve the relay (uvicorn_server.py), in one process or
as WORKERS processes (workers.py)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from scrollr_core import pgconnect
from scrollr_core.logs import configure
from scrollr_core.settings import load_or_exit

from scrollr_relay import metrics
from scrollr_relay.config import Settings, load_settings
from scrollr_relay.serve.app import create_app, hub_of
from scrollr_relay.serve.uvicorn_server import serve
from scrollr_relay.serve.workers import KILLED_SILENT_ENV, supervise

log = logging.getLogger("scrollr.relay")


def _serve(settings: Settings, listen_fd: int | None = None, heartbeat_fd: int | None = None) -> None:
    app = create_app(settings)
    serve(app, hub_of(app), settings, listen_fd=listen_fd, heartbeat_fd=heartbeat_fd)


def _announce(settings: Settings) -> None:
    bus = settings.redis.describe() if settings.redis else "in-memory (single process)"
    processes = f"{settings.workers} processes" if settings.workers > 1 else "1 process"
    log.info("relay listening on http://%s:%d (%s, bus: %s)", settings.host, settings.port, processes, bus)
    if settings.dev_mode:
        log.warning("DEV MODE: webhook secret is %s", settings.webhook_secret)


def _check_database(settings: Settings) -> None:
    """A DATABASE_URL that Postgres refuses (no such database or role, wrong password) stops start-up
    with one line; an unreachable Postgres only warns, as streams work without it (snapshots answer
    503 until it is up)."""
    if settings.database_url is None:
        return
    problem = pgconnect.check(settings.database_url)
    if problem is None:
        return
    if problem.permanent:
        print(f"scrollr-relay: configuration error: {problem.message}", file=sys.stderr)
        raise SystemExit(2)
    log.warning("snapshots and the catalog are unavailable until Postgres answers: %s", problem.message)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="scrollr-relay", description="The Scrollr relay; configured by the environment."
    )
    parser.add_argument(
        "--listen-fd",
        type=int,
        help="serve on this inherited listening socket (how WORKERS starts its processes)",
    )
    parser.add_argument(
        "--heartbeat-fd",
        type=int,
        help="write a byte to this inherited pipe while alive (how WORKERS watches its processes)",
    )
    args = parser.parse_args(argv)
    configure("scrollr-relay")
    settings = load_or_exit("scrollr-relay", load_settings)
    if args.listen_fd is not None:
        metrics.WORKERS_KILLED_SILENT.set(int(os.environ.get(KILLED_SILENT_ENV, "0")))
        _serve(settings, args.listen_fd, args.heartbeat_fd)
        return
    _check_database(settings)
    _announce(settings)
    if settings.workers > 1:
        raise SystemExit(supervise(settings))
    _serve(settings)
