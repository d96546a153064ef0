-- Sequin's replication slot, the one deploy/sequin.yaml names (its publication is `scrollr`, above).
-- Created only in a database Sequin will read, recognised by Sequin's role (`sequin`, the YAML's
-- default user, created with REPLICATION before migrating): a slot nobody reads keeps every WAL
-- segment from then on, so local and test databases (no such role) get none. Slot creation must
-- come first in its transaction, before any write, so this migration does nothing else.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sequin')
       AND NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = 'sequin_slot') THEN
        PERFORM pg_create_logical_replication_slot('sequin_slot', 'pgoutput');
    END IF;
END
$$;
