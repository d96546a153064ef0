"""The change emitter: Postgres logical replication (pgoutput) → Sequin-format webhooks to the relay.

Delivery contract (Sequin's): changes go out in commit order, batched; the replication slot's
confirmed position moves only after the relay acknowledged every change up to it. A crash of the
emitter, the relay or Postgres therefore loses nothing: the slot replays from the last confirmed
transaction, and the relay drops what it already has by idempotency key.

First start: the slot is created with an exported snapshot, the published tables are read in that
snapshot and sent as `read` messages (Sequin's backfill), then streaming starts exactly where the
snapshot ends. A slot whose backfill never finished is recreated, so a crash mid-backfill is
repaired by doing it again.
"""

from __future__ import annotations

import contextlib
import logging
import select
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import msgspec
import psycopg
import psycopg2
import psycopg2.extras
from scrollr_core import pgconnect
from scrollr_core.backoff import Backoff
from scrollr_core.pgrows import rows_from, select_all, use_text_values

from scrollr_cdc import pgoutput
from scrollr_cdc.changes import Source, backfill_message, change_message, truncate_message
from scrollr_cdc.config import CdcSettings
from scrollr_cdc.delivery import Delivery, body_of
from scrollr_cdc.parking import Parking

log = logging.getLogger("scrollr.cdc")

FEEDBACK_INTERVAL_SECONDS = 10.0
PARKED_POLL_SECONDS = 1.0  # how often parked changes are looked at (and the table reread)
RECONNECT_BACKOFF = Backoff(initial_seconds=0.5, max_seconds=10.0)
SESSION_OPTIONS = "-c DateStyle=ISO -c TimeZone=UTC -c extra_float_digits=3"


class CdcError(RuntimeError):
    """A problem a person must fix (configuration or database state); retrying won't help."""


def _lsn_int(text: str) -> int:
    high, low = text.split("/")
    return (int(high, 16) << 32) | int(low, 16)


