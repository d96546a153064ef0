"""What the open streams' filters may cost, per process and per client. Pure: no I/O.

A filter holds up to 256 symbols and 256 leagues, and the fan-out indexes each distinct value
(groups.py): 2,000 streams from one address, each with 512 distinct values at their length limits,
grew the process by 1.08 GB. Two bounds, checked before a stream's response starts:
- per process, the distinct filter values in use (`MAX_FILTER_VALUES`): what the index can grow to;
- per client, the values its open streams' filters name (`MAX_FILTER_VALUES_PER_CLIENT`), so one
  address can't take the whole process's share.
Equal values are one string (filters.py interns them), so a value used by many streams costs once.
"""

from __future__ import annotations

from scrollr_relay.fanout.filters import StreamFilter
from scrollr_relay.tables import FILTER_BY_TABLE

LIMIT_PROCESS = "filter_values"
LIMIT_CLIENT = "filter_values_per_client"
Value = tuple[str, str]  # (table, value of its filter column)


def _values(chosen: StreamFilter | None) -> list[Value]:
    if chosen is None:
        return []
    return [(table, v) for table in FILTER_BY_TABLE for v in chosen.rows_of(table) or ()]


class FilterBudget:
    def __init__(self, *, max_values: int, max_values_per_client: int) -> None:
        self._max_values = max_values
        self._max_per_client = max_values_per_client
        self._uses: dict[Value, int] = {}  # each distinct value in use -> how many streams use it
        self._per_client: dict[str, int] = {}  # client -> values named by its open streams' filters

    @property
    def distinct_values(self) -> int:
        return len(self._uses)

    def refusal(self, client: str, chosen: StreamFilter | None) -> str | None:
        """The limit a new stream of `client` with this filter would pass, or None if it fits."""
        values = _values(chosen)
        if not values:
            return None
        if self._per_client.get(client, 0) + len(values) > self._max_per_client:
            return LIMIT_CLIENT
        new = sum(1 for v in values if v not in self._uses)
        return LIMIT_PROCESS if len(self._uses) + new > self._max_values else None

    def charge(self, client: str, chosen: StreamFilter | None) -> None:
        values = _values(chosen)
        if not values:
            return
        for value in values:
            self._uses[value] = self._uses.get(value, 0) + 1
        self._per_client[client] = self._per_client.get(client, 0) + len(values)

    def release(self, client: str, chosen: StreamFilter | None) -> None:
        values = _values(chosen)
        if not values:
            return
        for value in values:
            left = self._uses[value] - 1
            if left:
                self._uses[value] = left
            else:
                del self._uses[value]
        left = self._per_client[client] - len(values)
        if left:
            self._per_client[client] = left
        else:
            del self._per_client[client]
