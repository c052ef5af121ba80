//! callwork's [`CallStore`] on PostgreSQL: one schedule shared by many
//! workers on many machines.
//!
//! The same contract as the SQLite store (it runs the same conformance
//! suite), on a server that any number of processes reach at once:
//!
//! - **claims** are one statement, `UPDATE … WHERE id IN (SELECT … FOR
//!   UPDATE SKIP LOCKED LIMIT n) RETURNING …`, which also logs each claimed
//!   call's `call_dispatched` event: concurrent workers never get the same
//!   call and never wait on each other's locked rows;
//! - **wake-ups cross machines**: a trigger announces, on commit, the
//!   earliest due moment each write sets (`NOTIFY callwork_due`), and a
//!   worker's [`CallStore::announcements`] `LISTEN`s, so a call scheduled
//!   for now by an API server on one machine is placed by a worker on
//!   another at once;
//! - **every write is one statement** (a batch binds one array per column
//!   and reads it with `UNNEST`), so each is atomic without a transaction
//!   block and costs one round trip;
//! - **the audit log is read in commit order** ([`CallStore::log_after`],
//!   what live clients resume from): each event's `seq` is taken under one
//!   advisory lock held to commit, taken by every statement that inserts
//!   into `events` (migration 0011), so commits that write events take
//!   turns. To stay free of deadlocks a transaction takes that lock after
//!   every row lock it may wait for and waits for none after it: its
//!   events are its last write but for alert records (which only a holder
//!   of the lock writes), and calls it writes before a wait go in a
//!   statement without events (`INSERT_CALLS`); so a keyed insert writes
//!   calls, then keys, then events; a series' next occurrence outside a
//!   claim takes the lock before the series row, as a claim does;
//! - the schema is embedded (`migrations/`) and brought up to date on open,
//!   under sqlx's advisory lock, so processes starting together are safe.
//!
//! `sqlx` runtime queries only: a fresh clone builds with no `DATABASE_URL`.
//!
//! # Example
//!
//! ```no_run
//! use std::sync::Arc;
//! use call_core::{Engine, NewCall, PhoneNumber};
//! use call_store_postgres::PgStore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = PgStore::open("postgres://postgres@127.0.0.1:5432/calls").await?;
//! let engine = Engine::builder(Arc::new(store)).build();
//! let call = engine.schedule(NewCall::to(PhoneNumber::parse("+14155550100")?)).await?;
//! assert_eq!(engine.get(call.id()).await?, call);
//! # Ok(())
//! # }
//! ```
//!
//! The crate's tests run that against a throwaway server
//! (`testing::TestServer`, feature `testing`).

mod listen;
mod pages;
mod rows;
mod sql;
#[cfg(feature = "testing")]
pub mod testing;

use std::{
    collections::HashSet,
    str::FromStr,
    sync::{Arc, OnceLock},
    time::Duration,
};

use async_trait::async_trait;
use call_core::{
    AgentId, Call, CallEvent, CallId, CallStatus, DoNotCall, EventId, HeldKey, Pause, PhoneNumber,
    QueueId, Series, SeriesId, StatusGroup,
    alerts::{AlertCursor, AlertPage, AlertQuery, AlertRecord, AlertWrites},
    ports::{
        AgentTotals, Announcements, CallStore, Claim, Claimed, Cursor, HistoryQuery, LeaseRenewal,
        ListQuery, LogEntry, MinuteTotals, Page, PageOrder, Queue, QueueTotals, StatsInputs,
        StoreError,
    },
};
use chrono::{DateTime, Utc};
use sqlx::{
    ConnectOptions, Connection, PgConnection, PgPool, Row,
    error::ErrorKind,
    migrate::{MigrateError, Migrator},
    postgres::{PgConnectOptions, PgPoolOptions, PgRow},
};
use tokio::sync::broadcast;

use crate::{
    pages::PageQuery,
    rows::{
        ALERT_COLUMNS, CLOSE_ALERTS, CallArrays, EventArrays, alert_from_row, call_from_row,
        corrupt, do_not_call_from_row, event_from_row, held_key_from_row, insert_calls_statement,
        insert_series, insert_statement, series_from_row, write_alerts,
    },
};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// How long opening waits for the server, and a query for a connection:
/// past it, a server that went away is [`StoreError::Backend`] (a 503, one
/// outage line from a worker) rather than a request left hanging.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// A statement slower than this is logged as slow (at debug).
const SLOW_STATEMENT: Duration = Duration::from_secs(1);

/// Announcements kept for a worker that is slow to read them; past that it
/// is told to look at the store (see [`Announcements::next`]).
const ANNOUNCEMENTS_BUFFER: usize = 1024;

/// How a [`PgStore`] connects.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PgOptions {
    /// Connections in the pool, at most. Each worker holds one more for
    /// `LISTEN` once it starts.
    pub max_connections: u32,
}

impl Default for PgOptions {
    /// Ten connections.
    fn default() -> PgOptions {
        PgOptions { max_connections: 10 }
    }
}

impl PgOptions {
    /// The default options with `max_connections` connections at most (at least 1).
    pub fn max_connections(max_connections: u32) -> PgOptions {
        PgOptions { max_connections: max_connections.max(1) }
    }
}

