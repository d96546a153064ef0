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

from scrollr_cdc.sports import LEAGUES, opening_clock, parse_clock, play

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
        ("OKC", "Oklahoma City Thunder"),
        ("DAL", "Dallas Mavericks"),
        ("MIN", "Minnesota Timberwolves"),
        ("CLE", "Cleveland Cavaliers"),
    ],
    "NFL": [
        ("KC", "Kansas City Chiefs"),
        ("BUF", "Buffalo Bills"),
        ("PHI", "Philadelphia Eagles"),
        ("SF", "San Francisco 49ers"),
        ("DAL", "Dallas Cowboys"),
        ("DET", "Detroit Lions"),
        ("BAL", "Baltimore Ravens"),
        ("GB", "Green Bay Packers"),
        ("MIA", "Miami Dolphins"),
        ("CIN", "Cincinnati Bengals"),
    ],
    "NHL": [
        ("BOS", "Boston Bruins"),
        ("NYR", "New York Rangers"),
        ("TOR", "Toronto Maple Leafs"),
        ("EDM", "Edmonton Oilers"),
        ("COL", "Colorado Avalanche"),
        ("VGK", "Vegas Golden Knights"),
        ("FLA", "Florida Panthers"),
        ("DAL", "Dallas Stars"),
    ],
}
# How far ahead a new game is scheduled, in minutes (the demo starts the earliest one when it wants).
SCHEDULE_AHEAD_MINUTES = (15, 180)


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


def free_pairings(
    busy: set[tuple[str, str]], rand: random.Random
) -> tuple[str, tuple[str, str], tuple[str, str]] | None:
    """A league and two of its teams with no game on the board (scheduled, playing or just finished,
    so a final is never followed by an instant rematch); None when no league has two free teams."""
    leagues = [
        league for league, teams in TEAMS.items() if sum((league, c) not in busy for c, _ in teams) >= 2
    ]
    if not leagues:
        return None
    league = rand.choice(leagues)
    free = [team for team in TEAMS[league] if (league, team[0]) not in busy]
    home, away = rand.sample(free, 2)
    return league, home, away


