"""The emitter's Prometheus metrics, served on CDC_METRICS_PORT when it is set."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, start_http_server

PARKED = Gauge(
    "scrollr_cdc_parked_changes", "Changes parked now (refused by the relay, or waiting behind one)"
)
PARKED_TOTAL = Counter("scrollr_cdc_parked", "Changes parked since the emitter started")


def serve(host: str, port: int) -> None:
    start_http_server(port, addr=host)
