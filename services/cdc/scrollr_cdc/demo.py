"""`scrollr-demo`: keeps writing realistic changes to Postgres so the live path has something to show.

Price ticks for a few dozen symbols (price, change, percentage and direction consistent with each
other), live games whose scores and clocks move, and games that are scheduled, start, finish and are
removed: inserts, updates and deletes at `DEMO_RATE` changes per second.
"""

from __future__ import annotations

import logging
import random
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from types import FrameType

import msgspec
import psycopg
from scrollr_core.logs import configure
from scrollr_core.settings import ConfigError, load_or_exit, number_setting, url_setting

DEFAULT_RATE = 5.0  # changes per second
log = logging.getLogger("scrollr.demo")
CENT = Decimal("0.01")

SYMBOLS = {
    "AAPL": "231.40",
    "MSFT": "418.20",
    "NVDA": "187.34",
    "AMZN": "201.15",
    "GOOGL": "176.80",
    "META": "583.10",
    "TSLA": "342.50",
    "BRK.B": "468.90",
    "JPM": "241.30",
    "V": "307.60",
    "UNH": "598.20",
    "XOM": "120.40",
    "LLY": "812.70",
    "AVGO": "171.90",
    "MA": "521.30",
    "HD": "412.80",
    "PG": "171.20",
    "COST": "921.40",
    "JNJ": "154.10",
    "NFLX": "884.60",
    "AMD": "139.80",
    "CRM": "329.70",
    "ORCL": "188.40",
    "KO": "63.20",
    "PEP": "157.30",
    "DIS": "112.60",
    "INTC": "24.10",
    "BA": "151.90",
    "NKE": "76.80",
    "SBUX": "98.40",
    "BTC-USD": "97234.10",
    "ETH-USD": "3412.80",
}
TEAMS = {
    "NBA": [
        ("BOS", "Boston Celtics"),
        ("MIL", "Milwaukee Bucks"),
        ("DEN", "Denver Nuggets"),
        ("PHX", "Phoenix Suns"),
        ("LAL", "Los Angeles Lakers"),
        ("GSW", "Golden State Warriors"),
        ("NYK", "New York Knicks"),
        ("MIA", "Miami Heat"),
    ],
    "NFL": [
        ("KC", "Kansas City Chiefs"),
        ("BUF", "Buffalo Bills"),
        ("PHI", "Philadelphia Eagles"),
        ("SF", "San Francisco 49ers"),
        ("DAL", "Dallas Cowboys"),
        ("DET", "Detroit Lions"),
    ],
}
SPORT = {"NBA": "basketball", "NFL": "football"}
PERIOD_SECONDS = {"NBA": 12 * 60, "NFL": 15 * 60}
PERIODS = 4


@dataclass(frozen=True)
class Quote:
    price: Decimal
    previous_close: Decimal
    price_change: Decimal
    percentage_change: Decimal
    direction: str


def quote(price: Decimal, previous_close: Decimal) -> Quote:
    """A quote whose change, percentage and direction follow from price and previous close."""
    price = price.quantize(CENT, ROUND_HALF_UP)
    change = (price - previous_close).quantize(CENT, ROUND_HALF_UP)
    pct = (change / previous_close * 100).quantize(CENT, ROUND_HALF_UP) if previous_close else Decimal(0)
    direction = "up" if change > 0 else "down" if change < 0 else "flat"
    return Quote(price, previous_close, change, pct, direction)


def tick(current: Decimal, previous_close: Decimal, rand: random.Random) -> Quote:
    """One random-walk step of about ±0.3 %, kept within ±9 % of the previous close."""
    step = current * Decimal(str(round(rand.gauss(0, 0.003), 5)))
    low, high = previous_close * Decimal("0.91"), previous_close * Decimal("1.09")
    return quote(min(high, max(low, current + step)), previous_close)


@dataclass(frozen=True)
class Clock:
    period: int
    seconds_left: int

    def short_detail(self) -> str:
        return f"Q{self.period} {self.seconds_left // 60}:{self.seconds_left % 60:02d}"


def advance(clock: Clock, league: str, elapsed: int) -> Clock | None:
    """The game clock after `elapsed` seconds of play; None once the last period ends."""
    left = clock.seconds_left - elapsed
    if left > 0:
        return Clock(clock.period, left)
    if clock.period >= PERIODS:
        return None
    return Clock(clock.period + 1, PERIOD_SECONDS[league])


def score_points(league: str, rand: random.Random) -> int:
    return rand.choice([1, 2, 2, 2, 3]) if league == "NBA" else rand.choice([3, 7, 7, 6, 2])


