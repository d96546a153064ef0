"""Schema migrations: the SQL files in `migrations/`, applied once each, in order, in a transaction."""

from __future__ import annotations

import logging
from importlib import resources

import psycopg

log = logging.getLogger("scrollr.migrate")


def migration_files() -> list[tuple[str, str]]:
    folder = resources.files("scrollr_cdc") / "migrations"
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".sql"))
    return [(name, (folder / name).read_text()) for name in names]


def migrate(database_url: str) -> list[str]:
    """Apply what hasn't been applied; return the names applied now."""
    applied_now = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS scrollr_migrations (name text PRIMARY KEY, applied_at timestamptz DEFAULT now())"
        )
        # One migrator at a time, whoever starts first (the dev stack and tests may race).
        conn.execute("SELECT pg_advisory_lock(7261)")
        try:
            done = {r[0] for r in conn.execute("SELECT name FROM scrollr_migrations")}
            for name, sql in migration_files():
                if name in done:
                    continue
                with conn.transaction():
                    conn.execute(sql)
                    conn.execute("INSERT INTO scrollr_migrations (name) VALUES (%s)", (name,))
                log.info("applied migration %s", name)
                applied_now.append(name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(7261)")
    return applied_now
