import psycopg
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scrollr_core import pgvalues
from scrollr_core.pgrows import rows_from, use_text_values

from tests.support.pg import execute, new_database


@pytest.mark.parametrize(
    ("oid", "text", "value"),
    [
        (pgvalues.INT4, "42", 42),
        (pgvalues.INT8, "-9000000000", -9000000000),
        (pgvalues.NUMERIC, "187.34", "187.34"),
        (pgvalues.BOOL, "t", True),
        (pgvalues.BOOL, "f", False),
        (pgvalues.FLOAT8, "1.5", 1.5),
        (pgvalues.FLOAT8, "NaN", "NaN"),
        (pgvalues.JSONB, '{"a": [1]}', {"a": [1]}),
        (pgvalues.TIMESTAMPTZ, "2026-11-26 18:30:01.12747+00", "2026-11-26T18:30:01.127470Z"),
        (pgvalues.TIMESTAMPTZ, "2026-11-26 20:30:01+02", "2026-11-26T18:30:01.000000Z"),
        (pgvalues.TIMESTAMP, "2026-11-26 18:30:01", "2026-11-26T18:30:01.000000"),
        (25, "hello", "hello"),
        (25, None, None),
    ],
)
def test_values_are_encoded_as_sequin_does(oid, text, value):
    assert pgvalues.decode(oid, text) == value


@pytest.mark.parametrize(
    ("oid", "text"),
    [
        (pgvalues.TIMESTAMPTZ, "10000-01-01 00:00:00+00"),
        (pgvalues.TIMESTAMPTZ, "0044-03-15 12:00:00+00 BC"),
        (pgvalues.TIMESTAMPTZ, "infinity"),
        (pgvalues.TIMESTAMPTZ, "-infinity"),
        (pgvalues.TIMESTAMP, "294276-12-31 23:59:59.999999"),
        (pgvalues.TIMESTAMP, "4713-01-01 00:00:00 BC"),
        (pgvalues.NUMERIC, "NaN"),
        (pgvalues.NUMERIC, "-Infinity"),
        (pgvalues.FLOAT4, "Infinity"),
    ],
)
def test_values_out_of_pythons_range_travel_as_postgres_writes_them(oid, text):
    assert pgvalues.decode(oid, text) == text


# -- Property: every value each column type of the schema can hold is carried, and exactly --------
# Postgres writes the value (its type's output function, as in pgoutput's tuples and the snapshot's
# text-mode query), pgvalues encodes it, and Postgres reads the encoded value back as the same value.

_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))


@st.composite
def _timestamptz(draw):
    """Text of any timestamptz Postgres holds: 4713 BC to 294276 AD, any offset, and infinities."""
    if draw(st.booleans()) and draw(st.booleans()):
        return draw(st.sampled_from(["infinity", "-infinity"]))
    year = draw(st.integers(1, 294275))
    era = " BC" if year <= 4713 and draw(st.booleans()) else ""
    clock = f"{draw(st.integers(0, 23)):02d}:{draw(st.integers(0, 59)):02d}:{draw(st.integers(0, 59)):02d}"
    micros = draw(st.integers(0, 999_999))
    offset = draw(st.integers(-15 * 60, 15 * 60))
    zone = f"{'+' if offset >= 0 else '-'}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
    return f"{year:04d}-{draw(st.integers(1, 12)):02d}-{draw(st.integers(1, 28)):02d} {clock}.{micros:06d}{zone}{era}"


STRATEGIES = {
    "integer": st.integers(-(2**31), 2**31 - 1).map(str),
    "numeric": st.one_of(
        st.decimals(places=2, min_value=-(10**8), max_value=10**8).map(str),
        st.decimals(allow_nan=True, allow_infinity=True).map(str),  # most overflow the column: skipped
        st.sampled_from(["NaN", "Infinity", "-Infinity"]),
    ),
    "character varying": _TEXT,
    "text": _TEXT,
    "timestamp with time zone": _timestamptz(),
}


def _schema_types(url):
    """Each column type of the replicated tables, e.g. 'numeric(10,2)'."""
    return sorted(
        {
            r[0]
            for r in execute(
                url,
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid IN ('trades'::regclass, 'games'::regclass) AND attnum > 0 AND NOT attisdropped",
            )
        }
    )


@pytest.fixture(scope="module")
def probe(pg_cluster):
    url = new_database(pg_cluster)
    with psycopg.connect(url, autocommit=True, options="-c DateStyle=ISO -c TimeZone=UTC") as conn:
        use_text_values(conn)
        yield url, conn


def test_every_column_type_of_the_schema_has_a_strategy(probe):
    assert {t.split("(")[0] for t in _schema_types(probe[0])} <= STRATEGIES.keys()


@pytest.mark.parametrize(
    "column_type",
    ["integer", "numeric(10,2)", "numeric(5,2)", "character varying(30)", "text", "timestamp with time zone"],
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_value_of_a_column_type_is_carried_exactly(probe, column_type, data):
    _, conn = probe
    given_text = data.draw(STRATEGIES[column_type.split("(")[0]])
    try:
        cur = conn.execute(f"SELECT %s::{column_type} AS v", (given_text,))
    except psycopg.DataError:
        assume(False)  # the column can't hold it (overflow, too long)
    (row,) = rows_from(cur.description or [], cur.fetchall())
    sent = row["v"]
    back = conn.execute(
        f"SELECT (%s::{column_type}) IS NOT DISTINCT FROM (%s::{column_type}) AS same",
        (str(sent), given_text),
    ).fetchone()
    assert back == ("t",), f"{given_text!r} was sent as {sent!r}"
