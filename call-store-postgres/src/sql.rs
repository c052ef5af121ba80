//! Every statement the store runs, in one place (as River keeps its named
//! queries), so that the plan check reads the very strings the store runs.
//!
//! Calls are read with `metadata::text`, decoded in `rows`; writes bind one
//! array per column and read them with `UNNEST` (see `rows`).

/// Every column of `calls`, in the order `rows::CallArrays` binds them.
macro_rules! call_columns {
    () => {
        "id, direction, to_number, from_number, customer_name, workflow, media, queue_id, \
         agent_id, metadata, status, scheduled_at, external_id, attempts, last_error, \
         created_at, updated_at, initiated_at, routed_at, answered_at, held_at, ended_at, \
         wait_seconds, hold_seconds, duration_seconds, end_reason, flags, deadline_at, \
         lease_worker, lease_expires_at, series_id, occurrence, calling_window, redial, \
         redial_attempt, redial_of, redialed_as, version"
    };
}

/// The columns of `calls` as a call is read (metadata as text), each
/// prefixed with the table name given (`""` or `"calls."`).
macro_rules! call_select_of {
    ($t:literal) => {
        concat!(
            $t,
            "id AS id, ",
            $t,
            "direction AS direction, ",
            $t,
            "to_number AS to_number, ",
            $t,
            "from_number AS from_number, ",
            $t,
            "customer_name AS customer_name, ",
            $t,
            "workflow AS workflow, ",
            $t,
            "media AS media, ",
            $t,
            "queue_id AS queue_id, ",
            $t,
            "agent_id AS agent_id, ",
            $t,
            "metadata::text AS metadata, ",
            $t,
            "status AS status, ",
            $t,
            "scheduled_at AS scheduled_at, ",
            $t,
            "external_id AS external_id, ",
            $t,
            "attempts AS attempts, ",
            $t,
            "last_error AS last_error, ",
            $t,
            "created_at AS created_at, ",
            $t,
            "updated_at AS updated_at, ",
            $t,
            "initiated_at AS initiated_at, ",
            $t,
            "routed_at AS routed_at, ",
            $t,
            "answered_at AS answered_at, ",
            $t,
            "held_at AS held_at, ",
            $t,
            "ended_at AS ended_at, ",
            $t,
            "wait_seconds AS wait_seconds, ",
            $t,
            "hold_seconds AS hold_seconds, ",
            $t,
            "duration_seconds AS duration_seconds, ",
            $t,
            "end_reason AS end_reason, ",
            $t,
            "flags AS flags, ",
            $t,
            "deadline_at AS deadline_at, ",
            $t,
            "lease_worker AS lease_worker, ",
            $t,
            "lease_expires_at AS lease_expires_at, ",
            $t,
            "series_id AS series_id, ",
            $t,
            "occurrence AS occurrence, ",
            $t,
            "calling_window AS calling_window, ",
            $t,
            "redial AS redial, ",
            $t,
            "redial_attempt AS redial_attempt, ",
            $t,
            "redial_of AS redial_of, ",
            $t,
            "redialed_as AS redialed_as, ",
            $t,
            "version AS version"
        )
    };
}

/// The columns of `calls` as a call is read.
macro_rules! call_select {
    () => {
        call_select_of!("")
    };
}

