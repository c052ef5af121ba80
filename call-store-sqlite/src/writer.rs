//! The single writer: every write goes through one thread that owns the
//! write connection and commits whatever is waiting together.
//!
//! It runs on rusqlite in a thread of its own, not on sqlx: sqlx hands each
//! statement to its connection's thread and back, ~80–130 µs a statement on
//! 2 cores, more than SQLite's own work; here a statement is prepared once
//! for the life of the writer and run on the thread that owns the
//! connection (BENCHMARKS.md, "the driver, measured"). Callers send a
//! [`Write`] and await its own answer; the thread takes every write
//! waiting (up to [`MAX_BATCH`]) and commits them in one `BEGIN IMMEDIATE`
//! transaction, each write in a savepoint of its own, so a refused write
//! (a stale version, a duplicate id) is rolled back alone and the others
//! stay. A lone write skips the savepoint.

use std::{collections::HashSet, sync::LazyLock};

use call_core::{
    Call, CallEvent, CallId, CallStatus, DoNotCall, HeldKey, Pause, PhoneNumber, QueueId, Series,
    SeriesId,
    alerts::AlertWrites,
    ports::{BackendError, Claim, Claimed, LeaseRenewal, Queue, StoreError},
};
use chrono::{DateTime, Utc};
use rusqlite::{
    Connection, ErrorCode, TransactionBehavior, params, params_from_iter, types::Value as Sql,
};
use tokio::sync::{mpsc, oneshot};

use crate::{
    DO_NOT_CALL_AMONG, DUE_CALLS, DUE_LISTED, FORGET_LAPSED_PAUSES, HELD_KEY, PURGE_EXPIRED_KEYS,
    pause_scope,
    rows::{
        ACKNOWLEDGE_ALERT, ADD_TO_COUNT, ALERT_COLUMNS, CALL_COLUMNS, CANCEL_SERIES, ColumnIndex,
        EVENT_COLUMNS, N_CALL_COLUMNS, N_EVENT_COLUMNS, Named, SERIES_BY_ID, SERIES_COLUMNS,
        alert_values, call_from_row, call_values, close_alerts, do_not_call_from_row, event_values,
        held_key_from_row, micros, series_from_row, series_values, status_counts,
    },
};

/// The most writes committed together.
pub(crate) const MAX_BATCH: usize = 512;

/// A heartbeat's renewal of one lease, by the call's primary key: only a
/// lease of this worker on a call still being placed.
pub(crate) const RENEW_LEASE: &str = "UPDATE calls SET lease_expires_at = ?1, version = version + 1 \
     WHERE id = ?2 AND status = 'dispatching' AND lease_worker = ?3";

/// Statements prepared once and kept for the writer's life: the fixed ones
/// and a save's for each set of columns it changes.
const PREPARED_STATEMENTS: usize = 256;

/// One write, as a caller asks for it.
pub(crate) enum Write {
    Insert {
        calls: Vec<Call>,
        events: Vec<CallEvent>,
    },
    InsertKeyed {
        calls: Vec<Call>,
        events: Vec<CallEvent>,
        series: Vec<Series>,
        keys: Vec<HeldKey>,
        now: DateTime<Utc>,
    },
    /// Saves a call, inserting the new calls it makes with it (a redial).
    Save {
        call: Box<Call>,
        /// The columns it changes (positions in `CALL_COLUMNS`), when the
        /// version it replaces is known; else every column is written.
        changed: Option<Vec<usize>>,
        new_calls: Vec<Call>,
        events: Vec<CallEvent>,
    },
    Claim(Claim),
    /// A worker's heartbeat: renews the leases it still holds.
    RenewLeases {
        renewal: LeaseRenewal,
        ids: Vec<CallId>,
    },
    /// Makes the occurrence after a call.
    AdvanceSeries {
        previous: Box<Call>,
        now: DateTime<Utc>,
    },
    CancelSeries {
        id: SeriesId,
        now: DateTime<Utc>,
    },
    AddQueue(Queue),
    RemoveQueue(QueueId),
    Pause(Pause),
    /// Lifts the pause of a queue, or of every call when `None`.
    Resume(Option<QueueId>),
    /// Lists a number unless it is listed.
    AddDoNotCall(DoNotCall),
    RemoveDoNotCall(PhoneNumber),
}

