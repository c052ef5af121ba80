-- Recurring series, and each occurrence's link to its series. As the
-- SQLite store's.
CREATE TABLE series (
    id          text COLLATE "C" PRIMARY KEY,
    cron        text NOT NULL,
    time_zone   text NOT NULL,
    count       integer,
    until       timestamptz,
    created_at  timestamptz NOT NULL,
    canceled_at timestamptz,
    -- How many occurrences were made: the number of the latest. A claim
    -- makes the next only by raising it from the claimed call's number,
    -- under the row's lock, which also orders it against a cancel.
    occurrences integer NOT NULL
);

ALTER TABLE calls ADD COLUMN series_id text COLLATE "C";
ALTER TABLE calls ADD COLUMN occurrence integer;

-- Partial, so calls of no series pay nothing for them: one row per
-- occurrence number, and the listing of a series' occurrences.
CREATE UNIQUE INDEX calls_by_occurrence ON calls (series_id, occurrence)
    WHERE series_id IS NOT NULL;
CREATE INDEX calls_by_series ON calls (series_id, created_at, id)
    WHERE series_id IS NOT NULL;
