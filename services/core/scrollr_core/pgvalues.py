"""Postgres values as Sequin puts them in JSON, from their text form.

The change emitter (from pgoutput's text tuples) and the snapshot API (from a text-mode query) both
encode rows here, so a row looks the same whichever way it reached the client. Sequin's conventions
(as in the example bodies in tests/fixtures/sequin): numeric as a string (`"187.34"`, no precision lost), timestamps ISO-8601
with microseconds (`Z` for timestamptz), json as JSON.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

BOOL, INT8, INT2, INT4, OID = 16, 20, 21, 23, 26
FLOAT4, FLOAT8, NUMERIC = 700, 701, 1700
JSON, JSONB = 114, 3802
TIMESTAMP, TIMESTAMPTZ = 1114, 1184
_INTS = frozenset((INT8, INT2, INT4, OID))


def timestamptz_iso(text: str) -> str:
    if text in ("infinity", "-infinity"):
        return text
    moment = datetime.fromisoformat(text).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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
        return timestamptz_iso(text)
    if type_oid == TIMESTAMP and text not in ("infinity", "-infinity"):
        return datetime.fromisoformat(text).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return text  # numeric, text, varchar, date, uuid, ...: as Postgres writes them
