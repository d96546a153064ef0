"""The dev stack's children (relay, emitter, demo), kept running: one that exits is restarted after
a backoff, so a crashed or killed relay is back by itself and open dashboards resume. A child that
stayed up for a while counts as healthy again, so a flapping one backs off further each time while a
rare crash is restarted at once.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Mapping

from scrollr_core.backoff import Backoff

log = logging.getLogger("scrollr.dev")

RESTART_BACKOFF = Backoff(initial_seconds=0.5, max_seconds=10.0)
HEALTHY_AFTER_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 10.0


def restart_delay(lived_seconds: float, failures: int) -> tuple[float, int]:
    """Pure: how long to wait before restarting a child that lived this long, and the new count of
    consecutive quick failures."""
    failures = 0 if lived_seconds >= HEALTHY_AFTER_SECONDS else failures + 1
    return (RESTART_BACKOFF.ceiling(failures - 1) if failures else 0.0), failures


class Child:
    def __init__(
        self, name: str, module: str, env: Mapping[str, str], *, argv: list[str] | None = None
    ) -> None:
        self.name = name
        self._argv = argv or [sys.executable, "-m", module]  # argv: a child that isn't a Python module
        self._env = dict(env)
        self.proc: subprocess.Popen[bytes] | None = None
        self._started = 0.0
        self._failures = 0
        self._restart_at: float | None = None

    def start(self, now: float) -> subprocess.Popen[bytes]:
        self.proc = subprocess.Popen(self._argv, env=self._env)
        self._started = now
        self._restart_at = None
        return self.proc

    def tend(self, now: float) -> None:
        """Restart the child if it exited and its backoff is over."""
        if self.proc is None or self.proc.poll() is None:
            return
        if self._restart_at is None:
            delay, self._failures = restart_delay(now - self._started, self._failures)
            self._restart_at = now + delay
            log.warning(
                "%s exited with status %s after %.1f s; restarting in %.1f s",
                self.name,
                self.proc.returncode,
                now - self._started,
                delay,
            )
        if now >= self._restart_at:
            log.info("restarting %s", self.name)
            self.start(now)

    def terminate(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()

    def wait(self) -> None:
        if self.proc is None:
            return
        try:
            self.proc.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
