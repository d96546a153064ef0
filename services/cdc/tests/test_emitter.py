"""The change emitter against a real Postgres (logical replication), real relays and a real Redis."""

import os
import subprocess
import sys
import threading

import httpx

from tests.support.faults import FlakyFront
from tests.support.pg import (
    cdc_env,
    execute,
    insert_trade,
    new_database,
    remove_cluster,
    slot_for,
    start_cluster,
    trade_prices,
)
from tests.support.procs import SECRET, CdcProcess, free_port, read_metric, wait_until
from tests.support.sse import open_stream
from tests.support.state import Rows


def bump_all(url, rounds, ids):
    """Each round: one transaction updating every row; returns nothing, the DB holds the truth."""
    for n in range(rounds):
        execute(url, "UPDATE trades SET price = %s WHERE id = ANY(%s)", (f"{100 + n}.00", ids))


def assert_ordered_per_row(events, rows_expected):
    """Per row, prices only increase (commit order), and the last one seen is the database's."""
    last: dict[str, str] = {}
    for event in events:
        data = event.json()
        key = str(data["record"]["id"])
        price = data["record"]["price"]
        if key in last:
            assert float(price) >= float(last[key]), f"row {key} went back from {last[key]} to {price}"
        last[key] = price
    assert last == rows_expected


def collect_until(client, done, timeout=60):
    events = []

    def finished():
        events.extend(e for e in [client.next(timeout=timeout)] if e.event == "change")
        return done(events)

    wait_until(finished, timeout=timeout, interval=0, what="events")
    return events


def assert_converges_in_commit_order(client, database_url):
    """The stream's changes (backfill aside) end at the database's prices, each row in commit order."""
    expected = trade_prices(database_url)

    def latest(events):
        return {str(e.json()["record"]["id"]): e.json()["record"]["price"] for e in events}

    events = collect_until(
        client, lambda ev: latest(e for e in ev if e.json()["action"] != "read") == expected
    )
    assert_ordered_per_row([e for e in events if e.json()["action"] != "read"], expected)


def test_insert_update_delete_reach_a_stream_as_three_events(database_url, start_relay, start_cdc):
    relay = start_relay({})
    client = open_stream(relay)
    start_cdc(cdc_env(database_url, relay.url)).wait_streaming()
    trade_id = insert_trade(database_url, "NVDA", "187.34")
    execute(database_url, "UPDATE trades SET price = 187.90, direction = 'up' WHERE id = %s", (trade_id,))
    execute(database_url, "DELETE FROM trades WHERE id = %s", (trade_id,))
    inserted, updated, deleted = (e.json() for e in client.events(3, timeout=20))
    assert [inserted["action"], updated["action"], deleted["action"]] == ["insert", "update", "delete"]
    assert inserted["record"]["symbol"] == "NVDA" and inserted["record"]["price"] == "187.34"
    assert inserted["changes"] is None
    assert updated["record"]["price"] == "187.90"
    assert updated["changes"] == {"price": "187.34", "direction": "flat"}
    assert deleted["record"]["price"] == "187.90" and deleted["changes"] is None
    assert inserted["commit_lsn"] < updated["commit_lsn"] < deleted["commit_lsn"]
    assert {e["table"] for e in (inserted, updated, deleted)} == {"trades"}


def test_existing_rows_are_backfilled_as_read(database_url, start_relay, start_cdc):
    ids = [insert_trade(database_url, f"OLD{n}") for n in range(3)]
    relay = start_relay({})
    client = open_stream(relay)
    start_cdc(cdc_env(database_url, relay.url)).wait_streaming()
    reads = client.events(3, timeout=20)
    assert {e.json()["action"] for e in reads} == {"read"}
    assert sorted(e.json()["record"]["id"] for e in reads) == ids