/// What a write answers.
pub(crate) enum Written {
    Done,
    Claimed(Vec<Claimed>),
    /// The calls a [`Write::RenewLeases`] renewed.
    Renewed(Vec<CallId>),
    /// The occurrence an [`Write::AdvanceSeries`] made, if any.
    Advanced(Option<Box<(Call, CallEvent)>>),
    /// The series a [`Write::CancelSeries`] canceled, if it exists.
    CanceledSeries(Option<Box<Series>>),
    Removed(bool),
    /// The keys of an [`Write::InsertKeyed`] held already (then nothing was written).
    Held(Vec<HeldKey>),
    /// The entry of a number an [`Write::AddDoNotCall`] found listed already.
    Listed(Option<DoNotCall>),
}

pub(crate) struct Job {
    pub(crate) write: Write,
    pub(crate) reply: oneshot::Sender<Result<Written, StoreError>>,
}

/// The database failing (not a write refused, not a row that does not
/// decode), as a caller of the writer or the readers sees it.
pub(crate) fn failed(error: rusqlite::Error) -> StoreError {
    StoreError::Backend(BackendError::from_source(error))
}

/// A row the writer read back that does not decode: the database failing.
fn undecodable(error: StoreError) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(error))
}

/// Starts the writer on a thread of its own; it runs until every sender is
/// dropped, then closes `conn`.
pub(crate) fn spawn(mut conn: Connection, mut jobs: mpsc::Receiver<Job>) -> std::io::Result<()> {
    conn.set_prepared_statement_cache_capacity(PREPARED_STATEMENTS);
    std::thread::Builder::new().name("callwork-sqlite-writer".into()).spawn(move || {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while let Some(job) = jobs.blocking_recv() {
            batch.push(job);
            // Whatever else is waiting commits with it.
            while batch.len() < MAX_BATCH {
                match jobs.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            let writes: Vec<&Write> = batch.iter().map(|job| &job.write).collect();
            let answers = match commit(&mut conn, &writes) {
                Ok(answers) => answers,
                Err(error) => {
                    tracing::error!(%error, n_writes = writes.len(), "a write transaction failed");
                    let error = failed(error);
                    writes.iter().map(|_| Err(error.clone())).collect()
                }
            };
            for (job, answer) in batch.drain(..).zip(answers) {
                // A caller that stopped waiting does not care.
                let _ = job.reply.send(answer);
            }
        }
    })?;
    Ok(())
}

/// Runs `writes` in one transaction, each in a savepoint of its own; the
/// outer error means nothing was committed.
fn commit(
    conn: &mut Connection,
    writes: &[&Write],
) -> Result<Vec<Result<Written, StoreError>>, rusqlite::Error> {
    let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut answers = Vec::with_capacity(writes.len());
    if let [write] = writes {
        let answer = apply(&tx, write)?;
        if answer.is_err() {
            tx.rollback()?;
            return Ok(vec![answer]);
        }
        answers.push(answer);
    } else {
        for write in writes {
            let savepoint = tx.savepoint()?;
            let answer = apply(&savepoint, write)?;
            if answer.is_ok() {
                savepoint.commit()?;
            }
            // Dropped without a commit, a savepoint rolls back to where it began.
            answers.push(answer);
        }
    }
    tx.commit()?;
    Ok(answers)
}

/// One write. The outer error is the database failing; the inner one the
/// write being refused, which rolls back only this write.
fn apply(conn: &Connection, write: &Write) -> Result<Result<Written, StoreError>, rusqlite::Error> {
    match write {
        Write::Insert { calls, events } => insert(conn, calls, events),
        Write::InsertKeyed { calls, events, series, keys, now } => {
            insert_keyed(conn, calls, events, series, keys, *now)
        }
        Write::Save { call, changed, new_calls, events } => {
            save(conn, call, changed.as_deref(), new_calls, events)
        }
        Write::Claim(claim) => claim_due(conn, claim).map(|c| Ok(Written::Claimed(c))),
        Write::RenewLeases { renewal, ids } => {
            let mut renew = conn.prepare_cached(RENEW_LEASE)?;
            let mut renewed = Vec::with_capacity(ids.len());
            for id in ids {
                let changed = renew.execute(params![
                    micros(renewal.until),
                    id.as_str(),
                    renewal.worker.as_str()
                ])?;
                if changed > 0 && !renewed.contains(id) {
                    renewed.push(id.clone());
                }
            }
            Ok(Ok(Written::Renewed(renewed)))
        }
        Write::AdvanceSeries { previous, now } => advance_series(conn, previous, *now)
            .map(|made| Ok(Written::Advanced(made.map(Box::new)))),
        Write::CancelSeries { id, now } => {
            let series = decoded(conn, CANCEL_SERIES, params![micros(*now), id.as_str()], |row| {
                series_from_row(row)
            })?;
            Ok(Ok(Written::CanceledSeries(series.into_iter().next().map(Box::new))))
        }
        Write::AddQueue(queue) => {
            let inserted = conn
                .prepare_cached("INSERT INTO queues (id, created_at) VALUES (?1, ?2)")?
                .execute(params![queue.id.as_str(), micros(queue.created_at)]);
            match inserted {
                Ok(_) => Ok(Ok(Written::Done)),
                Err(e) if is_unique_violation(&e) => {
                    Ok(Err(StoreError::DuplicateQueue(queue.id.clone())))
                }
                Err(e) => Err(e),
            }
        }
        Write::RemoveQueue(id) => {
            let removed =
                conn.prepare_cached("DELETE FROM queues WHERE id = ?1")?.execute([id.as_str()])?;
            Ok(Ok(Written::Removed(removed > 0)))
        }
        Write::Pause(pause) => {
            conn.prepare_cached(
                "INSERT INTO dispatch_pauses (scope, paused_at, until) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (scope) DO UPDATE SET paused_at = excluded.paused_at, \
                 until = excluded.until",
            )?
            .execute(params![
                pause_scope(pause.queue.as_ref()),
                micros(pause.paused_at),
                pause.until.map(micros)
            ])?;
            Ok(Ok(Written::Done))
        }
        Write::AddDoNotCall(entry) => {
            let added = conn
                .prepare_cached(
                    "INSERT INTO do_not_call (phone, added_at, reason) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (phone) DO NOTHING",
                )?
                .execute(params![
                    entry.phone.as_str(),
                    micros(entry.added_at),
                    entry.reason.as_deref()
                ])?;
            if added == 1 {
                return Ok(Ok(Written::Listed(None)));
            }
            let phones = serde_json::json!([entry.phone.as_str()]).to_string();
            let listed = decoded(conn, DO_NOT_CALL_AMONG, [phones], do_not_call_from_row)?;
            Ok(Ok(Written::Listed(listed.into_iter().next())))
        }
        Write::RemoveDoNotCall(phone) => {
            let removed = conn
                .prepare_cached("DELETE FROM do_not_call WHERE phone = ?1")?
                .execute([phone.as_str()])?;
            Ok(Ok(Written::Removed(removed > 0)))
        }
        Write::Resume(queue) => {
            let removed = conn
                .prepare_cached("DELETE FROM dispatch_pauses WHERE scope = ?1")?
                .execute([pause_scope(queue.as_ref())])?;
            Ok(Ok(Written::Removed(removed > 0)))
        }
    }
}

fn is_unique_violation(error: &rusqlite::Error) -> bool {
    matches!(error, rusqlite::Error::SqliteFailure(e, _) if e.code == ErrorCode::ConstraintViolation
        && matches!(e.extended_code, rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            | rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE))
}

/// The first id that appears twice in `ids`.
fn repeated<'a, T: Eq + std::hash::Hash>(ids: impl IntoIterator<Item = &'a T>) -> Option<&'a T> {
    let mut seen = HashSet::new();
    ids.into_iter().find(|id| !seen.insert(*id))
}

