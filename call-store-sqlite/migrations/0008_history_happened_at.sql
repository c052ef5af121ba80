-- A number's history is ordered and filtered by when each call took place,
-- not when it was scheduled: `happened_at`, the rule of `Call::happened_at`
-- in call-core (placed or reported initiated, else ended, else created).
-- Generated, so no write path can set it out of step with its inputs.
ALTER TABLE calls ADD COLUMN happened_at INTEGER
    GENERATED ALWAYS AS (COALESCE(initiated_at, ended_at, created_at)) VIRTUAL;

-- One walk per side of a number, over the calls a history lists. Partial, so
-- a scheduled or live call costs these indexes nothing until it ends; the
-- list is the one in `pages::HISTORY_STATUSES`, in its order (SQLite uses a
-- partial index only when the query repeats its terms).
CREATE INDEX calls_history_to ON calls (to_number, happened_at, id)
    WHERE status IN ('completed', 'failed', 'busy', 'no_answer', 'abandoned');
CREATE INDEX calls_history_from ON calls (from_number, happened_at, id)
    WHERE status IN ('completed', 'failed', 'busy', 'no_answer', 'abandoned');
