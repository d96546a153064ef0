"""Real processes for tests: a private redis-server, relay processes, and waiting on conditions."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import httpx

T = TypeVar("T")
SECRET = "test-secret-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(
    condition: Callable[[], T], *, timeout: float = 15.0, interval: float = 0.05, what: str = ""
) -> T:
    """Poll `condition` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception as exc:  # the condition may fail while a process starts
            last_error = exc
        time.sleep(interval)
    raise TimeoutError(f"timed out waiting for {what or condition}: last error {last_error!r}")


def read_metric(base: str, name: str, labels: str = "") -> float:
    """One sample's value from a relay's /metrics (0 when absent)."""
    key = f"{name}{{{labels}}}" if labels else name
    for line in httpx.get(f"{base}/metrics", timeout=5).text.splitlines():
        if line.startswith(key + " "):
            return float(line.split()[-1])
    return 0.0


def rss_bytes(pid: int) -> int:
    """A process's resident memory now (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def redis_command(port: int, folder: str | Path, *extra: str) -> list[str]:
    """redis-server on 127.0.0.1:`port`, keeping nothing on disk, `extra` options last."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    options = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    return [binary, *options, "--dir", str(folder), *extra]


class RedisServer:
    """A redis-server of the test's own on a free port, keeping nothing on disk; restartable."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="scrollr-redis-")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.proc = subprocess.Popen(redis_command(self.port, self.dir), stdout=subprocess.DEVNULL)
        wait_until(self.ping, what="redis-server to answer")
        return self

    def ping(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


# This relay as a later release that no longer serves protocol-1 clients would be: its streams'
# preamble announces protocol 2 and oldest_client 2 (sse.py); nothing else differs.
NEXT_RELEASE = (
    "import scrollr_relay.fanout.sse as sse; sse.protocol_frame.__defaults__ = (2, 2); "
    "from scrollr_relay.serve.cli import main; main()"
)


class RelayProcess:
    """`scrollr-relay` as a real process on a free port."""

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        log_dir: Path | None = None,
        port: int | None = None,
        server: str = "scrollr-relay",
    ) -> None:
        self.port = port or free_port()
        self.server = server
        self.env = {
            **os.environ,
            "SEQUIN_WEBHOOK_SECRET": SECRET,
            "HOST": "127.0.0.1",
            # Tests count deliveries by the webhook's per-delivery line, which is DEBUG.
            "LOG_LEVEL": "DEBUG",
            **env,
            "PORT": str(self.port),
        }
        self.log_path = (
            log_dir or Path(tempfile.mkdtemp(prefix="scrollr-relay-"))
        ) / f"relay-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, wait: bool = True) -> RelayProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(self.command(), env=self.env, stdout=log, stderr=subprocess.STDOUT)
        if wait:
            wait_until(self.healthy, what=f"relay on {self.port} to be healthy")
        return self

    def command(self) -> list[str]:
        if self.server == "scrollr-relay":
            return [sys.executable, "-m", "scrollr_relay"]
        if self.server == "next-release":
            return [sys.executable, "-c", NEXT_RELEASE]
        # The relay's ASGI app under plain uvicorn: no socket offered, streams go through `send`.
        assert self.server == "uvicorn", self.server
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "scrollr_relay.serve.other_servers:app",
            "--port",
            str(self.port),
        ]

    def healthy(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"relay exited with {self.proc.returncode}: {self.log()[-2000:]}")
        return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def terminate(self, timeout: float = 10) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self.proc = None
        return code

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def metric(self, name: str, labels: str = "") -> float:
        return read_metric(self.url, name, labels)

    def rss(self) -> int:
        assert self.proc is not None
        return rss_bytes(self.proc.pid)


class CdcProcess:
    """`scrollr-cdc` as a real process."""

    def __init__(self, env: Mapping[str, str], *, log_dir: Path) -> None:
        self.env = {**os.environ, "SEQUIN_WEBHOOK_SECRET": SECRET, **env}
        self.log_path = log_dir / f"cdc-{free_port()}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> CdcProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "scrollr_cdc"],
            env=self.env,
            stdout=self.log_path.open("ab"),
            stderr=subprocess.STDOUT,
        )
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_streaming(self, timeout: float = 30) -> None:
        def streaming() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"scrollr-cdc exited with {self.proc.returncode}: {self.log()[-2000:]}")
            return "streaming changes" in self.log()

        wait_until(streaming, timeout=timeout, what="scrollr-cdc to stream")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None:
            self.proc.send_signal(sig)
            self.proc.wait(30)
            self.proc = None
