"""One event's SSE frame, as the fan-out passes it around.

Encoded once per event per process (hub.py) and shared, bytes and all, by every subscriber that gets
it, by the recent frames a resume is served from (recent.py) and by a replay. A NamedTuple: named
fields for the reader, and a plain tuple's size and speed for the fan-out (no per-instance dict).
"""

from __future__ import annotations

from typing import NamedTuple

from scrollr_relay.bus.cursor import StreamId


class Frame(NamedTuple):
    position: StreamId  # the event's id in the stream: what a client's cursor compares against
    topic: str  # its table, or OWN (subscriber.py) for an event meant for one connection alone
    data: bytes  # the whole SSE frame, id line included
    keys: tuple[str, ...]  # the row-filter column's values in its new and old row (filters.py)
