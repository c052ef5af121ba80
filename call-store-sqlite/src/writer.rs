//! The single writer: every write goes through one task that owns the
//! write connection and commits whatever is waiting together.
//!
//! sqlx spends ~80–100 µs per statement here and a commit costs a WAL
//! append, so throughput comes from fewer statements and fewer commits, not
//! more connections. Callers send a [`Write`] and await its own answer; the
//! task takes every write waiting (up to [`MAX_BATCH`]) and commits them in
//! one `BEGIN IMMEDIATE` transaction:
//!
//! - together, when they are saves and inserts of distinct calls: one
//!   `UPDATE … FROM (VALUES …)` for every save, one `INSERT` for every new
//!   call, one for every event — a handful of statements however many
//!   writes;
//! - one by one, each in a savepoint of its own, when they are of other
//!   kinds or when the group was refused (a stale version, a duplicate id):
//!   the group is rolled back and replayed this way, so a refused write
//!   leaves the others in. A lone write on this path skips the savepoint.

use std::collections::HashSet;

use call_core::{
    Call, CallEvent, CallId, CallStatus, DoNotCall, HeldKey, Pause, PhoneNumber, QueueId, Series,
    SeriesId,
    alerts::AlertWrites,
    ports::{Claim, Claimed, LeaseRenewal, Queue, StoreError},
};
use chrono::{DateTime, Utc};
use sqlx::{Connection, Row, SqliteConnection, SqlitePool, error::ErrorKind};
use tokio::sync::{mpsc, oneshot};

use crate::{
    DO_NOT_CALL_AMONG, DUE_CALLS, DUE_LISTED, FORGET_LAPSED_PAUSES, HELD_KEYS, PURGE_EXPIRED_KEYS,
    pause_scope,
    rows::{
        CALL_COLUMNS, CANCEL_SERIES, EVENT_COLUMNS, N_CALL_COLUMNS, N_EVENT_COLUMNS, SERIES_BY_ID,
        SERIES_COLUMNS, bind_call, bind_event, bind_series, call_from_row, do_not_call_from_row,
        held_key_from_row, insert_calls, insert_events, micros, push_alert_writes, push_counts,
        series_from_row,
    },
};

/// The most writes committed together.
pub(crate) const MAX_BATCH: usize = 512;

/// SQLite's limit on bound values in one statement.
const MAX_VARIABLES: usize = 32_766;

/// A heartbeat's renewal of one lease, by the call's primary key: only a
/// lease of this worker on a call still being placed.
pub(crate) const RENEW_LEASE: &str = "UPDATE calls SET lease_expires_at = ?1, version = version + 1 \
     WHERE id = ?2 AND status = 'dispatching' AND lease_worker = ?3";

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

pub(crate) fn backend(error: sqlx::Error) -> StoreError {
    StoreError::Backend(error.to_string())
}

/// Runs until every sender is dropped.
pub(crate) async fn run(pool: SqlitePool, mut jobs: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let writes: Vec<&Write> = batch.iter().map(|job| &job.write).collect();
        let answers = match commit(&pool, &writes).await {
            Ok(answers) => answers,
            Err(error) => {
                tracing::error!(%error, n_writes = writes.len(), "a write transaction failed");
                let error = backend(error);
                writes.iter().map(|_| Err(error.clone())).collect()
            }
        };
        for (job, answer) in batch.drain(..).zip(answers) {
            // A caller that stopped waiting does not care.
            let _ = job.reply.send(answer);
        }
    }
    pool.close().await;
}

/// Runs `writes` in one transaction; the outer error means nothing was committed.
async fn commit(
    pool: &SqlitePool,
    writes: &[&Write],
) -> Result<Vec<Result<Written, StoreError>>, sqlx::Error> {
    if let Some(group) = Group::of(writes)
        && group.commit(pool).await?
    {
        return Ok(writes.iter().map(|_| Ok(Written::Done)).collect());
    }
    commit_one_by_one(pool, writes).await
}

/// Saves and inserts of distinct calls, to be written together.
struct Group<'a> {
    saves: Vec<&'a Call>,
    inserts: Vec<&'a Call>,
    events: Vec<&'a CallEvent>,
}

