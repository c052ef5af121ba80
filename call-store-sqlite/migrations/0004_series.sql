-- Recurring series, and each occurrence's link to its series.

CREATE TABLE series (
    id          TEXT    PRIMARY KEY NOT NULL,
    cron        TEXT    NOT NULL,
    time_zone   TEXT    NOT NULL,
    count       INTEGER,
    until       INTEGER,
    created_at  INTEGER NOT NULL,
    canceled_at INTEGER,
    -- How many occurrences were made: the number of the latest. A claim
    -- makes the next only by raising it from the claimed call's number.
    occurrences INTEGER NOT NULL
) STRICT;

ALTER TABLE calls ADD COLUMN series_id TEXT;
ALTER TABLE calls ADD COLUMN occurrence INTEGER;

-- Partial, so calls of no series pay nothing for them: one row per
-- occurrence number, and the listing of a series' occurrences.
CREATE UNIQUE INDEX calls_by_occurrence ON calls (series_id, occurrence)
    WHERE series_id IS NOT NULL;
CREATE INDEX calls_by_series ON calls (series_id, created_at, id)
    WHERE series_id IS NOT NULL;
