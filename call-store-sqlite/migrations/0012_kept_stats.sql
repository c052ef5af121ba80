-- The sums behind the queue and agent metrics (`CallStore::stats_inputs`,
-- `GET /api/stats`, the queue and agent gauges of every Prometheus scrape),
-- kept as calls change instead of summed over the whole table: a read
-- costs the same at five million calls as at five.
--
-- What each sum means is `QueueTotals` and `AgentTotals` (call-core's
-- ports): a queue's calls are *offered* once they leave `scheduled`,
-- `dispatching` and `canceled`; an agent's are the answered calls naming
-- it. Times are summed as INTEGER microseconds, so the sums are exact and
-- do not drift however often a call changes.
--
-- The SLA threshold is the caller's, so the answered calls of each queue
-- are also counted by their wait, rounded up, at two resolutions: whole
-- seconds, and whole milliseconds. "Answered within T ms" is then the
-- seconds up to floor(T/1000), plus the milliseconds of the one second
-- after that up to T: at most a thousand rows a queue, whatever the history
-- (the SLA is set in whole milliseconds).
--
-- Triggers keep them, in the transaction of the write: they fire only for
-- calls with a queue or an agent whose status, times or people changed, so
-- the scheduled outbound calls of a bulk import do not pay for them. Calls
-- are never deleted.

CREATE TABLE queue_totals (
    queue_id  TEXT    PRIMARY KEY NOT NULL,
    offered   INTEGER NOT NULL,
    answered  INTEGER NOT NULL,
    abandoned INTEGER NOT NULL,
    wait_us   INTEGER NOT NULL,
    hold_us   INTEGER NOT NULL
) WITHOUT ROWID, STRICT;

-- Answered calls of a queue by their wait in whole seconds, rounded up.
CREATE TABLE queue_wait_seconds (
    queue_id TEXT    NOT NULL,
    s        INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (queue_id, s)
) WITHOUT ROWID, STRICT;

-- The same in whole milliseconds, rounded up.
CREATE TABLE queue_wait_millis (
    queue_id TEXT    NOT NULL,
    ms       INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (queue_id, ms)
) WITHOUT ROWID, STRICT;

CREATE TABLE agent_totals (
    agent_id TEXT    PRIMARY KEY NOT NULL,
    answered INTEGER NOT NULL,
    wait_us  INTEGER NOT NULL,
    ended    INTEGER NOT NULL,
    talk_us  INTEGER NOT NULL,
    hold_us  INTEGER NOT NULL,
    -- `call_retransfer` events naming the agent in their `agent_id`.
    reroutes INTEGER NOT NULL
) WITHOUT ROWID, STRICT;

-- What the calls stored before this migration add up to.
INSERT INTO queue_totals (queue_id, offered, answered, abandoned, wait_us, hold_us)
SELECT queue_id, COUNT(*), SUM(answered_at IS NOT NULL), SUM(status = 'abandoned'),
       SUM(CASE WHEN answered_at IS NOT NULL THEN CAST(round(coalesce(wait_seconds, 0) * 1e6) AS INTEGER) ELSE 0 END),
       SUM(CASE WHEN answered_at IS NOT NULL THEN CAST(round(coalesce(hold_seconds, 0) * 1e6) AS INTEGER) ELSE 0 END)
FROM calls
WHERE queue_id IS NOT NULL AND status NOT IN ('scheduled', 'dispatching', 'canceled')
GROUP BY queue_id;

INSERT INTO queue_wait_seconds (queue_id, s, n)
SELECT queue_id, (CAST(round(coalesce(wait_seconds, 0) * 1e6) AS INTEGER) + 999999) / 1000000, COUNT(*)
FROM calls
WHERE queue_id IS NOT NULL AND answered_at IS NOT NULL
  AND status NOT IN ('scheduled', 'dispatching', 'canceled')
GROUP BY 1, 2;

