"""Topics: the table a change comes from, and the filters clients subscribe with.

A topic is a Postgres table name as Sequin sends it (`metadata.table_name`). Postgres allows any
character but NUL in a quoted identifier, up to 63 bytes (NAMEDATALEN - 1), so `OrderItems` and
`trade_history$2026` are topics too. The webhook refuses what no table can be called, and a filter
accepts every name the webhook publishes. In `topics=a,b` commas separate names, so a name that holds
a comma is sent percent-encoded (`%2C`): the list is split before it is decoded.

Pure: no I/O, shared by `/events`, `/snapshot` and the webhook.
"""

from __future__ import annotations

from urllib.parse import unquote_plus

MAX_TOPIC_BYTES = 63


class TopicError(ValueError):
    """A topic name or a topic filter is invalid; the message says why."""


def topic_problem(name: str) -> str | None:
    """Why no Postgres table can be called `name`, or None if one can."""
    if not name:
        return "is empty"
    if "\0" in name:
        return "contains NUL"
    if len(name.encode("utf-8", "surrogatepass")) > MAX_TOPIC_BYTES:
        return f"is longer than {MAX_TOPIC_BYTES} bytes"
    return None


def raw_query(query_string: bytes) -> dict[str, list[str]]:
    """Query parameters by decoded name, their values still percent-encoded."""
    try:
        text = query_string.decode("ascii")
    except UnicodeDecodeError:
        raise TopicError("the query string must be percent-encoded ASCII") from None
    params: dict[str, list[str]] = {}
    for part in text.split("&"):
        if part:
            name, _, value = part.partition("=")
            params.setdefault(unquote_plus(name), []).append(value)
    return params


def decode_value(raw: str) -> str:
    """One percent-encoded value, as UTF-8."""
    try:
        return unquote_plus(raw, errors="strict")
    except UnicodeDecodeError:
        raise TopicError(f"{raw[:64]!r} is not percent-encoded UTF-8") from None


def parse_topic_filter(raw_values: list[str], max_topics: int) -> frozenset[str]:
    """`topics=trades,games` (possibly repeated, values still percent-encoded) as a set of names."""
    names = {decode_value(part) for value in raw_values for part in value.split(",") if part}
    if not names:
        raise TopicError("topics must name at least one table, e.g. topics=trades,games")
    if len(names) > max_topics:
        raise TopicError(f"topics names {len(names)} tables; at most {max_topics} are allowed")
    for name in names:
        problem = topic_problem(name)
        if problem is not None:
            raise TopicError(f"topic {name[:64]!r} {problem}: no table can be called that")
    return frozenset(names)