/// The 38 column arrays of a batch of calls, from parameter `$1`, as rows `u`.
macro_rules! call_rows {
    () => {
        "SELECT u.id, u.direction, u.to_number, u.from_number, u.customer_name, u.workflow, \
                u.media, u.queue_id, u.agent_id, u.metadata::json, u.status, u.scheduled_at, \
                u.external_id, u.attempts, u.last_error, u.created_at, u.updated_at, \
                u.initiated_at, u.routed_at, u.answered_at, u.held_at, u.ended_at, \
                u.wait_seconds, u.hold_seconds, u.duration_seconds, u.end_reason, u.flags, \
                u.deadline_at, u.lease_worker, u.lease_expires_at, u.series_id, u.occurrence, \
                u.calling_window, u.redial, u.redial_attempt, u.redial_of, u.redialed_as, \
                u.version \
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
                     $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], \
                     $12::timestamptz[], $13::text[], $14::int4[], $15::text[], \
                     $16::timestamptz[], $17::timestamptz[], $18::timestamptz[], \
                     $19::timestamptz[], $20::timestamptz[], $21::timestamptz[], \
                     $22::timestamptz[], $23::float8[], $24::float8[], $25::float8[], \
                     $26::text[], $27::int2[], $28::timestamptz[], $29::text[], \
                     $30::timestamptz[], $31::text[], $32::int4[], $33::text[], \
                     $34::text[], $35::int4[], $36::text[], $37::text[], $38::int8[]) \
           AS u(id, direction, to_number, from_number, customer_name, workflow, media, \
                queue_id, agent_id, metadata, status, scheduled_at, external_id, attempts, \
                last_error, created_at, updated_at, initiated_at, routed_at, answered_at, \
                held_at, ended_at, wait_seconds, hold_seconds, duration_seconds, end_reason, \
                flags, deadline_at, lease_worker, lease_expires_at, series_id, occurrence, \
                calling_window, redial, redial_attempt, redial_of, redialed_as, version)"
    };
}

/// The 7 column arrays of a batch of events, from parameter `$39`, as rows `e`.
macro_rules! event_rows {
    () => {
        "SELECT e.id, e.call_id, e.type, e.timestamp, e.recorded_at, e.source, e.metadata::json \
         FROM UNNEST($39::text[], $40::text[], $41::text[], $42::timestamptz[], \
                     $43::timestamptz[], $44::text[], $45::text[]) \
           AS e(id, call_id, type, timestamp, recorded_at, source, metadata)"
    };
}

/// The columns of a call as it is read, for statements built at run time.
pub(crate) const CALL_SELECT: &str = call_select!();

/// New calls ($1–$38) with their events ($39–$45), in one statement: all or nothing.
pub(crate) const INSERT: &str = concat!(
    "WITH new_calls AS (INSERT INTO calls (",
    call_columns!(),
    ") ",
    call_rows!(),
    " RETURNING 1), new_events AS (INSERT INTO events (id, call_id, type, timestamp, recorded_at, source, metadata) ",
    event_rows!(),
    " RETURNING 1) SELECT (SELECT count(*) FROM new_calls) AS calls"
);

/// New calls ($1–$38) alone. A statement that inserts into `events` takes
/// the log's lock even when it inserts no event (migration 0011), so a
/// transaction that writes calls before it waits for a row lock writes
/// them with this one.
pub(crate) const INSERT_CALLS: &str =
    concat!("INSERT INTO calls (", call_columns!(), ") ", call_rows!());

/// Replaces calls ($1–$38) whose stored version is one less, and appends
/// the events ($39–$45) only if every call was replaced; answers the ids
/// replaced. One statement, so it is all or nothing.
pub(crate) const SAVE: &str = concat!(
    "WITH saved AS (UPDATE calls SET (",
    call_columns!(),
    ") = (u.id, u.direction, u.to_number, u.from_number, u.customer_name, u.workflow, u.media, \
         u.queue_id, u.agent_id, u.metadata::json, u.status, u.scheduled_at, u.external_id, \
         u.attempts, u.last_error, u.created_at, u.updated_at, u.initiated_at, u.routed_at, \
         u.answered_at, u.held_at, u.ended_at, u.wait_seconds, u.hold_seconds, \
         u.duration_seconds, u.end_reason, u.flags, u.deadline_at, u.lease_worker, \
         u.lease_expires_at, u.series_id, u.occurrence, u.calling_window, u.redial, \
         u.redial_attempt, u.redial_of, u.redialed_as, u.version) \
     FROM (",
    call_rows!(),
    ") AS u WHERE calls.id = u.id AND calls.version = u.version - 1 RETURNING calls.id), \
     appended AS (INSERT INTO events (id, call_id, type, timestamp, recorded_at, source, metadata) ",
    event_rows!(),
    " WHERE (SELECT count(*) FROM saved) = cardinality($1::text[]) RETURNING 1) \
     SELECT id FROM saved"
);

/// Deletes the keys among `$1` expired at `$2`, waiting for any writer
/// that holds one: those keys are free again.
pub(crate) const FREE_EXPIRED_KEYS: &str =
    "DELETE FROM idempotency_keys WHERE key = ANY($1::text[]) AND expires_at <= $2";

