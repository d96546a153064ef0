"""Postgres values as Sequin puts them in JSON, from their text form.

The change emitter (from pgoutput's text tuples) and the snapshot API (from a text-mode query) both
encode rows here, so a row looks the same whichever way it reached the client. Sequin's conventions
(as in the example bodies in tests/fixtures/sequin): numeric as a string (`"187.34"`, no precision lost), timestamps ISO-8601
with microseconds (`Z` for timestamptz), json as JSON.

Every value a column can hold is carried, and nothing here raises on one (issue 23): a timestamp
Python's `datetime` can't hold (`infinity`, year 10000, `0044-03-15 00:00:00+00 BC`) travels as
Postgres writes it (ISO DateStyle, UTC), as do numeric's and float's `NaN` and infinities.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

BOOL, INT8, INT2, INT4, OID = 16, 20, 21, 23, 26
FLOAT4, FLOAT8, NUMERIC = 700, 701, 1700
JSON, JSONB = 114, 3802
TIMESTAMP, TIMESTAMPTZ = 1114, 1184
_INTS = frozenset((INT8, INT2, INT4, OID))


def _timestamptz(text: str) -> str:
    # isoformat, not strftime: strftime's %Y doesn't pad years below 1000 to four digits.
    moment = datetime.fromisoformat(text).astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds") + "Z"


def _timestamp(text: str) -> str:
    return datetime.fromisoformat(text).isoformat(timespec="microseconds")


def _iso_or_as_written(text: str, render: Callable[[str], str]) -> str:
    try:
        return render(text)
    except (ValueError, OverflowError):
        # Out of datetime's range (years 1-9999: `infinity`, year 10000, `... BC`): Postgres' own
        # ISO text is exact, and a client can still parse or show it.
        return text


def decode(type_oid: int, text: str | None) -> Any:
    if text is None:
        return None
    if type_oid in _INTS:
        return int(text)
    if type_oid == BOOL:
        return text == "t"
    if type_oid in (FLOAT4, FLOAT8):
        value = float(text)
        return value if math.isfinite(value) else text
    if type_oid in (JSON, JSONB):
        return json.loads(text)
    if type_oid == TIMESTAMPTZ:
        return _iso_or_as_written(text, _timestamptz)
    if type_oid == TIMESTAMP:
        return _iso_or_as_written(text, _timestamp)
    return text  # numeric (NaN and infinities too), text, varchar, date, uuid, ...: as Postgres writes them
