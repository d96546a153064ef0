"""Parked changes: what the relay refused, kept in Postgres (`scrollr_cdc_parked`) so the feed goes on.

A parked change is committed here before the slot is confirmed past it, so it is as durable as the
WAL it came from. Each row (message group) is retried from its oldest parked change, with backoff
per attempt; its later changes wait behind it and go out in order once it is through. An operator
reads the table, deletes a change to give up on it, or sets `next_attempt_at = now()` to retry now
(README, "Parked changes"); the emitter rereads the table on every poll, so both take effect.
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

import msgspec
import psycopg
from scrollr_core.backoff import Backoff

from scrollr_cdc import metrics
from scrollr_cdc.changes import lsn_text, message_group
from scrollr_cdc.delivery import Refusal

log = logging.getLogger("scrollr.cdc.parking")


class ParkedHead(NamedTuple):
    """The oldest parked change of a row: the next of the row to send."""

    id: int
    group: str
    attempts: int
    message: str | None  # the JSON message, read only when its retry is due


_HEADS = """
SELECT id, message_group, attempts, CASE WHEN next_attempt_at <= now() THEN message END, total
FROM (
    SELECT DISTINCT ON (message_group) *, count(*) OVER () AS total
    FROM scrollr_cdc_parked WHERE slot_name = %s
    ORDER BY message_group, commit_lsn, commit_idx NULLS FIRST, id
) heads
"""


class Parking:
    def __init__(self, database_url: str, slot: str, backoff: Backoff) -> None:
        self._database_url = database_url
        self._slot = slot
        self._backoff = backoff
        self._conn: psycopg.Connection[Any] | None = None
        self.groups: set[str] = set()  # rows with a parked change: their later changes wait

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(self._database_url, autocommit=True)
        return self._conn

    def park(self, refusals: list[Refusal]) -> None:
        """Store refused changes (and those held behind them) durably, and log each."""
        rows = []
        for message, reason in refusals:
            meta = message["metadata"]
            group = message_group(message)
            rows.append(
                (
                    self._slot,
                    group,
                    meta["table_schema"],
                    meta["table_name"],
                    meta["record_pks"],
                    meta["commit_lsn"],
                    meta["commit_idx"],
                    meta["idempotency_key"],
                    msgspec.json.encode(message).decode(),
                    reason,
                )
            )
            self.groups.add(group)
            log.warning(
                "parked a change of %s.%s key %s at LSN %s (%s): %s",
                meta["table_schema"],
                meta["table_name"],
                ",".join(meta["record_pks"]),
                lsn_text(meta["commit_lsn"]),
                message["action"],
                reason,
            )
        conn = self._connection()
        with conn.transaction(), conn.cursor() as cur:
            # A change parked before a crash comes again when the slot replays: keep one.
            cur.executemany(
                "INSERT INTO scrollr_cdc_parked (slot_name, message_group, table_schema, table_name, "
                "record_pks, commit_lsn, commit_idx, idempotency_key, message, reason) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (slot_name, idempotency_key) DO NOTHING",
                rows,
            )
        metrics.PARKED_TOTAL.inc(len(rows))

    def heads(self) -> list[ParkedHead]:
        """Reread the table (an operator may have changed it): each row's oldest parked change, with
        its message when its retry is due."""
        records = self._connection().execute(_HEADS, (self._slot,)).fetchall()
        self.groups = {r[1] for r in records}
        metrics.PARKED.set(records[0][4] if records else 0)
        return [ParkedHead(r[0], r[1], r[2], r[3]) for r in records]

    def delivered(self, head: ParkedHead) -> None:
        self._connection().execute("DELETE FROM scrollr_cdc_parked WHERE id = %s", (head.id,))
        log.info("parked change %d delivered", head.id)

    def refused_again(self, head: ParkedHead, reason: str) -> None:
        delay = self._backoff.delay(head.attempts + 1)
        self._connection().execute(
            "UPDATE scrollr_cdc_parked SET attempts = attempts + 1, reason = %s, "
            "next_attempt_at = now() + make_interval(secs => %s) WHERE id = %s",
            (reason, delay, head.id),
        )
        log.warning("parked change %d not delivered (%s); next attempt in %.1fs", head.id, reason, delay)

    def discard_table(self, schema: str, table: str, before_lsn: int) -> None:
        """A TRUNCATE supersedes the table's parked changes: sent after it, they would bring back rows
        it removed."""
        cur = self._connection().execute(
            "DELETE FROM scrollr_cdc_parked WHERE slot_name = %s AND table_schema = %s AND table_name = %s "
            "AND commit_lsn < %s",
            (self._slot, schema, table, before_lsn),
        )
        if cur.rowcount:
            log.warning("TRUNCATE of %s.%s discarded %d parked changes of it", schema, table, cur.rowcount)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
