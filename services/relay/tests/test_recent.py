"""The window of recently fanned-out frames that resumes are served from (pure)."""

from scrollr_relay.cursor import Cursor, StreamId
from scrollr_relay.filters import StreamFilter
from scrollr_relay.recent import RecentFrames


def frame(n: int, topic: str = "trades", keys: tuple[str, ...] = ()) -> tuple:
    return (StreamId(n, 0), topic, f"<{n}>".encode(), keys)


def window(capacity: int = 100) -> RecentFrames:
    recent = RecentFrames(capacity)
    recent.restart(Cursor("e", StreamId(0, 0)))
    recent.extend([frame(n) for n in range(1, 6)])
    return recent


def test_a_cursor_inside_the_window_gets_the_frames_after_it():
    recent = window()
    assert [f[0].ms for f in recent.after(Cursor("e", StreamId(2, 0)))] == [3, 4, 5]
    assert [f[0].ms for f in recent.after(Cursor("e", StreamId(0, 0)))] == [1, 2, 3, 4, 5]
    assert recent.after(Cursor("e", StreamId(5, 0))) == []
    assert recent.after(Cursor("e", StreamId(2, 7))) == recent.after(Cursor("e", StreamId(2, 0)))


def test_outside_the_window_the_bus_decides():
    recent = window()
    assert recent.after(Cursor("other", StreamId(2, 0))) is None  # another history: a reset, maybe
    assert recent.after(Cursor("e", StreamId(6, 0))) is None  # ahead of this process's reader
    fresh = RecentFrames()
    assert fresh.after(Cursor("e", StreamId(1, 0))) is None  # before the hub started


def test_the_window_keeps_its_capacity_and_forgets_older_positions():
    recent = RecentFrames(capacity=3)
    recent.restart(Cursor("e", StreamId(0, 0)))
    recent.extend([frame(n) for n in range(1, 8)])  # past twice the capacity: trimmed to the last 3
    assert recent.after(Cursor("e", StreamId(3, 0))) is None  # older than the window now
    assert [f[0].ms for f in recent.after(Cursor("e", StreamId(4, 0)))] == [5, 6, 7]
    recent.restart(Cursor("n", StreamId(0, 5)))  # a new history
    assert recent.after(Cursor("e", StreamId(6, 0))) is None
    assert recent.after(Cursor("n", StreamId(0, 5))) == []


def test_one_backlog_per_point_and_filter_shared_by_every_client():
    recent = RecentFrames()
    recent.restart(Cursor("e", StreamId(0, 0)))
    recent.extend([frame(1, keys=("AAPL",)), frame(2, keys=("MSFT",)), frame(3, "games", ("NFL",))])
    cursor = Cursor("e", StreamId(0, 0))
    everything = recent.backlog(cursor, None)
    assert everything == (b"<1><2><3>", StreamId(3, 0))
    assert recent.backlog(cursor, None)[0] is everything[0]  # the same bytes, joined once
    aapl = StreamFilter(symbols=frozenset({"AAPL"}), topics=frozenset({"trades"}))
    assert recent.backlog(cursor, aapl) == (b"<1>", StreamId(3, 0))
    recent.extend([frame(4, keys=("AAPL",))])  # the window moved: a new backlog
    assert recent.backlog(cursor, aapl) == (b"<1><4>", StreamId(4, 0))