/// Deletes up to 1,000 other keys expired at `$1`, skipping any another
/// writer holds: the table stays the size of a retention period.
pub(crate) const PURGE_EXPIRED_KEYS: &str = "DELETE FROM idempotency_keys WHERE key IN ( \
     SELECT key FROM idempotency_keys WHERE expires_at <= $1 \
     ORDER BY expires_at LIMIT 1000 FOR UPDATE SKIP LOCKED)";

/// Takes the keys ($1–$4: key, fingerprint, call id, expiry) that are
/// free; answers the keys taken. A key another open transaction is taking
/// waits for it, then is skipped if that one committed. In key order, so
/// that two writers taking overlapping keys cannot deadlock.
pub(crate) const TAKE_KEYS: &str = "INSERT INTO idempotency_keys \
     (key, fingerprint, call_id, expires_at) \
     SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::timestamptz[]) \
     ORDER BY 1 ON CONFLICT (key) DO NOTHING RETURNING key";

/// The keys among `$1` held at `$2`.
pub(crate) const HELD_KEYS: &str = "SELECT key, fingerprint, call_id, expires_at \
     FROM idempotency_keys WHERE key = ANY($1::text[]) AND expires_at > $2";

/// Which of the ids ($1) are calls.
pub(crate) const EXISTING_CALLS: &str = "SELECT id FROM calls WHERE id = ANY($1::text[])";
/// Which of the ids ($1) are recorded events.
pub(crate) const EXISTING_EVENTS: &str = "SELECT id FROM events WHERE id = ANY($1::text[])";

/// The due calls a claim takes: due at or before `$now`, held by no pause
/// active at `$now`, at most `$limit`. The pause of every call is a
/// constant term (one test, no walk); a queue's is looked up per call.
/// A condition on `calls`: its number is not on the do-not-call list.
macro_rules! not_listed {
    () => {
        " AND NOT EXISTS (SELECT 1 FROM do_not_call d WHERE d.phone = calls.to_number)"
    };
}

/// The due calls no pause holds (`$now`, at most `$limit`) and that pass
/// `$also` (`""`, or one more `AND …` on `calls`), locked, skipping rows
/// another transaction holds.
macro_rules! due_calls {
    ($now:literal, $limit:literal, $($also:tt)*) => {
        concat!(
            "SELECT id FROM calls WHERE status = 'scheduled' AND scheduled_at <= ",
            $now,
            " AND created_at <= ",
            $now,
            " AND NOT EXISTS (SELECT 1 FROM dispatch_pauses WHERE scope = '' \
                AND (until IS NULL OR until > ",
            $now,
            ")) AND NOT EXISTS (SELECT 1 FROM dispatch_pauses p WHERE p.scope = calls.queue_id \
                AND (p.until IS NULL OR p.until > ",
            $now,
            "))",
            $($also)*,
            " ORDER BY scheduled_at, id LIMIT ",
            $limit,
            " FOR UPDATE OF calls SKIP LOCKED"
        )
    };
}

/// Claims due calls for worker `$1` until `$2`, at `$3`, at most `$4`, and
/// logs `call_dispatched` for each with the event ids `$5` (one per call
/// that may be claimed, given in due order): one statement. Rows locked by
/// another transaction are skipped, never waited for. The pauses lapsed at
/// `$3` are forgotten in the same statement.
///
/// The due rows are locked in a `MATERIALIZED` CTE and joined, as River
/// does: written as `WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP
/// LOCKED)`, the planner may run the subquery once per row it updates,
/// each run locking n more rows, and the statement claims far more than it
/// returns (the conformance suite caught exactly that).
pub(crate) const CLAIM: &str = concat!(
    "WITH due AS MATERIALIZED (",
    due_calls!("$3", "$4", not_listed!()),
    "), claimed AS (UPDATE calls SET status = 'dispatching', lease_worker = $1, \
        lease_expires_at = $2, version = calls.version + 1, updated_at = $3 \
      FROM due WHERE calls.id = due.id AND calls.status = 'scheduled' RETURNING ",
    call_select_of!("calls."),
    "), numbered AS (SELECT claimed.*, event_id FROM \
        (SELECT claimed.*, row_number() OVER (ORDER BY scheduled_at, id) AS n FROM claimed) AS claimed \
        JOIN UNNEST($5::text[]) WITH ORDINALITY AS ids(event_id, n) USING (n)), \
     logged AS (INSERT INTO events (id, call_id, type, timestamp, recorded_at, source, metadata) \
        SELECT event_id, id, 'call_dispatched', $3, $3, 'scheduler', json_build_object('worker', $1::text) \
        FROM numbered RETURNING 1), \
     lapsed AS (DELETE FROM dispatch_pauses WHERE until <= $3) \
     SELECT * FROM numbered ORDER BY scheduled_at, id"
);

