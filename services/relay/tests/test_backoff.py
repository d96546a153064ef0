import pytest
from scrollr_core.backoff import Backoff


def test_ceiling_doubles_then_caps():
    backoff = Backoff(initial_seconds=1, max_seconds=30)
    assert [backoff.ceiling(n) for n in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.ceiling(10_000) == 30


def test_full_jitter_stays_within_zero_and_ceiling():
    backoff = Backoff(initial_seconds=1, max_seconds=30)
    assert backoff.delay(3, rand=lambda: 0.0) == 0
    assert backoff.delay(3, rand=lambda: 0.999) == pytest.approx(7.992)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="backoff"):
        Backoff(initial_seconds=5, max_seconds=1)
