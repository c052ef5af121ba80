-- Calls, their append-only audit log, and the queue registry, as the SQLite
-- store keeps them; times are timestamptz (microseconds, as the core keeps them).
-- Ids are compared byte by byte (COLLATE "C"), as the core orders them, so
-- keyset pages agree with every other store whatever the database's locale.

CREATE TABLE calls (
    id               text COLLATE "C" PRIMARY KEY,
    direction        text        NOT NULL,
    to_number        text,
    from_number      text,
    customer_name    text,
    workflow         text,
    media            text        NOT NULL,
    queue_id         text COLLATE "C",
    agent_id         text COLLATE "C",
    metadata         json        NOT NULL,
    status           text        NOT NULL,
    scheduled_at     timestamptz,
    external_id      text,
    attempts         integer     NOT NULL,
    last_error       text,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    initiated_at     timestamptz,
    routed_at        timestamptz,
    answered_at      timestamptz,
    held_at          timestamptz,
    ended_at         timestamptz,
    wait_seconds     double precision,
    hold_seconds     double precision,
    duration_seconds double precision,
    end_reason       text,
    flags            smallint    NOT NULL,
    deadline_at      timestamptz,
    lease_worker     text,
    lease_expires_at timestamptz,
    version          bigint      NOT NULL
);

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
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          text COLLATE "C" NOT NULL UNIQUE,
    call_id     text COLLATE "C" NOT NULL REFERENCES calls (id),
    type        text        NOT NULL,
    timestamp   timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL,
    source      text        NOT NULL,
    metadata    json        NOT NULL
);

CREATE INDEX events_by_call ON events (call_id, seq);
CREATE INDEX events_reroutes ON events ((metadata ->> 'agent_id'))
    WHERE type = 'call_retransfer';

CREATE TABLE queues (
    id         text COLLATE "C" PRIMARY KEY,
    created_at timestamptz NOT NULL
);

-- Wake-ups across processes: every statement that writes calls announces,
-- on commit, the earliest due moment it wrote (a scheduled call's
-- scheduled_at, a rule deadline) on the channel `callwork_due`, as
-- microseconds since the epoch. Workers LISTEN and compare it with their
-- plan. In a trigger, so that no writer can forget it.
CREATE FUNCTION callwork_announce_due() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    due timestamptz;
BEGIN
    SELECT min(LEAST(CASE WHEN status = 'scheduled' THEN scheduled_at END, deadline_at))
      INTO due FROM written;
    IF due IS NOT NULL THEN
        PERFORM pg_notify('callwork_due', (extract(epoch FROM due) * 1000000)::bigint::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER calls_announce_inserted AFTER INSERT ON calls
    REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION callwork_announce_due();
CREATE TRIGGER calls_announce_updated AFTER UPDATE ON calls
    REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION callwork_announce_due();
