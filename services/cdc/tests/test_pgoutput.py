import struct
from datetime import UTC, datetime

import pytest
from scrollr_cdc import pgoutput


def tuple_data(*values):
    out = struct.pack("!H", len(values))
    for value in values:
        if value is None:
            out += b"n"
        elif value == pgoutput.UNCHANGED_TOAST:
            out += b"u"
        else:
            raw = value.encode()
            out += b"t" + struct.pack("!i", len(raw)) + raw
    return out


def test_begin_and_commit():
    one_day_and_a_micro = 86_400_000_001  # timestamps count microseconds from 2000-01-01 UTC
    begin = pgoutput.decode(b"B" + struct.pack("!QqI", 0x1_0000_00FF, one_day_and_a_micro, 42))
    assert begin == pgoutput.Begin(0x1_0000_00FF, datetime(2000, 1, 2, 0, 0, 0, 1, tzinfo=UTC), 42)
    micros = 0
    commit = pgoutput.decode(b"C" + struct.pack("!BQQq", 0, 100, 120, micros))
    assert commit == pgoutput.Commit(100, 120)


def test_relation():
    body = b"R" + struct.pack("!I", 16384) + b"public\0trades\0" + struct.pack("!BH", ord("f"), 2)
    body += struct.pack("!B", 1) + b"id\0" + struct.pack("!Ii", 23, -1)
    body += struct.pack("!B", 0) + b"price\0" + struct.pack("!Ii", 1700, 655366)
    assert pgoutput.decode(body) == pgoutput.Relation(
        16384, "public", "trades", [pgoutput.Column("id", 23, True), pgoutput.Column("price", 1700, False)]
    )


def test_insert_update_with_old_tuple_and_delete():
    assert pgoutput.decode(b"I" + struct.pack("!I", 7) + b"N" + tuple_data("1", None)) == pgoutput.Insert(
        7, ["1", None]
    )
    update = pgoutput.decode(
        b"U" + struct.pack("!I", 7) + b"O" + tuple_data("1", "a") + b"N" + tuple_data("1", "b")
    )
    assert update == pgoutput.Update(7, ["1", "a"], ["1", "b"])
    no_old = pgoutput.decode(b"U" + struct.pack("!I", 7) + b"N" + tuple_data("1", pgoutput.UNCHANGED_TOAST))
    assert no_old == pgoutput.Update(7, None, ["1", "unchanged_toast"])
    assert pgoutput.decode(b"D" + struct.pack("!I", 7) + b"O" + tuple_data("1", "b")) == pgoutput.Delete(
        7, ["1", "b"]
    )


def test_truncate_names_every_table_it_emptied():
    payload = b"T" + struct.pack("!iB", 2, 1) + struct.pack("!II", 16390, 16401)
    assert pgoutput.decode(payload) == pgoutput.Truncate([16390, 16401])


def test_other_messages_pass_through():
    assert pgoutput.decode(b"Y" + b"\0" * 10) == pgoutput.Other("Y")


@pytest.mark.parametrize(
    "payload",
    [
        b"B\0\0",
        b"I" + struct.pack("!I", 7) + b"X",
        b"R" + struct.pack("!I", 1) + b"public",
        b"I" + struct.pack("!I", 7) + b"N\0\1z",
    ],
)
def test_broken_messages_raise(payload):
    with pytest.raises(pgoutput.PgOutputError):
        pgoutput.decode(payload)
