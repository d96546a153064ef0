"""`scrollr-dev` keeps its children up: a killed relay is back by itself; Ctrl-C stops everything."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from scrollr_cdc.supervisor import HEALTHY_AFTER_SECONDS, restart_delay

from tests.support.procs import SECRET, free_port, wait_until


@pytest.mark.parametrize(
    ("lived", "failures", "expected"),
    [
        (HEALTHY_AFTER_SECONDS, 3, (0.0, 0)),  # it had been healthy: restart at once, count afresh
        (1.0, 0, (0.5, 1)),  # a quick failure: back off
        (1.0, 1, (1.0, 2)),
        (1.0, 2, (2.0, 3)),
        (1.0, 10, (10.0, 11)),  # capped
    ],
)
def test_restart_delay(lived, failures, expected):
    assert restart_delay(lived, failures) == expected


ROOT = Path(__file__).resolve().parents[3]


def children_of(pid: int, pattern: str) -> list[int]:
    out = subprocess.run(
        ["pgrep", "-P", str(pid), "-f", pattern], capture_output=True, text=True, check=False
    )
    return [int(p) for p in out.stdout.split()]


def test_a_killed_relay_comes_back_and_ctrl_c_stops_everything(database_url, tmp_path):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "PORT": str(port), "SEQUIN_WEBHOOK_SECRET": SECRET}
    env["CDC_SLOT"] = "dev_" + database_url.rsplit("/", 1)[-1]
    env["OIDC_PORT"] = str(oidc_port := free_port())
    env.pop("AUTH_ISSUER", None)
    (tmp_path / "web").symlink_to(ROOT / "web")  # what `just dev` runs in: the project's folder
    (tmp_path / "services").symlink_to(ROOT / "services")
    log = (tmp_path / "dev.log").open("wb")
    dev = subprocess.Popen(
        [sys.executable, "-m", "scrollr_cdc.devstack"], env=env, stdout=log, stderr=log, cwd=tmp_path
    )
    healthz = f"http://127.0.0.1:{port}/healthz"
    try:
        wait_until(lambda: httpx.get(healthz, timeout=1).status_code == 200, timeout=60, what="the dev stack")
        wait_until(lambda: len(children_of(dev.pid, "scrollr")) == 3, what="relay, emitter and demo")
        # The unpacked extension it built streams from this run's port, not a default one.
        manifest = json.loads((tmp_path / "extension" / "dist" / "manifest.json").read_text())
        assert manifest["host_permissions"] == [f"http://localhost:{port}/*"]
        assert f"it streams from http://localhost:{port}" in (tmp_path / "dev.log").read_text()
        # The development OpenID provider runs, and the relay takes its tokens.
        issuer = f"http://127.0.0.1:{oidc_port}"
        assert (
            f"Sign in        {issuer} (development provider): dev@scrollr.local / scrollr-dev"
            in (tmp_path / "dev.log").read_text()
        )
        assert httpx.get(f"http://127.0.0.1:{port}/auth/config").json()["issuer"] == issuer
        assert httpx.get(f"{issuer}/.well-known/openid-configuration").json()["issuer"] == issuer
        (provider,) = children_of(dev.pid, "oidc-dev")
        (relay,) = children_of(dev.pid, "scrollr_relay")
        os.kill(relay, signal.SIGKILL)
        wait_until(
            lambda: children_of(dev.pid, "scrollr_relay") not in ([], [relay]), timeout=30, what="a new relay"
        )
        wait_until(
            lambda: httpx.get(healthz, timeout=1).status_code == 200, timeout=30, what="the relay back"
        )
        assert dev.poll() is None
        assert "relay exited with status -9" in (tmp_path / "dev.log").read_text()
        children = [*children_of(dev.pid, "scrollr"), provider]
        dev.send_signal(signal.SIGINT)
        assert dev.wait(30) == 0
        assert not [pid for pid in children if os.path.exists(f"/proc/{pid}")]
    finally:
        if dev.poll() is None:
            dev.kill()
            dev.wait()


def built_files():
    """The dashboard and extension a running `just dev` serves, by modification time."""
    files = [ROOT / "web" / "dist" / "app.js", ROOT / "extension" / "dist" / "manifest.json"]
    return {f: f.stat().st_mtime_ns for f in files if f.exists()}


def just_dev(env):
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "just"), "dev"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_second_just_dev_on_a_busy_port_builds_nothing_and_says_why():
    with socket.socket() as running:  # the first stack's port
        running.bind(("127.0.0.1", 0))
        running.listen()
        port = running.getsockname()[1]
        before = built_files()
        result = just_dev({"PORT": str(port)})
    assert result.returncode != 0
    assert f"scrollr-dev: port {port} is in use; set PORT to another port" in result.stderr
    assert "web/build.mjs" not in result.stderr and "Traceback" not in result.stderr
    assert built_files() == before


def test_just_dev_with_a_wrong_database_url_says_what_to_fix_before_building(pg_cluster):
    before = built_files()
    url = pg_cluster.url("no_such_database")
    result = just_dev({"PORT": str(free_port()), "DATABASE_URL": url})
    assert result.returncode != 0
    assert 'scrollr-dev: database "no_such_database" does not exist on 127.0.0.1:' in result.stderr
    assert "Traceback" not in result.stderr
    assert built_files() == before


def interrupt_group(just: subprocess.Popen[bytes]) -> None:
    """What Ctrl-C in just's terminal does: SIGINT to its whole (foreground) process group."""
    os.killpg(just.pid, signal.SIGINT)


