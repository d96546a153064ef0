"""Liveness and readiness: `/healthz` says the process serves; `/readyz` that its bus answers."""

from __future__ import annotations

from litestar import Response, get

from scrollr_relay.bus import Bus, BusUnavailable


@get("/healthz", summary="The process is up", sync_to_thread=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def readyz(bus: Bus) -> object:
    @get("/readyz", summary="The event bus is reachable")
    async def handler() -> Response[dict[str, str]]:
        try:
            await bus.ping()
        except BusUnavailable as exc:
            return Response({"status": "unavailable", "detail": str(exc)}, status_code=503)
        return Response({"status": "ready"})

    return handler
