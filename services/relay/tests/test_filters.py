"""Stream filters as pure functions: parsing and bounds, matching by new and old row, equality."""

import msgspec
import pytest
from scrollr_relay.fanout.filters import (
    EVERY_ROW,
    MAX_FILTER_VALUES,
    FilterError,
    StreamFilter,
    filter_keys,
    parse_filter,
)


def change(table: str, record: dict, changes: dict | None = None) -> bytes:
    return msgspec.json.encode({"table": table, "action": "update", "record": record, "changes": changes})


def test_no_parameters_means_no_filter():
    assert parse_filter(b"", 64) is None
    assert parse_filter(b"lastEventId=x", 64) is None


def test_symbols_and_leagues_combine_with_topics():
    chosen = parse_filter(b"symbols=AAPL,BRK.B&leagues=NFL,Premier%20League&topics=trades,games", 64)
    assert chosen == StreamFilter(
        topics=frozenset({"trades", "games"}),
        symbols=frozenset({"AAPL", "BRK.B"}),
        leagues=frozenset({"NFL", "Premier League"}),
    )
    assert parse_filter(b"symbols=AAPL&symbols=MSFT", 64) == StreamFilter(symbols=frozenset({"AAPL", "MSFT"}))
    assert parse_filter(b"symbols=AAPL%2CMSFT", 64) == StreamFilter(symbols=frozenset({"AAPL", "MSFT"}))


def test_an_empty_list_follows_none():
    chosen = parse_filter(b"symbols=", 64)
    assert chosen == StreamFilter(symbols=frozenset())
    assert chosen is not None and not chosen.wants("trades", ("AAPL",)) and chosen.wants("games", ("NFL",))


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        (b"symbols=" + b"A" * 31, "valid symbol"),
        (b"leagues=" + b"L" * 51, "valid league"),
        (b"symbols=AA%0APL", "valid symbol"),
        (b"symbols=%3Cscript%3E", "valid symbol"),
        (b"symbols=-rf", "valid symbol"),
        (b"leagues=%FF", "percent-encoded UTF-8"),
        (b"symbols=" + ",".join(f"S{n}" for n in range(MAX_FILTER_VALUES + 1)).encode(), "at most"),
        (b"topics=", "at least one table"),
    ],
)
def test_bad_lists_are_refused_with_a_reason(query, reason):
    with pytest.raises(FilterError, match=reason):
        parse_filter(query, 64)


def test_a_change_matches_by_its_new_or_its_old_row():
    nfl = StreamFilter(leagues=frozenset({"NFL"}))
    moved = filter_keys("games", change("games", {"id": 1, "league": "NBA"}, {"league": "NFL"}))
    assert moved == ("NBA", "NFL") and nfl.wants("games", moved)  # it left NFL: the client sees it go
    stays = filter_keys("games", change("games", {"id": 2, "league": "NBA"}, {"home_team_score": 3}))
    assert stays == ("NBA",) and not nfl.wants("games", stays)
    assert nfl.wants(
        "trades", filter_keys("trades", change("trades", {"symbol": "AAPL"}))
    )  # no symbol filter
    assert filter_keys("users", change("users", {"symbol": "AAPL"})) == ()


def test_a_truncate_passes_every_filter_that_takes_its_table():
    truncate = msgspec.json.encode({"table": "trades", "action": "truncate", "record": {}, "changes": None})
    for table in ("trades", "users"):
        assert filter_keys(table, truncate) is EVERY_ROW
    assert StreamFilter(symbols=frozenset({"AAPL"})).wants("trades", EVERY_ROW)
    assert StreamFilter(symbols=frozenset(), leagues=frozenset({"NFL"})).wants("trades", EVERY_ROW)
    assert not StreamFilter(topics=frozenset({"games"})).wants("trades", EVERY_ROW)


def test_keys_of_odd_rows_are_empty_not_errors():
    assert filter_keys("trades", b"not json") == ()
    assert filter_keys("trades", change("trades", {"symbol": 5})) == ()
    assert filter_keys("trades", change("trades", {"symbol": {"nested": 1}}, None)) == ()
    only_aapl = StreamFilter(symbols=frozenset({"AAPL"}))
    assert not only_aapl.wants("trades", ())


def test_equal_filters_are_equal_values():
    a = parse_filter(b"symbols=MSFT,AAPL&leagues=NFL", 64)
    b = parse_filter(b"leagues=NFL&symbols=AAPL&symbols=MSFT", 64)
    assert a == b and hash(a) == hash(b)
