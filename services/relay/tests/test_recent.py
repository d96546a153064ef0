"""The window of recently fanned-out frames that resumes are served from (pure)."""

from scrollr_relay.bus.cursor import Cursor, StreamId
from scrollr_relay.fanout.filters import StreamFilter
from scrollr_relay.fanout.frame import Frame
from scrollr_relay.fanout.recent import RecentFrames


def frame(n: int, topic: str = "trades", keys: tuple[str, ...] = ()) -> Frame:
    return Frame(StreamId(n, 0), topic, f"<{n}>".encode(), keys)


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


def test_a_cursor_of_another_history_never_gets_this_ones_backlog():
    """The same position in two epochs (an empty bus, ids replicated through a failover)."""
    recent = RecentFrames()
    recent.restart(Cursor("B", StreamId(0, 0)))
    assert recent.backlog(Cursor("B", StreamId(0, 0)), None) == (b"", StreamId(0, 0))
    assert recent.backlog(Cursor("A", StreamId(0, 0)), None) is None  # the bus decides: a reset
    recent.extend([frame(1)])
    assert recent.backlog(Cursor("B", StreamId(0, 0)), None) == (b"<1>", StreamId(1, 0))
    assert recent.backlog(Cursor("A", StreamId(0, 0)), None) is None
    assert recent.backlog(Cursor("A", StreamId(1, 0)), None) is None


def test_backlogs_across_a_new_history_are_of_the_new_one():
    recent = window()
    assert recent.backlog(Cursor("e", StreamId(3, 0)), None) == (b"<4><5>", StreamId(5, 0))
    recent.restart(Cursor("n", StreamId(3, 0)))  # a new history whose head has the same position
    assert recent.backlog(Cursor("e", StreamId(3, 0)), None) is None
    assert recent.backlog(Cursor("n", StreamId(3, 0)), None) == (b"", StreamId(3, 0))


def big_frame(n: int, size: int) -> Frame:
    return Frame(StreamId(n, 0), "trades", b"x" * size, ())


def test_the_joined_backlogs_kept_are_bounded_in_bytes():
    recent = RecentFrames(capacity=1000, max_bytes=400_000)  # 200,000 for backlogs, 200,000 for frames
    recent.restart(Cursor("e", StreamId(0, 0)))
    recent.extend([big_frame(n, 1000) for n in range(1, 151)])  # 150,000 bytes of frames
    kept = [recent.backlog(Cursor("e", StreamId(n, 0)), None) for n in range(0, 150)]
    assert [len(k[0]) for k in kept] == [1000 * (150 - n) for n in range(150)]  # every one served
    assert recent._memo_bytes <= 200_000
    assert sum(len(v[0]) for v in recent._memo.values()) == recent._memo_bytes


def test_the_window_is_bounded_in_bytes():
    recent = RecentFrames(capacity=1000, max_bytes=100_000)  # 50,000 bytes of frames at most
    recent.restart(Cursor("e", StreamId(0, 0)))
    for n in range(1, 301):
        recent.extend([big_frame(n, 1000)])
        assert recent._frame_bytes <= 50_000
    assert recent._frame_bytes == sum(len(f[2]) for f in recent._frames)
    assert recent.after(Cursor("e", StreamId(300 - len(recent._frames), 0))) is not None
    assert recent.after(Cursor("e", StreamId(1, 0))) is None  # trimmed: the bus decides