/// The claim's search for due calls, on its own (`$1` now, `$2` limit), for the plan check.
pub(crate) const DUE: &str = due_calls!("$1", "$2", not_listed!());

/// Among the first `$2` due calls at `$1` (locked, as a claim takes them),
/// those whose number is on the do-not-call list, whole, in due order:
/// what a claim cancels first. Bounded by the limit, so a backlog of due
/// calls is not walked when few or none are listed.
pub(crate) const DUE_LISTED: &str = concat!(
    "WITH due AS MATERIALIZED (",
    due_calls!("$1", "$2", ""),
    ") SELECT ",
    call_select_of!("calls."),
    " FROM calls JOIN due USING (id) \
     WHERE EXISTS (SELECT 1 FROM do_not_call d WHERE d.phone = calls.to_number) \
     ORDER BY calls.scheduled_at, calls.id"
);

/// Lists a number ($1–$3: phone, added at, reason) unless it is listed;
/// answers a row when it was added.
pub(crate) const ADD_DO_NOT_CALL: &str = "INSERT INTO do_not_call (phone, added_at, reason) \
     VALUES ($1, $2, $3) ON CONFLICT (phone) DO NOTHING RETURNING phone";

pub(crate) const REMOVE_DO_NOT_CALL: &str = "DELETE FROM do_not_call WHERE phone = $1";

/// The do-not-call entries among the numbers `$1`.
pub(crate) const DO_NOT_CALL_AMONG: &str = "SELECT phone, added_at, reason FROM do_not_call \
     WHERE phone = ANY($1::text[]) ORDER BY phone";

/// The do-not-call entries after number `$1` (`''` for the first page), at most `$2`.
pub(crate) const DO_NOT_CALL_PAGE: &str = "SELECT phone, added_at, reason FROM do_not_call \
     WHERE phone > $1 ORDER BY phone LIMIT $2";

/// As `CallStore::next_due` defines it: the first scheduled call no pause
/// covers (walking past the held ones), the lapse of any pause, the first
/// deadline and the first lease to expire.
pub(crate) const NEXT_DUE: &str = "SELECT LEAST( \
     (SELECT scheduled_at FROM calls WHERE status = 'scheduled' \
         AND NOT EXISTS (SELECT 1 FROM dispatch_pauses WHERE scope = '') \
         AND NOT EXISTS (SELECT 1 FROM dispatch_pauses p WHERE p.scope = calls.queue_id) \
         ORDER BY scheduled_at LIMIT 1), \
     (SELECT min(until) FROM dispatch_pauses), \
     (SELECT min(deadline_at) FROM calls WHERE deadline_at IS NOT NULL), \
     (SELECT min(lease_expires_at) FROM calls WHERE status = 'dispatching')) AS t";

pub(crate) const GET_CALL: &str = concat!("SELECT ", call_select!(), " FROM calls WHERE id = $1");

pub(crate) const GET_BY_EXTERNAL_ID: &str =
    concat!("SELECT ", call_select!(), " FROM calls WHERE external_id = $1 LIMIT 1");

pub(crate) const DEADLINES_DUE: &str = concat!(
    "SELECT ",
    call_select!(),
    " FROM calls WHERE deadline_at IS NOT NULL AND deadline_at <= $1 \
      ORDER BY deadline_at, id LIMIT $2"
);