/// Why a store could not be opened. Each names the server, without its password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The text is not a `postgres://` URL sqlx can read.
    #[error("cannot open {url}: not a PostgreSQL URL: {message}")]
    InvalidUrl {
        /// The URL, without its password.
        url: String,
        /// What is wrong with it.
        message: String,
    },
    /// No server answered at that address.
    #[error("cannot connect to {url}: {message}; is PostgreSQL running there?")]
    Unreachable {
        /// The URL, without its password.
        url: String,
        /// What the connection attempt said.
        message: String,
    },
    /// The server refused the user or password.
    #[error("cannot connect to {url}: the server refused the user or password: {message}")]
    Authentication {
        /// The URL, without its password.
        url: String,
        /// What the server said.
        message: String,
    },
    /// The database named in the URL does not exist on that server.
    #[error("cannot open {url}: {message}; create it first (createdb)")]
    NoDatabase {
        /// The URL, without its password.
        url: String,
        /// What the server said.
        message: String,
    },
    /// The database was written by a newer version of this program.
    #[error(
        "cannot open {url}: its schema is version {found}, newer than this program knows ({known}); \
         use a newer callwork"
    )]
    SchemaTooNew {
        /// The URL, without its password.
        url: String,
        /// The newest schema version in the database.
        found: i64,
        /// The newest schema version this program knows.
        known: i64,
    },
    /// Anything else the server refused.
    #[error("cannot open {url}: {message}")]
    Other {
        /// The URL, without its password.
        url: String,
        /// What the server said.
        message: String,
    },
}

/// A [`CallStore`] on a PostgreSQL database. Cheap to clone: clones share
/// the pool and the listener.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
    location: Arc<str>,
    /// Started by the first [`CallStore::announcements`].
    announcer: Arc<OnceLock<broadcast::Sender<DateTime<Utc>>>>,
}

