"""Liveness and readiness: `/healthz` says the process serves; `/readyz` that its bus answers."""

from __future__ import annotations

import logging

from litestar import Response, get

from scrollr_relay.bus import Bus, BusUnavailable

log = logging.getLogger("scrollr.health")


@get("/healthz", summary="The process is up", sync_to_thread=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def readyz(bus: Bus) -> object:
    @get("/readyz", summary="The event bus is reachable")
    async def handler() -> Response[dict[str, str]]:
        try:
            await bus.ping()
        except BusUnavailable as exc:
            # Which dependency, not where it lives: the address and error are for the log only.
            log.warning("not ready: %s", exc)
            return Response({"status": "unavailable", "unavailable": "bus"}, status_code=503)
        return Response({"status": "ready"})

    return handler