impl<'a> Group<'a> {
    /// `None` unless every write is a save or an insert and no call or
    /// event id appears twice (those need the one-by-one path's answers).
    fn of(writes: &[&'a Write]) -> Option<Group<'a>> {
        let mut group = Group { saves: Vec::new(), inserts: Vec::new(), events: Vec::new() };
        for write in writes {
            match write {
                Write::Save { call, new_calls, events } => {
                    group.saves.push(call.as_ref());
                    group.inserts.extend(new_calls);
                    group.events.extend(events);
                }
                Write::Insert { calls, events } => {
                    group.inserts.extend(calls);
                    group.events.extend(events);
                }
                _ => return None,
            }
        }
        let distinct_calls =
            repeated(group.saves.iter().chain(&group.inserts).map(|c| c.id())).is_none();
        let distinct_events = repeated(group.events.iter().map(|e| e.id())).is_none();
        (distinct_calls && distinct_events).then_some(group)
    }

    /// Writes the group; `false` (with nothing written) when any part of it
    /// was refused, for the caller to replay it one by one.
    ///
    /// Two round trips to SQLite's thread, whatever the group's size: one
    /// query string holding `BEGIN IMMEDIATE`, the updates and the inserts
    /// (sqlx binds the arguments across its statements in order), then
    /// `COMMIT`, or `ROLLBACK` when an update found a stale version or an
    /// insert a duplicate id.
    async fn commit(&self, pool: &SqlitePool) -> Result<bool, sqlx::Error> {
        let mut conn = pool.acquire().await?;
        let mut b = sqlx::QueryBuilder::new("BEGIN IMMEDIATE; ");
        for chunk in self.saves.chunks(MAX_VARIABLES / N_CALL_COLUMNS) {
            b.push(format!("UPDATE calls SET ({CALL_COLUMNS}) = ("));
            let mut columns = b.separated(", ");
            for n in 1..=N_CALL_COLUMNS {
                columns.push(format!("v.column{n}"));
            }
            b.push(") FROM (");
            b.push_values(chunk, |mut row, call| bind_call(&mut row, call));
            b.push(format!(
                ") AS v WHERE calls.id = v.column1 AND calls.version = v.column{N_CALL_COLUMNS} - 1 \
                 RETURNING calls.id; "
            ));
        }
        for chunk in self.inserts.chunks(MAX_VARIABLES / N_CALL_COLUMNS) {
            b.push(format!("INSERT INTO calls ({CALL_COLUMNS}) "));
            b.push_values(chunk, |mut row, call| bind_call(&mut row, call));
            b.push("; ");
        }
        push_counts(&mut b, self.inserts.iter().copied());
        for chunk in self.events.chunks(MAX_VARIABLES / N_EVENT_COLUMNS) {
            b.push(format!("INSERT INTO events ({EVENT_COLUMNS}) "));
            b.push_values(chunk, |mut row, event| bind_event(&mut row, event));
            b.push("; ");
        }
        let calls = self.saves.iter().chain(&self.inserts).copied();
        for writes in AlertWrites::for_calls(calls, self.events.iter().copied()) {
            push_alert_writes(&mut b, &writes);
        }
        let updated = match b.build().fetch_all(&mut *conn).await {
            Ok(rows) => rows.len(),
            Err(error) => {
                // The transaction may or may not have begun; either way, nothing stays.
                let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                return if is_unique_violation(&error) { Ok(false) } else { Err(error) };
            }
        };
        let ok = updated == self.saves.len();
        sqlx::query(if ok { "COMMIT" } else { "ROLLBACK" }).execute(&mut *conn).await?;
        Ok(ok)
    }
}

/// Runs `writes` in one transaction, each in a savepoint of its own.
async fn commit_one_by_one(
    pool: &SqlitePool,
    writes: &[&Write],
) -> Result<Vec<Result<Written, StoreError>>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let mut answers = Vec::with_capacity(writes.len());
    if let [write] = writes {
        let answer = apply(&mut tx, write).await?;
        if answer.is_err() {
            tx.rollback().await?;
            return Ok(vec![answer]);
        }
        answers.push(answer);
    } else {
        for write in writes {
            let mut savepoint = tx.begin().await?;
            let answer = apply(&mut savepoint, write).await?;
            if answer.is_ok() {
                savepoint.commit().await?;
            } else {
                savepoint.rollback().await?;
            }
            answers.push(answer);
        }
    }
    tx.commit().await?;
    Ok(answers)
}

/// One write. The outer error is the database failing; the inner one the
/// write being refused, which rolls back only this write.
async fn apply(
    conn: &mut SqliteConnection,
    write: &Write,
) -> Result<Result<Written, StoreError>, sqlx::Error> {
    match write {
        Write::Insert { calls, events } => insert(conn, calls, events).await,
        Write::InsertKeyed { calls, events, series, keys, now } => {
            insert_keyed(conn, calls, events, series, keys, *now).await
        }
        Write::Save { call, new_calls, events } => save(conn, call, new_calls, events).await,
        Write::Claim(claim) => claim_due(conn, claim).await.map(|c| Ok(Written::Claimed(c))),
        Write::RenewLeases { renewal, ids } => {
            let mut renewed = Vec::with_capacity(ids.len());
            for id in ids {
                let done = sqlx::query(RENEW_LEASE)
                    .bind(micros(renewal.until))
                    .bind(id.as_str())
                    .bind(renewal.worker.as_str())
                    .execute(&mut *conn)
                    .await?;
                if done.rows_affected() > 0 && !renewed.contains(id) {
                    renewed.push(id.clone());
                }
            }
            Ok(Ok(Written::Renewed(renewed)))
        }
        Write::AdvanceSeries { previous, now } => advance_series(conn, previous, *now)
            .await
            .map(|made| Ok(Written::Advanced(made.map(Box::new)))),
        Write::CancelSeries { id, now } => {
            let row = sqlx::query(CANCEL_SERIES)
                .bind(micros(*now))
                .bind(id.as_str())
                .fetch_optional(&mut *conn)
                .await?;
            let series = row.as_ref().map(series_from_row).transpose().map_err(decode)?;
            Ok(Ok(Written::CanceledSeries(series.map(Box::new))))
        }
        Write::AddQueue(queue) => {
            let inserted = sqlx::query("INSERT INTO queues (id, created_at) VALUES (?, ?)")
                .bind(queue.id.to_string())
                .bind(micros(queue.created_at))
                .execute(&mut *conn)
                .await;
            match inserted {
                Ok(_) => Ok(Ok(Written::Done)),
                Err(e) if is_unique_violation(&e) => {
                    Ok(Err(StoreError::DuplicateQueue(queue.id.clone())))
                }
                Err(e) => Err(e),
            }
        }
        Write::RemoveQueue(id) => {
            let done = sqlx::query("DELETE FROM queues WHERE id = ?")
                .bind(id.to_string())
                .execute(&mut *conn)
                .await?;
            Ok(Ok(Written::Removed(done.rows_affected() > 0)))
        }
        Write::Pause(pause) => {
            sqlx::query(
                "INSERT INTO dispatch_pauses (scope, paused_at, until) VALUES (?, ?, ?) \
                 ON CONFLICT (scope) DO UPDATE SET paused_at = excluded.paused_at, \
                 until = excluded.until",
            )
            .bind(pause_scope(pause.queue.as_ref()))
            .bind(micros(pause.paused_at))
            .bind(pause.until.map(micros))
            .execute(&mut *conn)
            .await?;
            Ok(Ok(Written::Done))
        }
        Write::AddDoNotCall(entry) => {
            let added = sqlx::query(
                "INSERT INTO do_not_call (phone, added_at, reason) VALUES (?, ?, ?) \
                 ON CONFLICT (phone) DO NOTHING",
            )
            .bind(entry.phone.as_str())
            .bind(micros(entry.added_at))
            .bind(entry.reason.as_deref())
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if added == 1 {
                return Ok(Ok(Written::Listed(None)));
            }
            let row = sqlx::query(DO_NOT_CALL_AMONG)
                .bind(serde_json::json!([entry.phone.as_str()]).to_string())
                .fetch_one(&mut *conn)
                .await?;
            Ok(do_not_call_from_row(&row).map(|listed| Written::Listed(Some(listed))))
        }
        Write::RemoveDoNotCall(phone) => {
            let done = sqlx::query("DELETE FROM do_not_call WHERE phone = ?")
                .bind(phone.as_str())
                .execute(&mut *conn)
                .await?;
            Ok(Ok(Written::Removed(done.rows_affected() > 0)))
        }
        Write::Resume(queue) => {
            let done = sqlx::query("DELETE FROM dispatch_pauses WHERE scope = ?")
                .bind(pause_scope(queue.as_ref()))
                .execute(&mut *conn)
                .await?;
            Ok(Ok(Written::Removed(done.rows_affected() > 0)))
        }
    }
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.kind() == ErrorKind::UniqueViolation)
}