/// Inserts `calls` with their `events` and what the events do to alerts;
/// a call or event id already recorded refuses the write.
fn insert(
    conn: &Connection,
    calls: &[Call],
    events: &[CallEvent],
) -> Result<Result<Written, StoreError>, rusqlite::Error> {
    if let Some(duplicate) = insert_calls(conn, calls)? {
        return Ok(Err(StoreError::DuplicateCall(duplicate.clone())));
    }
    if let Err(refused) = append(conn, events)? {
        return Ok(Err(refused));
    }
    for writes in AlertWrites::for_calls(calls, events) {
        write_alerts(conn, &writes)?;
    }
    Ok(Ok(Written::Done))
}

/// Inserts `calls` and adds them to the counts of their statuses; answers
/// the first id repeated among them or already stored, having stopped there.
fn insert_calls<'c>(
    conn: &Connection,
    calls: &'c [Call],
) -> Result<Option<&'c CallId>, rusqlite::Error> {
    if let Some(id) = repeated(calls.iter().map(Call::id)) {
        return Ok(Some(id));
    }
    if let Some(refused) = insert_rows(conn, &CALL_INSERTS, calls, call_values)? {
        return Ok(Some(calls[refused].id()));
    }
    let mut count = conn.prepare_cached(ADD_TO_COUNT)?;
    for (status, n) in status_counts(calls) {
        count.execute(params![status, n])?;
    }
    Ok(None)
}

