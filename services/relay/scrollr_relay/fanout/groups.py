"""Subscribers grouped by filter, and which groups a batch of changes can concern.

Equal filters share one group (and one filter object), so a batch is filtered once per distinct
filter, not per client. With per-user symbols there are thousands of distinct filters, most of them
not concerned by a given change: scanning every group for every batch cost more than the writes it
led to (measured: 3,687 filters among 5,000 clients). So groups are also indexed by the row keys
their filter chooses (`symbols` for trades, `leagues` for games): a batch looks up the groups of its
frames' keys, plus the groups that take every row of the table. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

from scrollr_relay.fanout.filters import EVERY_ROW, StreamFilter
from scrollr_relay.fanout.frame import Frame
from scrollr_relay.fanout.subscriber import Subscriber
from scrollr_relay.tables import FILTER_BY_TABLE

Group = dict[Subscriber, None]  # a dict for its order and fast iteration; the values are unused


class FilterGroups:
    def __init__(self) -> None:
        self.groups: dict[StreamFilter | None, Group] = {}
        self._shared: dict[StreamFilter, StreamFilter] = {}
        # (table, row key) -> the filters choosing that key of the table's filter column
        self._keyed: dict[tuple[str, str], dict[StreamFilter | None, None]] = {}
        # table -> the filters (None: no filter) taking every row of the table, topics aside
        self._open: dict[str, dict[StreamFilter | None, None]] = {table: {} for table in FILTER_BY_TABLE}

    def __len__(self) -> int:
        return len(self.groups)

    def add(self, subscriber: Subscriber) -> None:
        chosen = subscriber.filter
        if chosen is not None:
            chosen = subscriber.filter = self._shared.setdefault(chosen, chosen)
        group = self.groups.get(chosen)
        if group is None:
            group = self.groups[chosen] = {}
            self._index(chosen, add=True)
        group[subscriber] = None

    def remove(self, subscriber: Subscriber) -> None:
        chosen = subscriber.filter
        group = self.groups[chosen]
        del group[subscriber]
        if not group:
            del self.groups[chosen]
            self._index(chosen, add=False)
            if chosen is not None:
                del self._shared[chosen]

    def _index(self, chosen: StreamFilter | None, *, add: bool) -> None:
        for table in FILTER_BY_TABLE:
            values = chosen.rows_of(table) if chosen is not None else None
            if values is None:
                self._file(self._open[table], chosen, add=add)
                continue
            for value in values:
                key = (table, value)
                self._file(self._keyed.setdefault(key, {}), chosen, add=add)
                if not self._keyed[key]:
                    del self._keyed[key]

    @staticmethod
    def _file(place: dict[StreamFilter | None, None], chosen: StreamFilter | None, *, add: bool) -> None:
        if add:
            place[chosen] = None
        else:
            del place[chosen]

    def concerned(self, frames: list[Frame]) -> Iterable[tuple[StreamFilter | None, Group]]:
        """The groups that may want some of `frames` (each still checks its filter): every group when
        a frame's table has no row filter, else those its keys and tables lead to."""
        if any(f.topic not in FILTER_BY_TABLE or f.keys is EVERY_ROW for f in frames):
            return self.groups.items()
        chosen: dict[StreamFilter | None, None] = {}
        for _, topic, _, keys in frames:
            chosen.update(self._open[topic])
            for key in keys:
                chosen.update(self._keyed.get((topic, key), {}))
        return [(c, self.groups[c]) for c in chosen]
