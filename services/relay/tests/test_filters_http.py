"""`symbols=` and `leagues=` over HTTP on real relays: /events delivers only the chosen rows (and rows
leaving them), resume honours the filter, /snapshot and /catalog agree with the database."""

import base64
import itertools
from typing import Any

import httpx

from tests.support.pg import execute, insert_trade
from tests.support.sequin import batch, post, trade_message
from tests.support.sse import open_stream

_lsn = itertools.count(90_000_000)


def game(game_id: int, league: str, old_league: str | None = None, score: int = 0) -> dict[str, Any]:
    lsn = next(_lsn)
    return {
        "record": {"id": game_id, "league": league, "home_team_score": score, "away_team_score": 0},
        "changes": {"league": old_league} if old_league else {"home_team_score": max(0, score - 1)},
        "action": "update",
        "metadata": {
            "table_schema": "public",
            "table_name": "games",
            "commit_timestamp": "2026-11-28T00:00:00Z",
            "commit_lsn": lsn,
            "commit_idx": 0,
            "idempotency_key": base64.b64encode(f"g{lsn}".encode()).decode(),
            "record_pks": [str(game_id)],
        },
    }


def trade(symbol: str, row_id: int) -> dict[str, Any]:
    return trade_message(symbol, "1.00", row_id=row_id, lsn=next(_lsn))


def rows(events: list[Any]) -> list[tuple[str, Any]]:
    return [
        (e.json()["table"], e.json()["record"].get("symbol") or e.json()["record"].get("league"))
        for e in events
    ]


def test_a_client_receives_only_its_symbols_and_leagues(redis_relay):
    mine = open_stream(redis_relay, "?symbols=AAPL,BRK.B&leagues=NFL")
    only_games = open_stream(redis_relay, "?topics=games&leagues=NBA")
    everything = open_stream(redis_relay)
    post(
        redis_relay.url,
        batch(trade("MSFT", 1), trade("AAPL", 2), game(10, "NBA"), game(11, "NFL"), trade("BRK.B", 3)),
    )
    assert len(everything.events(5)) == 5
    assert rows(mine.events(3)) == [("trades", "AAPL"), ("games", "NFL"), ("trades", "BRK.B")]
    assert rows(only_games.events(1)) == [("games", "NBA")]
    post(redis_relay.url, batch(trade("TSLA", 4), game(12, "NBA")))
    assert rows(mine.events(0)) == []
    post(redis_relay.url, batch(trade("AAPL", 2)))
    assert rows(mine.events(1)) == [("trades", "AAPL")]  # nothing else was queued before it


def test_a_row_leaving_the_filter_is_seen_leaving(redis_relay):
    nfl = open_stream(redis_relay, "?leagues=NFL")
    post(redis_relay.url, batch(game(20, "NBA", old_league="NFL"), game(21, "NBA", old_league="NHL")))
    post(redis_relay.url, batch(game(22, "NFL")))
    moved, marker = nfl.events(2)
    assert moved.json()["record"] == {"id": 20, "league": "NBA", "home_team_score": 0, "away_team_score": 0}
    assert marker.json()["record"]["id"] == 22  # game 21 never was NFL's


def test_resume_with_a_filter_replays_only_the_filtered_backlog(redis_relay):
    first = open_stream(redis_relay, "?symbols=AAPL")
    post(redis_relay.url, batch(trade("AAPL", 1)))
    seen = first.next()
    post(redis_relay.url, batch(trade("MSFT", 2), trade("AAPL", 1), trade("MSFT", 2), trade("AAPL", 1)))
    resumed = open_stream(redis_relay, "?symbols=AAPL", headers={"Last-Event-ID": seen.id})
    backlog = resumed.events(2)
    assert rows(backlog) == [("trades", "AAPL"), ("trades", "AAPL")]
    assert [e.id for e in backlog] == [e.id for e in first.events(2)]


def test_bad_filters_get_400_with_the_reason(redis_relay):
    for query, reason in (
        ("symbols=" + "A" * 31, "not a valid symbol"),
        ("leagues=%3Cb%3E", "not a valid league"),
        ("symbols=" + ",".join(f"S{n}" for n in range(300)), "at most 256"),
    ):
        response = httpx.get(f"{redis_relay.url}/events?{query}", timeout=5)
        assert response.status_code == 400 and reason in response.json()["error"], (query, response.text)
        response = httpx.head(f"{redis_relay.url}/events?{query}", timeout=5)
        assert response.status_code == 400, query


def test_snapshot_filters_like_the_stream(database_url, start_relay):
    relay = start_relay({"DATABASE_URL": database_url})
    for symbol in ("AAPL", "MSFT", "BRK.B"):
        insert_trade(database_url, symbol)
    for league, external in (("NFL", "1"), ("NBA", "2"), ("NHL", "3")):
        execute(
            database_url,
            "INSERT INTO games (league, external_game_id, state, home_team_score, away_team_score) "
            "VALUES (%s, %s, 'pre', 0, 0)",
            (league, external),
        )
    response = httpx.get(f"{relay.url}/snapshot", params={"symbols": "AAPL,BRK.B", "leagues": "NHL"})
    assert response.status_code == 200, response.text
    chosen = response.json()
    assert sorted(r["symbol"] for r in chosen["rows"]["trades"]) == ["AAPL", "BRK.B"]
    assert [r["league"] for r in chosen["rows"]["games"]] == ["NHL"]
    nothing = httpx.get(f"{relay.url}/snapshot", params={"symbols": "", "topics": "trades"}).json()
    assert nothing["rows"] == {"trades": []}
    bad = httpx.get(f"{relay.url}/snapshot", params={"leagues": "N" * 51})
    assert bad.status_code == 400 and "not a valid league" in bad.json()["detail"]


def test_catalog_serves_the_enabled_symbols_and_leagues(database_url, start_relay):
    relay = start_relay({"DATABASE_URL": database_url})
    response = httpx.get(f"{relay.url}/catalog")
    assert response.status_code == 200 and "max-age" in response.headers["cache-control"]
    # Cached publicly: every copy, with an Origin or without, must say it depends on it.
    assert response.headers["vary"] == "Origin"
    catalog = response.json()
    symbols = {s["symbol"]: s for s in catalog["symbols"]}
    assert len(symbols) == 32 and "SOL-USD" not in symbols  # disabled in the seed
    assert symbols["BTC-USD"] == {
        "symbol": "BTC-USD",
        "name": "Bitcoin",
        "category": "Crypto",
        "exchange": "Coinbase",
        "link": "https://www.coinbase.com/price/bitcoin",
    }
    leagues = {league["league"]: league for league in catalog["leagues"]}
    assert {"NFL", "NBA", "NHL", "MLB"} <= set(leagues)
    assert leagues["NFL"]["sport"] == "football" and leagues["NFL"]["season_months"] == [9, 10, 11, 12, 1, 2]
    # Every league offers its teams, whether or not it has a game today.
    assert {league: len(leagues[league]["teams"]) for league in ("NFL", "NBA", "NHL", "MLB")} == {
        "NFL": 32,
        "NBA": 30,
        "NHL": 32,
        "MLB": 30,
    }
    assert len(leagues["College Football"]["teams"]) >= 50
    assert {"code": "KC", "name": "Kansas City Chiefs"} in leagues["NFL"]["teams"]
    names = [team["name"] for team in leagues["MLB"]["teams"]]
    assert names == sorted(names)
    execute(database_url, "UPDATE tracked_symbols SET enabled = false WHERE symbol = 'BTC-USD'")
    assert "BTC-USD" not in {s["symbol"] for s in httpx.get(f"{relay.url}/catalog").json()["symbols"]}
