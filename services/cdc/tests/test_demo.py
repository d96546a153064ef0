import random
import statistics
from decimal import Decimal

import pytest
from scrollr_cdc.demo import TEAMS, free_pairings, quote, tick
from scrollr_cdc.sports import LEAGUES, Clock, advance, opening_clock, parse_clock, play


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
    nba = LEAGUES["NBA"]
    clock = Clock(1, 30)
    assert advance(clock, nba, 10, 0, 0) == Clock(1, 20)
    assert advance(clock, nba, 40, 0, 0) == Clock(2, nba.period_seconds)
    assert advance(Clock(4, 5), nba, 10, 101, 99) is None
    assert advance(Clock(4, 5), nba, 10, 100, 100) == Clock(5, nba.overtime_seconds)  # level: overtime
    assert Clock(3, 65).short_detail(nba) == "Q3 1:05"
    assert Clock(5, 65).short_detail(nba) == "OT 1:05"
    assert Clock(2, 600).short_detail(LEAGUES["NHL"]) == "P2 10:00"
    for rules in LEAGUES.values():
        for clock in (Clock(2, 61), Clock(rules.periods + 1, 5)):
            assert parse_clock(clock.period_name(rules), clock.timer(), rules) == clock


def finals(league: str, games: int = 400) -> list[tuple[int, int, str, int]]:
    rules, rand, out = LEAGUES[league], random.Random(7), []
    for _ in range(games):
        clock: Clock | None = opening_clock(rules)
        home = away = steps = 0
        detail = ""
        while clock is not None:
            step = play(clock, rules, home, away, rand)
            assert step.home >= home and step.away >= away
            clock, home, away, detail = step.clock, step.home, step.away, step.detail
            steps += 1
        out.append((home, away, detail, steps))
    return out


@pytest.mark.parametrize(
    ("league", "low", "high"),
    [("NBA", 85, 135), ("NFL", 12, 35), ("NHL", 1.8, 4.5)],
    ids=["NBA", "NFL", "NHL"],
)
def test_scores_fit_the_sport(league, low, high):
    results = finals(league)
    per_team = statistics.median([score for home, away, _, _ in results for score in (home, away)])
    assert low <= per_team <= high, per_team
    if not LEAGUES[league].ties_allowed:
        assert all(home != away for home, away, _, _ in results)
    assert {detail for *_, detail, _ in results} <= {"Final", "Final/OT", "Final/SO"}


def test_no_rematch_while_a_pairing_is_on_the_board():
    rand = random.Random(3)
    busy: set[tuple[str, str]] = set()
    games = []
    while (pairing := free_pairings(busy, rand)) is not None:
        league, (home, _), (away, _) = pairing
        assert (league, home) not in busy and (league, away) not in busy and home != away
        busy |= {(league, home), (league, away)}
        games.append(pairing)
    assert len(games) == sum(len(teams) // 2 for teams in TEAMS.values())
