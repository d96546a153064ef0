"""`scrollr-dev`: the whole path on one machine, on embedded defaults, with one command.

Postgres (a project-local cluster under `.scrollr/pg` unless DATABASE_URL is given), migrations,
the relay (in-memory bus unless REDIS_URL is given), the change emitter and the demo generator.
Prints where to look; Ctrl-C stops everything it started.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from types import FrameType

import httpx
import msgspec
from scrollr_core import pgconnect
from scrollr_core.logs import configure
from scrollr_core.settings import (
    DEFAULT_PORT,
    default_webhook_url,
    load_or_exit,
    number_setting,
    secret_setting,
    url_setting,
)

from scrollr_cdc.localpg import LocalPostgres
from scrollr_cdc.migrate import migrate
from scrollr_cdc.supervisor import Child

log = logging.getLogger("scrollr.dev")
DEFAULT_PG_PORT = 54329
DEFAULT_OIDC_PORT = 9000
DEV_AUDIENCE = "https://api.scrollr.local"
OIDC_SERVER = Path("services/oidc-dev/server.mjs")
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


def build_extension(origin: str) -> Path | None:
    """Build the extension (extension/dist) for this relay's origin, so the unpacked extension streams
    from the port this run actually uses; None when there is nothing to build it with here."""
    script = Path("web/build.mjs")
    if not script.is_file() or shutil.which("node") is None:
        log.warning("not building the extension: web/build.mjs or node is missing here")
        return None
    out = Path("extension/dist").resolve()
    subprocess.run(
        ["node", str(script), "--extension-out", str(out)],
        env={**os.environ, "SCROLLR_EXTENSION_API_ORIGIN": origin},
        check=True,
    )
    return out


def _oidc_env(env: Mapping[str, str], base: str) -> dict[str, str] | None:
    """The development OpenID provider's environment (its issuer in OIDC_ISSUER), or None when it
    can't run here or AUTH_ISSUER names another issuer."""
    if env.get("AUTH_ISSUER") or shutil.which("node") is None or not OIDC_SERVER.is_file():
        return None
    wanted = int(env.get("OIDC_PORT") or DEFAULT_OIDC_PORT)
    port = wanted if _port_free(wanted) else _free_port()
    loopback = base.replace("localhost", "127.0.0.1")
    return {
        **env,
        "OIDC_PORT": str(port),
        "OIDC_ISSUER": f"http://127.0.0.1:{port}",
        "AUTH_AUDIENCE": env.get("AUTH_AUDIENCE") or DEV_AUDIENCE,
        "OIDC_REDIRECT_URIS": f"{base}/,{loopback}/",
    }


class DevSettings(msgspec.Struct, frozen=True, kw_only=True):
    port: int = DEFAULT_PORT
    host: str = "127.0.0.1"
    database_url: str | None = None  # none: a project-local cluster
    secret: str


def load_dev_settings(env: Mapping[str, str]) -> DevSettings:
    return DevSettings(
        port=int(number_setting(env, "PORT", DEFAULT_PORT, minimum=1, maximum=65535, kind=int)),
        host=env.get("HOST", "").strip() or "127.0.0.1",
        database_url=url_setting(env, "DATABASE_URL", ("postgres", "postgresql")),
        secret=secret_setting(env, dev_mode=True),
    )


def preflight(settings: DevSettings) -> None:
    """What would stop the stack, checked before anything is built or started: a second `just dev`
    on a busy port must not rebuild the running one's dashboard and extension first."""
    if not _port_free(settings.port):
        raise SystemExit(f"scrollr-dev: port {settings.port} is in use; set PORT to another port")
    if settings.database_url is not None and (problem := pgconnect.check(settings.database_url)):
        raise SystemExit(f"scrollr-dev: {problem.message}")


def _database(settings: DevSettings) -> tuple[LocalPostgres | None, str]:
    """The migrated database to run on: DATABASE_URL's, else one in a project-local cluster."""
    cluster = None
    database_url = settings.database_url
    if database_url is None:
        cluster = _local_postgres()
        database_url = cluster.create_database("scrollr")
    applied = migrate(database_url)
    log.info("database ready (%s); migrations applied now: %s", database_url, applied or "none")
    return cluster, database_url


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="scrollr-dev", description=__doc__)
    parser.add_argument("--preflight", action="store_true", help="only check the port and DATABASE_URL")
    args = parser.parse_args(argv)
    configure("scrollr-dev")
    settings = load_or_exit("scrollr-dev", load_dev_settings)
    preflight(settings)
    if args.preflight:
        return
    port = settings.port
    cluster, database_url = _database(settings)
    secret = settings.secret
    web_dir = Path("web/dist").resolve()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SEQUIN_WEBHOOK_SECRET": secret,
        "PORT": str(port),
        "HOST": settings.host,
        "RELAY_WEBHOOK_URL": default_webhook_url(port),
    }
    if web_dir.is_dir():
        env["SCROLLR_WEB_DIR"] = str(web_dir)
    base = f"http://localhost:{port}"
    oidc = _oidc_env(env, base)
    if oidc is not None:
        env.update({"AUTH_ISSUER": oidc["OIDC_ISSUER"], "AUTH_AUDIENCE": oidc["AUTH_AUDIENCE"]})
    children: list[Child] = []

    def spawn(name: str, module: str, argv: list[str] | None = None) -> subprocess.Popen[bytes]:
        child = Child(name, module, oidc if argv is not None and oidc is not None else env, argv=argv)
        children.append(child)
        return child.start(time.monotonic())

    def stop_all(_sig: int | None = None, _frame: FrameType | None = None) -> None:
        for child in reversed(children):
            child.terminate()
        for child in children:
            child.wait()
        if cluster is not None:
            cluster.stop()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, stop_all)
    extension = build_extension(base)
    try:
        if oidc is not None:
            provider = spawn("OpenID provider", "", ["node", str(OIDC_SERVER)])
            _wait_http(
                f"{oidc['OIDC_ISSUER']}/.well-known/openid-configuration", provider, "the OpenID provider"
            )
        relay = spawn("relay", "scrollr_relay")
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
  Extension      {f"load {extension} as an unpacked extension (chrome://extensions, Developer mode); it streams from {base}" if extension else "(not built here)"}
  Postgres       {database_url}
  Webhook secret {secret}
  Sign in        {f"{oidc['OIDC_ISSUER']} (development provider): dev@scrollr.local / scrollr-dev" if oidc else "(off: node or services/oidc-dev missing, or AUTH_ISSUER set)"}
A child that exits is restarted. Ctrl-C stops everything.
""",
        flush=True,
    )
    # Keep every child up: a crashed or killed one is restarted after a backoff; Ctrl-C stops all.
    while True:
        for child in children:
            child.tend(time.monotonic())
        time.sleep(0.5)


if __name__ == "__main__":
    main()