def terminate_just(just: subprocess.Popen[bytes]) -> None:
    """`kill <just's pid>`: SIGTERM to just alone, which it forwards to its recipe."""
    just.send_signal(signal.SIGTERM)


@pytest.mark.parametrize("stop", [terminate_just, interrupt_group], ids=["sigterm-to-just", "ctrl-c"])
def test_stopping_just_dev_stops_the_whole_stack(database_url, tmp_path, stop):
    """`kill <just's pid>` and Ctrl-C each stop every process of the stack. (A SIGINT to just's PID
    alone can't: on Linux just ignores it while a recipe runs, leaving SIGINT to the process group.)"""
    for name in ("scripts", "web", "services", ".venv", "node_modules", "package.json", "package-lock.json"):
        (tmp_path / name).symlink_to(ROOT / name)  # the project, but the extension is built here
    for name in ("pyproject.toml", "requirements.lock", "justfile"):
        (tmp_path / name).symlink_to(ROOT / name)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "PORT": str(port), "SEQUIN_WEBHOOK_SECRET": SECRET}
    env["CDC_SLOT"] = "dev_" + database_url.rsplit("/", 1)[-1]
    log = (tmp_path / "dev.log").open("wb")
    just = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "just"), "dev"],
        env=env,
        stdout=log,
        stderr=log,
        cwd=tmp_path,
        start_new_session=True,  # a process group of its own, as a shell's foreground job has
    )
    stack: list[int] = []
    try:
        # `scrollr-dev$`: the stack itself, not the `scrollr-dev --preflight` that runs first.
        (dev,) = wait_until(lambda: children_of(just.pid, "scrollr-dev$"), timeout=120, what="scrollr-dev")
        stack.append(dev)
        wait_until(lambda: len(children_of(dev, "scrollr")) == 3, timeout=60, what="relay, emitter and demo")
        stack += children_of(dev, "scrollr")
        stop(just)
        assert just.wait(30) != 0  # just says it was interrupted
        wait_until(
            lambda: not [pid for pid in stack if os.path.exists(f"/proc/{pid}")],
            timeout=30,
            what="all stopped",
        )
    finally:
        if just.poll() is None:
            just.kill()
            just.wait()
        for pid in stack:  # whatever is left after a failure
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
