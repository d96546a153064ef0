import pytest
from scrollr_relay.cursor import Cursor, CursorError, StreamId, new_epoch


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
