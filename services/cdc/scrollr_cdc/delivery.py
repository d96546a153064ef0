"""Delivering batches to the relay's webhook under Sequin's contract.

A timeout, a connection error, a 5xx, 408 or 429 says "later": the request is retried with
exponential backoff and full jitter until it is answered, each failure logged with its cause. While
it waits, `keepalive` runs so the replication connection isn't dropped by the server for silence.

A refusal that concerns the changes themselves (413, or another 4xx) is not retried as it is, as
it would be refused for ever and hold back every change behind it: a batch is split in halves until
each refused change stands alone, and those come back to the caller (which parks them) with the
relay's reason. A change whose row (message group) has a refused change before it is held back
too, so a row's changes stay in commit order.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import httpx
import msgspec
from scrollr_core.backoff import Backoff
from scrollr_core.signature import signature

from scrollr_cdc.changes import message_group

log = logging.getLogger("scrollr.cdc.delivery")
KEEPALIVE_SLICE_SECONDS = 1.0
# 401/403/404 refuse every change alike (a wrong secret or URL): the configuration needs fixing,
# and parking each change instead would empty the feed into the parking table.
ENDPOINT_STATUSES = frozenset((401, 403, 404))
LATER_STATUSES = frozenset((408, 429))
WAITING = "waiting behind an earlier parked change of the same row"


def refuses_the_changes(status: int) -> bool:
    """Whether a status refuses the posted changes themselves, so sending them again won't help."""
    return 400 <= status < 500 and status not in LATER_STATUSES | ENDPOINT_STATUSES


class Refusal(NamedTuple):
    message: dict[str, Any]
    reason: str


class Answer(NamedTuple):
    """One request's outcome: accepted, refused for its content (with why), or neither (try later)."""

    accepted: bool
    refused: bool
    cause: str


def body_of(messages: list[Any]) -> bytes:
    return msgspec.json.encode({"data": messages})


class Delivery:
    def __init__(
        self,
        url: str,
        secret: str,
        *,
        timeout_seconds: float,
        backoff: Backoff,
        keepalive: Callable[[], None] = lambda: None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self._url = url
        self._secret = secret
        self._backoff = backoff
        self._keepalive = keepalive
        self._should_stop = should_stop
        self._client = httpx.Client(timeout=timeout_seconds)
        self.failures = 0

    def _wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._should_stop() and (left := deadline - time.monotonic()) > 0:
            self._keepalive()
            time.sleep(min(KEEPALIVE_SLICE_SECONDS, left))

    def post(self, body: bytes) -> Answer:
        """One request, no retry."""
        headers = {
            "content-type": "application/json",
            "authorization": f"Bearer {self._secret}",
            "sequin-signature": "sha256=" + signature(self._secret, body),
        }
        try:
            response = self._client.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return Answer(False, False, f"{type(exc).__name__}: {exc}")
        cause = f"HTTP {response.status_code}: {response.text[:200]}"
        return Answer(200 <= response.status_code < 300, refuses_the_changes(response.status_code), cause)

    def _post_until_answered(self, messages: list[dict[str, Any]]) -> Answer | None:
        """Post until accepted or refused for its content; None if asked to stop first."""
        body = body_of(messages)
        attempt = 0
        while not self._should_stop():
            answer = self.post(body)
            if answer.accepted or answer.refused:
                if attempt:
                    outcome = "accepted" if answer.accepted else "refused"
                    log.info("relay %s the batch after %d retries", outcome, attempt)
                return answer
            self.failures += 1
            delay = self._backoff.delay(attempt)
            log.warning(
                "delivery of %d changes failed (%s); retry %d in %.2fs",
                len(messages),
                answer.cause,
                attempt + 1,
                delay,
            )
            self._wait(delay)
            attempt += 1
        return None

    def deliver(self, messages: list[dict[str, Any]], blocked: set[str]) -> list[Refusal] | None:
        """Deliver a batch; return the changes the relay refused (alone) and those of their rows held
        behind them, in order; None only if asked to stop first. `blocked` holds the message groups
        that already have a parked change; groups refused now are added to it."""
        refusals: list[Refusal] = []
        pieces = [messages]
        while pieces:
            piece = pieces.pop(0)
            sendable = []
            for message in piece:
                if message_group(message) in blocked:
                    refusals.append(Refusal(message, WAITING))
                else:
                    sendable.append(message)
            if not sendable:
                continue
            answer = self._post_until_answered(sendable)
            if answer is None:
                return None
            if answer.accepted:
                continue
            if len(sendable) == 1:
                refusals.append(Refusal(sendable[0], answer.cause))
                blocked.add(message_group(sendable[0]))
                continue
            log.info("relay refused a batch of %d (%s): splitting it", len(sendable), answer.cause)
            half = len(sendable) // 2
            pieces[0:0] = [sendable[:half], sendable[half:]]
        return refusals

    def close(self) -> None:
        self._client.close()
