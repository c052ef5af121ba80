-- The agent an event names (`call_routed`, `call_retransfer`,
-- `call_transferred`), as a column of its own: what counts reroutes reads
-- it, not the event's JSON metadata. Generated from the metadata, so every
-- writer of events fills it without naming it.
ALTER TABLE events ADD COLUMN agent_id TEXT
    GENERATED ALWAYS AS (json_extract(metadata, '$.agent_id')) VIRTUAL;

-- Migration 0012's trigger, reading the column.
DROP TRIGGER reroutes_counted;
CREATE TRIGGER reroutes_counted AFTER INSERT ON events
    WHEN NEW.type = 'call_retransfer' AND NEW.agent_id IS NOT NULL
BEGIN
    INSERT INTO agent_totals (agent_id, answered, wait_us, ended, talk_us, hold_us, reroutes)
    VALUES (CAST(NEW.agent_id AS TEXT), 0, 0, 0, 0, 0, 1)
    ON CONFLICT (agent_id) DO UPDATE SET reroutes = reroutes + 1;
END;