INSERT INTO queue_wait_millis (queue_id, ms, n)
SELECT queue_id, (CAST(round(coalesce(wait_seconds, 0) * 1e6) AS INTEGER) + 999) / 1000, COUNT(*)
FROM calls
WHERE queue_id IS NOT NULL AND answered_at IS NOT NULL
  AND status NOT IN ('scheduled', 'dispatching', 'canceled')
GROUP BY 1, 2;

INSERT INTO agent_totals (agent_id, answered, wait_us, ended, talk_us, hold_us, reroutes)
SELECT agent_id, COUNT(*),
       SUM(CAST(round(coalesce(wait_seconds, 0) * 1e6) AS INTEGER)),
       COUNT(duration_seconds),
       SUM(CAST(round(coalesce(duration_seconds, 0) * 1e6) AS INTEGER)),
       SUM(CAST(round(coalesce(hold_seconds, 0) * 1e6) AS INTEGER)),
       0
FROM calls
WHERE agent_id IS NOT NULL AND answered_at IS NOT NULL
GROUP BY agent_id;

INSERT INTO agent_totals (agent_id, answered, wait_us, ended, talk_us, hold_us, reroutes)
SELECT CAST(json_extract(metadata, '$.agent_id') AS TEXT), 0, 0, 0, 0, 0, COUNT(*)
FROM events
WHERE type = 'call_retransfer' AND json_extract(metadata, '$.agent_id') IS NOT NULL
GROUP BY 1
ON CONFLICT (agent_id) DO UPDATE SET reroutes = excluded.reroutes;

-- Reroutes were counted over this index on every read; they are kept now.
DROP INDEX events_reroutes;

-- A call's part in the sums, added (NEW) or taken away (OLD). The two
-- triggers on `calls` run the same statements on NEW; SQLite has no
-- procedures to share them through. A status is tested with `<>`, not
-- `NOT IN (…)`: SQLite builds a temporary table for a list of more than two
-- values each time a statement runs, and these run for every change.

CREATE TRIGGER calls_summed_on_insert AFTER INSERT ON calls
    WHEN NEW.queue_id IS NOT NULL OR NEW.agent_id IS NOT NULL
BEGIN
    INSERT INTO queue_totals (queue_id, offered, answered, abandoned, wait_us, hold_us)
    SELECT NEW.queue_id, 1, NEW.answered_at IS NOT NULL, NEW.status = 'abandoned',
           CASE WHEN NEW.answered_at IS NOT NULL THEN CAST(round(coalesce(NEW.wait_seconds, 0) * 1e6) AS INTEGER) ELSE 0 END,
           CASE WHEN NEW.answered_at IS NOT NULL THEN CAST(round(coalesce(NEW.hold_seconds, 0) * 1e6) AS INTEGER) ELSE 0 END
    WHERE NEW.queue_id IS NOT NULL AND NEW.status <> 'scheduled' AND NEW.status <> 'dispatching' AND NEW.status <> 'canceled'
    ON CONFLICT (queue_id) DO UPDATE SET offered = offered + 1, answered = answered + excluded.answered,
        abandoned = abandoned + excluded.abandoned, wait_us = wait_us + excluded.wait_us,
        hold_us = hold_us + excluded.hold_us;
    INSERT INTO queue_wait_seconds (queue_id, s, n)
    SELECT NEW.queue_id, (CAST(round(coalesce(NEW.wait_seconds, 0) * 1e6) AS INTEGER) + 999999) / 1000000, 1
    WHERE NEW.queue_id IS NOT NULL AND NEW.answered_at IS NOT NULL
      AND NEW.status <> 'scheduled' AND NEW.status <> 'dispatching' AND NEW.status <> 'canceled'
    ON CONFLICT (queue_id, s) DO UPDATE SET n = n + 1;
    INSERT INTO queue_wait_millis (queue_id, ms, n)
    SELECT NEW.queue_id, (CAST(round(coalesce(NEW.wait_seconds, 0) * 1e6) AS INTEGER) + 999) / 1000, 1
    WHERE NEW.queue_id IS NOT NULL AND NEW.answered_at IS NOT NULL
      AND NEW.status <> 'scheduled' AND NEW.status <> 'dispatching' AND NEW.status <> 'canceled'
    ON CONFLICT (queue_id, ms) DO UPDATE SET n = n + 1;
    INSERT INTO agent_totals (agent_id, answered, wait_us, ended, talk_us, hold_us, reroutes)
    SELECT NEW.agent_id, 1, CAST(round(coalesce(NEW.wait_seconds, 0) * 1e6) AS INTEGER),
           NEW.duration_seconds IS NOT NULL,
           CAST(round(coalesce(NEW.duration_seconds, 0) * 1e6) AS INTEGER),
           CAST(round(coalesce(NEW.hold_seconds, 0) * 1e6) AS INTEGER), 0
    WHERE NEW.agent_id IS NOT NULL AND NEW.answered_at IS NOT NULL
    ON CONFLICT (agent_id) DO UPDATE SET answered = answered + 1, wait_us = wait_us + excluded.wait_us,
        ended = ended + excluded.ended, talk_us = talk_us + excluded.talk_us,
        hold_us = hold_us + excluded.hold_us;