/// `url` with its password replaced, fit for messages and logs.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "the database URL".to_owned(),
    }
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`)
    /// with [`PgOptions::default`] and brings its schema up to date.
    ///
    /// # Errors
    ///
    /// An [`OpenError`]: a URL that is not one, a server that does not
    /// answer, refused credentials, a missing database, a schema newer than
    /// this program, or anything else the server refuses.
    pub async fn open(url: &str) -> Result<PgStore, OpenError> {
        PgStore::open_with(url, &PgOptions::default()).await
    }

    /// [`PgStore::open`] with these options.
    ///
    /// # Errors
    ///
    /// As [`PgStore::open`].
    pub async fn open_with(url: &str, options: &PgOptions) -> Result<PgStore, OpenError> {
        let location = redact(url);
        let connect = PgConnectOptions::from_str(url)
            .map_err(|e| OpenError::InvalidUrl { url: location.clone(), message: e.to_string() })?;
        // Statements, slow ones too, are logged at debug only: a library's
        // SQL does not reach its users' terminals unless they ask (RUST_LOG=sqlx=debug).
        let connect = connect
            .application_name("callwork")
            .log_slow_statements(tracing::log::LevelFilter::Debug, SLOW_STATEMENT);
        // One connection first, to answer a refusal at once: the pool
        // retries a failed connection until its timeout.
        let probe =
            PgConnection::connect_with(&connect).await.map_err(|e| classify(&location, e))?;
        let _ = probe.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // A slow acquire is an outage or an overload: the store's users
            // say so once, in their own words, not the pool on each query.
            .acquire_slow_level(tracing::log::LevelFilter::Debug)
            .connect_with(connect)
            .await
            .map_err(|e| classify(&location, e))?;
        match MIGRATOR.run(&pool).await {
            Ok(()) => {}
            Err(MigrateError::VersionMissing(found)) => {
                return Err(OpenError::SchemaTooNew {
                    url: location,
                    found,
                    known: MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0),
                });
            }
            Err(MigrateError::Execute(error)) => return Err(classify(&location, error)),
            Err(other) => {
                return Err(OpenError::Other { url: location, message: other.to_string() });
            }
        }
        Ok(PgStore { pool, location: location.into(), announcer: Arc::default() })
    }

    /// The database's size on disk, in bytes (`pg_database_size`), for
    /// watching its growth.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the server does not answer.
    pub async fn database_size(&self) -> Result<u64, StoreError> {
        let bytes: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        Ok(bytes.max(0) as u64)
    }

    /// Where the database is: its URL, without the password.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The pool, for tests and tools that read the tables directly.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The plan PostgreSQL picks for each query shape this store runs,
    /// keyed by a name, with sequential scans disabled: a shape that still
    /// shows `Seq Scan` has no index to serve it. For tests.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when a plan cannot be read.
    pub async fn query_plans(&self) -> Result<Vec<(String, Vec<String>)>, StoreError> {
        let invalid = |e: call_core::ValidationError| StoreError::Backend(e.to_string().into());
        let phone = PhoneNumber::parse("+14155550100").map_err(invalid)?;
        let queue = QueueId::parse("q").map_err(invalid)?;
        let now = Utc::now();
        let cursor = Cursor { at: now, id: CallId::generate() };
        let series = SeriesId::generate();
        let ended = StatusGroup::Ended.statuses();
        let page = |statuses: &[CallStatus],
                    queue: Option<&QueueId>,
                    phone: Option<&PhoneNumber>,
                    series: Option<&SeriesId>| {
            let query = PageQuery {
                order: PageOrder::Created,
                statuses,
                queue,
                phone,
                series,
                since: None,
                until: None,
                cursor: Some(&cursor),
                limit: 50,
            };
            let mut b = sqlx::QueryBuilder::new("EXPLAIN ");
            query.push(&mut b);
            b
        };
        let history = HistoryQuery {
            since: Some(now),
            until: Some(now),
            cursor: Some(cursor.clone()),
            ..HistoryQuery::default()
        };
        let mut history_shape = sqlx::QueryBuilder::new("EXPLAIN ");
        history_query(&phone, &history).push(&mut history_shape);
        let mut built = vec![
            ("list", page(&[], None, None, None)),
            ("list by status", page(&[CallStatus::Completed], None, None, None)),
            ("list by status group", page(&ended, None, None, None)),
            ("list by queue", page(&[], Some(&queue), None, None)),
            ("list by number", page(&[], None, Some(&phone), None)),
            ("history", history_shape),
            ("list by series", page(&[CallStatus::Scheduled], None, None, Some(&series))),
        ];
        let alert_cursor = AlertCursor { at: now, id: EventId::generate() };
        for (name, query) in [
            ("alerts", AlertQuery { cursor: Some(alert_cursor.clone()), ..AlertQuery::default() }),
            (
                "open alerts",
                AlertQuery {
                    open: true,
                    cursor: Some(alert_cursor.clone()),
                    ..AlertQuery::default()
                },
            ),
            (
                "open alerts of a queue",
                AlertQuery {
                    open: true,
                    queue: Some(queue.clone()),
                    cursor: Some(alert_cursor.clone()),
                    ..AlertQuery::default()
                },
            ),
        ] {
            let mut b = sqlx::QueryBuilder::new("EXPLAIN ");
            push_alerts_query(&mut b, &query);
            built.push((name, b));
        }
        let explain = |sql: &str| sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN {sql}")));
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        sqlx::query("SET enable_seqscan = off").execute(&mut *conn).await.map_err(backend)?;
        let mut plans = Vec::new();
        for (name, b) in &mut built {
            let rows = b.build().fetch_all(&mut *conn).await.map_err(backend)?;
            plans.push((name.to_string(), rows.iter().map(|r| r.get::<String, _>(0)).collect()));
        }
        let statements = [
            ("due", explain(sql::DUE).bind(now).bind(100_i64)),
            ("due and listed", explain(sql::DUE_LISTED).bind(now).bind(100_i64)),
            ("do-not-call among", explain(sql::DO_NOT_CALL_AMONG).bind(vec!["+1"])),
            ("do-not-call page", explain(sql::DO_NOT_CALL_PAGE).bind("").bind(100_i64)),
            ("next due", explain(sql::NEXT_DUE)),
            ("deadlines", explain(sql::DEADLINES_DUE).bind(now).bind(100_i64)),
            ("leases", explain(sql::EXPIRED_LEASES).bind(now).bind(100_i64)),
            ("renew leases", explain(sql::RENEW_LEASES).bind(now).bind(vec!["x"]).bind("w")),
            (
                "alert by id",
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "EXPLAIN SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1"
                )))
                .bind("a"),
            ),
            (
                "closing a call's alerts",
                explain(CLOSE_ALERTS)
                    .bind("c")
                    .bind(vec!["sla_breach"])
                    .bind(now)
                    .bind("call_ended"),
            ),
            ("following", explain(sql::FOLLOWING).bind("").bind(100_i64)),
            ("by id", explain(sql::GET_CALL).bind("x")),
            ("by external id", explain(sql::GET_BY_EXTERNAL_ID).bind("x")),
            ("events of a call", explain(sql::EVENTS_OF_CALL).bind("x")),
            ("event by id", explain(sql::EVENT_BY_ID).bind("x")),
            ("the log after a position", explain(sql::LOG_AFTER).bind(0_i64).bind(100_i64)),
            ("the log's head", explain(sql::LOG_HEAD)),
            ("calls among ids", explain(sql::CALLS_AMONG).bind(vec!["x"])),
            ("free expired keys", explain(sql::FREE_EXPIRED_KEYS).bind(vec!["k"]).bind(now)),
            ("purge expired keys", explain(sql::PURGE_EXPIRED_KEYS).bind(now)),
            ("held keys", explain(sql::HELD_KEYS).bind(vec!["k"]).bind(now)),
            ("series by id", explain(sql::GET_SERIES).bind("s")),
            ("series page", explain(sql::SERIES_PAGE).bind("s").bind(50_i64)),
            ("series to advance", explain(sql::LOCK_SERIES_AT).bind("s").bind(1_i32)),
            ("ended per minute", explain(sql::ENDED_PER_MINUTE).bind(now).bind(now)),
            ("placed per minute", explain(sql::PLACED_PER_MINUTE).bind(now).bind(now)),
            ("count by status", explain(sql::COUNT_BY_STATUS)),
            ("queue totals", explain(sql::QUEUE_TOTALS).bind(30.0_f64)),
            ("agent totals", explain(sql::AGENT_TOTALS)),
            ("reroutes", explain(sql::REROUTES)),
        ];
        for (name, statement) in statements {
            let rows = statement.fetch_all(&mut *conn).await.map_err(backend)?;
            plans.push((name.to_owned(), rows.iter().map(|r| r.get::<String, _>(0)).collect()));
        }
        sqlx::query("RESET enable_seqscan").execute(&mut *conn).await.map_err(backend)?;
        Ok(plans)
    }
}

/// Makes the occurrence after `previous` in the transaction `conn` is in,
/// as `CallStore::advance_series` does. The series row is locked first, so
/// two transactions advancing one series, or one advancing it and one
/// canceling it, take turns.
async fn advance_series(
    conn: &mut PgConnection,
    previous: &Call,
    now: DateTime<Utc>,
) -> Result<Option<(Call, CallEvent)>, StoreError> {
    let Some(occurrence) = previous.occurrence() else { return Ok(None) };
    let row = sqlx::query(sql::LOCK_SERIES_AT)
        .bind(occurrence.series_id.as_str())
        .bind(i32::try_from(occurrence.number).unwrap_or(i32::MAX))
        .fetch_optional(&mut *conn)
        .await
        .map_err(backend)?;
    let Some(series) = row.as_ref().map(series_from_row).transpose()? else { return Ok(None) };
    let Some((call, event)) = series.successor(previous, now) else { return Ok(None) };
    sqlx::query(sql::RAISE_SERIES)
        .bind(series.id.as_str())
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    let (insert, ..) = insert_statement(std::slice::from_ref(&call), std::slice::from_ref(&event));
    insert.execute(&mut *conn).await.map_err(backend)?;
    Ok(Some((call, event)))
}

fn classify(url: &str, error: sqlx::Error) -> OpenError {
    let url = url.to_owned();
    match &error {
        sqlx::Error::Database(db) => {
            let message = db.message().to_owned();
            match db.code().as_deref() {
                Some("28P01" | "28000") => OpenError::Authentication { url, message },
                Some("3D000") => OpenError::NoDatabase { url, message },
                _ => OpenError::Other { url, message },
            }
        }
        sqlx::Error::Io(e) => OpenError::Unreachable { url, message: e.to_string() },
        sqlx::Error::PoolTimedOut => {
            OpenError::Unreachable { url, message: "no answer within 10 s".to_owned() }
        }
        sqlx::Error::Tls(e) => OpenError::Unreachable { url, message: e.to_string() },
        other => OpenError::Other { url, message: other.to_string() },
    }
}

/// How many times a keyed insert is tried while the keys it finds held
/// vanish before it can read them.
const MAX_KEY_TRIES: usize = 8;

fn backend(error: sqlx::Error) -> StoreError {
    StoreError::Backend(call_core::ports::BackendError::from_source(error))
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.kind() == ErrorKind::UniqueViolation)
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn calls(rows: &[PgRow]) -> Result<Vec<Call>, StoreError> {
    rows.iter().map(call_from_row).collect()
}

fn page(rows: &[PgRow], order: PageOrder, limit: usize) -> Result<Page<Call>, StoreError> {
    let items = calls(rows)?;
    let next_cursor = (items.len() == limit.max(1))
        .then(|| items.last().map(|call| Cursor::after(call, order)))
        .flatten();
    Ok(Page { items, next_cursor })
}

/// A page of alerts, newest first.
fn alerts_query(query: &AlertQuery) -> sqlx::QueryBuilder<sqlx::Postgres> {
    let mut b = sqlx::QueryBuilder::new("");
    push_alerts_query(&mut b, query);
    b
}

/// Appends [`alerts_query`] to `b`.
fn push_alerts_query(b: &mut sqlx::QueryBuilder<sqlx::Postgres>, query: &AlertQuery) {
    b.push(format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE true"));
    if let Some(queue) = &query.queue {
        b.push(" AND queue_id = ").push_bind(queue.to_string());
    }
    if query.open {
        b.push(" AND closed_at IS NULL");
    }
    if let Some(cursor) = &query.cursor {
        b.push(" AND (raised_at, id) < (")
            .push_bind(cursor.at)
            .push(", ")
            .push_bind(cursor.id.to_string())
            .push(")");
    }
    b.push(" ORDER BY raised_at DESC, id DESC LIMIT ").push_bind(limit(query.limit.max(1)));
}

fn history_query<'a>(number: &'a PhoneNumber, query: &'a HistoryQuery) -> PageQuery<'a> {
    PageQuery {
        order: PageOrder::Happened,
        statuses: call_core::HISTORY_STATUSES,
        queue: None,
        phone: Some(number),
        series: None,
        since: query.since,
        until: query.until,
        cursor: query.cursor.as_ref(),
        limit: query.limit,
    }
}

/// The first id that appears twice in `ids`.
fn repeated<'a>(ids: impl IntoIterator<Item = &'a String>) -> Option<&'a String> {
    let mut seen = HashSet::new();
    ids.into_iter().find(|id| !seen.insert(*id))
}

impl PgStore {
    /// After a unique violation: the first of `ids` that repeats or is
    /// already stored by `existing` (a query of ids), if any.
    async fn first_taken(
        &self,
        existing: &'static str,
        ids: &[String],
    ) -> Result<Option<String>, StoreError> {
        if let Some(id) = repeated(ids) {
            return Ok(Some(id.clone()));
        }
        let rows = sqlx::query(existing).bind(ids).fetch_all(&self.pool).await.map_err(backend)?;
        let taken: HashSet<String> = rows.iter().map(|r| r.get::<String, _>(0)).collect();
        Ok(ids.iter().find(|id| taken.contains(*id)).cloned())
    }

    /// Turns a unique violation of a write into the contract's answer: the
    /// duplicate call, else the duplicate event.
    async fn duplicate(
        &self,
        error: sqlx::Error,
        call_ids: &[String],
        event_ids: &[String],
    ) -> StoreError {
        if !is_unique_violation(&error) {
            return backend(error);
        }
        let constraint = match &error {
            sqlx::Error::Database(db) => db.constraint().unwrap_or_default().to_owned(),
            _ => String::new(),
        };
        let found = if constraint.starts_with("calls") {
            self.first_taken(sql::EXISTING_CALLS, call_ids)
                .await
                .map(|id| id.map(DuplicateOf::Call))
        } else {
            self.first_taken(sql::EXISTING_EVENTS, event_ids)
                .await
                .map(|id| id.map(DuplicateOf::Event))
        };
        match found {
            Ok(Some(DuplicateOf::Call(id))) => match CallId::parse(id) {
                Ok(id) => StoreError::DuplicateCall(id),
                Err(e) => corrupt("id", e),
            },
            Ok(Some(DuplicateOf::Event(id))) => match EventId::parse(id) {
                Ok(id) => StoreError::DuplicateEvent(id),
                Err(e) => corrupt("id", e),
            },
            // Taken by a write that has since been undone: report the first.
            Ok(None) if constraint.starts_with("calls") => {
                match call_ids.first().map(CallId::parse) {
                    Some(Ok(id)) => StoreError::DuplicateCall(id),
                    _ => backend(error),
                }
            }
            Ok(None) => match event_ids.first().map(EventId::parse) {
                Some(Ok(id)) => StoreError::DuplicateEvent(id),
                _ => backend(error),
            },
            Err(e) => e,
        }
    }
}

enum DuplicateOf {
    Call(String),
    Event(String),
}

#[async_trait]
impl CallStore for PgStore {
    async fn insert(&self, calls: &[Call], events: &[CallEvent]) -> Result<(), StoreError> {
        let (query, call_ids, event_ids) = insert_statement(calls, events);
        let alerts = AlertWrites::for_calls(calls, events);
        if alerts.is_empty() {
            // The common case: one statement, no transaction to open.
            return match query.execute(&self.pool).await {
                Ok(_) => Ok(()),
                Err(error) => Err(self.duplicate(error, &call_ids, &event_ids).await),
            };
        }
        let mut tx = self.pool.begin().await.map_err(backend)?;
        if let Err(error) = query.execute(&mut *tx).await {
            tx.rollback().await.map_err(backend)?;
            return Err(self.duplicate(error, &call_ids, &event_ids).await);
        }
        for writes in &alerts {
            write_alerts(&mut tx, writes).await.map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn alerts(&self, query: &AlertQuery) -> Result<AlertPage, StoreError> {
        let rows = alerts_query(query).build().fetch_all(&self.pool).await.map_err(backend)?;
        let items = rows.iter().map(alert_from_row).collect::<Result<Vec<_>, _>>()?;
        Ok(AlertPage::of(items, query.limit))
    }

    async fn alert(&self, id: &EventId) -> Result<Option<AlertRecord>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1"
        )))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(alert_from_row).transpose()
    }

    async fn insert_keyed(
        &self,
        calls: &[Call],
        events: &[CallEvent],
        series: &[Series],
        keys: &[HeldKey],
        now: DateTime<Utc>,
    ) -> Result<Vec<HeldKey>, StoreError> {
        let names: Vec<&str> = keys.iter().map(|k| k.key.as_str()).collect();
        let fingerprints: Vec<&str> = keys.iter().map(|k| k.fingerprint.as_str()).collect();
        let key_calls: Vec<&str> = keys.iter().map(|k| k.call_id.as_str()).collect();
        let expiries: Vec<DateTime<Utc>> = keys.iter().map(|k| k.expires_at).collect();
        // A held key can expire, or its writer roll back, between our
        // failing to take it and our reading it: then try again.
        for _ in 0..MAX_KEY_TRIES {
            let mut tx = self.pool.begin().await.map_err(backend)?;
            sqlx::query(sql::FREE_EXPIRED_KEYS)
                .bind(&names)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            sqlx::query(sql::PURGE_EXPIRED_KEYS)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            // The calls, then their keys, then their events: the keys may
            // wait for another writer's, and the events take the log's lock,
            // which is held to commit, so they come last (migration 0011).
            let (insert, call_ids) = insert_calls_statement(calls);
            if let Err(error) = insert.execute(&mut *tx).await {
                // Rolled back first: the lookup of the duplicate needs a connection of the pool.
                tx.rollback().await.map_err(backend)?;
                return Err(self.duplicate(error, &call_ids, &[]).await);
            }
            let taken = sqlx::query(sql::TAKE_KEYS)
                .bind(&names)
                .bind(&fingerprints)
                .bind(&key_calls)
                .bind(&expiries)
                .fetch_all(&mut *tx)
                .await
                .map_err(backend)?;
            if taken.len() == keys.len() {
                let (insert, _, event_ids) = insert_statement(&[], events);
                if let Err(error) = insert.execute(&mut *tx).await {
                    tx.rollback().await.map_err(backend)?;
                    return Err(self.duplicate(error, &[], &event_ids).await);
                }
                if !series.is_empty() {
                    insert_series(series).execute(&mut *tx).await.map_err(backend)?;
                }
                for writes in AlertWrites::for_calls(calls, events) {
                    write_alerts(&mut tx, &writes).await.map_err(backend)?;
                }
                tx.commit().await.map_err(backend)?;
                return Ok(Vec::new());
            }
            tx.rollback().await.map_err(backend)?;
            let rows = sqlx::query(sql::HELD_KEYS)
                .bind(&names)
                .bind(now)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
            let held: Vec<HeldKey> =
                rows.iter().map(held_key_from_row).collect::<Result<_, _>>()?;
            if !held.is_empty() {
                return Ok(held);
            }
        }
        Err(StoreError::Backend("idempotency keys kept changing hands; try again".into()))
    }

    async fn get(&self, id: &CallId) -> Result<Option<Call>, StoreError> {
        let row = sqlx::query(sql::GET_CALL)
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(call_from_row).transpose()
    }

    async fn get_by_external_id(&self, external_id: &str) -> Result<Option<Call>, StoreError> {
        let row = sqlx::query(sql::GET_BY_EXTERNAL_ID)
            .bind(external_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(call_from_row).transpose()
    }

    async fn save_and_insert(
        &self,
        call: &Call,
        new_calls: &[Call],
        events: &[CallEvent],
    ) -> Result<(), StoreError> {
        let event_arrays = EventArrays::of(events);
        let event_ids = event_arrays.ids().to_vec();
        let query = event_arrays.bind(CallArrays::of([call]).bind(sqlx::query(sql::SAVE)));
        let alerts = AlertWrites::for_calls(std::iter::once(call).chain(new_calls), events);
        let saved = if new_calls.is_empty() && alerts.is_empty() {
            // The common case: one statement, no transaction to open.
            match query.fetch_all(&self.pool).await {
                Ok(rows) => rows.len(),
                Err(error) => return Err(self.duplicate(error, &[], &event_ids).await),
            }
        } else {
            // The new calls first, so that the save's events may name them.
            let mut tx = self.pool.begin().await.map_err(backend)?;
            let (insert, call_ids) = insert_calls_statement(new_calls);
            let mut written = insert.execute(&mut *tx).await.map(drop);
            let mut saved = 0;
            if written.is_ok() {
                written = query.fetch_all(&mut *tx).await.map(|rows| saved = rows.len());
            }
            if written.is_ok() && saved == 1 {
                for writes in &alerts {
                    write_alerts(&mut tx, writes).await.map_err(backend)?;
                }
            }
            if let Err(error) = written {
                drop(tx);
                return Err(self.duplicate(error, &call_ids, &event_ids).await);
            }
            if saved == 1 {
                tx.commit().await.map_err(backend)?;
            }
            saved
        };
        if saved == 1 {
            return Ok(());
        }
        let exists = sqlx::query(sql::EXISTING_CALLS)
            .bind(vec![call.id().to_string()])
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .is_some();
        Err(if exists {
            StoreError::Conflict { id: call.id().clone(), expected: call.version().wrapping_sub(1) }
        } else {
            StoreError::NotFound(call.id().clone())
        })
    }

    async fn list(&self, query: &ListQuery) -> Result<Page<Call>, StoreError> {
        let mut statuses: Vec<CallStatus> =
            query.statuses.iter().flat_map(|f| f.statuses()).collect();
        statuses.sort();
        statuses.dedup();
        let page_query = PageQuery {
            order: PageOrder::Created,
            statuses: &statuses,
            queue: query.queue.as_ref(),
            phone: query.phone.as_ref(),
            series: query.series.as_ref(),
            since: None,
            until: None,
            cursor: query.cursor.as_ref(),
            limit: query.limit,
        };
        let rows = page_query.build().build().fetch_all(&self.pool).await.map_err(backend)?;
        page(&rows, PageOrder::Created, query.limit)
    }

    async fn claim_due(&self, claim: &Claim) -> Result<Vec<Claimed>, StoreError> {
        let event_ids: Vec<String> =
            (0..claim.limit.min(100_000)).map(|_| EventId::generate().to_string()).collect();
        // One transaction, so each claimed occurrence's next commits with it.
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // The listed numbers' due calls first: canceled, never dispatched.
        let listed = sqlx::query(sql::DUE_LISTED)
            .bind(claim.now)
            .bind(limit(claim.limit))
            .fetch_all(&mut *tx)
            .await
            .map_err(backend)?;
        let mut claimed = Vec::with_capacity(listed.len());
        if !listed.is_empty() {
            let mut canceled = Vec::with_capacity(listed.len());
            for row in &listed {
                canceled.push(claim.do_not_call(&call_from_row(row)?));
            }
            let calls = canceled.iter().map(|(call, _)| call);
            let events: Vec<CallEvent> = canceled.iter().map(|(_, e)| e.clone()).collect();
            let saved = EventArrays::of(&events)
                .bind(CallArrays::of(calls).bind(sqlx::query(sql::SAVE)))
                .fetch_all(&mut *tx)
                .await
                .map_err(backend)?;
            if saved.len() != canceled.len() {
                // The rows are locked by this transaction: this is the database failing.
                return Err(StoreError::Backend(
                    "a locked due call changed under its claim".into(),
                ));
            }
            for (call, event) in canceled {
                let successor = advance_series(&mut tx, &call, claim.now).await?;
                claimed.push(Claimed { call, event, successor });
            }
        }
        let rest = claim.limit - claimed.len();
        let event_ids: Vec<String> = event_ids.into_iter().take(rest).collect();
        let rows = sqlx::query(sql::CLAIM)
            .bind(claim.worker.to_string())
            .bind(claim.lease_until)
            .bind(claim.now)
            .bind(limit(event_ids.len()))
            .bind(event_ids)
            .fetch_all(&mut *tx)
            .await
            .map_err(backend)?;
        for row in &rows {
            let call = call_from_row(row)?;
            let event_id: String = row.try_get("event_id").map_err(|e| corrupt("event_id", e))?;
            let event_id = EventId::parse(event_id).map_err(|e| corrupt("event_id", e))?;
            let event = claim.dispatched_event_with_id(&call, event_id);
            let successor = advance_series(&mut tx, &call, claim.now).await?;
            claimed.push(Claimed { call, event, successor });
        }
        tx.commit().await.map_err(backend)?;
        Ok(claimed)
    }

    async fn advance_series(
        &self,
        previous: &Call,
        now: DateTime<Utc>,
    ) -> Result<Option<(Call, CallEvent)>, StoreError> {
        if previous.occurrence().is_none() {
            return Ok(None);
        }
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // The log's lock before the series row's, as a claim takes them.
        sqlx::query(sql::LOCK_LOG).execute(&mut *tx).await.map_err(backend)?;
        let made = advance_series(&mut tx, previous, now).await?;
        tx.commit().await.map_err(backend)?;
        Ok(made)
    }

    async fn series(&self, id: &SeriesId) -> Result<Option<Series>, StoreError> {
        let row = sqlx::query(sql::GET_SERIES)
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(series_from_row).transpose()
    }

    async fn list_series<'a>(
        &self,
        before: Option<&'a SeriesId>,
        n: usize,
    ) -> Result<Vec<Series>, StoreError> {
        let rows = sqlx::query(sql::SERIES_PAGE)
            .bind(before.map(SeriesId::as_str))
            .bind(limit(n))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(series_from_row).collect()
    }

    async fn cancel_series(
        &self,
        id: &SeriesId,
        now: DateTime<Utc>,
    ) -> Result<Option<Series>, StoreError> {
        let row = sqlx::query(sql::CANCEL_SERIES)
            .bind(id.as_str())
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(series_from_row).transpose()
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row = sqlx::query(sql::NEXT_DUE).fetch_one(&self.pool).await.map_err(backend)?;
        row.try_get("t").map_err(backend)
    }

    async fn deadlines_due(&self, now: DateTime<Utc>, n: usize) -> Result<Vec<Call>, StoreError> {
        let rows = sqlx::query(sql::DEADLINES_DUE)
            .bind(now)
            .bind(limit(n))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        calls(&rows)
    }

    async fn renew_leases(
        &self,
        renewal: &LeaseRenewal,
        ids: &[CallId],
    ) -> Result<Vec<CallId>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = ids.iter().map(CallId::as_str).collect();
        let renewed: Vec<String> = sqlx::query_scalar(sql::RENEW_LEASES)
            .bind(renewal.until)
            .bind(&ids)
            .bind(renewal.worker.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        renewed
            .into_iter()
            .map(|id| {
                CallId::parse(&id)
                    .map_err(|e| StoreError::Backend(format!("a stored call id: {e}").into()))
            })
            .collect()
    }

    async fn expired_leases(&self, now: DateTime<Utc>, n: usize) -> Result<Vec<Call>, StoreError> {
        let rows = sqlx::query(sql::EXPIRED_LEASES)
            .bind(now)
            .bind(limit(n))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        calls(&rows)
    }

    async fn following<'a>(
        &self,
        after: Option<&'a CallId>,
        n: usize,
    ) -> Result<Vec<Call>, StoreError> {
        let rows = sqlx::query(sql::FOLLOWING)
            .bind(after.map_or("", CallId::as_str))
            .bind(limit(n))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        calls(&rows)
    }

    async fn history(
        &self,
        number: &PhoneNumber,
        query: &HistoryQuery,
    ) -> Result<Page<Call>, StoreError> {
        let rows = history_query(number, query)
            .build()
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        page(&rows, PageOrder::Happened, query.limit)
    }

    async fn events(&self, id: &CallId) -> Result<Vec<CallEvent>, StoreError> {
        let rows = sqlx::query(sql::EVENTS_OF_CALL)
            .bind(id.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(event_from_row).collect()
    }

    async fn event(&self, id: &EventId) -> Result<Option<CallEvent>, StoreError> {
        let row = sqlx::query(sql::EVENT_BY_ID)
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(event_from_row).transpose()
    }

    async fn log_after(&self, after: u64, limit: usize) -> Result<Vec<LogEntry>, StoreError> {
        let rows = sqlx::query(sql::LOG_AFTER)
            .bind(i64::try_from(after).unwrap_or(i64::MAX))
            .bind(self::limit(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        let mut events = Vec::with_capacity(rows.len());
        for row in &rows {
            let seq: i64 = row.try_get("seq").map_err(|e| corrupt("seq", e))?;
            events.push((seq as u64, event_from_row(row)?));
        }
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = events.iter().map(|(_, e)| e.call_id().as_str()).collect();
        let rows =
            sqlx::query(sql::CALLS_AMONG).bind(ids).fetch_all(&self.pool).await.map_err(backend)?;
        let calls = rows.iter().map(call_from_row).collect::<Result<Vec<_>, _>>()?;
        Ok(LogEntry::pair(events, calls))
    }

    async fn log_head(&self) -> Result<u64, StoreError> {
        let head: i64 =
            sqlx::query_scalar(sql::LOG_HEAD).fetch_one(&self.pool).await.map_err(backend)?;
        Ok(head as u64)
    }

    async fn add_queue(&self, queue: &Queue) -> Result<(), StoreError> {
        let added = sqlx::query(sql::ADD_QUEUE)
            .bind(queue.id.as_str())
            .bind(queue.created_at)
            .execute(&self.pool)
            .await;
        match added {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(StoreError::DuplicateQueue(queue.id.clone())),
            Err(e) => Err(backend(e)),
        }
    }

    async fn remove_queue(&self, id: &QueueId) -> Result<bool, StoreError> {
        let done = sqlx::query(sql::REMOVE_QUEUE)
            .bind(id.as_str())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }

    async fn queue(&self, id: &QueueId) -> Result<Option<Queue>, StoreError> {
        let row = sqlx::query(sql::GET_QUEUE)
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(queue_from_row).transpose()
    }

    async fn queues(&self) -> Result<Vec<Queue>, StoreError> {
        let rows = sqlx::query(sql::QUEUES).fetch_all(&self.pool).await.map_err(backend)?;
        rows.iter().map(queue_from_row).collect()
    }

    async fn pause(&self, pause: &Pause) -> Result<(), StoreError> {
        sqlx::query(sql::PAUSE)
            .bind(pause.queue.as_ref().map_or("", QueueId::as_str))
            .bind(pause.paused_at)
            .bind(pause.until)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn add_do_not_call(&self, entry: &DoNotCall) -> Result<Option<DoNotCall>, StoreError> {
        let added = sqlx::query(sql::ADD_DO_NOT_CALL)
            .bind(entry.phone.as_str())
            .bind(entry.added_at)
            .bind(entry.reason.as_deref())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        if added.is_some() {
            return Ok(None);
        }
        let listed = self.do_not_call(std::slice::from_ref(&entry.phone)).await?;
        // Removed again since the insert found it: as good as listed now.
        Ok(Some(listed.into_iter().next().unwrap_or_else(|| entry.clone())))
    }

    async fn remove_do_not_call(&self, phone: &PhoneNumber) -> Result<bool, StoreError> {
        let done = sqlx::query(sql::REMOVE_DO_NOT_CALL)
            .bind(phone.as_str())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }

    async fn do_not_call(&self, phones: &[PhoneNumber]) -> Result<Vec<DoNotCall>, StoreError> {
        if phones.is_empty() {
            return Ok(Vec::new());
        }
        let numbers: Vec<&str> = phones.iter().map(PhoneNumber::as_str).collect();
        let rows = sqlx::query(sql::DO_NOT_CALL_AMONG)
            .bind(numbers)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(do_not_call_from_row).collect()
    }

    async fn list_do_not_call<'a>(
        &self,
        after: Option<&'a PhoneNumber>,
        limit_to: usize,
    ) -> Result<Vec<DoNotCall>, StoreError> {
        let rows = sqlx::query(sql::DO_NOT_CALL_PAGE)
            .bind(after.map_or("", PhoneNumber::as_str))
            .bind(limit(limit_to))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(do_not_call_from_row).collect()
    }

    async fn resume<'a>(&self, queue: Option<&'a QueueId>) -> Result<bool, StoreError> {
        let done = sqlx::query(sql::RESUME)
            .bind(queue.map_or("", QueueId::as_str))
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }

    async fn pauses(&self) -> Result<Vec<Pause>, StoreError> {
        let rows = sqlx::query(sql::PAUSES).fetch_all(&self.pool).await.map_err(backend)?;
        let mut pauses = Vec::with_capacity(rows.len());
        for row in rows {
            let scope: String = row.try_get("scope").map_err(backend)?;
            let queue = (!scope.is_empty())
                .then(|| QueueId::parse(scope).map_err(|e| corrupt("scope", e)))
                .transpose()?;
            let paused_at = row.try_get("paused_at").map_err(backend)?;
            let until = row.try_get("until").map_err(backend)?;
            pauses.push(Pause { queue, paused_at, until });
        }
        Ok(pauses)
    }

    async fn count_by_status(&self) -> Result<Vec<(CallStatus, u64)>, StoreError> {
        let rows =
            sqlx::query(sql::COUNT_BY_STATUS).fetch_all(&self.pool).await.map_err(backend)?;
        let mut counts = Vec::with_capacity(rows.len());
        for row in rows {
            let status: String = row.try_get("status").map_err(backend)?;
            let status = CallStatus::parse(&status).map_err(|e| corrupt("status", e))?;
            counts.push((status, count(&row, "n")?));
        }
        counts.sort_by_key(|&(status, _)| CallStatus::ALL.iter().position(|s| *s == status));
        Ok(counts)
    }

    async fn stats_inputs(&self, sla_seconds: f64) -> Result<StatsInputs, StoreError> {
        let queue_rows = sqlx::query(sql::QUEUE_TOTALS)
            .bind(sla_seconds)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        let agent_rows =
            sqlx::query(sql::AGENT_TOTALS).fetch_all(&self.pool).await.map_err(backend)?;
        let reroute_rows =
            sqlx::query(sql::REROUTES).fetch_all(&self.pool).await.map_err(backend)?;
        let agent = |row: &PgRow| -> Result<AgentId, StoreError> {
            let id: String = row.try_get("agent_id").map_err(backend)?;
            AgentId::parse(id).map_err(|e| corrupt("agent_id", e))
        };
        let seconds = |row: &PgRow, column: &str| -> Result<f64, StoreError> {
            row.try_get(column).map_err(|e| corrupt(column, e))
        };
        let mut queues = Vec::with_capacity(queue_rows.len());
        for row in &queue_rows {
            let id: String = row.try_get("queue_id").map_err(backend)?;
            queues.push(QueueTotals {
                queue_id: QueueId::parse(id).map_err(|e| corrupt("queue_id", e))?,
                offered: count(row, "offered")?,
                answered: count(row, "answered")?,
                abandoned: count(row, "abandoned")?,
                answered_within_sla: count(row, "within_sla")?,
                wait_seconds: seconds(row, "wait")?,
                hold_seconds: seconds(row, "hold")?,
            });
        }
        let mut answered = Vec::with_capacity(agent_rows.len());
        for row in &agent_rows {
            answered.push(AgentTotals {
                answered: count(row, "answered")?,
                wait_seconds: seconds(row, "wait")?,
                ended: count(row, "ended")?,
                talk_seconds: seconds(row, "talk")?,
                hold_seconds: seconds(row, "hold")?,
                ..AgentTotals::new(agent(row)?)
            });
        }
        let mut reroutes = Vec::with_capacity(reroute_rows.len());
        for row in &reroute_rows {
            reroutes.push((agent(row)?, count(row, "n")?));
        }
        Ok(StatsInputs::new(queues, answered, reroutes))
    }

    async fn minute_totals(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<MinuteTotals>, StoreError> {
        let span = |sql| sqlx::query(sql).bind(since).bind(until);
        let ended_rows =
            span(sql::ENDED_PER_MINUTE).fetch_all(&self.pool).await.map_err(backend)?;
        let placed_rows =
            span(sql::PLACED_PER_MINUTE).fetch_all(&self.pool).await.map_err(backend)?;
        let seconds = |row: &PgRow, column: &str| -> Result<f64, StoreError> {
            row.try_get(column).map_err(|e| corrupt(column, e))
        };
        let minute = |row: &PgRow| -> Result<i64, StoreError> {
            row.try_get("minute").map_err(|e| corrupt("minute", e))
        };
        let mut ended = Vec::with_capacity(ended_rows.len());
        for row in &ended_rows {
            ended.push(MinuteTotals {
                minute: minute(row)?,
                completed: count(row, "completed")?,
                missed: count(row, "missed")?,
                failed: count(row, "failed")?,
                ..MinuteTotals::default()
            });
        }
        let mut placed = Vec::with_capacity(placed_rows.len());
        for row in &placed_rows {
            placed.push(MinuteTotals {
                minute: minute(row)?,
                placed: count(row, "placed")?,
                lateness_seconds: seconds(row, "lateness")?,
                max_lateness_seconds: seconds(row, "max_lateness")?,
                ..MinuteTotals::default()
            });
        }
        Ok(MinuteTotals::join(ended, placed))
    }

    fn announcements(&self) -> Announcements {
        let sender = self.announcer.get_or_init(|| {
            let sender = broadcast::Sender::new(ANNOUNCEMENTS_BUFFER);
            tokio::spawn(listen::relay(self.pool.clone(), sender.clone()));
            sender
        });
        Announcements::subscribe(sender)
    }
}

fn count(row: &PgRow, column: &str) -> Result<u64, StoreError> {
    let n: i64 = row.try_get(column).map_err(|e| corrupt(column, e))?;
    u64::try_from(n).map_err(|e| corrupt(column, e))
}

fn queue_from_row(row: &PgRow) -> Result<Queue, StoreError> {
    let id: String = row.try_get("id").map_err(|e| corrupt("id", e))?;
    Ok(Queue {
        id: QueueId::parse(id).map_err(|e| corrupt("id", e))?,
        created_at: row.try_get("created_at").map_err(|e| corrupt("created_at", e))?,
    })
}
