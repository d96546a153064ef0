"""Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter").

Pure: the caller passes the random source, so schedules are testable.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import msgspec


class Backoff(msgspec.Struct, frozen=True):
    initial_seconds: float = 0.5
    max_seconds: float = 30.0
    multiplier: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.initial_seconds <= self.max_seconds or self.multiplier < 1:
            raise ValueError("backoff needs 0 < initial_seconds <= max_seconds and multiplier >= 1")

    def ceiling(self, attempt: int) -> float:
        """The longest wait before retry number `attempt` (0-based)."""
        return min(self.max_seconds, self.initial_seconds * self.multiplier ** min(attempt, 64))

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """A wait drawn uniformly from [0, ceiling): clients that failed together retry apart."""
        return rand() * self.ceiling(attempt)
