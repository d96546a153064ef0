"""What waits for one client (pending.py), pure: exact while the link keeps up, conflated when not."""

import json

from scrollr_relay.fanout.pending import CONFLATE_AFTER_SECONDS, Pending

from services.relay.tests.test_conflation import change, truncate


def ids(data: bytes) -> list[str]:
    return [line[4:] for line in data.decode().split("\n") if line.startswith("id: ")]


def prices(data: bytes) -> dict[str, str]:
    rows = [json.loads(line[6:]) for line in data.decode().split("\n") if line.startswith("data: ")]
    return {r["record"]["symbol"]: r["record"]["price"] for r in rows}


def tick(n: int, symbol: str) -> bytes:
    pk = ord(symbol)
    return change(n, "update", {"id": pk, "symbol": symbol, "price": str(n)}, {"price": "0"}, pk=pk)


def test_frames_wait_in_order_and_leave_in_pieces():
    pending = Pending()
    frames = [tick(n, "A") for n in range(1, 11)]
    pending.add_changes(frames, now=0.0)
    assert pending.size == sum(map(len, frames)) and not pending.conflating
    first = pending.take(len(frames[0]) * 3)
    assert ids(first) == ["e1-1-0", "e1-2-0", "e1-3-0"]
    rest = pending.take(1 << 20)
    assert ids(rest) == [f"e1-{n}-0" for n in range(4, 11)] and not pending and pending.size == 0


def test_frames_waiting_too_long_are_conflated_to_each_rows_newest_in_id_order():
    pending = Pending()
    pending.add_changes([tick(1, "A"), tick(2, "B"), tick(3, "A")], now=0.0)
    pending.add_changes([tick(4, "C"), tick(5, "B")], now=CONFLATE_AFTER_SECONDS)
    assert pending.conflating
    out = pending.take(1)  # a round: every row at once, whatever the piece size
    assert ids(out) == ["e1-3-0", "e1-4-0", "e1-5-0"]
    assert prices(out) == {"A": "3", "C": "4", "B": "5"}
    assert not pending


def test_conflated_memory_is_bounded_by_the_rows_not_the_events():
    pending = Pending()
    pending.conflate()
    pending.add_changes([tick(n, "AB"[n % 2]) for n in range(1, 1001)], now=0.0)
    assert pending.size < 2 * len(tick(1000, "A")) + 2


def test_conflating_lasts_until_the_link_has_taken_everything():
    pending = Pending()
    pending.conflate()
    pending.add_changes([tick(1, "A")], now=0.0)
    pending.caught_up()
    assert pending.conflating  # something still waits
    pending.take(1 << 20)
    pending.caught_up()
    assert not pending.conflating


def test_other_frames_keep_their_place_and_a_repeated_heartbeat_waits_once():
    pending = Pending()
    beat = b": ping\n\n"
    pending.add_changes([tick(1, "A")], now=0.0)
    pending.add_other(beat, now=0.0)
    pending.add_other(beat, now=0.0)
    pending.add_changes([tick(2, "A")], now=0.0)
    pending.conflate()  # changes become rows, the heartbeat stays and goes first
    assert pending.take(1 << 20) == beat
    assert ids(pending.take(1 << 20)) == ["e1-2-0"]


def test_clear_forgets_everything():
    pending = Pending()
    pending.conflate()
    pending.add_changes([tick(1, "A")], now=0.0)
    pending.clear()
    assert not pending and pending.size == 0 and not pending.conflating


def events(data: bytes) -> list[tuple[str, str]]:
    """(event name, id) of each frame, in order."""
    frames = [f for f in data.decode().split("\n\n") if f]
    named = [dict(line.split(": ", 1) for line in f.split("\n")) for f in frames]
    return [(f["event"], f["id"]) for f in named]


def game(n: int, pk: int) -> bytes:
    return change(n, "update", {"id": pk, "league": "NFL"}, {"home_score": 0}, table="games", pk=pk)


def test_a_conflated_truncate_drops_what_waited_of_its_table_and_goes_before_the_tables_later_changes():
    pending = Pending()
    pending.conflate()
    pending.add_changes([tick(1, "A"), tick(2, "B"), game(3, 7), truncate(4), tick(5, "A")], now=0.0)
    # A and B before the TRUNCATE are gone with it; the game stays where it was; A's insert after it
    # follows it (the client drops the table, then sees the new row).
    assert events(pending.take(1)) == [("change", "e1-3-0"), ("truncate", "e1-4-0"), ("change", "e1-5-0")]
    assert not pending and pending.size == 0


def test_a_second_truncate_supersedes_the_first_and_what_came_between():
    pending = Pending()
    pending.add_changes([truncate(1), tick(2, "A")], now=0.0)
    pending.add_changes([game(3, 7), truncate(4)], now=CONFLATE_AFTER_SECONDS)  # waited: conflates
    assert pending.conflating
    assert events(pending.take(1)) == [("change", "e1-3-0"), ("truncate", "e1-4-0")]
    assert pending.size == 0


def test_an_exact_truncate_keeps_its_place_among_the_changes():
    pending = Pending()
    frames = [tick(1, "A"), truncate(2), tick(3, "A")]
    pending.add_changes(frames, now=0.0)
    assert events(pending.take(1 << 20)) == [
        ("change", "e1-1-0"),
        ("truncate", "e1-2-0"),
        ("change", "e1-3-0"),
    ]


def own(n: int) -> bytes:
    """A private event's frame (private.py): no table, no primary key."""
    return b'id: e1-%d-0\nevent: preferences\ndata: {"version":%d,"preferences":null}\n\n' % (n, n)


def test_an_own_event_waits_among_conflated_rows_in_id_order_never_merged_or_dropped():
    pending = Pending()
    pending.conflate()
    pending.add_changes([tick(1, "A"), tick(2, "B")], now=0.0)
    pending.add_own(own(3), now=0.0)
    pending.add_changes([tick(4, "A"), truncate(5, table="trades")], now=0.0)
    pending.add_own(own(6), now=0.0)
    pending.add_changes([tick(7, "C")], now=0.0)
    out = pending.take(1)
    # B's newest change is older than 3: before it; A changed after 3: its merge goes after it; the
    # truncate dropped the rows waiting of its table, never the own events.
    assert ids(out) == ["e1-3-0", "e1-5-0", "e1-6-0", "e1-7-0"]
    assert out.count(b"event: preferences") == 2 and not pending


def test_an_own_event_keeps_its_place_when_the_exact_frames_before_it_are_conflated():
    pending = Pending()
    pending.add_changes([tick(1, "A"), tick(2, "B")], now=0.0)
    pending.add_own(own(3), now=0.0)
    pending.add_changes([tick(4, "A")], now=CONFLATE_AFTER_SECONDS)  # conflates what waits
    assert pending.conflating
    assert ids(pending.take(1)) == ["e1-2-0", "e1-3-0", "e1-4-0"]
