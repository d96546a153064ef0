"""Delivering batches to the relay's webhook under Sequin's contract: retry until a 2xx.

Any non-2xx, timeout or connection error is retried with exponential backoff and full jitter,
forever, each failure logged with its cause. While it waits, `keepalive` runs so the replication
connection isn't dropped by the server for silence.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
import msgspec
from scrollr_core.backoff import Backoff
from scrollr_core.signature import signature

log = logging.getLogger("scrollr.cdc.delivery")
KEEPALIVE_SLICE_SECONDS = 1.0


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

    def deliver(self, messages: list[dict[str, Any]]) -> bool:
        """Post one batch until the relay acknowledges it; False only if asked to stop first."""
        body = msgspec.json.encode({"data": messages})
        headers = {
            "content-type": "application/json",
            "authorization": f"Bearer {self._secret}",
            "sequin-signature": "sha256=" + signature(self._secret, body),
        }
        attempt = 0
        while not self._should_stop():
            try:
                response = self._client.post(self._url, content=body, headers=headers)
                if 200 <= response.status_code < 300:
                    if attempt:
                        log.info("relay accepted the batch after %d retries", attempt)
                    return True
                cause = f"HTTP {response.status_code}: {response.text[:200]}"
            except httpx.HTTPError as exc:
                cause = f"{type(exc).__name__}: {exc}"
            self.failures += 1
            delay = self._backoff.delay(attempt)
            log.warning(
                "delivery of %d changes failed (%s); retry %d in %.2fs",
                len(messages),
                cause,
                attempt + 1,
                delay,
            )
            self._wait(delay)
            attempt += 1
        return False

    def close(self) -> None:
        self._client.close()
