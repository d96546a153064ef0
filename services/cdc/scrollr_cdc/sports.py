"""How the demo's games play: each league's clock, scoring and overtime, as pure functions.

Scores should fit the sport and the clock a user sees: about 110 points a team in basketball, 20 to
30 in football, 3 in hockey, arriving at a plausible pace through the periods; basketball and hockey
never end level (overtime, then a shootout), football may after one overtime.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Rules:
    sport: str
    periods: int
    period_seconds: int
    overtime_seconds: int
    period_prefix: str  # Q1, P2
    step_seconds: tuple[int, int]  # game time one demo step plays
    score_chance: float  # per step
    points: tuple[int, ...]  # what one score is worth, as weighted choices
    sudden_death: bool  # the first score in overtime wins
    ties_allowed: bool  # after one overtime
    shootout: bool  # a tie after overtime goes to a shootout


LEAGUES = {
    "NBA": Rules(
        "basketball", 4, 12 * 60, 5 * 60, "Q", (20, 40), 0.95, (1, 2, 2, 2, 3, 3), False, False, False
    ),
    "NFL": Rules("football", 4, 15 * 60, 10 * 60, "Q", (30, 120), 0.2, (3, 7, 7, 7, 6, 2), True, True, False),
    "NHL": Rules("hockey", 3, 20 * 60, 5 * 60, "P", (30, 120), 0.125, (1,), True, False, True),
}


@dataclass(frozen=True)
class Clock:
    period: int
    seconds_left: int

    def timer(self) -> str:
        return f"{self.seconds_left // 60}:{self.seconds_left % 60:02d}"

    def period_name(self, rules: Rules) -> str:
        return "OT" if self.period > rules.periods else f"{rules.period_prefix}{self.period}"

    def period_long(self, rules: Rules) -> str:
        if self.period > rules.periods:
            return "Overtime"
        return f"{'Quarter' if rules.period_prefix == 'Q' else 'Period'} {self.period}"

    def short_detail(self, rules: Rules) -> str:
        return f"{self.period_name(rules)} {self.timer()}"


def opening_clock(rules: Rules) -> Clock:
    return Clock(1, rules.period_seconds)


def parse_clock(period_name: str, timer: str, rules: Rules) -> Clock:
    """The clock stored as (status_short, timer), e.g. ("Q3", "4:05") or ("OT", "2:10")."""
    period = rules.periods + 1 if period_name == "OT" else int(period_name.lstrip(rules.period_prefix) or 1)
    minutes, _, seconds = timer.partition(":")
    return Clock(period, int(minutes or 0) * 60 + int(seconds or 0))


@dataclass(frozen=True)
class Play:
    """One demo step of a game: the clock after it (None: the game is over) and the score."""

    clock: Clock | None
    home: int
    away: int
    detail: str  # the final's status text when clock is None


def advance(clock: Clock, rules: Rules, elapsed: int, home: int, away: int) -> Clock | None:
    """The clock after `elapsed` seconds of play; None once the game is decided."""
    left = clock.seconds_left - elapsed
    if left > 0:
        return Clock(clock.period, left)
    if clock.period < rules.periods:
        return Clock(clock.period + 1, rules.period_seconds)
    in_overtime = clock.period > rules.periods
    if home != away or (in_overtime and (rules.ties_allowed or rules.shootout)):
        return None
    return Clock(clock.period + 1, rules.overtime_seconds)


def play(clock: Clock, rules: Rules, home: int, away: int, rand: random.Random) -> Play:
    if rand.random() < rules.score_chance:
        points = rand.choice(rules.points)
        home, away = (home + points, away) if rand.random() < 0.5 else (home, away + points)
        if rules.sudden_death and clock.period > rules.periods:
            return Play(None, home, away, "Final/OT")
    after = advance(clock, rules, rand.randint(*rules.step_seconds), home, away)
    if after is not None:
        return Play(after, home, away, "")
    if clock.period > rules.periods and home == away and rules.shootout:
        home, away = (home + 1, away) if rand.random() < 0.5 else (home, away + 1)
        return Play(None, home, away, "Final/SO")
    return Play(None, home, away, "Final/OT" if clock.period > rules.periods else "Final")
