"""preferences.py: what a PUT may store, and which version it replaces."""

import msgspec
import pytest
from scrollr_relay.accounts.preferences import (
    Catalog,
    Precondition,
    Preferences,
    PreferencesError,
    Row,
    check_preferences,
    etag,
    parse_precondition,
    stored,
)

CATALOG = Catalog(symbols=frozenset({"AAPL", "MSFT", "BRK.B"}), leagues=frozenset({"NFL", "NBA"}))


def prefs(**fields):
    return msgspec.convert({"symbols": ["AAPL"], "leagues": ["NFL"], **fields}, Preferences)


def test_catalog_values_are_kept_sorted_without_duplicates():
    chosen = check_preferences(prefs(symbols=["MSFT", "AAPL", "MSFT"], leagues=None), CATALOG)
    assert chosen.symbols == ["AAPL", "MSFT"]
    assert chosen.leagues is None  # every league


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"symbols": ["AAPL", "NOPE"]}, "'NOPE'"),
        ({"leagues": ["NHL"]}, "'NHL'"),
        ({"favouriteTeams": {"MLS": "LA Galaxy"}}, "'MLS'"),
        ({"favouriteTeams": {"NFL": ""}}, "'NFL'"),
        ({"symbols": [f"S{i}" for i in range(300)]}, "300 values"),
        ({"feedBar": {"allow": ["x" * 5000]}}, "feedBar"),
    ],
)
def test_a_value_the_catalog_does_not_allow_is_named(fields, named):
    with pytest.raises(PreferencesError, match=named):
        check_preferences(prefs(**fields), CATALOG)


@pytest.mark.parametrize(
    "body",
    [
        {"symbols": ["AAPL"], "leagues": [], "colour": "red"},
        {"symbols": "AAPL", "leagues": []},
        {"symbols": [], "leagues": [], "updateSpeed": "fast"},
        {"symbols": [], "leagues": [], "display": {"sort": "random"}},
        {"leagues": []},
    ],
)
def test_a_malformed_body_does_not_decode(body):
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(msgspec.json.encode(body), type=Preferences)


@pytest.mark.parametrize(
    ("if_match", "if_none_match", "expected"),
    [
        (None, None, None),
        ('"7"', None, Precondition(version=7)),
        ("*", None, Precondition(exists=True)),
        (None, "*", Precondition(exists=False)),
        (None, '"3"', None),
        ('W/"7"', None, Precondition(version=-1)),
        ('"abc"', None, Precondition(version=-1)),
    ],
)
def test_preconditions(if_match, if_none_match, expected):
    assert parse_precondition(if_match, if_none_match) == expected


def test_a_row_reads_as_the_client_json_with_its_version_as_etag():
    row = msgspec.convert(
        {
            "sub": "u",
            "symbols": ["AAPL"],
            "leagues": None,
            "favourite_teams": {"NFL": "KC"},
            "update_speed": "1s",
            "display": {},
            "feed_bar": {"edge": "top"},
            "version": 4,
            "updated_at": "2026-12-05T10:00:00.000000Z",
        },
        Row,
    )
    body = msgspec.to_builtins(stored(row))
    assert body["favouriteTeams"] == {"NFL": "KC"} and body["updateSpeed"] == "1s"
    assert body["display"]["showUpcoming"] is True
    assert etag(row.version) == '"4"'