END;

CREATE TRIGGER calls_summed_on_update AFTER UPDATE ON calls
    WHEN (OLD.queue_id IS NOT NULL OR NEW.queue_id IS NOT NULL
          OR OLD.agent_id IS NOT NULL OR NEW.agent_id IS NOT NULL)
     AND (OLD.status IS NOT NEW.status OR OLD.queue_id IS NOT NEW.queue_id
          OR OLD.agent_id IS NOT NEW.agent_id OR OLD.answered_at IS NOT NEW.answered_at
          OR OLD.wait_seconds IS NOT NEW.wait_seconds OR OLD.hold_seconds IS NOT NEW.hold_seconds
          OR OLD.duration_seconds IS NOT NEW.duration_seconds)
BEGIN
    -- OLD's part out.
    UPDATE queue_totals SET offered = offered - 1,
        answered = answered - (OLD.answered_at IS NOT NULL),
        abandoned = abandoned - (OLD.status = 'abandoned'),
        wait_us = wait_us - CASE WHEN OLD.answered_at IS NOT NULL THEN CAST(round(coalesce(OLD.wait_seconds, 0) * 1e6) AS INTEGER) ELSE 0 END,
        hold_us = hold_us - CASE WHEN OLD.answered_at IS NOT NULL THEN CAST(round(coalesce(OLD.hold_seconds, 0) * 1e6) AS INTEGER) ELSE 0 END
    WHERE queue_id = OLD.queue_id AND OLD.status <> 'scheduled' AND OLD.status <> 'dispatching' AND OLD.status <> 'canceled';
    UPDATE queue_wait_seconds SET n = n - 1
    WHERE queue_id = OLD.queue_id AND OLD.answered_at IS NOT NULL
      AND OLD.status <> 'scheduled' AND OLD.status <> 'dispatching' AND OLD.status <> 'canceled'
      AND s = (CAST(round(coalesce(OLD.wait_seconds, 0) * 1e6) AS INTEGER) + 999999) / 1000000;
    UPDATE queue_wait_millis SET n = n - 1
    WHERE queue_id = OLD.queue_id AND OLD.answered_at IS NOT NULL
      AND OLD.status <> 'scheduled' AND OLD.status <> 'dispatching' AND OLD.status <> 'canceled'
      AND ms = (CAST(round(coalesce(OLD.wait_seconds, 0) * 1e6) AS INTEGER) + 999) / 1000;
    UPDATE agent_totals SET answered = answered - 1,
        wait_us = wait_us - CAST(round(coalesce(OLD.wait_seconds, 0) * 1e6) AS INTEGER),
        ended = ended - (OLD.duration_seconds IS NOT NULL),
        talk_us = talk_us - CAST(round(coalesce(OLD.duration_seconds, 0) * 1e6) AS INTEGER),
        hold_us = hold_us - CAST(round(coalesce(OLD.hold_seconds, 0) * 1e6) AS INTEGER)
    WHERE agent_id = OLD.agent_id AND OLD.answered_at IS NOT NULL;

    -- NEW's part in: as calls_summed_on_insert.
    INSERT INTO queue_totals (queue_id, offered, answered, abandoned, wait_us, hold_us)
    SELECT NEW.queue_id, 1, NEW.answered_at IS NOT NULL, NEW.status = 'abandoned',
           CASE WHEN NEW.answered_at IS NOT NULL THEN CAST(round(coalesce(NEW.wait_seconds, 0) * 1e6) AS INTEGER) ELSE 0 END,
           CASE WHEN NEW.answered_at IS NOT NULL THEN CAST(round(coalesce(NEW.hold_seconds, 0) * 1e6) AS INTEGER) ELSE 0 END
    WHERE NEW.queue_id IS NOT NULL AND NEW.status <> 'scheduled' AND NEW.status <> 'dispatching' AND NEW.status <> 'canceled'
    ON CONFLICT (queue_id) DO UPDATE SET offered = offered + 1, answered = answered + excluded.answered,
        abandoned = abandoned + excluded.abandoned, wait_us = wait_us + excluded.wait_us,
        hold_us = hold_us + excluded.hold_us;
    INSERT INTO queue_wait_seconds (queue_id, s, n)
    SELECT NEW.queue_id, (CAST(round(coalesce(NEW.wait_seconds, 0) * 1e6) AS INTEGER) + 999999) / 1000000, 1
    WHERE NEW.queue_id IS NOT NULL AND NEW.answered_at IS NOT NULL
      AND NEW.status <> 'scheduled' AND NEW.status <> 'dispatching' AND NEW.status <> 'canceled'
    ON CONFLICT (queue_id, s) DO UPDATE SET n = n + 1;
    INSERT INTO queue_wait_millis (queue_id, ms, n)
    SELECT NEW.queue_id, (CAST(round(coalesce(NEW.wait_seconds, 0) * 1e6) AS INTEGER) + 999) / 1000, 1
    WHERE NEW.queue_id IS NOT NULL AND NEW.answered_at IS NOT NULL
      AND NEW.status <> 'scheduled' AND NEW.status <> 'dispatching' AND NEW.status <> 'canceled'
    ON CONFLICT (queue_id, ms) DO UPDATE SET n = n + 1;
    INSERT INTO agent_totals (agent_id, answered, wait_us, ended, talk_us, hold_us, reroutes)
    SELECT NEW.agent_id, 1, CAST(round(coalesce(NEW.wait_seconds, 0) * 1e6) AS INTEGER),
           NEW.duration_seconds IS NOT NULL,
           CAST(round(coalesce(NEW.duration_seconds, 0) * 1e6) AS INTEGER),
           CAST(round(coalesce(NEW.hold_seconds, 0) * 1e6) AS INTEGER), 0
    WHERE NEW.agent_id IS NOT NULL AND NEW.answered_at IS NOT NULL
    ON CONFLICT (agent_id) DO UPDATE SET answered = answered + 1, wait_us = wait_us + excluded.wait_us,
        ended = ended + excluded.ended, talk_us = talk_us + excluded.talk_us,
        hold_us = hold_us + excluded.hold_us;
END;

-- Events are appended, never changed or deleted.
CREATE TRIGGER reroutes_counted AFTER INSERT ON events
    WHEN NEW.type = 'call_retransfer' AND json_extract(NEW.metadata, '$.agent_id') IS NOT NULL
BEGIN
    INSERT INTO agent_totals (agent_id, answered, wait_us, ended, talk_us, hold_us, reroutes)
    VALUES (CAST(json_extract(NEW.metadata, '$.agent_id') AS TEXT), 0, 0, 0, 0, 0, 1)
    ON CONFLICT (agent_id) DO UPDATE SET reroutes = reroutes + 1;
END;
