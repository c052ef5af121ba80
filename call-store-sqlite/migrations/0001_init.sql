-- Calls, their append-only audit log, and the queue registry.
-- Times are INTEGER microseconds since the Unix epoch (UTC): exact, compact, ordered.

CREATE TABLE calls (
    id               TEXT    PRIMARY KEY NOT NULL,
    direction        TEXT    NOT NULL,
    to_number        TEXT,
    from_number      TEXT,
    customer_name    TEXT,
    workflow         TEXT,
    media            TEXT    NOT NULL,
    queue_id         TEXT,
    agent_id         TEXT,
    metadata         TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    scheduled_at     INTEGER,
    external_id      TEXT,
    attempts         INTEGER NOT NULL,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    initiated_at     INTEGER,
    routed_at        INTEGER,
    answered_at      INTEGER,
    held_at          INTEGER,
    ended_at         INTEGER,
    wait_seconds     REAL,
    hold_seconds     REAL,
    duration_seconds REAL,
    end_reason       TEXT,
    flags            INTEGER NOT NULL,
    deadline_at      INTEGER,
    lease_worker     TEXT,
    lease_expires_at INTEGER,
    version          INTEGER NOT NULL
) STRICT;

-- Listing, newest first: unfiltered, by status, by queue, by either number.
CREATE INDEX calls_by_created ON calls (created_at, id);
CREATE INDEX calls_by_status  ON calls (status, created_at, id);
CREATE INDEX calls_by_queue   ON calls (queue_id, created_at, id) WHERE queue_id IS NOT NULL;
CREATE INDEX calls_by_to      ON calls (to_number, created_at, id) WHERE to_number IS NOT NULL;
CREATE INDEX calls_by_from    ON calls (from_number, created_at, id) WHERE from_number IS NOT NULL;

-- The worker's questions: what is due, which deadline, which lease lapsed, what to poll.
CREATE INDEX calls_due       ON calls (scheduled_at, id)     WHERE status = 'scheduled';
CREATE INDEX calls_deadline  ON calls (deadline_at, id)      WHERE deadline_at IS NOT NULL;
CREATE INDEX calls_lease     ON calls (lease_expires_at, id) WHERE status = 'dispatching';
CREATE INDEX calls_following ON calls (id)
    WHERE direction = 'outbound' AND external_id IS NOT NULL
      AND status IN ('initiated', 'ringing', 'routed', 'active', 'on_hold');
CREATE INDEX calls_by_external_id ON calls (external_id) WHERE external_id IS NOT NULL;

CREATE TABLE events (
    seq         INTEGER PRIMARY KEY,
    id          TEXT    NOT NULL UNIQUE,
    call_id     TEXT    NOT NULL REFERENCES calls (id),
    type        TEXT    NOT NULL,
    timestamp   INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    source      TEXT    NOT NULL,
    metadata    TEXT    NOT NULL
) STRICT;

CREATE INDEX events_by_call ON events (call_id, seq);
CREATE INDEX events_reroutes ON events (json_extract(metadata, '$.agent_id'))
    WHERE type = 'call_retransfer';

CREATE TABLE queues (
    id         TEXT    PRIMARY KEY NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
