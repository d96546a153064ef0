import base64
from datetime import UTC, datetime

from scrollr_cdc.changes import Source, backfill_message, change_message, truncate_message
from scrollr_cdc.pgoutput import UNCHANGED_TOAST, Column, Relation

TRADES = Relation(
    1, "public", "trades", [Column("id", 23, True), Column("price", 1700, True), Column("note", 25, True)]
)
SOURCE = Source("scrollr", "db")
WHEN = datetime(2026, 11, 26, 18, 30, 1, 127470, tzinfo=UTC)


def change(action, new, old):
    return change_message(
        SOURCE,
        TRADES,
        action=action,
        new=new,
        old=old,
        primary_key=["id"],
        commit_lsn=24023128,
        commit_idx=3,
        commit_time=WHEN,
    )


def test_update_carries_the_new_row_and_old_values_of_changed_columns():
    message = change("update", ["7", "187.90", "x"], ["7", "187.34", "x"])
    assert message["record"] == {"id": 7, "price": "187.90", "note": "x"}
    assert message["changes"] == {"price": "187.34"}
    assert message["action"] == "update"
    meta = message["metadata"]
    assert meta["commit_lsn"] == 24023128 and meta["commit_idx"] == 3
    assert base64.b64decode(meta["idempotency_key"]) == b"24023128:3"
    assert meta["record_pks"] == ["7"]
    assert meta["commit_timestamp"] == "2026-11-26T18:30:01.127470Z"
    assert (meta["table_schema"], meta["table_name"]) == ("public", "trades")


def test_insert_and_delete():
    inserted = change("insert", ["7", "1.00", None], None)
    assert inserted["record"] == {"id": 7, "price": "1.00", "note": None} and inserted["changes"] is None
    deleted = change("delete", None, ["7", "1.00", "gone"])
    assert deleted["record"] == {"id": 7, "price": "1.00", "note": "gone"} and deleted["changes"] is None


def test_unchanged_toast_takes_the_old_value_when_known():
    assert change("update", ["7", "2.00", UNCHANGED_TOAST], ["7", "1.00", "long"])["record"]["note"] == "long"
    without_old = change("update", ["7", "2.00", UNCHANGED_TOAST], None)
    assert without_old["record"]["note"] == "unchanged_toast"
    assert without_old["changes"] == {}


def test_backfill_rows_are_reads_keyed_by_backfill_and_pk():
    message = backfill_message(
        SOURCE,
        TRADES,
        {"id": 9, "price": "3.00"},
        primary_key=["id"],
        backfill_id="bf1",
        snapshot_lsn=100,
        commit_time=WHEN,
    )
    assert message["action"] == "read" and message["changes"] is None
    assert base64.b64decode(message["metadata"]["idempotency_key"]) == b"bf1:9"


def test_truncate_is_a_rowless_message_keyed_by_its_position():
    message = truncate_message(SOURCE, TRADES, commit_lsn=24023128, commit_idx=2, commit_time=WHEN)
    assert (message["action"], message["record"], message["changes"]) == ("truncate", {}, None)
    assert message["metadata"]["table_name"] == "trades" and message["metadata"]["record_pks"] == []
    assert base64.b64decode(message["metadata"]["idempotency_key"]) == b"24023128:2"