pub(crate) const EXPIRED_LEASES: &str = concat!(
    "SELECT ",
    call_select!(),
    " FROM calls WHERE status = 'dispatching' AND lease_expires_at <= $1 \
      ORDER BY lease_expires_at, id LIMIT $2"
);

/// A heartbeat: renews the leases of `$2` (ids) that worker `$3` holds,
/// until `$1`; the ids renewed.
pub(crate) const RENEW_LEASES: &str = "UPDATE calls SET lease_expires_at = $1, version = version + 1 \
     WHERE id = ANY($2) AND status = 'dispatching' AND lease_worker = $3 RETURNING id";

/// After `$1` (an id, or `''`, which sorts before every id).
pub(crate) const FOLLOWING: &str = concat!(
    "SELECT ",
    call_select!(),
    " FROM calls WHERE direction = 'outbound' AND external_id IS NOT NULL \
        AND status IN ('initiated', 'ringing', 'routed', 'active', 'on_hold') AND id > $1 \
      ORDER BY id LIMIT $2"
);

pub(crate) const EVENTS_OF_CALL: &str = "SELECT id, call_id, type, timestamp, recorded_at, source, metadata::text AS metadata \
     FROM events WHERE call_id = $1 ORDER BY seq";

/// The audit log after position `$1`, at most `$2` entries (positions grow
/// in commit order: migration 0011).
pub(crate) const LOG_AFTER: &str = "SELECT seq, id, call_id, type, timestamp, recorded_at, source, metadata::text AS metadata \
     FROM events WHERE seq > $1 ORDER BY seq LIMIT $2";

pub(crate) const LOG_HEAD: &str = "SELECT coalesce(max(seq), 0) FROM events";

/// The calls whose ids are in `$1`.
pub(crate) const CALLS_AMONG: &str =
    concat!("SELECT ", call_select!(), " FROM calls WHERE id = ANY($1::text[])");

/// The lock every event's position is taken under (migration 0011), for
/// a transaction that must take it before a row lock it may wait for.
pub(crate) const LOCK_LOG: &str = "SELECT pg_advisory_xact_lock(7161124095611859563)";

pub(crate) const EVENT_BY_ID: &str = "SELECT id, call_id, type, timestamp, recorded_at, source, metadata::text AS metadata \
     FROM events WHERE id = $1";

pub(crate) const ADD_QUEUE: &str = "INSERT INTO queues (id, created_at) VALUES ($1, $2)";
pub(crate) const REMOVE_QUEUE: &str = "DELETE FROM queues WHERE id = $1";
pub(crate) const GET_QUEUE: &str = "SELECT id, created_at FROM queues WHERE id = $1";
pub(crate) const QUEUES: &str = "SELECT id, created_at FROM queues ORDER BY id";

/// Records the pause of scope `$1` (`''` for every call) from `$2` until `$3`.
pub(crate) const PAUSE: &str = "INSERT INTO dispatch_pauses (scope, paused_at, until) \
     VALUES ($1, $2, $3) ON CONFLICT (scope) DO UPDATE \
     SET paused_at = excluded.paused_at, until = excluded.until";
pub(crate) const RESUME: &str = "DELETE FROM dispatch_pauses WHERE scope = $1";
pub(crate) const PAUSES: &str =
    "SELECT scope, paused_at, until FROM dispatch_pauses ORDER BY scope";

macro_rules! series_columns {
    () => {
        "id, cron, time_zone, count, until, created_at, canceled_at, occurrences"
    };
}

macro_rules! series_select {
    () => {
        concat!("SELECT ", series_columns!(), " FROM series")
    };
}

/// Records a series ($1–$8: one array per column).
pub(crate) const INSERT_SERIES: &str = concat!(
    "INSERT INTO series (",
    series_columns!(),
    ") SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int4[], \
                          $5::timestamptz[], $6::timestamptz[], $7::timestamptz[], $8::int4[])"
);

pub(crate) const GET_SERIES: &str = concat!(series_select!(), " WHERE id = $1");

/// The series with ids before `$1` (`NULL` for the newest), newest first, at most `$2`.
pub(crate) const SERIES_PAGE: &str =
    concat!(series_select!(), " WHERE $1::text IS NULL OR id < $1 ORDER BY id DESC LIMIT $2");

