"""Topic names and filters: any name a Postgres table can have is publishable and subscribable."""

import pytest
from scrollr_relay.fanout.filters import FilterError, parse_filter
from scrollr_relay.topics import TopicError, parse_topic_filter, topic_problem


def query_topics(query: bytes, max_topics: int) -> frozenset[str] | None:
    """The topics a request's query string chooses, as /events and /snapshot parse it."""
    chosen = parse_filter(query, max_topics)
    return None if chosen is None else chosen.topics


POSTGRES_NAMES = [
    "trades",
    "OrderItems",
    "trade_history$2026",
    "DROP;TABLE",
    "a,b",
    "a b",
    "é" * 31,
    "x" * 63,
]


@pytest.mark.parametrize("name", POSTGRES_NAMES)
def test_every_name_a_table_can_have_is_a_topic_and_can_be_subscribed_to(name):
    from urllib.parse import quote

    assert topic_problem(name) is None
    assert query_topics(f"topics={quote(name, safe='')}".encode(), 64) == {name}


@pytest.mark.parametrize("name", ["", "a\0b", "x" * 64, "é" * 32])
def test_names_no_table_can_have_are_refused(name):
    assert topic_problem(name) is not None


def test_a_filter_splits_before_decoding_so_commas_in_names_survive():
    assert query_topics(b"topics=a%2Cb,games&topics=trades", 64) == {"a,b", "games", "trades"}


def test_no_filter_means_every_topic():
    assert query_topics(b"lastEventId=x", 64) is None


@pytest.mark.parametrize(
    "query",
    [b"topics=", b"topics=,", b"topics=%FF", b"topics=a%00", b"topics=" + b"x" * 64, "topics=é".encode()],
)
def test_bad_filters_are_refused(query):
    with pytest.raises(FilterError):
        query_topics(query, 64)


def test_a_filter_is_capped():
    names = [f"t{n}" for n in range(5)]
    assert parse_topic_filter([",".join(names)], 5) == set(names)
    with pytest.raises(TopicError, match="at most 4"):
        parse_topic_filter([",".join(names)], 4)
