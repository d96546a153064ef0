"""nginx from Debian's packages in front of relays, running the deploy config (deploy/nginx/)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import httpx

from tests.support.procs import free_port, wait_until

LOCATIONS = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "scrollr-locations.conf"


def locations(read_timeout_seconds: float | None) -> str:
    """The deploy locations, with the SSE read timeout shortened for a test if asked."""
    text = LOCATIONS.read_text()
    if read_timeout_seconds is not None:
        millis = int(read_timeout_seconds * 1000)
        text = re.sub(r"proxy_read_timeout 3600s;", f"proxy_read_timeout {millis}ms;", text)
    return text


def nginx_conf(folder: Path, *, upstreams: list[str], listen: str, server_extra: str = "") -> str:
    """A whole nginx.conf in `folder` (logs, temp files, pid): the deploy locations behind `listen`,
    balancing over `upstreams` (nginx `server` lines' arguments)."""
    servers = "".join(f"server {u};" for u in upstreams)
    return f"""
{"user root;" if os.geteuid() == 0 else ""}
worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log info;
events {{ worker_connections 1024; }}
http {{
  access_log {folder}/access.log;
  client_body_temp_path {folder}/body;
  proxy_temp_path {folder}/proxy;
  upstream scrollr_relay {{ {servers} keepalive 8; }}
  server {{
    listen {listen};
    {server_extra}
    include {folder}/locations.conf;
  }}
}}
"""


class Nginx:
    def __init__(self, upstream_ports: list[int], *, read_timeout_seconds: float | None = None) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="scrollr-nginx-"))
        (self.dir / "locations.conf").write_text(locations(read_timeout_seconds))
        (self.dir / "nginx.conf").write_text(
            nginx_conf(
                self.dir,
                upstreams=[f"127.0.0.1:{p} max_fails=0" for p in upstream_ports],
                listen=f"127.0.0.1:{self.port}",
            )
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Nginx:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = subprocess.Popen(
            [binary, "-c", str(self.dir / "nginx.conf"), "-e", str(self.dir / "error.log")],
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200, what="nginx")
        return self

    def stop(self) -> None:
        """Shut down (SIGTERM: nginx closes every connection, workers included) and wait."""
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(15)
            self.proc = None
