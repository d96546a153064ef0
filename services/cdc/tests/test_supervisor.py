"""`scrollr-dev` keeps its children up: a killed relay is back by itself; Ctrl-C stops everything."""

import json
import os
import signal
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