/// Series `$1`, locked, if it is not canceled and has made `$2`
/// occurrences (so `$2` is its latest): the caller decides the next with
/// the row locked, then raises the count (`RAISE_SERIES`). A transaction
/// advancing or canceling the series first makes this wait, then answer
/// nothing.
pub(crate) const LOCK_SERIES_AT: &str = concat!(
    series_select!(),
    " WHERE id = $1 AND occurrences = $2 AND canceled_at IS NULL FOR UPDATE"
);

pub(crate) const RAISE_SERIES: &str =
    "UPDATE series SET occurrences = occurrences + 1 WHERE id = $1";

/// Marks series `$1` canceled at `$2` unless it was; answers it.
pub(crate) const CANCEL_SERIES: &str = concat!(
    "UPDATE series SET canceled_at = coalesce(canceled_at, $2) WHERE id = $1 RETURNING ",
    series_columns!()
);

pub(crate) const COUNT_BY_STATUS: &str = "SELECT status, count(*) AS n FROM calls GROUP BY status";

/// `$1`: the SLA threshold in seconds.
pub(crate) const QUEUE_TOTALS: &str = "SELECT queue_id, count(*) AS offered, \
        count(*) FILTER (WHERE answered_at IS NOT NULL) AS answered, \
        count(*) FILTER (WHERE status = 'abandoned') AS abandoned, \
        count(*) FILTER (WHERE answered_at IS NOT NULL AND COALESCE(wait_seconds, 0) <= $1) AS within_sla, \
        COALESCE(sum(wait_seconds) FILTER (WHERE answered_at IS NOT NULL), 0) AS wait, \
        COALESCE(sum(hold_seconds) FILTER (WHERE answered_at IS NOT NULL), 0) AS hold \
     FROM calls \
     WHERE queue_id IS NOT NULL AND status NOT IN ('scheduled', 'dispatching', 'canceled') \
     GROUP BY queue_id ORDER BY queue_id";

pub(crate) const AGENT_TOTALS: &str = "SELECT agent_id, count(*) AS answered, \
        COALESCE(sum(wait_seconds), 0) AS wait, count(duration_seconds) AS ended, \
        COALESCE(sum(duration_seconds), 0) AS talk, \
        COALESCE(sum(hold_seconds), 0) AS hold \
     FROM calls WHERE agent_id IS NOT NULL AND answered_at IS NOT NULL GROUP BY agent_id";

/// Calls that ended in `[$1, $2)`, per minute by outcome (`MinuteTotals`).
pub(crate) const ENDED_PER_MINUTE: &str = "SELECT \
        floor(extract(epoch FROM ended_at) / 60)::bigint AS minute, \
        count(*) FILTER (WHERE status = 'completed') AS completed, \
        count(*) FILTER (WHERE status IN ('busy', 'no_answer', 'abandoned')) AS missed, \
        count(*) FILTER (WHERE status = 'failed') AS failed \
     FROM calls WHERE ended_at >= $1 AND ended_at < $2 GROUP BY 1 ORDER BY 1";

/// Scheduled outbound calls placed in `[$1, $2)`, per minute, with their
/// lateness in seconds (`MinuteTotals`).
pub(crate) const PLACED_PER_MINUTE: &str = "SELECT \
        floor(extract(epoch FROM initiated_at) / 60)::bigint AS minute, count(*) AS placed, \
        COALESCE(sum(GREATEST(extract(epoch FROM initiated_at - scheduled_at), 0)), 0)::float8 \
            AS lateness, \
        COALESCE(max(GREATEST(extract(epoch FROM initiated_at - scheduled_at), 0)), 0)::float8 \
            AS max_lateness \
     FROM calls WHERE direction = 'outbound' AND scheduled_at IS NOT NULL \
       AND initiated_at >= $1 AND initiated_at < $2 \
     GROUP BY 1 ORDER BY 1";

/// Reroutes by the agent who lost the call (migration 0012's column).
pub(crate) const REROUTES: &str = "SELECT agent_id, count(*) AS n \
     FROM events WHERE type = 'call_retransfer' AND agent_id IS NOT NULL GROUP BY agent_id";
