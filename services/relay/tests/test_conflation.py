"""The merge rules of conflation (conflation.py), pure: one change of a row for each pair of actions."""

import json

import msgspec
import pytest
from scrollr_relay.bus.cursor import Cursor, StreamId
from scrollr_relay.fanout.conflation import TABLE, merge_frames, row_key
from scrollr_relay.fanout.sse import change_frame, truncate_frame


def change(n: int, action: str, record: dict | None, changes: dict | None = None, *, table="trades", pk=1):
    data = {
        "table": table,
        "schema": "public",
        "action": action,
        "record": record,
        "changes": changes,
        "pks": [str(pk)],
        "commit_lsn": 1000 + n,
        "commit_idx": 0,
        "commit_timestamp": "2026-12-05T00:00:00Z",
    }
    return change_frame(Cursor("e1", StreamId(n, 0)), msgspec.json.encode(data))


def parsed(frame: bytes) -> tuple[str, dict]:
    head, _, rest = frame.partition(b"\ndata: ")
    assert frame.endswith(b"\n\n") and b"event: change" in head
    return head.decode().split("\n")[0], json.loads(rest)


def test_the_row_is_the_table_and_primary_key():
    assert row_key(change(1, "update", {"id": 1})) == row_key(change(2, "delete", {"id": 1}))
    assert row_key(change(1, "update", {"id": 1})) != row_key(change(1, "update", {"id": 2}, pk=2))
    assert row_key(change(1, "update", {"id": 1})) != row_key(change(1, "update", {"id": 1}, table="games"))


def test_a_delete_supersedes_what_came_before():
    for older in ("insert", "update", "read"):
        deleted = change(2, "delete", {"id": 1, "symbol": "A"})
        assert merge_frames(change(1, older, {"id": 1, "price": "1"}), deleted) is deleted


def test_an_insert_then_updates_is_one_insert_with_the_newest_record_and_the_newest_id():
    merged = change(1, "insert", {"id": 1, "price": "1"})
    for n in (2, 3):
        merged = merge_frames(merged, change(n, "update", {"id": 1, "price": str(n)}, {"price": str(n - 1)}))
    head, data = parsed(merged)
    assert head == "id: e1-3-0"
    assert data["action"] == "insert" and data["record"] == {"id": 1, "price": "3"}
    assert data["changes"] is None and data["commit_lsn"] == 1003


def test_a_backfill_read_then_an_update_stays_a_read():
    merged = merge_frames(
        change(1, "read", {"id": 1, "price": "1"}), change(2, "update", {"id": 1, "price": "2"})
    )
    assert parsed(merged)[1]["action"] == "read" and parsed(merged)[1]["record"]["price"] == "2"


def test_updates_merge_into_the_newest_record_with_each_columns_oldest_old_value():
    first = change(1, "update", {"id": 1, "price": "2", "dir": "up"}, {"price": "1"})
    then = change(2, "update", {"id": 1, "price": "3", "dir": "down"}, {"price": "2", "dir": "up"})
    head, data = parsed(merge_frames(first, then))
    assert head == "id: e1-2-0"
    assert data["action"] == "update" and data["record"] == {"id": 1, "price": "3", "dir": "down"}
    assert data["changes"] == {"price": "1", "dir": "up"}


def test_a_row_that_left_the_filter_is_still_seen_leaving():
    """The update that moved it out is the newest one a client filtering on the old symbol gets."""
    before = change(1, "update", {"id": 1, "symbol": "AAPL", "price": "2"}, {"price": "1"})
    leaving = change(2, "update", {"id": 1, "symbol": "MSFT", "price": "2"}, {"symbol": "AAPL"})
    data = parsed(merge_frames(before, leaving))[1]
    assert data["record"]["symbol"] == "MSFT" and data["changes"]["symbol"] == "AAPL"


@pytest.mark.parametrize(
    ("older", "newer"), [("delete", "insert"), ("update", "insert"), ("insert", "insert")]
)
def test_anything_else_is_the_newest_change(older, newer):
    latest = change(2, newer, {"id": 1, "price": "2"})
    assert merge_frames(change(1, older, {"id": 1, "price": "1"}), latest) is latest


def test_updates_without_old_values_keep_the_newer_ones():
    first = change(1, "update", {"id": 1, "price": "2"}, None)
    then = change(2, "update", {"id": 1, "price": "3"}, {"price": "2"})
    assert parsed(merge_frames(first, then))[1]["changes"] == {"price": "2"}


def truncate_data(table: str, lsn: int) -> dict:
    """The emitter's TRUNCATE of `table` (scrollr_cdc.changes.truncate_message)."""
    return {
        "table": table,
        "schema": "public",
        "action": "truncate",
        "record": {},
        "changes": None,
        "pks": [],
        "commit_lsn": lsn,
        "commit_idx": 0,
        "commit_timestamp": "2026-12-05T00:00:00Z",
    }


def truncate(n: int, table="trades") -> bytes:
    return truncate_frame(Cursor("e1", StreamId(n, 0)), msgspec.json.encode(truncate_data(table, 1000 + n)))


def test_a_truncate_stands_for_its_whole_table_and_is_no_rows_change():
    assert row_key(truncate(1)) == row_key(truncate(2)) == ("trades", TABLE)
    assert row_key(truncate(1)) != row_key(truncate(1, table="games"))
    rows = {row_key(change(1, action, {"id": 1}, pk=pk)) for action in ("insert", "delete") for pk in (1, 2)}
    assert row_key(truncate(1)) not in rows
