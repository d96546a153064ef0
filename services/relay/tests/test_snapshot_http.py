"""GET /snapshot on a real relay over a real Postgres: tables chosen by `topics`, bad choices refused."""

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest

from tests.support.pg import execute, insert_trade
from tests.support.procs import wait_until


def test_snapshot_gives_the_chosen_tables_and_refuses_unknown_ones(database_url, start_relay):
    relay = start_relay({"DATABASE_URL": database_url})
    trade_id = insert_trade(database_url, "SNAP", "12.50")
    everything = httpx.get(f"{relay.url}/snapshot").json()
    assert set(everything["rows"]) == {"trades", "games"}
    assert any(row["id"] == trade_id and row["price"] == "12.50" for row in everything["rows"]["trades"])
    trades_only = httpx.get(f"{relay.url}/snapshot", params={"topics": "trades"}).json()
    assert set(trades_only["rows"]) == {"trades"}
    for bad in ("users", "DROP;TABLE", ""):
        response = httpx.get(f"{relay.url}/snapshot", params={"topics": bad})
        assert response.status_code == 400 and response.json()["error"] == "bad_filter", bad


def test_the_first_snapshot_after_a_postgres_restart_succeeds(database_url, pg_cluster, start_relay):
    relay = start_relay({"DATABASE_URL": database_url})
    assert httpx.get(f"{relay.url}/snapshot", timeout=10).status_code == 200  # a pooled connection now
    pg_cluster.stop("fast")
    pg_cluster.start()
    response = httpx.get(f"{relay.url}/snapshot", timeout=10)
    assert response.status_code == 200, response.text


def test_a_database_error_answers_a_generic_503_and_logs_the_detail(database_url, start_relay):
    relay = start_relay({"DATABASE_URL": database_url})
    execute(database_url, "DROP TABLE games")
    response = httpx.get(f"{relay.url}/snapshot", timeout=10)
    assert response.status_code == 503
    assert response.json()["error"] == "database_unavailable"
    for leak in ("games", "SELECT", "relation", "127.0.0.1"):
        assert leak not in response.text, leak
    wait_until(lambda: 'relation "public.games" does not exist' in relay.log(), what="the detail logged")


@pytest.mark.parametrize("path", ["/snapshot", "/catalog"])
def test_the_first_request_after_a_postgres_restart_succeeds_with_a_full_pool(
    database_url, pg_cluster, start_relay, path
):
    relay = start_relay({"DATABASE_URL": database_url})
    with psycopg.connect(database_url) as blocker:
        # Four snapshots wait on this lock at once, so the pool opens all four of its connections.
        blocker.execute("LOCK TABLE games IN ACCESS EXCLUSIVE MODE")
        with ThreadPoolExecutor(4) as pool:
            waiting = [pool.submit(httpx.get, f"{relay.url}/snapshot", timeout=30) for _ in range(4)]
            wait_until(
                lambda: execute(database_url, "SELECT count(*) FROM pg_locks WHERE NOT granted")[0][0] >= 4,
                what="four snapshots waiting on the lock",
            )
            blocker.rollback()
            assert [f.result().status_code for f in waiting] == [200] * 4
    pg_cluster.stop("fast")
    pg_cluster.start()
    started = time.monotonic()
    response = httpx.get(f"{relay.url}{path}", timeout=10)
    assert response.status_code == 200, response.text
    assert time.monotonic() - started < 4  # not the pool's 5 s wait for a connection
