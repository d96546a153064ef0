"""The relay's wheel carries its front-end: installed outside the checkout, it serves the dashboard,
the SharedWorker at its stable path, and the extension as a zip, with no SCROLLR_WEB_DIR."""

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.support.procs import SECRET, free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.process
def test_an_installed_wheel_serves_the_dashboard_worker_and_extension(tmp_path):
    wheels, site = tmp_path / "wheels", tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(ROOT)], check=True, timeout=300)
    (wheel,) = wheels.glob("scrollr_realtime-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True, timeout=120)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "SCROLLR_WEB_DIR"}
    env |= {"PYTHONPATH": str(site), "SEQUIN_WEBHOOK_SECRET": SECRET, "HOST": "127.0.0.1", "PORT": str(port)}
    log = (tmp_path / "relay.log").open("wb")
    relay = subprocess.Popen(
        [sys.executable, "-m", "scrollr_relay"], cwd=tmp_path, env=env, stdout=log, stderr=log
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(
            lambda: httpx.get(f"{base}/healthz", timeout=1).status_code == 200, what="the installed relay"
        )
        page = httpx.get(f"{base}/", timeout=5)
        assert page.status_code == 200 and '<div id="root">' in page.text
        worker = httpx.get(f"{base}/sse-worker.js", timeout=5)
        assert worker.status_code == 200 and worker.headers["content-type"].startswith("text/javascript")
        extension = httpx.get(f"{base}/scrollr-extension.zip", timeout=5)
        assert extension.status_code == 200
        names = zipfile.ZipFile(io.BytesIO(extension.content)).namelist()
        assert {"manifest.json", "background.js", "popup.html"} <= set(names)
        served_from = subprocess.run(
            [sys.executable, "-c", "import scrollr_relay; print(scrollr_relay.__file__)"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert served_from.startswith(str(site)), served_from  # the installed copy, not the checkout's
    finally:
        relay.kill()
        relay.wait()
