"""WORKERS=N: several relay processes on one port, on one Redis, supervised by `scrollr-relay`."""

import contextlib
import os
import signal
import subprocess
import tempfile
from pathlib import Path

import httpx
import pytest
from scrollr_relay.serve.workers import METRICS_DIR_PREFIX, remove_stale_metrics_dirs

from tests.support.procs import RelayProcess, wait_until
from tests.support.sequin import publish
from tests.support.sse import StreamClosed, open_stream


def workers_of(relay) -> set[int]:
    out = subprocess.run(["pgrep", "-P", str(relay.proc.pid)], capture_output=True, text=True, check=False)
    return {int(pid) for pid in out.stdout.split()}


def alive(pid: int) -> bool:
    return subprocess.run(["kill", "-0", str(pid)], capture_output=True, check=False).returncode == 0


@pytest.fixture
def workers_relay(start_relay, redis_server, request):
    key = f"events:{request.node.name}"[:100]
    relay = start_relay({"REDIS_URL": redis_server.url, "STREAM_KEY": key, "WORKERS": "2"})
    wait_until(lambda: len(workers_of(relay)) == 2, what="two workers")
    return relay


def test_workers_share_the_port_the_stream_and_the_metrics(workers_relay):
    clients = [open_stream(workers_relay) for _ in range(8)]
    publish(workers_relay, "A")
    for client in clients:
        assert client.next().json()["record"]["symbol"] == "A"
    # Whichever worker answers /metrics, it counts for both.
    for _ in range(4):
        assert workers_relay.metric("scrollr_open_streams") == 8
        assert workers_relay.metric("scrollr_deliveries_total") == 8
        assert workers_relay.metric("scrollr_bus_up") == 1


