"""A project-local PostgreSQL cluster with logical replication, from the machine's binaries.

Used by the start command when no DATABASE_URL is given, and by the tests. It never touches the
machine's own server: its own data folder, its own port. PostgreSQL refuses to run as root, so as
root every server command runs as the `postgres` user in a folder that user owns.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import subprocess
from pathlib import Path

import psycopg

log = logging.getLogger("scrollr.localpg")

SETTINGS = {
    "wal_level": "logical",
    "max_replication_slots": "20",
    "max_wal_senders": "20",
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",
    "max_connections": "200",
}


class LocalPostgresError(RuntimeError):
    pass


def binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise LocalPostgresError(
            "no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql)"
        )
    return Path(found[-1]).parent


def _as_owner(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class LocalPostgres:
    def __init__(
        self, data_dir: Path, port: int, *, durable: bool = True, extra: dict[str, str] | None = None
    ):
        self.data_dir = data_dir
        self.port = port
        self.settings = {**SETTINGS, "port": str(port), **(extra or {})}
        if not durable:  # test clusters: speed over crash safety
            # (synchronous_commit stays on: logical decoding sends only flushed WAL, so "off" would
            # delay every change by up to wal_writer_delay.)
            self.settings.update(fsync="off", full_page_writes="off")
        self.bin = binaries()

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def _run(self, cmd: list[str]) -> None:
        result = subprocess.run(_as_owner(cmd), capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise LocalPostgresError(
                f"{' '.join(cmd[:2])} failed: {result.stderr.strip() or result.stdout.strip()}"
            )

    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def init(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.data_dir, "postgres", "postgres")
            self.data_dir.chmod(0o700)
        self._run(
            [
                str(self.bin / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
        )
        log.info("initialised a local PostgreSQL cluster in %s", self.data_dir)

    def start(self) -> None:
        if not self.initialized():
            self.init()
        options = " ".join(f"-c {k}={v}" for k, v in self.settings.items())
        self._run(
            [
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-w",
                "-t",
                "60",
                "-o",
                options,
                "-l",
                str(self.data_dir / "server.log"),
                "start",
            ]
        )

    def running(self) -> bool:
        try:
            with psycopg.connect(self.url(), connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def stop(self, mode: str = "fast") -> None:
        if (self.data_dir / "postmaster.pid").exists():
            self._run([str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "-w", "-m", mode, "stop"])

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)