def test_sigkill_mid_burst_and_restart_loses_nothing(database_url, start_relay, start_cdc, redis_server):
    ids = [insert_trade(database_url, f"K{n}") for n in range(5)]
    relay = start_relay({"REDIS_URL": redis_server.url, "STREAM_KEY": "events:cdc-kill"})
    client = open_stream(relay)
    env = cdc_env(database_url, relay.url, CDC_BATCH_SIZE="3")
    emitter = start_cdc(env)
    emitter.wait_streaming()
    writer = threading.Thread(target=bump_all, args=(database_url, 60, ids))
    writer.start()
    wait_until(
        lambda: "accepted" in relay.log() and relay.log().count('"outcome":"accepted"') >= 5, what="burst"
    )
    emitter.kill()  # SIGKILL mid-burst
    writer.join()
    start_cdc(env).wait_streaming()
    assert_converges_in_commit_order(client, database_url)


def test_relay_restart_mid_burst_loses_nothing(database_url, start_relay, start_cdc, redis_server):
    ids = [insert_trade(database_url, f"R{n}") for n in range(5)]
    env = {"REDIS_URL": redis_server.url, "STREAM_KEY": "events:cdc-relay-restart"}
    relay = start_relay(env)
    watcher = start_relay(env)  # a second relay keeps the client's stream while the first restarts
    client = open_stream(watcher)
    start_cdc(cdc_env(database_url, relay.url)).wait_streaming()
    writer = threading.Thread(target=bump_all, args=(database_url, 60, ids))
    writer.start()
    wait_until(lambda: relay.log().count('"outcome":"accepted"') >= 5, what="burst")
    relay.kill()
    relay.start()
    writer.join()
    assert_converges_in_commit_order(client, database_url)


def test_relay_answering_500_for_a_while_loses_nothing(database_url, start_relay, start_cdc):
    ids = [insert_trade(database_url, f"F{n}") for n in range(3)]
    relay = start_relay({})
    client = open_stream(relay)
    front = FlakyFront(relay.url)
    try:
        emitter = start_cdc(cdc_env(database_url, front.url))
        emitter.wait_streaming()
        front.failing = True
        bump_all(database_url, 20, ids)
        wait_until(lambda: front.refused >= 3, what="refusals")
        wait_until(lambda: emitter.log().count("failed (HTTP 500") >= 3, what="each refusal logged")
        front.failing = False
        assert_converges_in_commit_order(client, database_url)
    finally:
        front.close()


def test_snapshot_then_stream_converges_under_concurrent_writes(database_url, start_relay, start_cdc):
    ids = [insert_trade(database_url, f"S{n}") for n in range(8)]
    relay = start_relay({"DATABASE_URL": database_url})
    start_cdc(cdc_env(database_url, relay.url)).wait_streaming()
    stop = threading.Event()

    def write():
        n = 0
        while not stop.is_set():
            n += 1
            execute(
                database_url,
                "UPDATE trades SET price = %s WHERE id = %s",
                (f"{200 + n}.00", ids[n % len(ids)]),
            )
            if n % 7 == 0:
                execute(
                    database_url,
                    "DELETE FROM trades WHERE id = (SELECT max(id) FROM trades WHERE symbol LIKE 'N%%')",
                )
                insert_trade(database_url, f"N{n}")

    writer = threading.Thread(target=write)
    writer.start()
    wait_until(lambda: relay.log().count('"outcome":"accepted"') >= 5, what="writes flowing")
    rows = Rows()
    client = rows.follow(relay.url)  # snapshot taken while writes go on
    wait_until(lambda: relay.log().count('"outcome":"accepted"') >= 20, what="more writes")
    stop.set()
    writer.join()
    marker = insert_trade(database_url, "MARKER")

    def caught_up():
        event = client.next(timeout=20)
        if event.event == "change":
            rows.apply(event)
        return str(marker) in rows.tables.get("trades", {})

    wait_until(caught_up, timeout=30, interval=0, what="marker")
    truth = {str(r[0]): f"{r[1]:.2f}" for r in execute(database_url, "SELECT id, price FROM trades")}
    assert {k: v["price"] for k, v in rows.tables["trades"].items()} == truth


def test_wal_level_not_logical_is_a_clear_error():
    cluster = start_cluster({"wal_level": "replica"})
    try:
        result = run_cdc(
            {"DATABASE_URL": cluster.url(), "RELAY_WEBHOOK_URL": "http://127.0.0.1:9/webhooks/sequin"}
        )
    finally:
        remove_cluster(cluster)
    assert result.returncode == 3
    assert "wal_level is 'replica', not 'logical'" in result.stderr