class Emitter:
    def __init__(self, settings: CdcSettings) -> None:
        self.settings = settings
        self._stop = False
        self._relations: dict[int, pgoutput.Relation] = {}
        self._primary_keys: dict[tuple[str, str], list[str]] = {}
        self._repl: Any = None
        self._cursor: Any = None
        self._confirmed = 0
        url = urlsplit(settings.database_url)
        self._source = Source(
            (url.path or "/postgres").lstrip("/") or "postgres", url.hostname or "localhost"
        )
        self._delivery = Delivery(
            settings.webhook_url,
            settings.secret,
            timeout_seconds=settings.http_timeout_seconds,
            backoff=Backoff(initial_seconds=0.5, max_seconds=settings.retry_max_seconds),
            keepalive=self._keepalive,
            should_stop=lambda: self._stop,
        )
        self._parking = Parking(
            settings.database_url,
            settings.slot,
            Backoff(initial_seconds=1.0, max_seconds=settings.parked_retry_max_seconds),
        )
        self._parked_polled = 0.0

    def stop(self) -> None:
        self._stop = True

    # -- checks -----------------------------------------------------------------------------------

    def preflight(self) -> list[tuple[str, str]]:
        """Fail with a clear message if the database can't feed the emitter; return published tables."""
        try:
            connection = psycopg.connect(
                self.settings.database_url, autocommit=True, connect_timeout=pgconnect.CONNECT_TIMEOUT_SECONDS
            )
        except psycopg.OperationalError as exc:
            raise CdcError(pgconnect.problem_of(self.settings.database_url, exc).message) from None
        with connection as conn:
            wal_level = conn.execute("SHOW wal_level").fetchone()
            if wal_level is None or wal_level[0] != "logical":
                raise CdcError(
                    f"wal_level is {wal_level[0] if wal_level else '?'!r}, not 'logical': set wal_level = logical "
                    "in postgresql.conf (or your provider's logical replication setting) and restart Postgres"
                )
            if not conn.execute(
                "SELECT 1 FROM pg_publication WHERE pubname = %s", (self.settings.publication,)
            ).fetchone():
                raise CdcError(
                    f"publication {self.settings.publication!r} does not exist: run the migrations "
                    f"(CREATE PUBLICATION {self.settings.publication} FOR TABLE trades, games)"
                )
            for own in ("scrollr_cdc_backfills", "scrollr_cdc_parked"):
                if conn.execute("SELECT to_regclass(%s)", (own,)).fetchone() == (None,):
                    raise CdcError(
                        f"table {own} does not exist: apply the migrations in services/cdc/scrollr_cdc/migrations"
                    )
            tables = [
                (r[0], r[1])
                for r in conn.execute(
                    "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = %s ORDER BY 1, 2",
                    (self.settings.publication,),
                )
            ]
            if not tables:
                raise CdcError(f"publication {self.settings.publication!r} covers no tables")
            for schema, table in tables:
                self._primary_keys[(schema, table)] = [
                    r[0]
                    for r in conn.execute(
                        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                        "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = (quote_ident(%s) || '.' || quote_ident(%s))::regclass "
                        "AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)",
                        (schema, table),
                    )
                ]
            return tables

    def _slot_state(self) -> tuple[bool, bool]:
        """(slot exists, its backfill finished); CdcError if the slot was invalidated."""
        with psycopg.connect(self.settings.database_url, autocommit=True) as conn:
            slot = conn.execute(
                "SELECT wal_status, plugin, database, current_database() FROM pg_replication_slots "
                "WHERE slot_name = %s",
                (self.settings.slot,),
            ).fetchone()
            if slot is None:
                return False, False
            if slot[2] != slot[3]:
                # Slot names are cluster-wide: never take over another database's slot.
                raise CdcError(
                    f"replication slot {self.settings.slot!r} belongs to database {slot[2]!r}, not {slot[3]!r}: "
                    "set CDC_SLOT to a slot name of this database's own"
                )
            if slot[0] == "lost":
                raise CdcError(
                    f"replication slot {self.settings.slot!r} was invalidated: Postgres removed WAL it still "
                    "needed (max_slot_wal_keep_size). Changes since are unrecoverable from it; drop it with "
                    f"SELECT pg_drop_replication_slot('{self.settings.slot}') and restart the emitter to backfill anew"
                )
            if slot[1] != "pgoutput":
                raise CdcError(
                    f"replication slot {self.settings.slot!r} uses plugin {slot[1]!r}, not pgoutput"
                )
            done = conn.execute(
                "SELECT 1 FROM scrollr_cdc_backfills WHERE slot_name = %s", (self.settings.slot,)
            ).fetchone()
            return True, done is not None

    # -- replication connection --------------------------------------------------------------------

    def _connect_replication(self) -> None:
        self._repl = psycopg2.connect(
            self.settings.database_url,
            connection_factory=psycopg2.extras.LogicalReplicationConnection,
            options=SESSION_OPTIONS,
        )
        self._cursor = self._repl.cursor()

    def _close_replication(self) -> None:
        if self._repl is not None:
            with contextlib.suppress(psycopg2.Error):
                self._repl.close()
        self._repl = self._cursor = None

    def _keepalive(self) -> None:
        # A dead connection is noticed and reconnected by the main loop, not here.
        if self._cursor is not None:
            with contextlib.suppress(psycopg2.Error, OSError):
                self._cursor.send_feedback(flush_lsn=self._confirmed, reply=False)

    # -- backfill ----------------------------------------------------------------------------------

    def _create_slot_and_backfill(self, tables: list[tuple[str, str]]) -> None:
        with psycopg.connect(self.settings.database_url, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = %s",
                (self.settings.slot,),
            )
            conn.execute("DELETE FROM scrollr_cdc_backfills WHERE slot_name = %s", (self.settings.slot,))
        self._cursor.execute(f"CREATE_REPLICATION_SLOT {self.settings.slot} LOGICAL pgoutput EXPORT_SNAPSHOT")
        _, consistent_point, snapshot_name, _ = self._cursor.fetchone()
        snapshot_lsn = _lsn_int(consistent_point)
        backfill_id = uuid.uuid4().hex[:12]
        now = datetime.now(UTC)
        rows = 0
        log.info("backfilling %d tables (snapshot at %s)", len(tables), consistent_point)
        with psycopg.connect(self.settings.database_url, options=SESSION_OPTIONS) as conn:
            use_text_values(conn)
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            conn.execute(f"SET TRANSACTION SNAPSHOT '{snapshot_name}'")
            for schema, table in tables:
                relation = pgoutput.Relation(0, schema, table, [])
                # A server-side cursor: rows arrive and go out a batch at a time, so a table of any
                # size holds one batch in memory.
                with conn.cursor(name="scrollr_backfill") as cur:
                    cur.execute(select_all(schema, table))
                    while records := cur.fetchmany(self.settings.batch_size):
                        messages = [
                            backfill_message(
                                self._source,
                                relation,
                                record,
                                primary_key=self._primary_keys[(schema, table)],
                                backfill_id=backfill_id,
                                snapshot_lsn=snapshot_lsn,
                                commit_time=now,
                            )
                            for record in rows_from(cur.description or [], records)
                        ]
                        if not self._deliver(messages):
                            return
                        rows += len(messages)
            conn.execute("COMMIT")
        with psycopg.connect(self.settings.database_url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO scrollr_cdc_backfills (slot_name, backfill_id) VALUES (%s, %s)",
                (self.settings.slot, backfill_id),
            )
        log.info("backfill %s finished: %d rows", backfill_id, rows)

    # -- streaming ---------------------------------------------------------------------------------

    def _start_streaming(self) -> None:
        self._cursor.start_replication(
            slot_name=self.settings.slot,
            decode=False,
            options={"proto_version": "1", "publication_names": self.settings.publication},
        )

    def _message_for(
        self, change: pgoutput.Insert | pgoutput.Update | pgoutput.Delete, begin: pgoutput.Begin, idx: int
    ) -> dict[str, Any]:
        relation = self._relations[change.relation_oid]
        if isinstance(change, pgoutput.Insert):
            action, new, old = "insert", change.new, None
        elif isinstance(change, pgoutput.Update):
            action, new, old = "update", change.new, change.old
        else:
            action, new, old = "delete", None, change.old
        return change_message(
            self._source,
            relation,
            action=action,
            new=new,
            old=old,
            primary_key=self._primary_keys.get((relation.schema, relation.table), []),
            commit_lsn=begin.final_lsn,
            commit_idx=idx,
            commit_time=begin.commit_time,
        )

    def _truncate_messages(
        self, truncate: pgoutput.Truncate, begin: pgoutput.Begin, first_idx: int
    ) -> list[dict[str, Any]]:
        messages = []
        for offset, oid in enumerate(truncate.relation_oids):
            relation = self._relations[oid]  # pgoutput sends each table's Relation before its Truncate
            self._parking.discard_table(relation.schema, relation.table, begin.final_lsn)
            messages.append(
                truncate_message(
                    self._source,
                    relation,
                    commit_lsn=begin.final_lsn,
                    commit_idx=first_idx + offset,
                    commit_time=begin.commit_time,
                )
            )
        return messages

    def _messages_of(
        self, decoded: pgoutput.Message, begin: pgoutput.Begin, idx: int
    ) -> list[dict[str, Any]]:
        """The Sequin messages of a change read inside a transaction (none for other kinds)."""
        if isinstance(decoded, pgoutput.Insert | pgoutput.Update | pgoutput.Delete):
            return [self._message_for(decoded, begin, idx)]
        if isinstance(decoded, pgoutput.Truncate):
            return self._truncate_messages(decoded, begin, idx)
        return []

    def _stream(self) -> None:
        """Read, batch, deliver and confirm until stopped or the connection fails.

        Changes go out in batches as they are read, a transaction's too: a transaction of any size
        holds at most a batch in memory. The slot is confirmed only up to the end of the last
        transaction read whole and delivered, so a crash mid-transaction replays all of it (the
        relay drops what it already has by idempotency key)."""
        pending: list[dict[str, Any]] = []
        committed_end = 0  # end LSN of the last transaction read whole
        first_pending_at = 0.0
        begin: pgoutput.Begin | None = None
        idx = 0  # the next change's position in its transaction (commit_idx)
        last_feedback = time.monotonic()
        linger = self.settings.batch_linger_ms / 1000

        def flush() -> None:
            nonlocal pending, last_feedback
            for start in range(0, len(pending), self.settings.batch_size):
                if not self._deliver(pending[start : start + self.settings.batch_size]):
                    return
            pending = []
            self._confirm(committed_end)
            last_feedback = time.monotonic()

        def add(messages: list[dict[str, Any]]) -> None:
            nonlocal first_pending_at, idx
            if messages and not pending:
                first_pending_at = time.monotonic()
            pending.extend(messages)
            idx += len(messages)
            if len(pending) >= self.settings.batch_size:
                flush()

        while not self._stop:
            self._retry_parked()
            message = self._cursor.read_message()
            if message is not None:
                decoded = pgoutput.decode(message.payload)
                if isinstance(decoded, pgoutput.Begin):
                    begin, idx = decoded, 0
                elif isinstance(decoded, pgoutput.Relation):
                    self._relations[decoded.oid] = decoded
                elif isinstance(decoded, pgoutput.Commit):
                    committed_end, begin = decoded.end_lsn, None
                    if not pending:
                        self._confirm(committed_end)
                elif begin is not None:
                    add(self._messages_of(decoded, begin, idx))
                continue
            now = time.monotonic()
            if pending and now - first_pending_at >= linger:
                flush()
                continue
            if now - last_feedback >= FEEDBACK_INTERVAL_SECONDS:
                self._keepalive()
                last_feedback = now
            wait = linger - (now - first_pending_at) if pending else FEEDBACK_INTERVAL_SECONDS
            select.select([self._cursor], [], [], max(0.0, min(wait, 1.0)))

    # -- delivery and parked changes -----------------------------------------------------------------

    def _deliver(self, messages: list[dict[str, Any]]) -> bool:
        """Deliver a batch, parking what the relay refuses; False only if asked to stop first.

        Parked changes are committed to Postgres before this returns, so confirming the slot past
        them afterwards loses nothing."""
        refusals = self._delivery.deliver(messages, blocked=set(self._parking.groups))
        if refusals is None:
            return False
        if refusals:
            self._parking.park(refusals)
        return True

    def _retry_parked(self) -> None:
        """Send each row's oldest parked change whose retry is due; a row drains in order."""
        now = time.monotonic()
        if now - self._parked_polled < PARKED_POLL_SECONDS:
            return
        self._parked_polled = now
        progress = True
        while progress and not self._stop:
            progress = False
            for head in self._parking.heads():
                if head.message is None:
                    continue
                answer = self._delivery.post(body_of([msgspec.Raw(head.message)]))
                if answer.accepted:
                    self._parking.delivered(head)
                    progress = True  # the row's next parked change is due at once
                else:
                    self._parking.refused_again(head, answer.cause)

    def _confirm(self, lsn: int) -> None:
        self._confirmed = max(self._confirmed, lsn)
        self._cursor.send_feedback(flush_lsn=self._confirmed, reply=True)

    # -- main loop ---------------------------------------------------------------------------------

    def run(self) -> None:
        """Run until stopped. CdcError for what a person must fix; connection failures are retried."""
        attempt = 0
        tables = self.preflight()
        while not self._stop:
            try:
                exists, backfilled = self._slot_state()
                self._connect_replication()
                if not (exists and backfilled):
                    if exists:
                        log.warning("slot %s has no finished backfill: recreating it", self.settings.slot)
                    self._create_slot_and_backfill(tables)
                    if self._stop:
                        return
                self._confirmed = 0
                self._start_streaming()
                log.info(
                    "streaming changes of %s from slot %s to %s",
                    self.settings.publication,
                    self.settings.slot,
                    self.settings.webhook_url,
                )
                attempt = 0
                self._stream()
            except (psycopg2.OperationalError, psycopg2.InterfaceError, psycopg.OperationalError) as exc:
                if "can no longer get changes from replication slot" in str(exc) or "invalidated" in str(exc):
                    raise CdcError(f"replication slot {self.settings.slot!r} was invalidated: {exc}") from exc
                delay = RECONNECT_BACKOFF.delay(attempt)
                log.warning("database connection failed (%s); reconnecting in %.2fs", str(exc).strip(), delay)
                self._close_replication()
                time.sleep(delay)
                attempt += 1
            finally:
                self._close_replication()
        self._delivery.close()
        self._parking.close()
