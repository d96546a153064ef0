"""Prometheus metrics of the relay, exported at /metrics by Litestar's Prometheus plugin.

Defined once per process on the default registry (the one Litestar's controller exports). Under
WORKERS > 1 prometheus_client's multiprocess mode sums them over the workers (workers.py), so
/metrics tells the same whichever worker answers; the gauges say how to combine.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

OPEN_STREAMS = Gauge("scrollr_open_streams", "Open /events streams", multiprocess_mode="livesum")
EVENTS_ACCEPTED = Counter("scrollr_events_accepted_total", "Webhook changes accepted (including duplicates)")
EVENTS_PUBLISHED = Counter("scrollr_events_published_total", "Changes appended to the bus")
EVENTS_DEDUPLICATED = Counter(
    "scrollr_events_deduplicated_total", "Changes acknowledged but not published again (already accepted)"
)
WEBHOOK_REJECTIONS = Counter("scrollr_webhook_rejections_total", "Webhook requests refused", ["reason"])
DELIVERIES = Counter("scrollr_deliveries_total", "Events written to /events streams (one per client)")
STREAM_CLOSES = Counter("scrollr_stream_closes_total", "Streams ended, by why", ["reason"])
RESETS = Counter("scrollr_resets_total", "reset events sent, by why", ["reason"])
STREAMS_OPENED = Counter(
    "scrollr_streams_opened_total",
    "Streams opened, by how their bytes reach the client: socket (scrollr-relay) or asgi (`send`)",
    ["sink"],
)
STREAMS_REFUSED = Counter("scrollr_streams_refused_total", "Streams refused at the per-process cap")
BUS_UP = Gauge(
    "scrollr_bus_up", "1 while every process's bus reader reaches the bus", multiprocess_mode="livemin"
)
REQUEST_TIMEOUTS = Counter(
    "scrollr_request_timeouts_total", "Connections closed because a request arrived too slowly", ["phase"]
)
UNHANDLED_ERRORS = Counter(
    "scrollr_unhandled_errors_total", "Unexpected exceptions, each logged with its traceback", ["where"]
)
STREAMS_REFUSED_PER_CLIENT = Counter(
    "scrollr_streams_refused_per_client_total", "Streams refused at the per-client-address cap"
)
LIMITS_REACHED = Counter(
    "scrollr_limits_reached_total",
    "Requests refused or work cut short at a configured bound, by which bound (README, settings)",
    ["limit"],
)
REPLAYS_ABANDONED = Counter(
    "scrollr_replays_abandoned_total", "Backlog replays stopped because their stream closed first"
)
WORKERS_KILLED_SILENT = Gauge(
    "scrollr_workers_killed_silent",
    "WORKERS: workers the supervisor killed and replaced for falling silent (it tells each worker it starts)",
    multiprocess_mode="max",
)
