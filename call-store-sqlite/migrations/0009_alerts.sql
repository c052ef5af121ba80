-- Alerts as records (call_core::alerts): one row per `alert_raised` event,
-- under the event's id, written with the events that raise, acknowledge
-- and close it, in the same transaction.
CREATE TABLE alerts (
    id TEXT PRIMARY KEY NOT NULL,
    call_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    raised_at INTEGER NOT NULL,
    queue_id TEXT,
    agent_id TEXT,
    seconds REAL NOT NULL,
    threshold_seconds REAL NOT NULL,
    acknowledged_at INTEGER,
    acknowledged_by TEXT,
    closed_at INTEGER,
    closed_by TEXT
) WITHOUT ROWID;

-- Pages, newest first: every alert, the open ones, one queue's.
CREATE INDEX alerts_by_raised ON alerts (raised_at, id);
CREATE INDEX alerts_open ON alerts (raised_at, id) WHERE closed_at IS NULL;
CREATE INDEX alerts_by_queue ON alerts (queue_id, raised_at, id);
-- A call's open alerts, which its answer, resumption or end closes.
CREATE INDEX alerts_open_of_call ON alerts (call_id) WHERE closed_at IS NULL;