class Demo:
    def __init__(self, database_url: str, *, rate: float, seed: int | None = None) -> None:
        self.conn = psycopg.connect(database_url, autocommit=True)
        self.rate = rate
        self.rand = random.Random(seed)
        self.running = True
        self._external_id = int(time.time())

    def seed(self) -> None:
        for symbol, close in SYMBOLS.items():
            q = quote(Decimal(close), Decimal(close))
            self.conn.execute(
                "INSERT INTO trades (symbol, price, previous_close, price_change, percentage_change, direction, "
                "last_updated) VALUES (%s, %s, %s, %s, %s, %s, now()) ON CONFLICT (symbol) DO NOTHING",
                (symbol, q.price, q.previous_close, q.price_change, q.percentage_change, q.direction),
            )
        live = self.conn.execute("SELECT count(*) FROM games WHERE state IN ('pre', 'in')").fetchone()
        for _ in range(max(0, 6 - (live[0] if live else 0))):
            self.schedule_game(start_now=True)

    def schedule_game(self, *, start_now: bool = False) -> None:
        """A new game between two teams of one league that have no other game scheduled or running."""
        busy = {
            code
            for row in self.conn.execute(
                "SELECT home_team_code, away_team_code FROM games WHERE state IN ('pre', 'in')"
            )
            for code in row
        }
        leagues = [
            league for league, teams in TEAMS.items() if sum(code not in busy for code, _ in teams) >= 2
        ]
        if not leagues:
            return
        league = self.rand.choice(leagues)
        free = [team for team in TEAMS[league] if team[0] not in busy]
        (home_code, home), (away_code, away) = self.rand.sample(free, 2)
        self._external_id += 1
        state, detail = (
            ("in", Clock(1, PERIOD_SECONDS[league]).short_detail()) if start_now else ("pre", "Scheduled")
        )
        logo = "https://a.espncdn.com/i/teamlogos/{}/500/{}.png"
        self.conn.execute(
            "INSERT INTO games (league, sport, external_game_id, link, home_team_name, home_team_logo, "
            "home_team_score, away_team_name, away_team_logo, away_team_score, start_time, short_detail, state, "
            "status_short, status_long, timer, venue, season, home_team_code, away_team_code) VALUES "
            "(%s, %s, %s, %s, %s, %s, 0, %s, %s, 0, now(), %s, %s, %s, %s, %s, %s, '2026-27', %s, %s)",
            (
                league,
                SPORT[league],
                str(self._external_id),
                f"https://www.espn.com/{league.lower()}/game",
                home,
                logo.format(league.lower(), home_code.lower()),
                away,
                logo.format(league.lower(), away_code.lower()),
                detail,
                state,
                "Q1" if state == "in" else "SCHED",
                "1st Quarter" if state == "in" else "Scheduled",
                f"{PERIOD_SECONDS[league] // 60}:00" if state == "in" else None,
                f"{home} Arena",
                home_code,
                away_code,
            ),
        )

    def tick_trade(self) -> None:
        row = self.conn.execute(
            "SELECT id, price, previous_close FROM trades ORDER BY random() LIMIT 1"
        ).fetchone()
        if row is None:
            return
        q = tick(row[1], row[2], self.rand)
        self.conn.execute(
            "UPDATE trades SET price = %s, price_change = %s, percentage_change = %s, direction = %s, "
            "last_updated = now() WHERE id = %s",
            (q.price, q.price_change, q.percentage_change, q.direction, row[0]),
        )

    def play(self) -> None:
        row = self.conn.execute(
            "SELECT id, league, short_detail, home_team_score, away_team_score FROM games WHERE state = 'in' "
            "ORDER BY random() LIMIT 1"
        ).fetchone()
        if row is None:
            self.lifecycle()
            return
        game_id, league, detail, home, away = row
        period, _, clock_text = detail.partition(" ")
        minutes, _, seconds = clock_text.partition(":")
        clock = Clock(int(period.lstrip("Q") or 1), int(minutes or 0) * 60 + int(seconds or 0))
        after = advance(clock, league, self.rand.randint(20, 90))
        if after is None:
            self.conn.execute(
                "UPDATE games SET state = 'post', short_detail = 'Final', status_short = 'FT', "
                "status_long = 'Final', timer = NULL, updated_at = now() WHERE id = %s",
                (game_id,),
            )
            return
        if self.rand.random() < 0.6:
            points = score_points(league, self.rand)
            home, away = (home + points, away) if self.rand.random() < 0.5 else (home, away + points)
        self.conn.execute(
            "UPDATE games SET home_team_score = %s, away_team_score = %s, short_detail = %s, status_short = %s, "
            "status_long = %s, timer = %s, updated_at = now() WHERE id = %s",
            (
                home,
                away,
                after.short_detail(),
                f"Q{after.period}",
                f"Quarter {after.period}",
                f"{after.seconds_left // 60}:{after.seconds_left % 60:02d}",
                game_id,
            ),
        )

    def lifecycle(self) -> None:
        """Start a scheduled game, schedule a new one, or remove a finished one."""
        choice = self.rand.random()
        if choice < 0.4:
            started = self.conn.execute(
                "UPDATE games SET state = 'in', short_detail = 'Q1 12:00', status_short = 'Q1', "
                "status_long = 'Quarter 1', updated_at = now() WHERE id = (SELECT id FROM games WHERE state = 'pre' "
                "ORDER BY start_time LIMIT 1) RETURNING id"
            ).fetchone()
            if started is None:
                self.schedule_game()
        elif choice < 0.7:
            self.schedule_game()
        else:
            self.conn.execute(
                "DELETE FROM games WHERE id = (SELECT id FROM games WHERE state = 'post' ORDER BY updated_at LIMIT 1)"
            )

    def step(self) -> None:
        roll = self.rand.random()
        if roll < 0.75:
            self.tick_trade()
        elif roll < 0.95:
            self.play()
        else:
            self.lifecycle()

    def run(self) -> None:
        self.seed()
        log.info("writing about %.1f changes/s", self.rate)
        interval = 1.0 / self.rate
        next_at = time.monotonic()
        while self.running:
            self.step()
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))


class DemoSettings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str
    rate: float = DEFAULT_RATE


def load_demo_settings(env: Mapping[str, str]) -> DemoSettings:
    database_url = url_setting(env, "DATABASE_URL", ("postgres", "postgresql"))
    if database_url is None:
        raise ConfigError("DATABASE_URL is not set")
    rate = number_setting(env, "DEMO_RATE", DEFAULT_RATE, minimum=0.01, maximum=1000, kind=float)
    return DemoSettings(database_url=database_url, rate=rate)


def main() -> None:
    configure()
    settings = load_or_exit("scrollr-demo", load_demo_settings)
    demo = Demo(settings.database_url, rate=settings.rate)

    def stop(_sig: int, _frame: FrameType | None) -> None:
        demo.running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    demo.run()


if __name__ == "__main__":
    main()
