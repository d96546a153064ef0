"""Liveness and readiness: `/healthz` says the process serves; `/readyz` that its bus answers."""

from __future__ import annotations

import logging

from litestar import Response, get

from scrollr_relay.bus import Bus, BusUnavailable, EvictionRisk

log = logging.getLogger("scrollr.health")


@get("/healthz", summary="The process is up", sync_to_thread=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def readyz(bus: Bus) -> object:
    @get("/readyz", summary="The event bus is reachable")
    async def handler() -> Response[dict[str, str]]:
        try:
            await bus.ping()
        except EvictionRisk as exc:
            log.error("not ready: %s", exc)
            body = {"status": "unavailable", "unavailable": "bus", "reason": "eviction_policy"}
            return Response(body, status_code=503)
        except BusUnavailable as exc:
            # Which dependency, not where it lives: the address and error are for the log only.
            log.warning("not ready: %s", exc)
            return Response({"status": "unavailable", "unavailable": "bus"}, status_code=503)
        return Response({"status": "ready"})

    return handler


async def check_bus_at_start(bus: Bus) -> None:
    """A bus configured to lose what it must keep is said loudly at start-up (and /readyz refuses
    it), not found out from a silent gap later. One that can't be reached yet is the hub's to report."""
    try:
        await bus.ping()
    except EvictionRisk as exc:
        log.error("the event bus is misconfigured: %s", exc)
    except BusUnavailable:
        pass
