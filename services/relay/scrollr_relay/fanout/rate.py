"""`max_rate` on `/events`: at most this many updates of each row per second, chosen by the client.

A dashboard left open on a phone, or a "calm" ticker, wants each price once a second or every five,
not every tick: its stream is conflated (pending.py) and the newest change of each row goes out once
per `1 / max_rate` seconds, so it always ends on the newest values. Pure: no I/O.
"""

from __future__ import annotations

import math

MIN_RATE = 0.01  # once in 100 s
MAX_RATE = 100.0


class RateError(ValueError):
    """A `max_rate` value is invalid; the message names it."""


def parse_max_rate(raw: str | None) -> float | None:
    """Updates per row per second, or None for every change as it comes."""
    if raw is None or not raw.strip():
        return None
    try:
        rate = float(raw)
    except ValueError:
        rate = math.nan
    if not MIN_RATE <= rate <= MAX_RATE:  # NaN fails both comparisons
        raise RateError(
            f"max_rate value {raw[:32]!r} is not a number of updates per row per second "
            f"from {MIN_RATE:g} to {MAX_RATE:g}"
        )
    return rate
