import pytest
from scrollr_core import pgvalues


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