/// `?1, ?2, …, ?n`.
fn placeholders(n: usize) -> String {
    numbered(1, n)
}

/// `n` numbered parameters from `?first`: `?first, …, ?(first + n - 1)`.
fn numbered(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ")
}

/// Rows one multi-row `INSERT` takes. SQLite sets a statement up on each
/// run (the constant `IN` lists of the partial indexes' conditions become
/// temporary tables, once per run), so one run of 64 rows costs far less
/// than 64 runs of one.
const ROWS_PER_INSERT: usize = 64;

/// The inserts into a table: one row, and [`ROWS_PER_INSERT`] rows.
struct Inserts {
    one: String,
    many: String,
}

impl Inserts {
    fn new(table: &str, columns: &str, n_columns: usize) -> Inserts {
        let row = |first: usize| format!("({})", numbered(first, n_columns));
        let rows: Vec<String> = (0..ROWS_PER_INSERT).map(|r| row(1 + r * n_columns)).collect();
        Inserts {
            one: format!("INSERT INTO {table} ({columns}) VALUES {}", row(1)),
            many: format!("INSERT INTO {table} ({columns}) VALUES {}", rows.join(", ")),
        }
    }
}

static CALL_INSERTS: LazyLock<Inserts> =
    LazyLock::new(|| Inserts::new("calls", CALL_COLUMNS, N_CALL_COLUMNS));

static EVENT_INSERTS: LazyLock<Inserts> =
    LazyLock::new(|| Inserts::new("events", EVENT_COLUMNS, N_EVENT_COLUMNS));

