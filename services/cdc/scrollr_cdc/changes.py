"""Sequin messages built from decoded replication changes and backfill rows (pure).

Matches Sequin's shapes (its example bodies are copied in tests/fixtures/sequin): `record` is the row, `changes` the old values of
the columns an update changed (`null` otherwise), and `idempotency_key` is
`base64("<commit_lsn>:<commit_idx>")` for changes, `base64("<backfill_id>:<pk>")` for backfill rows,
so a re-sent change is recognised by the relay.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import msgspec
from scrollr_core.pgvalues import decode

from scrollr_cdc.pgoutput import UNCHANGED_TOAST, Relation, TupleData

CONSUMER = {"id": "scrollr-cdc", "name": "scrollr-cdc", "annotations": {}}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def row(relation: Relation, values: TupleData, fallback: TupleData | None = None) -> dict[str, Any]:
    """A tuple as a JSON-ready row; a TOAST value that wasn't sent is taken from `fallback` if known."""
    out: dict[str, Any] = {}
    for index, column in enumerate(relation.columns):
        value = values[index]
        if value == UNCHANGED_TOAST:
            out[column.name] = decode(column.type_oid, fallback[index]) if fallback is not None else value
        else:
            out[column.name] = decode(column.type_oid, value)
    return out


def changed_columns(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in before.items() if after.get(name) != value}


class Source:
    """Where messages come from: the database's identity in Sequin's `metadata.database`."""

    def __init__(self, database: str, hostname: str) -> None:
        self.database = {
            "id": database,
            "name": database,
            "annotations": {},
            "database": database,
            "hostname": hostname,
        }


def message(
    source: Source,
    relation: Relation,
    *,
    action: str,
    record: dict[str, Any],
    changes: dict[str, Any] | None,
    primary_key: list[str],
    commit_lsn: int | None,
    commit_idx: int | None,
    commit_time: datetime,
    idempotency: str,
) -> dict[str, Any]:
    return {
        "record": record,
        "changes": changes,
        "action": action,
        "metadata": {
            "table_schema": relation.schema,
            "table_name": relation.table,
            "commit_timestamp": iso(commit_time),
            "commit_lsn": commit_lsn,
            "commit_idx": commit_idx,
            "idempotency_key": base64.b64encode(idempotency.encode()).decode(),
            "record_pks": [str(record.get(name)) for name in primary_key],
            "transaction_annotations": None,
            "enrichment": None,
            "database_name": source.database["name"],
            "consumer": CONSUMER,
            "database": source.database,
        },
    }


def change_message(
    source: Source,
    relation: Relation,
    *,
    action: str,
    new: TupleData | None,
    old: TupleData | None,
    primary_key: list[str],
    commit_lsn: int,
    commit_idx: int,
    commit_time: datetime,
) -> dict[str, Any]:
    if action == "delete":
        assert old is not None
        record, changes = row(relation, old), None
    else:
        assert new is not None
        record = row(relation, new, fallback=old)
        changes = changed_columns(row(relation, old), record) if action == "update" and old else None
        if action == "update" and changes is None:
            changes = {}  # without REPLICA IDENTITY FULL Sequin sends {}: the old values are unknown
    return message(
        source,
        relation,
        action=action,
        record=record,
        changes=changes,
        primary_key=primary_key,
        commit_lsn=commit_lsn,
        commit_idx=commit_idx,
        commit_time=commit_time,
        idempotency=f"{commit_lsn}:{commit_idx}",
    )


def truncate_message(
    source: Source, relation: Relation, *, commit_lsn: int, commit_idx: int, commit_time: datetime
) -> dict[str, Any]:
    """A TRUNCATE of one table: action `truncate`, no row (this project's; Sequin sends none)."""
    return message(
        source,
        relation,
        action="truncate",
        record={},
        changes=None,
        primary_key=[],
        commit_lsn=commit_lsn,
        commit_idx=commit_idx,
        commit_time=commit_time,
        idempotency=f"{commit_lsn}:{commit_idx}",
    )


def backfill_message(
    source: Source,
    relation: Relation,
    record: dict[str, Any],
    *,
    primary_key: list[str],
    backfill_id: str,
    snapshot_lsn: int,
    commit_time: datetime,
) -> dict[str, Any]:
    pk = ":".join(str(record.get(name)) for name in primary_key)
    return message(
        source,
        relation,
        action="read",
        record=record,
        changes=None,
        primary_key=primary_key,
        commit_lsn=snapshot_lsn,
        commit_idx=None,
        commit_time=commit_time,
        idempotency=f"{backfill_id}:{pk}",
    )


def message_group(message: dict[str, Any]) -> str:
    """Sequin's message group: the row a message is about (table and primary key). A row's changes
    are delivered in commit order; rows are independent of each other."""
    meta = message["metadata"]
    return msgspec.json.encode([meta["table_schema"], meta["table_name"], meta["record_pks"]]).decode()


def lsn_text(lsn: int | None) -> str:
    """An LSN as Postgres writes it (`16/B374D848`)."""
    return "-" if lsn is None else f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"