class Demo:
    def __init__(self, database_url: str, *, rate: float, seed: int | None = None) -> None:
        self.conn = psycopg.connect(database_url, autocommit=True)
        self.rate = rate
        self.rand = random.Random(seed)
        self.running = True
        self._external_id = int(time.time())

    def tracked_symbols(self) -> dict[str, str]:
        """The demo's symbols the catalog has enabled (migration 002), with their opening prices."""
        enabled = {row[0] for row in self.conn.execute("SELECT symbol FROM tracked_symbols WHERE enabled")}
        return {symbol: close for symbol, close in SYMBOLS.items() if symbol in enabled}

    def seed(self) -> None:
        for symbol, close in self.tracked_symbols().items():
            q = quote(Decimal(close), Decimal(close))
            self.conn.execute(
                "INSERT INTO trades (symbol, price, previous_close, price_change, percentage_change, direction, "
                "last_updated) VALUES (%s, %s, %s, %s, %s, %s, now()) ON CONFLICT (symbol) DO NOTHING",
                (symbol, q.price, q.previous_close, q.price_change, q.percentage_change, q.direction),
            )
        live = self.conn.execute("SELECT count(*) FROM games WHERE state IN ('pre', 'in')").fetchone()
        for _ in range(max(0, 6 - (live[0] if live else 0))):
            self.schedule_game(start_now=True)
        upcoming = self.conn.execute("SELECT count(*) FROM games WHERE state = 'pre'").fetchone()
        for _ in range(max(0, 3 - (upcoming[0] if upcoming else 0))):
            self.schedule_game()

    def schedule_game(self, *, start_now: bool = False) -> None:
        """A new game between two teams of one league that have no game on the board."""
        busy = {
            (league, code)
            for league, home, away in self.conn.execute(
                "SELECT league, home_team_code, away_team_code FROM games"
            )
            for code in (home, away)
        }
        pairing = free_pairings(busy, self.rand)
        if pairing is None:
            return
        league, (home_code, home), (away_code, away) = pairing
        rules = LEAGUES[league]
        self._external_id += 1
        clock = opening_clock(rules)
        if start_now:
            state, detail, short, long, timer, starts = (
                "in",
                clock.short_detail(rules),
                clock.period_name(rules),
                clock.period_long(rules),
                clock.timer(),
                0,
            )
        else:
            ahead = self.rand.randint(*SCHEDULE_AHEAD_MINUTES)
            state, detail, short, long, timer, starts = (
                "pre",
                "Scheduled",
                "SCHED",
                "Scheduled",
                None,
                ahead,
            )
        logo = "https://a.espncdn.com/i/teamlogos/{}/500/{}.png"
        self.conn.execute(
            "INSERT INTO games (league, sport, external_game_id, link, home_team_name, home_team_logo, "
            "home_team_score, away_team_name, away_team_logo, away_team_score, start_time, short_detail, state, "
            "status_short, status_long, timer, venue, season, home_team_code, away_team_code) VALUES "
            "(%s, %s, %s, %s, %s, %s, 0, %s, %s, 0, date_trunc('minute', now()) + make_interval(mins => %s), "
            "%s, %s, %s, %s, %s, %s, '2026-27', %s, %s)",
            (
                league,
                rules.sport,
                str(self._external_id),
                f"https://www.espn.com/{league.lower()}/game/_/gameId/{self._external_id}",
                home,
                logo.format(league.lower(), home_code.lower()),
                away,
                logo.format(league.lower(), away_code.lower()),
                starts,
                detail,
                state,
                short,
                long,
                timer,
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
            "SELECT id, league, status_short, timer, home_team_score, away_team_score FROM games "
            "WHERE state = 'in' ORDER BY random() LIMIT 1"
        ).fetchone()
        if row is None:
            self.lifecycle()
            return
        game_id, league, period, timer, home, away = row
        rules = LEAGUES[league]
        step = play(parse_clock(period or "", timer or "", rules), rules, home or 0, away or 0, self.rand)
        if step.clock is None:
            self.conn.execute(
                "UPDATE games SET state = 'post', home_team_score = %s, away_team_score = %s, short_detail = %s, "
                "status_short = %s, status_long = %s, timer = NULL, updated_at = now() WHERE id = %s",
                (step.home, step.away, step.detail, step.detail, step.detail, game_id),
            )
            return
        self.conn.execute(
            "UPDATE games SET home_team_score = %s, away_team_score = %s, short_detail = %s, status_short = %s, "
            "status_long = %s, timer = %s, updated_at = now() WHERE id = %s",
            (
                step.home,
                step.away,
                step.clock.short_detail(rules),
                step.clock.period_name(rules),
                step.clock.period_long(rules),
                step.clock.timer(),
                game_id,
            ),
        )

    def lifecycle(self) -> None:
        """Start the next scheduled game, schedule a new one, or remove a finished one."""
        choice = self.rand.random()
        if choice < 0.4:
            upcoming = self.conn.execute(
                "SELECT id, league FROM games WHERE state = 'pre' ORDER BY start_time LIMIT 1"
            ).fetchone()
            if upcoming is None:
                self.schedule_game()
                return
            rules = LEAGUES[upcoming[1]]
            clock = opening_clock(rules)
            self.conn.execute(
                "UPDATE games SET state = 'in', start_time = date_trunc('minute', now()), short_detail = %s, "
                "status_short = %s, status_long = %s, timer = %s, updated_at = now() WHERE id = %s",
                (
                    clock.short_detail(rules),
                    clock.period_name(rules),
                    clock.period_long(rules),
                    clock.timer(),
                    upcoming[0],
                ),
            )
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
    configure("scrollr-demo")
    settings = load_or_exit("scrollr-demo", load_demo_settings)
    demo = Demo(settings.database_url, rate=settings.rate)

    def stop(_sig: int, _frame: FrameType | None) -> None:
        demo.running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    demo.run()


if __name__ == "__main__":
    main()
