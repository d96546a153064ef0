"""`scrollr-dev`: the whole path on one machine, on embedded defaults, with one command.

Postgres (a project-local cluster under `.scrollr/pg` unless DATABASE_URL is given), migrations,
the relay (in-memory bus unless REDIS_URL is given), the change emitter and the demo generator.
Prints where to look; Ctrl-C stops everything it started.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

import httpx
from scrollr_relay.logs import configure

from scrollr_cdc.localpg import LocalPostgres
from scrollr_cdc.migrate import migrate

log = logging.getLogger("scrollr.dev")
DEFAULT_PG_PORT = 54329
STATE_DIR = Path(".scrollr")


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _local_postgres() -> LocalPostgres:
    data_dir = (STATE_DIR / "pg").resolve()
    port_file = STATE_DIR / "pg.port"
    port = int(port_file.read_text()) if port_file.exists() else DEFAULT_PG_PORT
    cluster = LocalPostgres(data_dir, port)
    if cluster.initialized() and cluster.running():
        return cluster
    if not _port_free(port):
        port = _free_port()
        cluster = LocalPostgres(data_dir, port)
    STATE_DIR.mkdir(exist_ok=True)
    port_file.write_text(str(port))
    # The postgres user must reach the data folder: as root, open the path down to it for traversal.
    if os.geteuid() == 0:
        for parent in [*reversed(data_dir.parents), data_dir.parent]:
            if parent.exists() and parent != Path("/"):
                parent.chmod(parent.stat().st_mode | 0o011)
    cluster.start()
    return cluster


def _wait_http(url: str, proc: subprocess.Popen[bytes], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"scrollr-dev: {what} exited with status {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"scrollr-dev: {what} did not answer at {url} within {timeout:.0f}s")


def main() -> None:
    configure()
    port = int(os.environ.get("PORT", "8080"))
    if not _port_free(port):
        raise SystemExit(f"scrollr-dev: port {port} is in use; set PORT to another port")
    cluster = None
    database_url = os.environ.get("DATABASE_URL", "").strip()
    if not database_url:
        cluster = _local_postgres()
        database_url = cluster.create_database("scrollr")
    applied = migrate(database_url)
    log.info("database ready (%s); migrations applied now: %s", database_url, applied or "none")
    secret = os.environ.get("SEQUIN_WEBHOOK_SECRET") or secrets.token_urlsafe(24)
    web_dir = Path("web/dist").resolve()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SEQUIN_WEBHOOK_SECRET": secret,
        "PORT": str(port),
        "HOST": os.environ.get("HOST", "127.0.0.1"),
        "RELAY_WEBHOOK_URL": f"http://127.0.0.1:{port}/webhooks/sequin",
    }
    if web_dir.is_dir():
        env["SCROLLR_WEB_DIR"] = str(web_dir)
    children: list[tuple[str, subprocess.Popen[bytes]]] = []

    def spawn(name: str, module: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([sys.executable, "-m", module], env=env)
        children.append((name, proc))
        return proc

    def stop_all(_sig: int | None = None, _frame: FrameType | None = None) -> None:
        for _, proc in reversed(children):
            if proc.poll() is None:
                proc.terminate()
        for _, proc in children:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if cluster is not None:
            cluster.stop()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, stop_all)
    try:
        relay = spawn("relay", "scrollr_relay")
        base = f"http://localhost:{port}"
        _wait_http(f"{base}/healthz", relay, "the relay")
        spawn("change emitter", "scrollr_cdc")
        spawn("demo generator", "scrollr_cdc.demo")
    except BaseException:
        stop_all()
        raise
    print(
        f"""
Scrollr realtime is up.
  Dashboard      {base}/{"" if web_dir.is_dir() else "  (not built: run `just web`)"}
  Event stream   {base}/events          (curl -N {base}/events)
  Snapshot       {base}/snapshot
  Metrics        {base}/metrics    Health {base}/healthz  {base}/readyz
  API schema     {base}/schema
  Extension      load extension/dist as an unpacked extension (chrome://extensions, Developer mode)
  Postgres       {database_url}
  Webhook secret {secret}
Ctrl-C stops everything.
""",
        flush=True,
    )
    while True:
        for name, proc in children:
            if proc.poll() is not None:
                log.error("%s exited with status %s; stopping", name, proc.returncode)
                stop_all()
        time.sleep(0.5)