/// Inserts `rows`, [`ROWS_PER_INSERT`] to a statement; on a unique
/// violation answers the index of the row refused (the rows before it may
/// be written: the caller rolls the write back).
fn insert_rows<T, const N: usize>(
    conn: &Connection,
    inserts: &Inserts,
    rows: &[T],
    values: impl Fn(&T) -> [Sql; N],
) -> Result<Option<usize>, rusqlite::Error> {
    let mut one = conn.prepare_cached(&inserts.one)?;
    let mut first = 0;
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        if chunk.len() == ROWS_PER_INSERT {
            let inserted = conn
                .prepare_cached(&inserts.many)?
                .execute(params_from_iter(chunk.iter().flat_map(&values)));
            match inserted {
                Ok(_) => {
                    first += chunk.len();
                    continue;
                }
                // The statement wrote none of its rows: find the one refused below.
                Err(e) if is_unique_violation(&e) => {}
                Err(e) => return Err(e),
            }
        }
        for (i, row) in chunk.iter().enumerate() {
            match one.execute(params_from_iter(values(row))) {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => return Ok(Some(first + i)),
                Err(e) => return Err(e),
            }
        }
        first += chunk.len();
    }
    Ok(None)
}

/// The names of the columns of [`CALL_COLUMNS`], in its order.
static CALL_COLUMN_NAMES: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| CALL_COLUMNS.split(',').map(str::trim).collect());

/// A changed call, its columns bound in [`CALL_COLUMNS`] order (`?1` its
/// id), then the version it replaces.
static SAVE_CALL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE calls SET ({CALL_COLUMNS}) = ({}) WHERE id = ?1 AND version = ?{}",
        placeholders(N_CALL_COLUMNS),
        N_CALL_COLUMNS + 1
    )
});

/// A raised alert, its columns bound in [`ALERT_COLUMNS`] order.
static INSERT_ALERT: LazyLock<String> =
    LazyLock::new(|| format!("INSERT INTO alerts ({ALERT_COLUMNS}) VALUES ({})", placeholders(12)));

/// A new series, its columns bound in [`SERIES_COLUMNS`] order.
static INSERT_SERIES: LazyLock<String> =
    LazyLock::new(|| format!("INSERT INTO series ({SERIES_COLUMNS}) VALUES ({})", placeholders(8)));

/// The claim of the due calls ([`DUE_CALLS`]) for worker `?1` until `?2`,
/// at `?3`, at most `?4`: every column of each claimed call.
static CLAIM_DUE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE calls SET status = 'dispatching', lease_worker = ?1, lease_expires_at = ?2, \
         version = version + 1, updated_at = ?3 \
         WHERE id IN ({DUE_CALLS}) RETURNING {CALL_COLUMNS}"
    )
});