/// The first id that appears twice in `ids`.
fn repeated<'a, T: Eq + std::hash::Hash>(ids: impl IntoIterator<Item = &'a T>) -> Option<&'a T> {
    let mut seen = HashSet::new();
    ids.into_iter().find(|id| !seen.insert(*id))
}

async fn insert(
    conn: &mut SqliteConnection,
    calls: &[Call],
    events: &[CallEvent],
) -> Result<Result<Written, StoreError>, sqlx::Error> {
    let ids: Vec<&str> = calls.iter().map(|c| c.id().as_str()).collect();
    let per_statement = MAX_VARIABLES / N_CALL_COLUMNS;
    let chunks = calls.chunks(per_statement).map(insert_calls);
    if let Some(duplicate) = insert_new(conn, "calls", &ids, per_statement, chunks).await? {
        let id = calls.iter().map(Call::id).find(|id| id.as_str() == duplicate);
        return Ok(Err(StoreError::DuplicateCall(id.unwrap_or(calls[0].id()).clone())));
    }
    if let Err(refused) = append(conn, events).await? {
        return Ok(Err(refused));
    }
    for writes in AlertWrites::for_calls(calls, events) {
        write_alerts(conn, &writes).await?;
    }
    Ok(Ok(Written::Done))
}

/// Writes what a batch of events does to alerts, when it does anything.
async fn write_alerts(
    conn: &mut SqliteConnection,
    writes: &AlertWrites,
) -> Result<(), sqlx::Error> {
    if !writes.is_empty() {
        let mut b = sqlx::QueryBuilder::new("");
        push_alert_writes(&mut b, writes);
        b.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Inserts `calls` and `series` and takes their `keys`, unless one of the keys is held.
async fn insert_keyed(
    conn: &mut SqliteConnection,
    calls: &[Call],
    events: &[CallEvent],
    series: &[Series],
    keys: &[HeldKey],
    now: DateTime<Utc>,
) -> Result<Result<Written, StoreError>, sqlx::Error> {
    sqlx::query(PURGE_EXPIRED_KEYS).bind(micros(now)).execute(&mut *conn).await?;
    let mut held = Vec::new();
    for chunk in keys.chunks(MAX_VARIABLES) {
        let mut b = sqlx::QueryBuilder::new(format!("{HELD_KEYS} ("));
        let mut list = b.separated(", ");
        for key in chunk {
            list.push_bind(key.key.as_str());
        }
        b.push(")");
        for row in b.build().fetch_all(&mut *conn).await? {
            held.push(held_key_from_row(&row).map_err(decode)?);
        }
    }
    if !held.is_empty() {
        return Ok(Ok(Written::Held(held)));
    }
    if let Err(refused) = insert(conn, calls, events).await? {
        return Ok(Err(refused));
    }
    for chunk in series.chunks(MAX_VARIABLES / 8) {
        let mut b = sqlx::QueryBuilder::new(format!("INSERT INTO series ({SERIES_COLUMNS}) "));
        b.push_values(chunk, |mut row, series| bind_series(&mut row, series));
        b.build().execute(&mut *conn).await?;
    }
    // The keys are distinct (the engine merges repeats) and free (checked above).
    for chunk in keys.chunks(MAX_VARIABLES / 4) {
        let mut b = sqlx::QueryBuilder::new(
            "INSERT INTO idempotency_keys (key, fingerprint, call_id, expires_at) ",
        );
        b.push_values(chunk, |mut row, key| {
            row.push_bind(key.key.as_str())
                .push_bind(key.fingerprint.as_str())
                .push_bind(key.call_id.as_str())
                .push_bind(micros(key.expires_at));
        });
        b.build().execute(&mut *conn).await?;
    }
    Ok(Ok(Written::Held(Vec::new())))
}

/// Appends events; a recorded id refuses the write.
async fn append(
    conn: &mut SqliteConnection,
    events: &[CallEvent],
) -> Result<Result<(), StoreError>, sqlx::Error> {
    let ids: Vec<&str> = events.iter().map(|e| e.id().as_str()).collect();
    let per_statement = MAX_VARIABLES / N_EVENT_COLUMNS;
    let chunks = events.chunks(per_statement).map(insert_events);
    if let Some(duplicate) = insert_new(conn, "events", &ids, per_statement, chunks).await? {
        let id = events.iter().map(CallEvent::id).find(|id| id.as_str() == duplicate);
        return Ok(Err(StoreError::DuplicateEvent(id.unwrap_or(events[0].id()).clone())));
    }
    Ok(Ok(()))
}

/// Runs the multi-row inserts of rows whose ids are `ids`, `per_statement`
/// rows a statement; on a unique violation (an id repeated among them or
/// already in `table`), stops and answers that id, leaving the caller to
/// roll back.
async fn insert_new(
    conn: &mut SqliteConnection,
    table: &str,
    ids: &[&str],
    per_statement: usize,
    statements: impl Iterator<Item = sqlx::QueryBuilder<sqlx::Sqlite>>,
) -> Result<Option<String>, sqlx::Error> {
    if let Some(id) = repeated(ids.iter()) {
        return Ok(Some((*id).to_owned()));
    }
    for (mut statement, chunk) in statements.zip(ids.chunks(per_statement)) {
        if let Err(error) = statement.build().execute(&mut *conn).await {
            if !is_unique_violation(&error) {
                return Err(error);
            }
            // Only this statement's rows: the earlier ones are in the table now.
            let chunk: Vec<String> = chunk.iter().map(|id| (*id).to_owned()).collect();
            let existing = first_existing(conn, table, &chunk).await?;
            return Ok(Some(existing.unwrap_or_else(|| chunk[0].clone())));
        }
    }
    Ok(None)
}

/// The first of `ids` already in `table`.
async fn first_existing(
    conn: &mut SqliteConnection,
    table: &str,
    ids: &[String],
) -> Result<Option<String>, sqlx::Error> {
    let mut b = sqlx::QueryBuilder::new(format!("SELECT id FROM {table} WHERE id IN ("));
    let mut list = b.separated(", ");
    for id in ids {
        list.push_bind(id.clone());
    }
    b.push(") LIMIT 1");
    let row = b.build().fetch_optional(&mut *conn).await?;
    Ok(row.map(|r| r.get::<String, _>(0)))
}

/// Saves `call` and inserts `new_calls`, then appends `events`; the caller
/// rolls back whatever this refuses.
async fn save(
    conn: &mut SqliteConnection,
    call: &Call,
    new_calls: &[Call],
    events: &[CallEvent],
) -> Result<Result<Written, StoreError>, sqlx::Error> {
    let expected = call.version().wrapping_sub(1);
    let mut b = sqlx::QueryBuilder::new(format!("UPDATE calls SET ({CALL_COLUMNS}) = ("));
    bind_call(&mut b.separated(", "), call);
    b.push(") WHERE id = ").push_bind(call.id().to_string());
    b.push(" AND version = ").push_bind(i64::try_from(expected).unwrap_or(i64::MAX));
    if b.build().execute(&mut *conn).await?.rows_affected() == 0 {
        let exists = sqlx::query("SELECT 1 FROM calls WHERE id = ?")
            .bind(call.id().to_string())
            .fetch_optional(&mut *conn)
            .await?
            .is_some();
        return Ok(Err(if exists {
            StoreError::Conflict { id: call.id().clone(), expected }
        } else {
            StoreError::NotFound(call.id().clone())
        }));
    }
    let inserted = insert(conn, new_calls, events).await?;
    if inserted.is_ok() {
        for writes in AlertWrites::for_calls([call], events) {
            write_alerts(conn, &writes).await?;
        }
    }
    Ok(inserted)
}

/// Makes the occurrence after `previous`, as `CallStore::advance_series` does.
async fn advance_series(
    conn: &mut SqliteConnection,
    previous: &Call,
    now: DateTime<Utc>,
) -> Result<Option<(Call, CallEvent)>, sqlx::Error> {
    let Some(occurrence) = previous.occurrence() else { return Ok(None) };
    let row = sqlx::query(SERIES_BY_ID)
        .bind(occurrence.series_id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(series) = row.as_ref().map(series_from_row).transpose().map_err(decode)? else {
        return Ok(None);
    };
    let Some((call, event)) = series.successor(previous, now) else { return Ok(None) };
    // The writer is the only one in this transaction, and it read the
    // count just now: the condition only restates what makes this safe.
    let raised = sqlx::query(
        "UPDATE series SET occurrences = occurrences + 1 \
         WHERE id = ? AND occurrences = ? AND canceled_at IS NULL",
    )
    .bind(series.id.as_str())
    .bind(i64::from(occurrence.number))
    .execute(&mut *conn)
    .await?;
    if raised.rows_affected() == 0 {
        return Ok(None);
    }
    insert_calls(std::slice::from_ref(&call)).build().execute(&mut *conn).await?;
    insert_events(std::slice::from_ref(&event)).build().execute(&mut *conn).await?;
    Ok(Some((call, event)))
}

fn decode(error: StoreError) -> sqlx::Error {
    sqlx::Error::Decode(error.into())
}

async fn claim_due(
    conn: &mut SqliteConnection,
    claim: &Claim,
) -> Result<Vec<Claimed>, sqlx::Error> {
    sqlx::query(FORGET_LAPSED_PAUSES).bind(micros(claim.now)).execute(&mut *conn).await?;
    let limit = i64::try_from(claim.limit).unwrap_or(i64::MAX);
    let mut claimed = Vec::new();
    // The listed numbers' due calls first: canceled, never dispatched.
    let listed =
        sqlx::query(DUE_LISTED).bind(micros(claim.now)).bind(limit).fetch_all(&mut *conn).await?;
    for row in &listed {
        let (call, event) = claim.do_not_call(&call_from_row(row).map_err(decode)?);
        // This transaction holds the database: the version it read stands.
        if let Err(refused) = save(conn, &call, &[], std::slice::from_ref(&event)).await? {
            return Err(sqlx::Error::Protocol(refused.to_string()));
        }
        let successor = advance_series(conn, &call, claim.now).await?;
        claimed.push(Claimed { call, event, successor });
    }
    let limit = limit - i64::try_from(claimed.len()).unwrap_or(i64::MAX);
    if limit <= 0 {
        return Ok(claimed);
    }
    let sql = format!(
        "UPDATE calls SET status = 'dispatching', lease_worker = ?1, lease_expires_at = ?2, \
         version = version + 1, updated_at = ?3 \
         WHERE id IN ({DUE_CALLS}) RETURNING {CALL_COLUMNS}"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(claim.worker.to_string())
        .bind(micros(claim.lease_until))
        .bind(micros(claim.now))
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    let mut calls = Vec::with_capacity(rows.len());
    for row in &rows {
        calls.push(call_from_row(row).map_err(decode)?);
    }
    calls.sort_by(|a, b| (a.scheduled_at(), a.id()).cmp(&(b.scheduled_at(), b.id())));
    debug_assert!(calls.iter().all(|c| c.status() == CallStatus::Dispatching));
    let events: Vec<CallEvent> = calls.iter().map(|call| claim.dispatched_event(call)).collect();
    // Generated ids cannot collide; a refusal here is the database failing.
    if let Err(refused) = append(conn, &events).await? {
        return Err(sqlx::Error::Protocol(refused.to_string()));
    }
    for (call, event) in calls.into_iter().zip(events) {
        let successor = advance_series(conn, &call, claim.now).await?;
        claimed.push(Claimed { call, event, successor });
    }
    Ok(claimed)
}