def run_cdc(env):
    return subprocess.run(
        [sys.executable, "-m", "scrollr_cdc"],
        env={**os.environ, "SEQUIN_WEBHOOK_SECRET": SECRET, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_missing_publication_is_a_clear_error(pg_cluster):
    url = pg_cluster.create_database("scrollr_no_publication")
    result = run_cdc({"DATABASE_URL": url})
    assert result.returncode == 3
    assert "publication 'scrollr' does not exist" in result.stderr


def test_a_database_without_the_emitters_own_tables_is_a_clear_error(database_url):
    execute(database_url, "DROP TABLE scrollr_cdc_parked")  # as if migrated by an older release
    result = run_cdc({"DATABASE_URL": database_url, "CDC_SLOT": slot_for(database_url)})
    assert result.returncode == 3
    assert "table scrollr_cdc_parked does not exist: apply the migrations" in result.stderr


def test_unreachable_relay_is_retried_with_each_failure_logged(database_url, start_cdc, start_relay):
    port = free_port()
    emitter = start_cdc(cdc_env(database_url, f"http://127.0.0.1:{port}"))
    insert_trade(database_url, "LATE")
    wait_until(lambda: emitter.log().count("ConnectError") >= 3, timeout=30, what="logged retries")
    assert emitter.proc is not None and emitter.proc.poll() is None  # still running, not crashed
    relay = start_relay({}, port=port)
    # LATE (as an insert, or a backfill read if it beat the slot) was held back, then delivered.
    wait_until(lambda: '"outcome":"accepted"' in relay.log(), timeout=30, what="the retried delivery")
    # The relay logs the batch before it answers; the emitter logs once the answer arrives.
    wait_until(lambda: "relay accepted the batch after" in emitter.log(), what="the emitter's log of it")
    emitter.wait_streaming()
    client = open_stream(relay)
    insert_trade(database_url, "AFTER")
    assert [e.json()["record"]["symbol"] for e in client.events(1, timeout=30)] == ["AFTER"]


def test_invalidated_slot_is_a_clear_error(tmp_path, start_relay):
    cluster = start_cluster({"max_slot_wal_keep_size": "1MB", "wal_keep_size": "0"})
    try:
        url = new_database(cluster)
        relay = start_relay({})
        emitter = CdcProcess(cdc_env(url, relay.url), log_dir=tmp_path).start()
        emitter.wait_streaming()
        emitter.kill()

        def lost():
            execute(
                url,
                "INSERT INTO trades (symbol, price) SELECT 'W' || g || random(), 1 FROM generate_series(1, 2000) g",
            )
            execute(url, "SELECT pg_switch_wal()")
            execute(url, "CHECKPOINT")
            return execute(url, "SELECT wal_status FROM pg_replication_slots")[0][0] == "lost"

        wait_until(lost, timeout=60, interval=0, what="slot invalidated")
        result = run_cdc(cdc_env(url, relay.url))
    finally:
        remove_cluster(cluster)
    assert result.returncode == 3
    assert "was invalidated" in result.stderr


def test_a_slot_of_another_database_is_a_clear_error_not_taken_over(
    pg_cluster, database_url, start_relay, start_cdc
):
    relay = start_relay({})
    start_cdc(cdc_env(database_url, relay.url)).wait_streaming()
    other = new_database(pg_cluster)
    result = run_cdc(cdc_env(other, relay.url, CDC_SLOT=slot_for(database_url)))
    assert result.returncode == 3
    assert f"replication slot '{slot_for(database_url)}' belongs to database" in result.stderr


def test_timestamps_out_of_pythons_range_reach_a_stream_and_the_snapshot(
    database_url, start_relay, start_cdc
):
    relay = start_relay({"DATABASE_URL": database_url})
    client = open_stream(relay)
    start_cdc(cdc_env(database_url, relay.url)).wait_streaming()
    starts = ["10000-01-01 00:00:00+00", "0044-03-15 12:00:00+00 BC", "infinity"]
    for n, start in enumerate(starts):
        execute(
            database_url,
            "INSERT INTO games (league, external_game_id, start_time) VALUES ('NFL', %s, %s)",
            (f"far-{n}", start),
        )
    insert_trade(database_url, "AFTER")  # the emitter is still up behind them
    events = [e.json() for e in client.events(4, timeout=30)]
    assert [e["record"].get("start_time") for e in events[:3]] == starts
    assert events[3]["record"]["symbol"] == "AFTER"
    response = httpx.get(f"{relay.url}/snapshot?topics=games", timeout=10)
    assert response.status_code == 200
    assert sorted(r["start_time"] for r in response.json()["rows"]["games"]) == sorted(starts)


def test_a_row_the_relay_refuses_is_parked_and_later_changes_of_other_rows_flow(
    database_url, start_relay, start_cdc, redis_server
):
    bus = {"REDIS_URL": redis_server.url, "STREAM_KEY": "events:cdc-parked"}
    relay = start_relay({**bus, "WEBHOOK_MAX_BODY_BYTES": "65536"})
    watcher = start_relay(bus)  # keeps the client's stream while the refusing relay is replaced
    client = open_stream(watcher)
    metrics_port = free_port()
    env = cdc_env(
        database_url, relay.url, CDC_PARKED_RETRY_MAX_SECONDS="1", CDC_METRICS_PORT=str(metrics_port)
    )
    emitter = start_cdc(env)
    emitter.wait_streaming()
    game = park_a_big_game(database_url, client)  # and a trade after it arrived
    rows = execute(database_url, "SELECT table_name, record_pks, reason FROM scrollr_cdc_parked ORDER BY id")
    assert [(r[0], r[1]) for r in rows] == [("games", [str(game)])] * 3
    assert rows[0][2].startswith("HTTP 413") and all(r[2].startswith("waiting behind") for r in rows[1:])
    assert f"parked a change of public.games key {game} at LSN " in emitter.log()
    metrics = f"http://127.0.0.1:{metrics_port}"
    wait_until(lambda: read_metric(metrics, "scrollr_cdc_parked_changes") == 3, what="the gauge")
    assert read_metric(metrics, "scrollr_cdc_parked_total") == 3
    # The relay's limit is raised: the parked changes go out by themselves, in commit order.
    relay.kill()
    start_relay({**bus}, port=relay.port)
    inserted, shrunk, scored = (e.json() for e in client.events(3, timeout=30))
    assert (inserted["action"], len(inserted["record"]["venue"])) == ("insert", 200_000)
    assert (shrunk["action"], shrunk["record"]["venue"]) == ("update", "small")
    assert (scored["action"], scored["record"]["home_team_score"]) == ("update", 3)
    wait_until(lambda: parked_count(database_url) == 0, what="the parking table emptied")


def test_truncate_reaches_every_stream_that_takes_the_table(database_url, start_relay, start_cdc):
    insert_trade(database_url, "KEEP")
    relay = start_relay({})
    everything, by_symbol, games_only = (
        open_stream(relay, query) for query in ("", "?symbols=OTHER", "?topics=games")
    )
    start_cdc(cdc_env(database_url, relay.url)).wait_streaming()
    assert everything.next(timeout=20).json()["action"] == "read"
    execute(database_url, "TRUNCATE trades")
    execute(database_url, "INSERT INTO games (league, external_game_id) VALUES ('NFL', 'after')")
    for client in (everything, by_symbol):
        truncate = client.next(timeout=20)
        assert truncate.event == "truncate" and truncate.id is not None
        assert (truncate.json()["table"], truncate.json()["action"]) == ("trades", "truncate")
    for client in (everything, games_only):  # in commit order after it; a games-only stream skips it
        inserted = client.next(timeout=20)
        assert (inserted.event, inserted.json()["table"]) == ("change", "games")


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM)."""
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


# Measured here (`pytest services/cdc/tests/test_emitter.py -s -k 100000`): an emitter peaks at about
# 55 MB sending these in batches; holding them, it peaked at 238 MB (backfill) and 220 MB (transaction).
PEAK_RSS_BOUND_MB = 120
MANY_ROWS = "INSERT INTO trades (symbol, price) SELECT %s || g, 1 FROM generate_series(1, 100000) g"


def test_a_100000_row_backfill_streams_in_bounded_memory(database_url, start_relay, start_cdc):
    execute(database_url, MANY_ROWS, ("B",))
    relay = start_relay({})
    emitter = start_cdc(cdc_env(database_url, relay.url, CDC_BATCH_SIZE="500"))
    emitter.wait_streaming(timeout=300)  # the backfill is delivered before streaming starts
    assert "finished: 100000 rows" in emitter.log()
    peak = peak_rss_mb(emitter.proc.pid)
    print(f"\nemitter peak RSS after a 100,000-row backfill: {peak:.1f} MB")
    assert peak < PEAK_RSS_BOUND_MB


def test_a_100000_row_transaction_streams_in_bounded_memory(database_url, start_relay, start_cdc):
    relay = start_relay({})
    emitter = start_cdc(cdc_env(database_url, relay.url, CDC_BATCH_SIZE="500"))
    emitter.wait_streaming()
    execute(database_url, MANY_ROWS, ("T",))  # one transaction
    (lsn,) = execute(database_url, "SELECT pg_current_wal_lsn()")[0]
    wait_until(
        lambda: execute(
            database_url,
            "SELECT confirmed_flush_lsn >= %s FROM pg_replication_slots WHERE slot_name = %s",
            (lsn, slot_for(database_url)),
        )[0][0],
        timeout=300,
        interval=0.5,
        what="the transaction delivered and confirmed",
    )
    peak = peak_rss_mb(emitter.proc.pid)
    print(f"\nemitter peak RSS after a 100,000-row transaction: {peak:.1f} MB")
    assert peak < PEAK_RSS_BOUND_MB


def park_a_big_game(database_url, client):
    """Insert a game over the relay's 64 kB body limit, shrink it (the update carries the old venue in
    `changes`, so it is as big), then change its score: all three end up parked."""
    (game,) = execute(
        database_url,
        "INSERT INTO games (league, external_game_id, venue) VALUES ('NFL', 'big', repeat('v', 200000)) "
        "RETURNING id",
    )[0]
    execute(database_url, "UPDATE games SET venue = 'small' WHERE id = %s", (game,))
    execute(database_url, "UPDATE games SET home_team_score = 3 WHERE id = %s", (game,))
    insert_trade(database_url, "AFTER")
    assert [e.json()["record"].get("symbol") for e in client.events(1, timeout=30)] == ["AFTER"]
    wait_until(lambda: parked_count(database_url) == 3, what="all three parked")
    return game


def parked_count(database_url):
    return execute(database_url, "SELECT count(*) FROM scrollr_cdc_parked")[0][0]


def test_an_operator_deleting_parked_changes_lets_the_rows_next_one_through(
    database_url, start_relay, start_cdc
):
    relay = start_relay({"WEBHOOK_MAX_BODY_BYTES": "65536"})
    client = open_stream(relay)
    start_cdc(cdc_env(database_url, relay.url, CDC_PARKED_RETRY_MAX_SECONDS="1")).wait_streaming()
    game = park_a_big_game(database_url, client)
    execute(
        database_url, "DELETE FROM scrollr_cdc_parked WHERE length(message) > 65536"
    )  # as the README says
    (updated,) = (e.json() for e in client.events(1, timeout=30))
    assert (updated["action"], updated["record"]["id"]) == ("update", game)
    assert (updated["record"]["venue"], updated["record"]["home_team_score"]) == ("small", 3)
    wait_until(lambda: parked_count(database_url) == 0, what="nothing parked")


def test_a_truncate_discards_the_tables_parked_changes(database_url, start_relay, start_cdc):
    relay = start_relay({"WEBHOOK_MAX_BODY_BYTES": "65536"})
    client = open_stream(relay)
    emitter = start_cdc(cdc_env(database_url, relay.url, CDC_PARKED_RETRY_MAX_SECONDS="1"))
    emitter.wait_streaming()
    park_a_big_game(database_url, client)
    execute(database_url, "TRUNCATE games")
    truncate = client.next(timeout=30)
    assert (truncate.event, truncate.json()["table"]) == ("truncate", "games")
    assert parked_count(database_url) == 0
    assert "TRUNCATE of public.games discarded 3 parked changes" in emitter.log()