def streams_held_by(pid: int, port: int) -> int:
    """Established connections to `port` whose server side belongs to process `pid`."""
    out = subprocess.run(
        ["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
        capture_output=True,
        text=True,
        check=True,
    )
    return sum(f"pid={pid}," in line for line in out.stdout.splitlines())


def test_a_dead_worker_is_replaced_and_its_clients_resume(workers_relay):
    clients = [open_stream(workers_relay) for _ in range(8)]
    publish(workers_relay, "A")
    last_ids = [client.next().id for client in clients]
    before = workers_of(workers_relay)
    held = {pid: streams_held_by(pid, workers_relay.port) for pid in before}
    assert sum(held.values()) == 8
    victim = max(held, key=held.__getitem__)  # the worker with the most streams: at least 4
    subprocess.run(["kill", "-KILL", str(victim)], check=True)
    wait_until(lambda: len(workers_of(workers_relay) - before) == 1, what="a replacement worker")
    assert victim not in workers_of(workers_relay)
    publish(workers_relay, "B")
    moved = 0
    for client, last_id in zip(clients, last_ids, strict=True):
        try:
            message = client.next()
        except StreamClosed:  # it was on the dead worker: reconnect from where it was
            moved += 1
            message = open_stream(workers_relay, headers={"Last-Event-ID": last_id}).next()
        assert message.json()["record"]["symbol"] == "B"
    assert "exited with -9" in workers_relay.log()
    assert moved == held[victim]  # exactly the killed worker's clients had to reconnect


def test_sigterm_ends_every_worker(workers_relay):
    workers = workers_of(workers_relay)
    client = open_stream(workers_relay)
    assert workers_relay.terminate() == 0
    assert not any(alive(pid) for pid in workers)
    with pytest.raises(StreamClosed):
        client.next(timeout=5)


def metrics_dirs_of(pid: int) -> list[Path]:
    return list(Path(tempfile.gettempdir()).glob(f"{METRICS_DIR_PREFIX}{pid}-*"))


def test_workers_do_not_outlive_a_killed_supervisor_and_its_metrics_are_cleaned_up_later(
    workers_relay, start_relay, redis_server
):
    workers = workers_of(workers_relay)
    supervisor = workers_relay.proc.pid
    assert metrics_dirs_of(supervisor)
    workers_relay.proc.send_signal(signal.SIGKILL)
    workers_relay.proc.wait()
    wait_until(lambda: not any(alive(pid) for pid in workers), what="workers to stop")
    assert metrics_dirs_of(supervisor), "a SIGKILLed supervisor can't clean up after itself"
    successor = start_relay({"REDIS_URL": redis_server.url, "STREAM_KEY": "events:successor", "WORKERS": "2"})
    wait_until(lambda: len(workers_of(successor)) == 2, what="two workers")
    assert not metrics_dirs_of(supervisor)
    assert metrics_dirs_of(successor.proc.pid)


def test_only_the_metrics_of_dead_supervisors_are_removed(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f"{METRICS_DIR_PREFIX}{dead.pid}-abc"
    mine = tmp_path / f"{METRICS_DIR_PREFIX}{os.getpid()}-abc"
    unrelated = tmp_path / f"{METRICS_DIR_PREFIX}notapid-abc"
    for path in (stale, mine, unrelated):
        path.mkdir()
    assert remove_stale_metrics_dirs(str(tmp_path)) == [str(stale)]
    assert not stale.exists() and mine.exists() and unrelated.exists()


def answered(relay, count: int) -> int:
    """How many of `count` fresh connections get their /healthz answered within 5 s."""
    ok = 0
    for _ in range(count):
        with contextlib.suppress(httpx.HTTPError):
            ok += (
                httpx.get(f"{relay.url}/healthz", timeout=5, headers={"Connection": "close"}).status_code
                == 200
            )
    return ok


def serving(relay, count: int) -> bool:
    return relay.log().count("Application startup complete") == count


def test_a_frozen_worker_is_replaced_within_the_worker_timeout(workers_relay):
    # Both serving, so both speak: a worker frozen before its first word has START_TIMEOUT_SECONDS.
    wait_until(lambda: serving(workers_relay, 2), timeout=30, what="both workers serving")
    before = workers_of(workers_relay)
    frozen = min(before)
    os.kill(frozen, signal.SIGSTOP)  # alive, its socket still in the port's group, answering nothing
    try:
        # The check: 15 s after the freeze, 38 of 40 new connections are answered.
        wait_until(lambda: frozen not in workers_of(workers_relay), timeout=15, what="the frozen worker gone")
        wait_until(lambda: len(workers_of(workers_relay)) == 2, timeout=15, what="a replacement worker")
        wait_until(lambda: serving(workers_relay, 3), timeout=30, what="the replacement serving")
        assert answered(workers_relay, 40) >= 38
        assert "silent for" in workers_relay.log()
        assert workers_relay.metric("scrollr_workers_killed_silent") == 1
    finally:
        if alive(frozen):
            os.kill(frozen, signal.SIGCONT)


def refused_start(start_env: dict[str, str], port: int, tmp_path) -> str:
    """Start a relay on a port another already serves; its log, once it has exited with status 2."""
    second = RelayProcess(start_env, log_dir=tmp_path, port=port).start(wait=False)
    assert second.proc is not None
    try:
        assert second.proc.wait(30) == 2
    finally:
        second.kill()
    return second.log()


@pytest.mark.parametrize(("first_workers", "second_workers"), [("1", "2"), ("2", "2"), ("2", "1")])
def test_a_relay_refuses_a_port_another_already_serves_in_one_line(
    start_relay, redis_server, tmp_path, first_workers, second_workers
):
    env = {"REDIS_URL": redis_server.url, "STREAM_KEY": "events:port-taken"}
    first = start_relay({**env, "WORKERS": first_workers})
    log = refused_start({**env, "WORKERS": second_workers}, first.port, tmp_path)
    assert "cannot listen on 127.0.0.1:" in log and "Address already in use" in log, log
    assert "Traceback" not in log, log
    # The first relay still answers every request itself (a joined group would take some of them).
    assert answered(first, 20) == 20
