-- Scrollr's tables (trades: one row per tracked symbol; games: one row per game), replicated whole
-- so updates carry their old row.
CREATE TABLE IF NOT EXISTS trades (
    id serial PRIMARY KEY,
    symbol varchar(30) UNIQUE NOT NULL,
    price decimal(10, 2),
    previous_close decimal(10, 2),
    price_change decimal(10, 2),
    percentage_change decimal(5, 2),
    direction varchar(10) CHECK (direction IN ('up', 'down', 'flat')),
    last_updated timestamptz DEFAULT now(),
    created_at timestamptz DEFAULT now()
);

CREATE TABLE IF NOT EXISTS games (
    id serial PRIMARY KEY,
    league varchar(50),
    sport varchar(50),
    external_game_id varchar(100),
    link text,
    home_team_name text,
    home_team_logo text,
    home_team_score int,
    away_team_name text,
    away_team_logo text,
    away_team_score int,
    start_time timestamptz,
    short_detail varchar(200),
    state varchar(50) CHECK (state IN ('pre', 'in', 'post')),
    status_short text,
    status_long text,
    timer text,
    venue text,
    season text,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    home_team_code text,
    away_team_code text,
    UNIQUE (league, external_game_id)
);

ALTER TABLE trades REPLICA IDENTITY FULL;
ALTER TABLE games REPLICA IDENTITY FULL;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'scrollr') THEN
        CREATE PUBLICATION scrollr FOR TABLE trades, games;
    END IF;
END
$$;

-- The emitter's own state: which slots finished their initial backfill.
CREATE TABLE IF NOT EXISTS scrollr_cdc_backfills (
    slot_name text PRIMARY KEY,
    backfill_id text NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT now()
);
