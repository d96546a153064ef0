"""`WORKERS=N`: N relay processes on one port, so that one relay uses every core.

Each worker is a whole relay (`scrollr-relay --listen-fd`) with a listening socket of its own on the
same port (SO_REUSEPORT), so the kernel spreads new connections evenly across them; one shared socket
would let whichever process wakes first take a burst of reconnects. They share the Redis stream like
relays on separate machines do. This process only supervises: it restarts a worker that dies (its
clients reconnect and resume), ends them all on SIGTERM/SIGINT, and keeps the Prometheus
multiprocess directory through which /metrics, answered by any worker, counts for all of them.

A worker that stops without dying (frozen, stopped, its event loop stuck) would keep its socket in
the port's group, and the kernel would go on handing it half the new connections, unanswered. So
each worker's event loop writes a byte down a pipe every fifth of `WORKER_TIMEOUT_SECONDS`
(uvicorn_server.py), and a worker silent for that long is killed and replaced, taking its socket with it.

SO_REUSEPORT would also let the workers join the sockets of another process already serving the
port and split its traffic with it (a second relay with another secret): the port is first bound
plainly, which fails when anything listens there.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

from prometheus_client import multiprocess
from scrollr_core.backoff import Backoff

from scrollr_relay.config import Settings
from scrollr_relay.serve import listen

log = logging.getLogger("scrollr.workers")

RESTART_BACKOFF = Backoff(initial_seconds=0.5, max_seconds=10.0)
# A worker that dies sooner than this after its start counts as a failed start.
HEALTHY_AFTER_SECONDS = 5.0
MAX_FAILED_STARTS = 5
STOP_TIMEOUT_SECONDS = 15.0
# A starting worker imports and builds its app before its first heartbeat.
START_TIMEOUT_SECONDS = 60.0
HEARTBEATS_PER_TIMEOUT = 5
KILLED_SILENT_ENV = "SCROLLR_WORKERS_KILLED_SILENT"


def beat_interval(settings: Settings) -> float:
    """How often a worker's event loop says it is alive (and the supervisor looks)."""
    return settings.worker_timeout_seconds / HEARTBEATS_PER_TIMEOUT


_PR_SET_PDEATHSIG = 1


class _Stop(Exception):
    """SIGTERM or SIGINT reached the supervisor."""


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket of one worker's own on the shared port, inherited by the worker."""
    sock = listen.listening_socket(host, port)
    sock.set_inheritable(True)
    return sock


def _die_with_parent() -> None:
    # Runs in the child before exec: a supervisor killed outright must not leave workers serving.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


