"""GET /snapshot on a real relay over a real Postgres: tables chosen by `topics`, bad choices refused."""

import httpx

from tests.support.pg import insert_trade


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
        assert response.status_code == 400 and response.json()["error"] == "bad_topics", bad
