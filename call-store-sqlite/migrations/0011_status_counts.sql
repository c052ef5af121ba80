-- How many calls are in each status (`CallStore::count_by_status`, the
-- `callwork_calls` gauges of every Prometheus scrape), kept as calls change
-- instead of counted over the whole table: a read costs the same at five
-- million calls as at five. The writer adds each insert's calls to their
-- statuses in the insert's statement batch (one statement for any number
-- of calls: a trigger would run once per row); the trigger below moves a
-- call from its old status to its new one when a write changes it, in the
-- transaction of the write. Calls are never deleted.
CREATE TABLE call_counts (
    status TEXT PRIMARY KEY,
    n      INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO call_counts (status, n) SELECT status, COUNT(*) FROM calls GROUP BY status;

CREATE TRIGGER calls_counted_on_update AFTER UPDATE OF status ON calls
    WHEN OLD.status <> NEW.status
BEGIN
    UPDATE call_counts SET n = n - 1 WHERE status = OLD.status;
    INSERT INTO call_counts (status, n) VALUES (NEW.status, 1)
        ON CONFLICT (status) DO UPDATE SET n = n + 1;
END;