METRICS_DIR_PREFIX = "scrollr-relay-metrics-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def remove_stale_metrics_dirs(parent: str) -> list[str]:
    """Remove the metrics directories of supervisors that died without cleaning up (SIGKILL)."""
    removed = []
    for path in Path(parent).glob(f"{METRICS_DIR_PREFIX}*-*"):
        owner = path.name.removeprefix(METRICS_DIR_PREFIX).partition("-")[0]
        if owner.isascii() and owner.isdigit() and not _alive(int(owner)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(str(path))
    return removed


class Supervisor:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        for path in remove_stale_metrics_dirs(tempfile.gettempdir()):
            log.info("removed the metrics directory of a dead supervisor: %s", path)
        # The owner's pid in the name, so that a later supervisor can tell a stale one.
        self._metrics_dir = tempfile.mkdtemp(prefix=f"{METRICS_DIR_PREFIX}{os.getpid()}-")
        # pid -> (worker, when it started)
        self._workers: dict[int, tuple[subprocess.Popen[bytes], float]] = {}
        # heartbeat pipe (read end) -> (pid, when it last spoke); the clock starts at the spawn
        self._beats: dict[int, tuple[int, float]] = {}
        self._failed_starts = 0
        self._killed_silent = 0

    def _spawn(self) -> None:
        sock = listening_socket(self._settings.host, self._settings.port)
        beat_read, beat_write = os.pipe()
        try:
            worker = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "scrollr_relay",
                    *("--listen-fd", str(sock.fileno())),
                    *("--heartbeat-fd", str(beat_write)),
                ],
                env={
                    **os.environ,
                    "PROMETHEUS_MULTIPROC_DIR": self._metrics_dir,
                    # The supervisor exports no metrics itself: its workers export its count.
                    KILLED_SILENT_ENV: str(self._killed_silent),
                },
                pass_fds=[sock.fileno(), beat_write],
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - no threads in the supervisor
            )
        except BaseException:
            os.close(beat_read)
            raise
        finally:
            sock.close()  # the worker holds it now; a dead worker's socket must leave the group
            os.close(beat_write)
        now = time.monotonic()
        self._workers[worker.pid] = (worker, now)
        self._beats[beat_read] = (
            worker.pid,
            now + START_TIMEOUT_SECONDS - self._settings.worker_timeout_seconds,
        )

    def _listen_for_beats(self, seconds: float) -> None:
        """Note every worker that spoke within `seconds`."""
        ready, _, _ = select.select(list(self._beats), [], [], seconds)
        now = time.monotonic()
        for fd in ready:
            pid, _ = self._beats[fd]
            if os.read(fd, 4096):
                self._beats[fd] = (pid, now)
            else:  # the worker closed it: it is exiting, and its exit will be reaped
                self._forget_beats(fd)

    def _forget_beats(self, fd: int) -> None:
        del self._beats[fd]
        os.close(fd)

    def _kill_the_silent(self) -> None:
        now = time.monotonic()
        for fd, (pid, spoke) in list(self._beats.items()):
            if now - spoke > self._settings.worker_timeout_seconds:
                log.error(
                    "worker %d silent for %.1f s (WORKER_TIMEOUT_SECONDS): killing it", pid, now - spoke
                )
                self._forget_beats(fd)
                self._killed_silent += 1
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)  # SIGKILL: a stopped or stuck process can't act on SIGTERM

    def _reap(self, pid: int, status: int) -> None:
        if pid not in self._workers:
            return
        for fd, (beating, _) in list(self._beats.items()):
            if beating == pid:
                self._forget_beats(fd)
        worker, started = self._workers.pop(pid)
        worker.returncode = os.waitstatus_to_exitcode(status)
        multiprocess.mark_process_dead(pid, self._metrics_dir)  # type: ignore[no-untyped-call]
        lived = time.monotonic() - started
        self._failed_starts = self._failed_starts + 1 if lived < HEALTHY_AFTER_SECONDS else 0
        log.error("worker %d exited with %s after %.1f s; starting another", pid, worker.returncode, lived)

    def run(self) -> int:
        def stop(signum: int, frame: FrameType | None) -> None:
            raise _Stop

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            for _ in range(self._settings.workers):
                self._spawn()
            while True:
                self._listen_for_beats(beat_interval(self._settings))
                self._kill_the_silent()
                while self._workers and (exited := os.waitpid(-1, os.WNOHANG))[0]:
                    self._reap(*exited)
                    if self._failed_starts >= MAX_FAILED_STARTS:
                        log.error("workers keep dying at start; giving up")
                        return 1
                    time.sleep(RESTART_BACKOFF.delay(self._failed_starts))
                    self._spawn()
        except _Stop:
            return 0
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            self._stop_all()
            for fd in list(self._beats):
                self._forget_beats(fd)
            shutil.rmtree(self._metrics_dir, ignore_errors=True)

    def _stop_all(self) -> None:
        workers = [worker for worker, _ in self._workers.values()]
        for worker in workers:
            with contextlib.suppress(ProcessLookupError):
                worker.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for worker in workers:
            try:
                worker.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("worker %d did not stop in time; killing it", worker.pid)
                worker.kill()
                worker.wait()


def supervise(settings: Settings) -> int:
    """Run `settings.workers` relay processes on one port until told to stop; the exit status."""
    try:
        # A plain bind first: SO_REUSEPORT alone would join another process's sockets on the port.
        listen.check_free(settings.host, settings.port)
    except OSError as exc:
        log.error(listen.port_taken(settings.host, settings.port, exc))
        return 2
    return Supervisor(settings).run()
