import pytest
from scrollr_relay.cursor import Cursor, StreamId
from scrollr_relay.sse import PING_FRAME, change_frame, frame, preamble, reset_frame


def test_change_frame_bytes():
    assert change_frame(Cursor("abc", StreamId(5, 1)), b'{"a":1}') == (
        b'id: abc-5-1\nevent: change\ndata: {"a":1}\n\n'
    )


def test_reset_frame_carries_the_head_as_its_id():
    assert reset_frame(Cursor("e2", StreamId(9, 0)), "history_lost") == (
        b'id: e2-9-0\nevent: reset\ndata: {"reason":"history_lost","cursor":"e2-9-0"}\n\n'
    )


def test_ping_and_preamble():
    assert PING_FRAME == b": ping\n\n"
    assert preamble(2000) == b"retry: 2000\n: connected\n\n"


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
