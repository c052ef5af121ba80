-- The agent an event names (`call_routed`, `call_retransfer`,
-- `call_transferred`), as a column of its own: the reroute figures query
-- it, not the event's JSON metadata. Generated from the metadata, so every
-- writer of events fills it without naming it.
ALTER TABLE events ADD COLUMN agent_id text GENERATED ALWAYS AS (metadata ->> 'agent_id') STORED;

DROP INDEX events_reroutes;
CREATE INDEX events_reroutes ON events (agent_id)
    WHERE type = 'call_retransfer' AND agent_id IS NOT NULL;

-- The agents' figures (`AGENT_TOTALS`) read answered calls by agent from
-- this index alone. Partial: only an answered call with an agent pays for it.
CREATE INDEX calls_answered_by_agent ON calls (agent_id)
    INCLUDE (wait_seconds, duration_seconds, hold_seconds)
    WHERE agent_id IS NOT NULL AND answered_at IS NOT NULL;
