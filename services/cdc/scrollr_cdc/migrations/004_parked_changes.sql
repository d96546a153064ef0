-- Changes the relay refused (a 4xx about the change itself, e.g. 413 for a row over its body
-- limit), parked so the feed goes on: the emitter retries each row's oldest parked change with
-- backoff, and holds that row's later changes here behind it (so a row never goes backwards).
-- Parked rows are durable before the slot moves past them. Operators: README, "Parked changes".
CREATE TABLE IF NOT EXISTS scrollr_cdc_parked (
    id bigserial PRIMARY KEY,
    slot_name text NOT NULL,
    message_group text NOT NULL,          -- the row: ["schema","table",["pk",...]]
    table_schema text NOT NULL,
    table_name text NOT NULL,
    record_pks text[] NOT NULL,
    commit_lsn bigint,
    commit_idx integer,
    idempotency_key text NOT NULL,
    message text NOT NULL,                -- the Sequin message, JSON, as it will be posted
    reason text NOT NULL,                 -- the relay's answer, or why it waits
    attempts integer NOT NULL DEFAULT 0,
    parked_at timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (slot_name, idempotency_key)
);
CREATE INDEX IF NOT EXISTS scrollr_cdc_parked_order
    ON scrollr_cdc_parked (slot_name, message_group, commit_lsn, commit_idx, id);
