"""`POST /webhooks/sequin`: where a Sequin delivery becomes events on the bus.

Authenticate by the headers (nothing buffered for a request without the right credentials) → read
the body within its limit (after decompression, so a gzip bomb is refused) → check a signature →
decode and validate the whole delivery → publish it atomically with dedupe → 200. Sequin retries
anything but a 2xx, so the 200 is sent only once the events are in the bus.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections import Counter as Tally
from typing import Any

import msgspec
from litestar import Request, Response, post

from scrollr_relay import metrics
from scrollr_relay.bus import Bus, BusUnavailable
from scrollr_relay.config import Settings
from scrollr_relay.ingest.auth import AuthFailure, AuthStep, check_headers, signature_matches
from scrollr_relay.ingest.sequin import decode_webhook, envelope_for

log = logging.getLogger("scrollr.webhook")


class WebhookRejected(Exception):
    """A delivery refused with an HTTP status; `reason` labels the rejection metric."""

    def __init__(self, status: int, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.reason = reason
        self.detail = detail


class WebhookAccepted(msgspec.Struct, frozen=True):
    accepted: int
    published: int
    duplicates: int
    cursor: str


class WebhookActivity:
    """What the webhook accepted since the last summary.

    Each delivery's own line is DEBUG: the demo alone sends five a second, which at INFO scrolls the
    start-up banner and every warning away. The INFO view is this periodic summary (app.py).
    """

    __slots__ = ("changes", "deliveries", "duplicates", "published")

    def __init__(self) -> None:
        self.deliveries = self.changes = self.published = self.duplicates = 0

    def record(self, changes: int, published: int, duplicates: int) -> None:
        self.deliveries += 1
        self.changes += changes
        self.published += published
        self.duplicates += duplicates

    def summary(self, seconds: float) -> str | None:
        """The summary line of the period just ended (and start a new one); None if it was idle."""
        if not self.deliveries:
            return None
        line = {
            "event": "webhook_summary",
            "seconds": seconds,
            "deliveries": self.deliveries,
            "changes": self.changes,
            "published": self.published,
            "duplicates": self.duplicates,
        }
        self.deliveries = self.changes = self.published = self.duplicates = 0
        return msgspec.json.encode(line).decode()


def _too_large(limit: int) -> WebhookRejected:
    return WebhookRejected(413, "too_large", f"Body exceeds {limit} bytes (counted after decompression)")


def _unauthorized(failure: AuthFailure) -> WebhookRejected:
    return WebhookRejected(401, failure.value, "Missing or wrong webhook credentials")


async def read_body(request: Request[Any, Any, Any], limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    # More digits than any limit has is too large without int(), which refuses thousands of digits.
    if declared.isascii() and declared.isdigit() and (len(declared) > 19 or int(declared) > limit):
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        # `receive` itself rather than Request.stream(), which reports a client gone mid-body as a 500.
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise WebhookRejected(400, "client_disconnected", "The client went away before the body ended")
        chunk: bytes = message.get("body", b"")  # type: ignore[assignment]
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def decompress(body: bytes, encoding: str | None, limit: int) -> bytes:
    """Undo `Content-Encoding: gzip`, stopping as soon as the output passes `limit`."""
    encoding = (encoding or "identity").strip().lower()
    if encoding == "identity":
        return body
    if encoding not in ("gzip", "x-gzip"):
        raise WebhookRejected(415, "unsupported_encoding", f"Unsupported Content-Encoding {encoding!r}")
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise WebhookRejected(400, "bad_gzip", f"Body is not valid gzip: {exc}") from None
    if len(out) > limit:
        raise _too_large(limit)
    if not inflater.eof:
        raise WebhookRejected(400, "bad_gzip", "Body is truncated gzip")
    return out


def sequin_webhook(bus: Bus, settings: Settings, activity: WebhookActivity) -> object:
    """The route handler, bound to this app's bus and settings."""

    @post("/webhooks/sequin", status_code=200, summary="Receive a Sequin change delivery")
    async def handler(request: Request[Any, Any, Any]) -> Response[WebhookAccepted]:
        started = time.perf_counter()
        outcome: dict[str, object] = {}
        try:
            signature_header = request.headers.get("sequin-signature")
            step = check_headers(
                secret=settings.webhook_secret,
                authorization=request.headers.get("authorization"),
                signature_header=signature_header,
            )
            if isinstance(step, AuthFailure):
                raise _unauthorized(step)
            wire = await read_body(request, settings.max_body_bytes)
            if step is AuthStep.CHECK_SIGNATURE and not signature_matches(
                settings.webhook_secret, signature_header or "", wire
            ):
                raise _unauthorized(AuthFailure.WRONG)
            body = decompress(wire, request.headers.get("content-encoding"), settings.max_body_bytes)
            try:
                messages = decode_webhook(body)
            except ValueError as exc:
                raise WebhookRejected(400, "invalid_body", str(exc)) from None
            outcome = {
                "count": len(messages),
                "tables": dict(Tally(m.metadata.table_name for m in messages)),
                "actions": dict(Tally(m.action for m in messages)),
            }
            try:
                envelopes = [envelope_for(m) for m in messages]
            except RecursionError:
                raise WebhookRejected(400, "invalid_body", "JSON nested too deeply to encode") from None
            try:
                result = await bus.publish(envelopes)
            except BusUnavailable as exc:
                # Which dependency, not where it lives: the address and error are for the log only.
                log.warning("publish failed, bus unavailable: %s", exc)
                raise WebhookRejected(
                    503, "bus_unavailable", "Event bus unavailable, retry shortly"
                ) from None
        except WebhookRejected as rejected:
            metrics.WEBHOOK_REJECTIONS.labels(rejected.reason).inc()
            _log(rejected.reason, rejected.status, started, outcome, error=rejected.detail)
            raise
        metrics.EVENTS_ACCEPTED.inc(len(messages))
        metrics.EVENTS_PUBLISHED.inc(result.published)
        metrics.EVENTS_DEDUPLICATED.inc(result.duplicates)
        activity.record(len(messages), result.published, result.duplicates)
        _log(
            "accepted",
            200,
            started,
            outcome,
            level=logging.DEBUG,
            published=result.published,
            duplicates=result.duplicates,
        )
        return Response(
            WebhookAccepted(
                accepted=len(messages),
                published=result.published,
                duplicates=result.duplicates,
                cursor=str(result.head),
            )
        )

    return handler


def _log(
    outcome: str,
    status: int,
    started: float,
    fields: dict[str, object],
    level: int = logging.INFO,
    **extra: object,
) -> None:
    if not log.isEnabledFor(level):
        return
    line = {"event": "webhook", "outcome": outcome, "status": status, **fields, **extra}
    line["ms"] = round((time.perf_counter() - started) * 1000, 2)
    log.log(level, msgspec.json.encode(line).decode())
