-- A signed-in user's preferences (issue 25), one row per OpenID subject. Written only by the relay's
-- PUT /me/preferences; the change feed carries each write back to the relay, which sends it to that
-- user's streams only (event: preferences). Numbered 005: 003 and 004 belong to the emitter's
-- parked changes.
CREATE TABLE IF NOT EXISTS user_preferences (
    sub text PRIMARY KEY CHECK (length(sub) BETWEEN 1 AND 255),
    symbols jsonb CHECK (symbols IS NULL OR jsonb_typeof(symbols) = 'array'),  -- null: every symbol
    leagues jsonb CHECK (leagues IS NULL OR jsonb_typeof(leagues) = 'array'),  -- null: every league
    favourite_teams jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(favourite_teams) = 'object'),
    update_speed text NOT NULL DEFAULT 'live' CHECK (update_speed IN ('live', '1s', '5s')),
    display jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(display) = 'object'),
    feed_bar jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(feed_bar) = 'object'),
    version bigint NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT now()
);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'scrollr')
       AND NOT EXISTS (
           SELECT 1 FROM pg_publication_tables WHERE pubname = 'scrollr' AND tablename = 'user_preferences'
       ) THEN
        ALTER PUBLICATION scrollr ADD TABLE user_preferences;
    END IF;
END
$$;
