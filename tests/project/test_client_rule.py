"""The convergence tests' client (tests/support/state.py) applies the clients' own rule, rows.ts,
through node: what it keeps is what a dashboard keeps, down to the capped tombstones."""

import json

from tests.support.sse import Message
from tests.support.state import Rows


def change(action: str, row_id: int, price: str, lsn: int) -> Message:
    data = {"table": "trades", "action": action, "record": {"id": row_id, "price": price}, "changes": None}
    data |= {"commit_lsn": lsn, "commit_idx": 0, "commit_timestamp": None}
    return Message(event="change", data=json.dumps(data), id=f"e-{lsn}-0")


def test_the_rule_is_rows_ts_with_its_tombstone_cap():
    rows = Rows()
    assert rows.apply(change("insert", 1, "1.00", 10))
    assert not rows.apply(change("update", 1, "0.50", 9))  # not newer: skipped
    assert rows.apply(change("delete", 1, "1.00", 11))
    assert not rows.apply(change("insert", 1, "0.75", 10))  # older than its delete: stays deleted
    assert rows.tables.get("trades", {}) == {}
    # rows.ts keeps the versions of the last 1,000 deletes only (DELETED_VERSIONS_KEPT); an unbounded
    # copy of the rule would keep row 1's for ever.
    for n in range(1000):
        rows.apply(change("insert", 100 + n, "1.00", 1000 + 2 * n))
        rows.apply(change("delete", 100 + n, "1.00", 1001 + 2 * n))
    assert rows.apply(change("insert", 1, "0.75", 10))
    assert rows.tables["trades"] == {"1": {"id": 1, "price": "0.75"}}
