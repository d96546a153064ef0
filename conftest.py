"""Fixtures shared by every test suite (private Redis servers, relay processes, Postgres clusters,
Chromium) and the test layers, as markers: `unit` (in process), `process` (starts servers),
`browser` (drives Chromium), `bench` (fan-out against nchan). `just test-fast` runs `unit` only."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright
from scrollr_cdc.localpg import LocalPostgres

from tests.support.browser import ARGS, CHROMIUM, WEB_DIST
from tests.support.oidc import DevProvider
from tests.support.pg import drop_slot, new_database, remove_cluster, start_cluster
from tests.support.procs import CdcProcess, RedisServer, RelayProcess
from tests.support.redis_topologies import Cluster, SentinelSet

# A test that uses one of these starts real processes.
PROCESS_FIXTURES = {
    "redis_server",
    "fresh_redis",
    "start_relay",
    "redis_relay",
    "workers_relay",
    "pg_cluster",
    "database_url",
    "start_cdc",
    "redis_cluster",
    "redis_sentinel",
    "fresh_cluster",
    "fresh_sentinel",
    "socket_postgres",
    "dev_provider",
}
LAYERS = ("unit", "process", "browser", "bench")


def pytest_configure(config: pytest.Config) -> None:
    for layer in LAYERS:
        config.addinivalue_line("markers", f"{layer}: a test of the {layer} layer (conftest.py)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test gets exactly one layer, from where it lives and the fixtures it uses."""
    for item in items:
        path = str(item.path)
        if any(item.get_closest_marker(layer) for layer in LAYERS):
            continue  # the test names its layer itself
        if "/tests/bench/" in path:
            layer = "bench"
        elif item.get_closest_marker("browser") or "/tests/e2e/" in path:
            layer = "browser"
        elif PROCESS_FIXTURES & set(getattr(item, "fixturenames", ())):
            layer = "process"
        else:
            layer = "unit"
        item.add_marker(layer)


class Server(Protocol):
    def start(self) -> Any: ...
    def stop(self) -> None: ...


S = TypeVar("S", bound=Server)


def running(server: S) -> Iterator[S]:
    """A fixture's server: started, handed to the tests, stopped after them."""
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    yield from running(RedisServer())


@pytest.fixture
def fresh_redis() -> Iterator[RedisServer]:
    """A Redis of this test's own, for tests that stop or restart it."""
    yield from running(RedisServer())


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[Cluster]:
    """A Redis Cluster (3 masters, 3 replicas) shared by the tests that don't fail it over."""
    yield from running(Cluster())


@pytest.fixture
def fresh_cluster() -> Iterator[Cluster]:
    """A Redis Cluster of this test's own, for tests that kill its nodes."""
    yield from running(Cluster())


@pytest.fixture(scope="session")
def redis_sentinel() -> Iterator[SentinelSet]:
    """A Sentinel-managed master and replica shared by the tests that don't fail it over."""
    yield from running(SentinelSet())


@pytest.fixture
def fresh_sentinel() -> Iterator[SentinelSet]:
    """A Sentinel-managed master and replica of this test's own, for tests that kill the master."""
    yield from running(SentinelSet())


@pytest.fixture(scope="session")
def dev_provider() -> Iterator[DevProvider]:
    """The development OpenID provider (services/oidc-dev), signing with a key tests also hold."""
    yield from running(DevProvider())


@pytest.fixture
def start_relay(tmp_path: Path) -> Iterator[Callable[..., RelayProcess]]:
    relays: list[RelayProcess] = []

    def start(env: dict[str, str] | None = None, **kwargs: object) -> RelayProcess:
        relay = RelayProcess(env or {}, log_dir=tmp_path, **kwargs)  # type: ignore[arg-type]
        relays.append(relay)
        return relay.start()

    yield start
    for relay in relays:
        relay.kill()


@pytest.fixture
def redis_relay(
    start_relay: Callable[..., RelayProcess], redis_server: RedisServer, request: pytest.FixtureRequest
) -> RelayProcess:
    """A relay on the shared test Redis, with a stream key of this test's own."""
    key = f"events:{request.node.name}"[:100]
    return start_relay({"REDIS_URL": redis_server.url, "STREAM_KEY": key, "SSE_HEARTBEAT_SECONDS": "0.5"})


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[LocalPostgres]:
    """A PostgreSQL cluster of the test run's own, with wal_level=logical."""
    cluster = start_cluster()
    yield cluster
    remove_cluster(cluster)


@pytest.fixture(scope="module")
def socket_postgres() -> Iterator[tuple[LocalPostgres, Path]]:
    """A cluster that also listens on a Unix socket, which every network namespace can reach."""
    sockets = Path(tempfile.mkdtemp(prefix="scrollr-pgsock-"))
    shutil.chown(sockets, "postgres")
    sockets.chmod(0o755)
    cluster = start_cluster({"unix_socket_directories": f"'{sockets}'"})
    yield cluster, sockets
    remove_cluster(cluster)
    shutil.rmtree(sockets, ignore_errors=True)


@pytest.fixture
def database_url(pg_cluster: LocalPostgres) -> str:
    """A fresh, migrated database of this test's own."""
    return new_database(pg_cluster)


@pytest.fixture
def start_cdc(tmp_path: Path) -> Iterator[Callable[..., CdcProcess]]:
    emitters: list[CdcProcess] = []

    def start(env: dict[str, str]) -> CdcProcess:
        emitter = CdcProcess(env, log_dir=tmp_path)
        emitters.append(emitter)
        return emitter.start()

    yield start
    for emitter in emitters:
        emitter.kill()
    # Slots are the cluster's, shared by every test database: let go of this test's, or the
    # cluster's max_replication_slots runs out as the suite grows.
    for emitter in emitters:
        if "CDC_SLOT" in emitter.env and "DATABASE_URL" in emitter.env:
            drop_slot(emitter.env["DATABASE_URL"], emitter.env["CDC_SLOT"])


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """One Playwright per test module: its sync API can't be started twice at once, and its loop
    must be closed again before asyncio tests run in this thread, whatever order files run in."""
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    assert (WEB_DIST / "sse-worker.js").exists(), "web/dist is not built: run `just web` (just test does)"
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
    yield chromium
    chromium.close()
