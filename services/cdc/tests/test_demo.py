import random
from decimal import Decimal

from scrollr_cdc.demo import PERIOD_SECONDS, Clock, advance, quote, tick


def test_quote_fields_agree():
    q = quote(Decimal("187.90"), Decimal("185.10"))
    assert (q.price_change, q.percentage_change, q.direction) == (Decimal("2.80"), Decimal("1.51"), "up")
    assert quote(Decimal("10"), Decimal("10")).direction == "flat"
    assert quote(Decimal("9.5"), Decimal("10")).direction == "down"


def test_ticks_stay_consistent_and_bounded():
    rand = random.Random(1)
    close = current = Decimal("100.00")
    for _ in range(5000):
        q = tick(current, close, rand)
        assert q.price_change == q.price - close
        assert Decimal("91") <= q.price <= Decimal("109")
        current = q.price


def test_clock_runs_through_periods_then_ends():
    clock = Clock(1, 30)
    assert advance(clock, "NBA", 10) == Clock(1, 20)
    assert advance(clock, "NBA", 40) == Clock(2, PERIOD_SECONDS["NBA"])
    assert advance(Clock(4, 5), "NBA", 10) is None
    assert Clock(3, 65).short_detail() == "Q3 1:05"
