"""Postgres helpers for tests: a throw-away cluster with logical replication, one database per test."""

from __future__ import annotations

import itertools
import shutil
import tempfile
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from scrollr_cdc.localpg import LocalPostgres
from scrollr_cdc.migrate import migrate

from tests.support.procs import free_port, wait_until

_names = itertools.count()


def start_cluster(extra: dict[str, str] | None = None) -> LocalPostgres:
    """A cluster in a fresh folder under /tmp (reachable by the postgres user), with logical replication."""
    cluster = LocalPostgres(
        Path(tempfile.mkdtemp(prefix="scrollr-pg-")), free_port(), durable=False, extra=extra
    )
    cluster.start()
    return cluster


def remove_cluster(cluster: LocalPostgres) -> None:
    cluster.stop("immediate")
    shutil.rmtree(cluster.data_dir, ignore_errors=True)


def new_database(cluster: LocalPostgres) -> str:
    url = cluster.create_database(f"scrollr_test_{next(_names)}")
    migrate(url)
    return url


def slot_for(database_url: str) -> str:
    """Replication slot names are cluster-wide: one per test database."""
    return "cdc_" + database_url.rsplit("/", 1)[-1]


def execute(url: str, query: str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def insert_trade(url: str, symbol: str, price: str = "100.00") -> int:
    rows = execute(
        url,
        "INSERT INTO trades (symbol, price, previous_close, price_change, percentage_change, direction) "
        "VALUES (%s, %s, %s, 0, 0, 'flat') RETURNING id",
        (symbol, price, price),
    )
    return int(rows[0][0])


def trade_prices(url: str) -> dict[str, str]:
    """Every trade's price by id, as the clients show it."""
    return {str(r[0]): f"{r[1]:.2f}" for r in execute(url, "SELECT id, price FROM trades")}


def cdc_env(database_url: str, relay_url: str, **extra: str) -> dict[str, str]:
    """The emitter's environment for a test database (a slot of its own), posting to `relay_url`."""
    return {
        "CDC_SLOT": slot_for(database_url),
        "DATABASE_URL": database_url,
        "RELAY_WEBHOOK_URL": f"{relay_url}/webhooks/sequin",
        "CDC_RETRY_MAX_SECONDS": "1",
        **extra,
    }


def drop_slot(database_url: str, slot: str) -> None:
    """Drop a replication slot once its (killed) emitter's walsender has gone."""

    def dropped() -> bool:
        rows = execute(database_url, "SELECT active FROM pg_replication_slots WHERE slot_name = %s", (slot,))
        if not rows:
            return True
        if rows[0][0]:
            return False  # its walsender hasn't noticed the emitter is gone yet
        execute(database_url, "SELECT pg_drop_replication_slot(%s)", (slot,))
        return True

    wait_until(dropped, timeout=15, what=f"replication slot {slot} dropped")


class PriceWriter:
    """Commits price changes to the database, about 50 a second (its pace, not a wait for anything),
    until stopped."""

    def __init__(self, database_url: str, ids: list[int]) -> None:
        self.database_url = database_url
        self.ids = ids
        self.commits = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            for n in itertools.count():
                if self._stop.wait(0.02):
                    return
                price = Decimal(100) + Decimal(n) / 100
                conn.execute(
                    "UPDATE trades SET price = %s WHERE id = %s", (price, self.ids[n % len(self.ids)])
                )
                self.commits += 1

    def start(self) -> PriceWriter:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
