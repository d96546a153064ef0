import pytest
from scrollr_relay.bus.cursor import Cursor, StreamId
from scrollr_relay.fanout.sse import (
    change_frame,
    frame,
    heartbeat_frame,
    preamble,
    reset_frame,
    truncate_frame,
)

from tests.support.sse import Parser


def test_change_frame_bytes():
    assert change_frame(Cursor("abc", StreamId(5, 1)), b'{"a":1}') == (
        b'id: abc-5-1\nevent: change\ndata: {"a":1}\n\n'
    )


def test_truncate_frame_is_a_change_under_its_own_event_name():
    assert truncate_frame(Cursor("abc", StreamId(5, 2)), b'{"table":"trades"}') == (
        b'id: abc-5-2\nevent: truncate\ndata: {"table":"trades"}\n\n'
    )


def test_reset_frame_carries_the_head_as_its_id():
    assert reset_frame(Cursor("e2", StreamId(9, 0)), "history_lost") == (
        b'id: e2-9-0\nevent: reset\ndata: {"reason":"history_lost","cursor":"e2-9-0"}\n\n'
    )


def test_heartbeat_is_a_comment_for_proxies_and_an_event_for_browsers():
    beat = heartbeat_frame(15)
    assert beat == b': ping\nevent: heartbeat\ndata: {"interval_ms":15000}\n\n'
    delayed = heartbeat_frame(15, delayed=True)
    assert delayed == b': ping\nevent: heartbeat\ndata: {"interval_ms":15000,"delayed":true}\n\n'
    parser = Parser()
    (message,) = parser.feed(beat)
    assert parser.comments == ["ping"]  # what `curl -N` and proxies see
    assert (message.event, message.id, message.json()) == (
        "heartbeat",
        None,
        {"interval_ms": 15000},
    )  # no id: the cursor stays


def test_preamble_says_the_protocol_and_the_heartbeat_interval_at_once():
    assert preamble(2000, 0.5) == (
        b"retry: 2000\n: connected\n\n"
        + b'event: protocol\ndata: {"version":1,"oldest_client":1}\n\n'
        + heartbeat_frame(0.5)
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"event": "a\nb", "data": b"{}"},
        {"event": "x", "data": b"{}", "event_id": "1\r2"},
        {"event": "x", "data": b"{\n}"},
    ],
)
def test_newlines_that_would_inject_fields_are_refused(kwargs):
    with pytest.raises(ValueError, match="SSE"):
        frame(**kwargs)