/// The rows `sql` answers, each decoded by `decode`.
fn decoded<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    decode: impl Fn(&Named<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, rusqlite::Error> {
    let mut statement = conn.prepare_cached(sql)?;
    let columns = ColumnIndex::of(&statement);
    let rows = statement.query_map(params, |row| Ok(decode(&Named { row, columns: &columns })))?;
    rows.map(|row| row?.map_err(undecodable)).collect()
}

/// Appends events; a recorded id refuses the write.
fn append(
    conn: &Connection,
    events: &[CallEvent],
) -> Result<Result<(), StoreError>, rusqlite::Error> {
    if let Some(id) = repeated(events.iter().map(CallEvent::id)) {
        return Ok(Err(StoreError::DuplicateEvent(id.clone())));
    }
    if let Some(refused) = insert_rows(conn, &EVENT_INSERTS, events, event_values)? {
        return Ok(Err(StoreError::DuplicateEvent(events[refused].id().clone())));
    }
    Ok(Ok(()))
}

/// Writes what a batch of events does to alerts.
fn write_alerts(conn: &Connection, writes: &AlertWrites) -> Result<(), rusqlite::Error> {
    if !writes.raised.is_empty() {
        let mut raise = conn.prepare_cached(&INSERT_ALERT)?;
        for alert in &writes.raised {
            raise.execute(params_from_iter(alert_values(alert)))?;
        }
    }
    for (id, by, at) in &writes.acknowledged {
        conn.prepare_cached(ACKNOWLEDGE_ALERT)?.execute(params![micros(*at), by, id.as_str()])?;
    }
    for closing in &writes.closed {
        let mut values: Vec<rusqlite::types::Value> = vec![
            micros(closing.at).into(),
            closing.by.as_str().to_owned().into(),
            closing.call_id.to_string().into(),
        ];
        values.extend(closing.kinds.iter().map(|kind| kind.as_str().to_owned().into()));
        conn.prepare_cached(&close_alerts(closing.kinds.len()))?
            .execute(params_from_iter(values))?;
    }
    Ok(())
}

/// Inserts `calls` and `series` and takes their `keys`, unless one of the keys is held.
fn insert_keyed(
    conn: &Connection,
    calls: &[Call],
    events: &[CallEvent],
    series: &[Series],
    keys: &[HeldKey],
    now: DateTime<Utc>,
) -> Result<Result<Written, StoreError>, rusqlite::Error> {
    conn.prepare_cached(PURGE_EXPIRED_KEYS)?.execute([micros(now)])?;
    let mut held = Vec::new();
    for key in keys {
        held.extend(decoded(conn, HELD_KEY, [key.key.as_str()], held_key_from_row)?);
    }
    if !held.is_empty() {
        return Ok(Ok(Written::Held(held)));
    }
    if let Err(refused) = insert(conn, calls, events)? {
        return Ok(Err(refused));
    }
    let mut add_series = conn.prepare_cached(&INSERT_SERIES)?;
    for series in series {
        add_series.execute(params_from_iter(series_values(series)))?;
    }
    // The keys are distinct (the engine merges repeats) and free (checked above).
    let mut take = conn.prepare_cached(
        "INSERT INTO idempotency_keys (key, fingerprint, call_id, expires_at) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for key in keys {
        take.execute(params![
            key.key.as_str(),
            key.fingerprint.as_str(),
            key.call_id.as_str(),
            micros(key.expires_at)
        ])?;
    }
    Ok(Ok(Written::Held(Vec::new())))
}

/// Saves `call` and inserts `new_calls`, then appends `events`; the caller
/// rolls back whatever this refuses.
fn save(
    conn: &Connection,
    call: &Call,
    changed: Option<&[usize]>,
    new_calls: &[Call],
    events: &[CallEvent],
) -> Result<Result<Written, StoreError>, rusqlite::Error> {
    let expected = call.version().wrapping_sub(1);
    let expected_value = Sql::Integer(i64::try_from(expected).unwrap_or(i64::MAX));
    let values = call_values(call);
    let updated = match changed {
        // Only what changed: SQLite maintains an index only when a column
        // it holds is set, and a full row set touches every index on calls.
        Some(columns) if !columns.is_empty() => {
            let set: Vec<String> = columns
                .iter()
                .enumerate()
                .map(|(n, &column)| format!("{} = ?{}", CALL_COLUMN_NAMES[column], n + 1))
                .collect();
            let n = columns.len();
            let sql = format!(
                "UPDATE calls SET {} WHERE id = ?{} AND version = ?{}",
                set.join(", "),
                n + 1,
                n + 2
            );
            let mut params: Vec<&Sql> = columns.iter().map(|&column| &values[column]).collect();
            params.extend([&values[0], &expected_value]);
            conn.prepare_cached(&sql)?.execute(params_from_iter(params))?
        }
        _ => {
            let params = values.iter().chain([&expected_value]);
            conn.prepare_cached(&SAVE_CALL)?.execute(params_from_iter(params))?
        }
    };
    if updated == 0 {
        let exists = conn
            .prepare_cached("SELECT 1 FROM calls WHERE id = ?1")?
            .exists([call.id().as_str()])?;
        return Ok(Err(if exists {
            StoreError::Conflict { id: call.id().clone(), expected }
        } else {
            StoreError::NotFound(call.id().clone())
        }));
    }
    let inserted = insert(conn, new_calls, events)?;
    if inserted.is_ok() {
        for writes in AlertWrites::for_calls([call], events) {
            write_alerts(conn, &writes)?;
        }
    }
    Ok(inserted)
}

/// Makes the occurrence after `previous`, as `CallStore::advance_series` does.
fn advance_series(
    conn: &Connection,
    previous: &Call,
    now: DateTime<Utc>,
) -> Result<Option<(Call, CallEvent)>, rusqlite::Error> {
    let Some(occurrence) = previous.occurrence() else { return Ok(None) };
    let series = decoded(conn, SERIES_BY_ID, [occurrence.series_id.as_str()], series_from_row)?;
    let Some(series) = series.into_iter().next() else { return Ok(None) };
    let Some((call, event)) = series.successor(previous, now) else { return Ok(None) };
    // The writer is the only one in this transaction, and it read the
    // count just now: the condition only restates what makes this safe.
    let raised = conn
        .prepare_cached(
            "UPDATE series SET occurrences = occurrences + 1 \
             WHERE id = ?1 AND occurrences = ?2 AND canceled_at IS NULL",
        )?
        .execute(params![series.id.as_str(), i64::from(occurrence.number)])?;
    if raised == 0 {
        return Ok(None);
    }
    if let Some(id) = insert_calls(conn, std::slice::from_ref(&call))? {
        return Err(undecodable(StoreError::DuplicateCall(id.clone())));
    }
    if let Err(refused) = append(conn, std::slice::from_ref(&event))? {
        return Err(undecodable(refused));
    }
    Ok(Some((call, event)))
}

fn claim_due(conn: &Connection, claim: &Claim) -> Result<Vec<Claimed>, rusqlite::Error> {
    conn.prepare_cached(FORGET_LAPSED_PAUSES)?.execute([micros(claim.now)])?;
    let limit = i64::try_from(claim.limit).unwrap_or(i64::MAX);
    let mut claimed = Vec::new();
    // The listed numbers' due calls first: canceled, never dispatched.
    let listed = decoded(conn, DUE_LISTED, params![micros(claim.now), limit], call_from_row)?;
    for call in listed {
        let (call, event) = claim.do_not_call(&call);
        // This transaction holds the database: the version it read stands.
        if let Err(refused) = save(conn, &call, None, &[], std::slice::from_ref(&event))? {
            return Err(undecodable(refused));
        }
        let successor = advance_series(conn, &call, claim.now)?;
        claimed.push(Claimed { call, event, successor });
    }
    let limit = limit - i64::try_from(claimed.len()).unwrap_or(i64::MAX);
    if limit <= 0 {
        return Ok(claimed);
    }
    let claiming =
        params![claim.worker.as_str(), micros(claim.lease_until), micros(claim.now), limit];
    let mut calls = decoded(conn, &CLAIM_DUE, claiming, call_from_row)?;
    calls.sort_by(|a, b| (a.scheduled_at(), a.id()).cmp(&(b.scheduled_at(), b.id())));
    debug_assert!(calls.iter().all(|c| c.status() == CallStatus::Dispatching));
    let events: Vec<CallEvent> = calls.iter().map(|call| claim.dispatched_event(call)).collect();
    // Generated ids cannot collide; a refusal here is the database failing.
    if let Err(refused) = append(conn, &events)? {
        return Err(undecodable(refused));
    }
    for (call, event) in calls.into_iter().zip(events) {
        let successor = advance_series(conn, &call, claim.now)?;
        claimed.push(Claimed { call, event, successor });
    }
    Ok(claimed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The driver's error is kept behind the store's, for a caller that
    /// tells one failure from another.
    #[test]
    fn a_failure_keeps_rusqlite_s_error() {
        let StoreError::Backend(error) = failed(rusqlite::Error::QueryReturnedNoRows) else {
            panic!("a database failure is a backend failure");
        };
        assert!(matches!(
            error.downcast_ref::<rusqlite::Error>(),
            Some(rusqlite::Error::QueryReturnedNoRows)
        ));
        assert_eq!(error.message(), rusqlite::Error::QueryReturnedNoRows.to_string());
    }
}
