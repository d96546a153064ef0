import pytest
from scrollr_relay.bus.cursor import Cursor, CursorError, StreamId, new_epoch


def test_round_trip_and_order():
    cursor = Cursor.parse("k3f9x2ab-1700000000000-12")
    assert cursor == Cursor("k3f9x2ab", StreamId(1700000000000, 12))
    assert str(cursor) == "k3f9x2ab-1700000000000-12"
    assert StreamId(1, 9) < StreamId(2, 0) < StreamId(2, 1)


@pytest.mark.parametrize(
    "raw", ["", "abc", "abc-1", "abc-1-x", "ABC-1-1", "a b-1-1", "abc--1-1", "abc-1-1-1"]
)
def test_malformed_cursors_are_refused(raw):
    with pytest.raises(CursorError):
        Cursor.parse(raw)


def test_epochs_are_valid_cursor_epochs_and_differ():
    epochs = {new_epoch() for _ in range(50)}
    assert len(epochs) == 50
    for epoch in epochs:
        assert Cursor.parse(f"{epoch}-1-0").epoch == epoch


@pytest.mark.parametrize(
    "raw",
    [
        "abc-1\u00b2-0",  # passes str.isdigit(), refused by int()
        "abc-1-\u0663",  # an Arabic-Indic digit
        "abc-" + "1" * 5000 + "-0",  # past int()'s digit limit
        "abc-18446744073709551616-0",  # 2^64: no Redis stream id is that large
        "abc-0-18446744073709551616",
        "abc\n-1-0",  # `$` would have let a newline through into the SSE id
        "abc-1\n-0",
    ],
)
def test_cursors_outside_what_a_stream_id_can_be_are_refused(raw):
    with pytest.raises(CursorError):
        Cursor.parse(raw)


def test_the_largest_stream_id_parses():
    assert Cursor.parse("abc-18446744073709551615-18446744073709551615").position == StreamId(
        2**64 - 1, 2**64 - 1
    )
