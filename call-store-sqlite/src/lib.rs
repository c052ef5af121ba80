//! callwork's [`CallStore`] on SQLite.
//!
//! One file holds the calls, their append-only audit log and the queue
//! registry. The connection discipline follows what SQLite does well:
//!
//! - WAL, `synchronous = NORMAL` (a committed write survives the process
//!   being killed; a power loss may lose the last commits, never corrupt
//!   the file: [`SqliteOptions::full_sync`] loses none), a busy timeout,
//!   foreign keys on;
//! - every write goes through one writer task with `BEGIN IMMEDIATE`,
//!   which commits all the writes waiting together (group commit): many
//!   concurrent callers cost one transaction, not one each;
//! - reads go through a pool of read-only connections;
//! - the schema is embedded (`migrations/`) and brought up to date on open.
//!
//! Every query shape has an index (see `migrations/0001_init.sql`); claims
//! are one `UPDATE … RETURNING` under the write lock, so two stores on one
//! file, in one process or two, never claim the same call.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use call_core::{Engine, NewCall, PhoneNumber};
//! use call_store_sqlite::SqliteStore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("calls.db");
//! let store = SqliteStore::open(&path).await?;
//! let engine = Engine::builder(Arc::new(store)).build();
//! let call = engine.schedule(NewCall::to(PhoneNumber::parse("+14155550100")?)).await?;
//! assert_eq!(engine.get(call.id()).await?, call);
//! # Ok(())
//! # }
//! ```

mod cache;
mod pages;
mod readers;
mod rows;
mod watch;
mod writer;

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use call_core::{
    AgentId, Call, CallEvent, CallId, CallStatus, DoNotCall, EventId, HeldKey, Pause, PhoneNumber,
    QueueId, Series, SeriesId, StatusGroup,
    alerts::{AlertCursor, AlertPage, AlertQuery, AlertRecord},
    ports::{
        AgentTotals, Announcements, CallStore, Claim, Claimed, Cursor, HistoryQuery, LeaseRenewal,
        ListQuery, LogEntry, MinuteTotals, Page, PageOrder, Queue, QueueTotals, ReadToChange,
        StatsInputs, StoreError,
    },
};
use chrono::{DateTime, TimeZone, Utc};
use sqlx::{
    ConnectOptions, Row, SqlitePool,
    migrate::{MigrateError, Migrator},
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
    },
};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::{
    cache::LiveCalls,
    readers::Readers,
    pages::PageQuery,
    rows::{
        ALERT_COLUMNS, EVENT_COLUMNS, SERIES_BY_ID, SERIES_PAGE, alert_from_row, call_from_row,
        close_alerts, do_not_call_from_row, event_from_row, micros, series_from_row, text,
    },
    writer::{Job, Write, Written},
};

/// The database failing, as a reader sees it.
pub(crate) fn backend(error: sqlx::Error) -> StoreError {
    StoreError::Backend(error.to_string())
}

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// How long a connection waits for another process's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The most the writer's page cache holds, in bytes: the index pages a
/// write touches stay in memory (SQLite's default is 2 MiB). 16 MiB wrote
/// as fast as 64 MiB in the store and import benchmarks, at 100,000 and
/// 1,000,000 calls, and an import of a million rows then peaks at 55 MiB
/// instead of 116 MiB (BENCHMARKS.md).
pub const WRITER_CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// A statement slower than this is logged as slow (at debug).
const SLOW_STATEMENT: Duration = Duration::from_secs(1);

/// Read connections in the pool of a file store.
const READERS: u32 = 4;

/// Why a store could not be opened. Each names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The folder the file should be in does not exist.
    #[error("cannot open {path}: the folder {} does not exist", folder.display())]
    MissingFolder {
        /// The database file.
        path: PathBuf,
        /// Its folder.
        folder: PathBuf,
    },
    /// The file exists but is not a SQLite database. It was left untouched.
    #[error("cannot open {path}: the file is not a SQLite database")]
    NotADatabase {
        /// The file.
        path: PathBuf,
    },
    /// The database was written by a newer version of this program.
    #[error(
        "cannot open {path}: its schema is version {found}, newer than this program knows ({known}); \
         use a newer callwork"
    )]
    SchemaTooNew {
        /// The file.
        path: PathBuf,
        /// The newest schema version in the file.
        found: i64,
        /// The newest schema version this program knows.
        known: i64,
    },
    /// Anything else: permissions, a read-only file system, I/O.
    #[error("cannot open {path}: {message}")]
    Other {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        message: String,
    },
}

/// A [`CallStore`] on one SQLite file (or in memory). Cheap to clone:
/// clones share the connections and the writer.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    /// The readers on sqlx, for the reads not yet moved to [`Readers`].
    pool: SqlitePool,
    readers: Arc<Readers>,
    writer: mpsc::Sender<Job>,
    location: Arc<str>,
    /// How to open a connection that watches the file for other processes'
    /// commits; `None` in memory, where there are none.
    watch: Option<SqliteConnectOptions>,
    /// Started by the first [`CallStore::announcements`].
    announcer: Arc<OnceLock<broadcast::Sender<DateTime<Utc>>>>,
    /// The calls in motion, for [`CallStore::get_to_change`].
    live: Arc<LiveCalls>,
}

/// How [`SqliteStore::open_with`] opens a file; [`Default`] is what
/// [`SqliteStore::open`] does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// `synchronous = FULL` in place of `NORMAL`: each commit waits for the
    /// disk, so a power loss loses no committed write either (a process
    /// crash loses none in both), at the cost of a sync per group commit.
    pub full_sync: bool,
    /// The largest the file may grow, in bytes (SQLite's `max_page_count`);
    /// unbounded when `None`. A write past it fails as on a full disk:
    /// [`StoreError::Backend`], nothing of it written, reads unaffected.
    pub max_size: Option<u64>,
    /// Read every call the engine is about to change from the file, as
    /// [`CallStore::get`] does, instead of from the calls in motion this
    /// store keeps ([`CallStore::get_to_change`]). A kept call that another
    /// process has changed since costs a refused save and a second try; a
    /// store whose calls other processes change most of the time may be
    /// faster without it. Off by default: the calls are kept.
    pub uncached_reads: bool,
}

/// SQLite's default page size, which the schema keeps.
const PAGE_SIZE: u64 = 4096;

impl SqliteStore {
    /// Opens the database at `path`, creating it if it does not exist, and
    /// brings its schema up to date.
    ///
    /// # Errors
    ///
    /// An [`OpenError`] naming the file: a missing folder, a file that is not
    /// a SQLite database (left untouched), a schema newer than this program,
    /// or anything else SQLite refuses (permissions, a read-only location).
    pub async fn open(path: impl AsRef<Path>) -> Result<SqliteStore, OpenError> {
        SqliteStore::open_with(path, &SqliteOptions::default()).await
    }

    /// [`open`](Self::open), with `options`.
    ///
    /// # Errors
    ///
    /// As for [`open`](Self::open).
    pub async fn open_with(
        path: impl AsRef<Path>,
        options: &SqliteOptions,
    ) -> Result<SqliteStore, OpenError> {
        let settings = options;
        let path = path.as_ref().to_path_buf();
        let folder = match path.parent() {
            Some(folder) if !folder.as_os_str().is_empty() => folder.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !folder.is_dir() {
            return Err(OpenError::MissingFolder { path, folder });
        }
        if path.is_dir() {
            return Err(OpenError::Other { path, message: "it is a folder, not a file".into() });
        }
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(if settings.full_sync {
                SqliteSynchronous::Full
            } else {
                SqliteSynchronous::Normal
            })
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            // Statements, slow ones too, are logged at debug only: a
            // library's SQL (a group commit's is megabytes of `?, ?`) does not
            // reach its users' terminals unless they ask (RUST_LOG=sqlx=debug).
            .log_slow_statements(tracing::log::LevelFilter::Debug, SLOW_STATEMENT);
        let open_error = |error: sqlx::Error| classify(&path, error);
        // The schema first, on a connection of its own (sqlx's migrator,
        // whose bookkeeping table the file has always had).
        let migrations = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(open_error)?;
        migrate(&migrations, &path).await?;
        migrations.close().await;
        let writer = writer_connection(&path.to_string_lossy(), settings, Journal::Wal)
            .map_err(|e| OpenError::Other { path: path.clone(), message: e.to_string() })?;
        let read_only = options.read_only(true);
        let readers = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(read_only.clone())
            .await
            .map_err(open_error)?;
        let live = LiveCalls::new(!settings.uncached_reads);
        let uri = path.to_string_lossy();
        let connections = (0..READERS)
            .map(|_| reader_connection(&uri))
            .collect::<Result<_, _>>()
            .map_err(|e| OpenError::Other { path: path.clone(), message: e.to_string() })?;
        SqliteStore::start(readers, Readers::new(connections), writer, &path, Some(read_only), live)
    }

    /// A database in memory, gone when the store is dropped.
    ///
    /// # Errors
    ///
    /// An [`OpenError`] if SQLite cannot start one.
    pub async fn open_in_memory() -> Result<SqliteStore, OpenError> {
        /// Tells the databases of one process apart.
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = PathBuf::from(":memory:");
        let other = |message: String| OpenError::Other { path: path.clone(), message };
        // SQLite's memdb VFS shares a database whose name starts with `/`
        // among the connections of one process, with the usual locking (a
        // rollback journal: WAL needs shared memory it does not have). The
        // writer's connection holds it from first to last.
        let name =
            format!("/callwork-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let writer = writer_connection(
            &format!("file:{name}?vfs=memdb"),
            &SqliteOptions::default(),
            Journal::Memory,
        )
        .map_err(|e| other(e.to_string()))?;
        let options = SqliteConnectOptions::new()
            .filename(&name)
            .vfs("memdb")
            .journal_mode(SqliteJournalMode::Memory)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            .log_slow_statements(tracing::log::LevelFilter::Debug, SLOW_STATEMENT);
        let readers = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(options)
            .await
            .map_err(|e| classify(&path, e))?;
        migrate(&readers, &path).await?;
        let connections = (0..READERS)
            .map(|_| reader_connection(&format!("file:{name}?vfs=memdb")))
            .collect::<Result<_, _>>()
            .map_err(|e| other(e.to_string()))?;
        let live = LiveCalls::new(true);
        SqliteStore::start(readers, Readers::new(connections), writer, &path, None, live)
    }

    fn start(
        pool: SqlitePool,
        readers: Readers,
        writer: rusqlite::Connection,
        path: &Path,
        watch: Option<SqliteConnectOptions>,
        live: LiveCalls,
    ) -> Result<SqliteStore, OpenError> {
        let (sender, jobs) = mpsc::channel(writer::MAX_BATCH * 4);
        writer::spawn(writer, jobs).map_err(|e| OpenError::Other {
            path: path.to_path_buf(),
            message: format!("cannot start the writer thread: {e}"),
        })?;
        Ok(SqliteStore {
            pool,
            readers: Arc::new(readers),
            writer: sender,
            location: path.display().to_string().into(),
            watch,
            announcer: Arc::default(),
            live: Arc::new(live),
        })
    }

    /// SQLite's own check of the whole file (`PRAGMA integrity_check`):
    /// `["ok"]` when it is sound, else what is wrong, a line each.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the file cannot be read.
    pub async fn integrity_check(&self) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar("PRAGMA integrity_check").fetch_all(&self.pool).await.map_err(backend)
    }

    /// Whether each commit waits for the disk (`synchronous = FULL`,
    /// [`SqliteOptions::full_sync`]) rather than for the WAL alone
    /// (`NORMAL`), as SQLite reports it.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when SQLite cannot be asked.
    pub async fn full_sync(&self) -> Result<bool, StoreError> {
        let level: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        // 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA.
        Ok(level >= 2)
    }

    /// Where the database is: its path, or `:memory:`.
    pub fn location(&self) -> &str {
        &self.location
    }

    async fn write(&self, write: Write) -> Result<Written, StoreError> {
        let (reply, answer) = oneshot::channel();
        let gone = || StoreError::Backend("the store's writer has stopped".into());
        self.writer.send(Job { write, reply }).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    /// The plan SQLite picks for each query shape this store runs, keyed by
    /// a name; for tests that every path is served by an index.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when a plan cannot be read.
    pub async fn query_plans(&self) -> Result<Vec<(String, Vec<String>)>, StoreError> {
        let phone =
            PhoneNumber::parse("+14155550100").map_err(|e| StoreError::Backend(e.to_string()))?;
        let queue = QueueId::parse("q").map_err(|e| StoreError::Backend(e.to_string()))?;
        let series = SeriesId::generate();
        let now = Utc::now();
        let cursor = Cursor { at: now, id: CallId::generate() };
        let history = HistoryQuery {
            since: Some(now),
            until: Some(now),
            cursor: Some(cursor.clone()),
            ..HistoryQuery::default()
        };
        let ended = StatusGroup::Ended.statuses();
        let alert_cursor = AlertCursor { at: now, id: EventId::generate() };
        let alert_shape = |query: &AlertQuery| alerts_query(query).sql().as_str().to_owned();
        let page = |statuses: &[CallStatus],
                    queue: Option<&QueueId>,
                    phone: Option<&PhoneNumber>,
                    series: Option<&SeriesId>| {
            PageQuery {
                order: PageOrder::Created,
                statuses,
                queue,
                phone,
                series,
                since: None,
                until: None,
                cursor: Some(&cursor),
                limit: 50,
            }
            .build()
            .sql()
            .as_str()
            .to_owned()
        };
        let shapes = vec![
            ("list".to_owned(), page(&[], None, None, None)),
            ("list by status".to_owned(), page(&[CallStatus::Completed], None, None, None)),
            ("list by status group".to_owned(), page(&ended, None, None, None)),
            ("list by queue".to_owned(), page(&[], Some(&queue), None, None)),
            ("list by number".to_owned(), page(&[], None, Some(&phone), None)),
            (
                "list by series".to_owned(),
                page(&[CallStatus::Scheduled], None, None, Some(&series)),
            ),
            ("series by id".to_owned(), SERIES_BY_ID.to_owned()),
            ("series page".to_owned(), SERIES_PAGE.to_owned()),
            (
                "history".to_owned(),
                history_query(&phone, &history).build().sql().as_str().to_owned(),
            ),
            (
                "alerts".to_owned(),
                alert_shape(&AlertQuery {
                    cursor: Some(alert_cursor.clone()),
                    ..AlertQuery::default()
                }),
            ),
            (
                "open alerts".to_owned(),
                alert_shape(&AlertQuery {
                    open: true,
                    cursor: Some(alert_cursor.clone()),
                    ..AlertQuery::default()
                }),
            ),
            (
                "open alerts of a queue".to_owned(),
                alert_shape(&AlertQuery {
                    open: true,
                    queue: Some(queue.clone()),
                    cursor: Some(alert_cursor.clone()),
                    ..AlertQuery::default()
                }),
            ),
            ("alert by id".to_owned(), format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ?")),
            ("closing a call's alerts".to_owned(), close_alerts(2)),
            ("due".to_owned(), DUE_CALLS.to_owned()),
            ("due and listed".to_owned(), DUE_LISTED.to_owned()),
            ("do-not-call among".to_owned(), DO_NOT_CALL_AMONG.to_owned()),
            ("do-not-call page".to_owned(), DO_NOT_CALL_PAGE.to_owned()),
            ("next due".to_owned(), NEXT_DUE.to_owned()),
            ("deadlines".to_owned(), DEADLINES_DUE.to_owned()),
            ("leases".to_owned(), EXPIRED_LEASES.to_owned()),
            ("renew a lease".to_owned(), writer::RENEW_LEASE.to_owned()),
            ("following".to_owned(), FOLLOWING.to_owned()),
            ("by id".to_owned(), GET_CALL.to_owned()),
            ("by external id".to_owned(), GET_BY_EXTERNAL_ID.to_owned()),
            ("events of a call".to_owned(), EVENTS_OF_CALL.to_owned()),
            ("the log after a position".to_owned(), LOG_AFTER.to_owned()),
            ("calls among ids".to_owned(), CALLS_AMONG.to_owned()),
            ("the log's head".to_owned(), LOG_HEAD.to_owned()),
            ("event by id".to_owned(), format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = ?")),
            ("count by status".to_owned(), COUNT_BY_STATUS.to_owned()),
            ("queue totals".to_owned(), QUEUE_TOTALS.to_owned()),
            ("agent totals".to_owned(), AGENT_TOTALS.to_owned()),
            ("ended per minute".to_owned(), ENDED_PER_MINUTE.to_owned()),
            ("placed per minute".to_owned(), PLACED_PER_MINUTE.to_owned()),
            ("expired keys".to_owned(), PURGE_EXPIRED_KEYS.to_owned()),
            ("held keys".to_owned(), HELD_KEY.to_owned()),
        ];
        let mut plans = Vec::new();
        for (name, sql) in shapes {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
            plans.push((name, rows.iter().map(|r| r.get::<String, _>("detail")).collect()));
        }
        Ok(plans)
    }
}

/// The `dispatch_pauses` scope of a pause of `queue`, or of every call (`''`).
pub(crate) fn pause_scope(queue: Option<&QueueId>) -> &str {
    queue.map_or("", QueueId::as_str)
}

/// A scheduled call no recorded pause covers (a condition on `calls`). The
/// pause of every call is a constant term, so SQLite tests it once, before
/// walking any calls.
macro_rules! not_paused {
    () => {
        "NOT EXISTS (SELECT 1 FROM dispatch_pauses WHERE scope = '') \
         AND NOT EXISTS (SELECT 1 FROM dispatch_pauses WHERE scope = calls.queue_id)"
    };
}

/// The due calls a claim dispatches (`?3` now, `?4` the limit): those no
/// pause holds whose number is not on the do-not-call list. The writer's
/// claim runs this very string, and the plan check explains it.
pub(crate) const DUE_CALLS: &str = concat!(
    "SELECT id FROM calls INDEXED BY calls_due \
     WHERE status = 'scheduled' AND scheduled_at <= ?3 AND created_at <= ?3 AND ",
    not_paused!(),
    " AND NOT EXISTS (SELECT 1 FROM do_not_call WHERE phone = calls.to_number) \
     ORDER BY scheduled_at, id LIMIT ?4"
);

/// Among the first `?2` due calls at `?1` (as a claim takes them), those
/// whose number is on the do-not-call list, whole: what a claim cancels
/// before it dispatches. Bounded by the limit, so a backlog of due calls
/// is not walked when few or none are listed.
pub(crate) const DUE_LISTED: &str = concat!(
    "SELECT * FROM calls WHERE id IN (SELECT id FROM calls INDEXED BY calls_due \
     WHERE status = 'scheduled' AND scheduled_at <= ?1 AND created_at <= ?1 AND ",
    not_paused!(),
    " ORDER BY scheduled_at, id LIMIT ?2) \
     AND EXISTS (SELECT 1 FROM do_not_call WHERE phone = calls.to_number) \
     ORDER BY scheduled_at, id"
);

/// The do-not-call entries with the numbers in the JSON array `?`.
pub(crate) const DO_NOT_CALL_AMONG: &str = "SELECT phone, added_at, reason FROM do_not_call \
     WHERE phone IN (SELECT value FROM json_each(?)) ORDER BY phone";

/// The do-not-call entries after number `?1` (`''` for the first page), at most `?2`.
pub(crate) const DO_NOT_CALL_PAGE: &str = "SELECT phone, added_at, reason FROM do_not_call \
     WHERE phone > ?1 ORDER BY phone LIMIT ?2";

/// Forgets the pauses lapsed at `?`: a claim's first step.
pub(crate) const FORGET_LAPSED_PAUSES: &str = "DELETE FROM dispatch_pauses WHERE until <= ?";

async fn migrate(pool: &SqlitePool, path: &Path) -> Result<(), OpenError> {
    match MIGRATOR.run(pool).await {
        Ok(()) => Ok(()),
        Err(MigrateError::VersionMissing(found)) => Err(OpenError::SchemaTooNew {
            path: path.to_path_buf(),
            found,
            known: MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0),
        }),
        Err(MigrateError::Execute(error)) => Err(classify(path, error)),
        Err(other) => {
            Err(OpenError::Other { path: path.to_path_buf(), message: other.to_string() })
        }
    }
}

/// A read-only connection to `uri` (a path or a `file:` URI).
fn reader_connection(uri: &str) -> rusqlite::Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let conn = rusqlite::Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// How the writer's connection journals.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Journal {
    /// A file: write-ahead log.
    Wal,
    /// In memory (memdb).
    Memory,
}

/// The writer's connection to `uri` (a path or a `file:` URI), with the
/// pragmas every connection to the file has and the writer's own: its
/// page cache and the file's size bound.
fn writer_connection(
    uri: &str,
    settings: &SqliteOptions,
    journal: Journal,
) -> rusqlite::Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let conn = rusqlite::Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode = if journal == Journal::Wal { "WAL" } else { "MEMORY" };
    conn.pragma_update_and_check(None, "journal_mode", mode, |_| Ok(()))?;
    conn.pragma_update(None, "synchronous", if settings.full_sync { "FULL" } else { "NORMAL" })?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Statement journals (each statement of a transaction that may have to
    // undo itself, each savepoint) in memory, not in a temporary file: one
    // write per statement otherwise.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // A negative cache_size is in KiB.
    conn.pragma_update(None, "cache_size", -((WRITER_CACHE_BYTES / 1024) as i64))?;
    if let Some(bytes) = settings.max_size {
        let pages = (bytes / PAGE_SIZE).max(1) as i64;
        conn.pragma_update_and_check(None, "max_page_count", pages, |_| Ok(()))?;
    }
    Ok(conn)
}

fn classify(path: &Path, error: sqlx::Error) -> OpenError {
    let path = path.to_path_buf();
    if let sqlx::Error::Database(db) = &error
        && db.code().as_deref() == Some("26")
    {
        return OpenError::NotADatabase { path };
    }
    let message = match &error {
        sqlx::Error::Database(db) => db.message().to_owned(),
        other => other.to_string(),
    };
    OpenError::Other { path, message }
}

/// As `CallStore::next_due` defines it: the first scheduled call no pause
/// covers (walking past the held ones), the lapse of any pause, the first
/// deadline and the first lease to expire.
pub(crate) const NEXT_DUE: &str = concat!(
    "SELECT MIN(t) AS t FROM ( \
     SELECT * FROM (SELECT scheduled_at AS t FROM calls INDEXED BY calls_due \
         WHERE status = 'scheduled' AND ",
    not_paused!(),
    " ORDER BY scheduled_at LIMIT 1) \
     UNION ALL SELECT MIN(until) FROM dispatch_pauses \
     UNION ALL SELECT MIN(deadline_at) FROM calls INDEXED BY calls_deadline WHERE deadline_at IS NOT NULL \
     UNION ALL SELECT MIN(lease_expires_at) FROM calls INDEXED BY calls_lease WHERE status = 'dispatching')"
);

const GET_CALL: &str = "SELECT * FROM calls WHERE id = ?";

const GET_BY_EXTERNAL_ID: &str = "SELECT * FROM calls INDEXED BY calls_by_external_id \
     WHERE external_id = ? LIMIT 1";

const DEADLINES_DUE: &str = "SELECT * FROM calls INDEXED BY calls_deadline \
     WHERE deadline_at IS NOT NULL AND deadline_at <= ? ORDER BY deadline_at, id LIMIT ?";

const EXPIRED_LEASES: &str = "SELECT * FROM calls INDEXED BY calls_lease \
     WHERE status = 'dispatching' AND lease_expires_at <= ? ORDER BY lease_expires_at, id LIMIT ?";

/// After `?1` (an id, or `''`, which sorts before every id).
const FOLLOWING: &str = "SELECT * FROM calls INDEXED BY calls_following \
     WHERE direction = 'outbound' AND external_id IS NOT NULL \
       AND status IN ('initiated', 'ringing', 'routed', 'active', 'on_hold') \
       AND id > ?1 \
     ORDER BY id LIMIT ?2";

const EVENTS_OF_CALL: &str = "SELECT * FROM events WHERE call_id = ? ORDER BY seq";

/// The audit log after position `?1`, at most `?2` entries: the one writer
/// hands out `seq` as it commits, so positions grow in commit order.
const LOG_AFTER: &str = "SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?";

/// The calls whose ids are in the JSON array `?`.
const CALLS_AMONG: &str = "SELECT * FROM calls WHERE id IN (SELECT value FROM json_each(?))";

const LOG_HEAD: &str = "SELECT coalesce(max(seq), 0) FROM events";

/// Deletes the keys expired at `?`, so that they are free again.
pub(crate) const PURGE_EXPIRED_KEYS: &str = "DELETE FROM idempotency_keys \
     INDEXED BY idempotency_keys_by_expiry WHERE expires_at <= ?";

/// The key `?1`, if it is held.
pub(crate) const HELD_KEY: &str = "SELECT key, fingerprint, call_id, expires_at \
     FROM idempotency_keys WHERE key = ?1";

/// Kept as calls change (migration 0011: the writer counts each insert's
/// calls, a trigger each change of status), so it reads a row per status
/// however many calls there are.
const COUNT_BY_STATUS: &str = "SELECT status, n FROM call_counts WHERE n > 0";

/// Each queue offered calls, with its sums and its answered calls that
/// waited at most `?2` ms (`?1` is `?2` in whole seconds, rounded down),
/// from the sums kept as calls change (0012_kept_stats.sql): a row per
/// queue, and at most a thousand per queue for the SLA.
const QUEUE_TOTALS: &str = "SELECT q.queue_id, q.offered, q.answered, q.abandoned, \
        q.wait_us, q.hold_us, \
        (SELECT coalesce(SUM(n), 0) FROM queue_wait_seconds w WHERE w.queue_id = q.queue_id AND w.s <= ?1) \
        + (SELECT coalesce(SUM(n), 0) FROM queue_wait_millis m \
           WHERE m.queue_id = q.queue_id AND m.ms > ?1 * 1000 AND m.ms <= ?2) AS within_sla \
     FROM queue_totals q WHERE q.offered > 0 ORDER BY q.queue_id";

/// Each agent's sums, kept as calls change and reroutes are recorded
/// (0012_kept_stats.sql).
const AGENT_TOTALS: &str = "SELECT agent_id, answered, wait_us, ended, talk_us, hold_us, reroutes \
     FROM agent_totals WHERE answered > 0 OR reroutes > 0 ORDER BY agent_id";

/// Calls that ended in `[?1, ?2)`, per minute by outcome (`MinuteTotals`).
const ENDED_PER_MINUTE: &str = "SELECT ended_at / 60000000 AS minute, \
        SUM(status = 'completed') AS completed, \
        SUM(status IN ('busy', 'no_answer', 'abandoned')) AS missed, \
        SUM(status = 'failed') AS failed \
     FROM calls INDEXED BY calls_by_ended WHERE ended_at >= ?1 AND ended_at < ?2 \
     GROUP BY 1 ORDER BY 1";

/// Scheduled outbound calls placed in `[?1, ?2)`, per minute, with their
/// lateness in seconds (`MinuteTotals`).
const PLACED_PER_MINUTE: &str = "SELECT initiated_at / 60000000 AS minute, COUNT(*) AS placed, \
        TOTAL(MAX(initiated_at - scheduled_at, 0)) / 1e6 AS lateness, \
        MAX(MAX(initiated_at - scheduled_at, 0)) / 1e6 AS max_lateness \
     FROM calls INDEXED BY calls_by_placed \
     WHERE direction = 'outbound' AND scheduled_at IS NOT NULL \
       AND initiated_at >= ?1 AND initiated_at < ?2 \
     GROUP BY 1 ORDER BY 1";

/// A page of alerts, newest first, on the index its filters call for.
fn alerts_query(query: &AlertQuery) -> sqlx::QueryBuilder<sqlx::Sqlite> {
    let index = match (&query.queue, query.open) {
        (Some(_), _) => "alerts_by_queue",
        (None, true) => "alerts_open",
        (None, false) => "alerts_by_raised",
    };
    let mut b = sqlx::QueryBuilder::new(format!(
        "SELECT {ALERT_COLUMNS} FROM alerts INDEXED BY {index} WHERE 1"
    ));
    if let Some(queue) = &query.queue {
        b.push(" AND queue_id = ").push_bind(queue.to_string());
    }
    if query.open {
        b.push(" AND closed_at IS NULL");
    }
    if let Some(cursor) = &query.cursor {
        b.push(" AND (raised_at, id) < (")
            .push_bind(micros(cursor.at))
            .push(", ")
            .push_bind(cursor.id.to_string())
            .push(")");
    }
    b.push(" ORDER BY raised_at DESC, id DESC LIMIT ").push_bind(limit(query.limit.max(1)));
    b
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

fn calls(rows: &[SqliteRow]) -> Result<Vec<Call>, StoreError> {
    rows.iter().map(call_from_row).collect()
}

fn page(rows: &[SqliteRow], order: PageOrder, limit: usize) -> Result<Page<Call>, StoreError> {
    let items = calls(rows)?;
    let next_cursor = (items.len() == limit.max(1))
        .then(|| items.last().map(|call| Cursor::after(call, order)))
        .flatten();
    Ok(Page { items, next_cursor })
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[async_trait]
impl CallStore for SqliteStore {
    async fn insert(&self, calls: &[Call], events: &[CallEvent]) -> Result<(), StoreError> {
        self.write(Write::Insert { calls: calls.to_vec(), events: events.to_vec() }).await?;
        self.live.keep_written(calls);
        Ok(())
    }

    async fn insert_keyed(
        &self,
        calls: &[Call],
        events: &[CallEvent],
        series: &[Series],
        keys: &[HeldKey],
        now: DateTime<Utc>,
    ) -> Result<Vec<HeldKey>, StoreError> {
        let write = Write::InsertKeyed {
            calls: calls.to_vec(),
            events: events.to_vec(),
            series: series.to_vec(),
            keys: keys.to_vec(),
            now,
        };
        match self.write(write).await? {
            Written::Held(held) => {
                if held.is_empty() {
                    self.live.keep_written(calls);
                }
                Ok(held)
            }
            _ => Err(StoreError::Backend("the writer answered a keyed insert wrongly".into())),
        }
    }

    async fn get(&self, id: &CallId) -> Result<Option<Call>, StoreError> {
        let call = self.readers.row(GET_CALL, vec![text(id)], |row| call_from_row(row)).await?;
        if let Some(call) = &call {
            self.live.keep(call);
        }
        Ok(call)
    }

    /// From the calls in motion this store keeps (see `cache.rs`), else from the file.
    async fn get_to_change(&self, id: &CallId) -> Result<Option<ReadToChange>, StoreError> {
        if let Some(call) = self.live.get(id) {
            return Ok(Some(ReadToChange { call, cached: true }));
        }
        Ok(self.get(id).await?.map(|call| ReadToChange { call, cached: false }))
    }

    async fn get_by_external_id(&self, external_id: &str) -> Result<Option<Call>, StoreError> {
        let row = sqlx::query(GET_BY_EXTERNAL_ID)
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
        let saved = self
            .write(Write::Save {
                call: Box::new(call.clone()),
                new_calls: new_calls.to_vec(),
                events: events.to_vec(),
            })
            .await;
        match &saved {
            Ok(_) => {
                self.live.keep(call);
                self.live.keep_written(new_calls);
            }
            // What is stored is newer than what the change was decided on.
            Err(StoreError::Conflict { .. }) => self.live.forget(call.id()),
            Err(_) => {}
        }
        saved.map(drop)
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
        match self.write(Write::Claim(claim.clone())).await? {
            Written::Claimed(claimed) => {
                for claimed in &claimed {
                    self.live.keep(&claimed.call);
                }
                Ok(claimed)
            }
            _ => Err(StoreError::Backend("the writer answered a claim with something else".into())),
        }
    }

    async fn renew_leases(
        &self,
        renewal: &LeaseRenewal,
        ids: &[CallId],
    ) -> Result<Vec<CallId>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let write = Write::RenewLeases { renewal: renewal.clone(), ids: ids.to_vec() };
        match self.write(write).await? {
            Written::Renewed(renewed) => {
                // Each renewal raised the call's version.
                for id in &renewed {
                    self.live.forget(id);
                }
                Ok(renewed)
            }
            _ => {
                Err(StoreError::Backend("the writer answered a renewal with something else".into()))
            }
        }
    }

    async fn advance_series(
        &self,
        previous: &Call,
        now: DateTime<Utc>,
    ) -> Result<Option<(Call, CallEvent)>, StoreError> {
        if previous.occurrence().is_none() {
            return Ok(None);
        }
        let write = Write::AdvanceSeries { previous: Box::new(previous.clone()), now };
        match self.write(write).await? {
            Written::Advanced(made) => Ok(made.map(|made| *made)),
            _ => Err(StoreError::Backend("the writer answered an advance wrongly".into())),
        }
    }

    async fn series(&self, id: &SeriesId) -> Result<Option<Series>, StoreError> {
        let row = sqlx::query(SERIES_BY_ID)
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(series_from_row).transpose()
    }

    async fn list_series(
        &self,
        before: Option<&SeriesId>,
        limit: usize,
    ) -> Result<Vec<Series>, StoreError> {
        let rows = sqlx::query(SERIES_PAGE)
            .bind(before.map_or("\u{ffff}", SeriesId::as_str))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
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
        match self.write(Write::CancelSeries { id: id.clone(), now }).await? {
            Written::CanceledSeries(series) => Ok(series.map(|series| *series)),
            _ => Err(StoreError::Backend("the writer answered a cancel wrongly".into())),
        }
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row = sqlx::query(NEXT_DUE).fetch_one(&self.pool).await.map_err(backend)?;
        let micros: Option<i64> = row.try_get("t").map_err(backend)?;
        Ok(micros.and_then(|m| Utc.timestamp_micros(m).single()))
    }

    async fn deadlines_due(&self, now: DateTime<Utc>, n: usize) -> Result<Vec<Call>, StoreError> {
        let rows = sqlx::query(DEADLINES_DUE)
            .bind(micros(now))
            .bind(limit(n))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        calls(&rows)
    }

    async fn expired_leases(&self, now: DateTime<Utc>, n: usize) -> Result<Vec<Call>, StoreError> {
        let rows = sqlx::query(EXPIRED_LEASES)
            .bind(micros(now))
            .bind(limit(n))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        calls(&rows)
    }

    async fn following(&self, after: Option<&CallId>, n: usize) -> Result<Vec<Call>, StoreError> {
        let rows = sqlx::query(FOLLOWING)
            .bind(after.map_or(String::new(), ToString::to_string))
            .bind(limit(n))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        calls(&rows)
    }

    async fn alerts(&self, query: &AlertQuery) -> Result<AlertPage, StoreError> {
        let rows = alerts_query(query).build().fetch_all(&self.pool).await.map_err(backend)?;
        let items = rows.iter().map(alert_from_row).collect::<Result<Vec<_>, _>>()?;
        Ok(AlertPage::of(items, query.limit))
    }

    async fn alert(&self, id: &EventId) -> Result<Option<AlertRecord>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ?"
        )))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(alert_from_row).transpose()
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
        let rows = sqlx::query(EVENTS_OF_CALL)
            .bind(id.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(event_from_row).collect()
    }

    async fn event(&self, id: &EventId) -> Result<Option<CallEvent>, StoreError> {
        let row = sqlx::query("SELECT * FROM events WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(event_from_row).transpose()
    }

    async fn log_after(&self, after: u64, limit: usize) -> Result<Vec<LogEntry>, StoreError> {
        let rows = sqlx::query(LOG_AFTER)
            .bind(i64::try_from(after).unwrap_or(i64::MAX))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        let mut events = Vec::with_capacity(rows.len());
        for row in &rows {
            let seq: i64 = row.try_get("seq").map_err(|e| crate::rows::corrupt("seq", e))?;
            events.push((seq as u64, event_from_row(row)?));
        }
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = events.iter().map(|(_, e)| e.call_id().as_str()).collect();
        let rows = sqlx::query(CALLS_AMONG)
            .bind(serde_json::json!(ids).to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        let calls = rows.iter().map(call_from_row).collect::<Result<Vec<_>, _>>()?;
        Ok(LogEntry::pair(events, calls))
    }

    async fn log_head(&self) -> Result<u64, StoreError> {
        let head: i64 =
            sqlx::query_scalar(LOG_HEAD).fetch_one(&self.pool).await.map_err(backend)?;
        Ok(head as u64)
    }

    async fn add_queue(&self, queue: &Queue) -> Result<(), StoreError> {
        self.write(Write::AddQueue(queue.clone())).await.map(drop)
    }

    async fn remove_queue(&self, id: &QueueId) -> Result<bool, StoreError> {
        match self.write(Write::RemoveQueue(id.clone())).await? {
            Written::Removed(removed) => Ok(removed),
            _ => {
                Err(StoreError::Backend("the writer answered a removal with something else".into()))
            }
        }
    }

    async fn queue(&self, id: &QueueId) -> Result<Option<Queue>, StoreError> {
        let row = sqlx::query("SELECT id, created_at FROM queues WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(queue_from_row).transpose()
    }

    async fn queues(&self) -> Result<Vec<Queue>, StoreError> {
        let rows = sqlx::query("SELECT id, created_at FROM queues ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(queue_from_row).collect()
    }

    async fn pause(&self, pause: &Pause) -> Result<(), StoreError> {
        self.write(Write::Pause(pause.clone())).await.map(drop)
    }

    async fn add_do_not_call(&self, entry: &DoNotCall) -> Result<Option<DoNotCall>, StoreError> {
        match self.write(Write::AddDoNotCall(entry.clone())).await? {
            Written::Listed(listed) => Ok(listed),
            _ => Err(StoreError::Backend(
                "the writer answered a do-not-call entry with something else".into(),
            )),
        }
    }

    async fn remove_do_not_call(&self, phone: &PhoneNumber) -> Result<bool, StoreError> {
        match self.write(Write::RemoveDoNotCall(phone.clone())).await? {
            Written::Removed(removed) => Ok(removed),
            _ => Err(StoreError::Backend(
                "the writer answered a do-not-call removal with something else".into(),
            )),
        }
    }

    async fn do_not_call(&self, phones: &[PhoneNumber]) -> Result<Vec<DoNotCall>, StoreError> {
        if phones.is_empty() {
            return Ok(Vec::new());
        }
        let numbers: Vec<&str> = phones.iter().map(PhoneNumber::as_str).collect();
        let rows = sqlx::query(DO_NOT_CALL_AMONG)
            .bind(serde_json::json!(numbers).to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(do_not_call_from_row).collect()
    }

    async fn list_do_not_call(
        &self,
        after: Option<&PhoneNumber>,
        limit: usize,
    ) -> Result<Vec<DoNotCall>, StoreError> {
        let rows = sqlx::query(DO_NOT_CALL_PAGE)
            .bind(after.map_or("", PhoneNumber::as_str))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(do_not_call_from_row).collect()
    }

    async fn resume(&self, queue: Option<&QueueId>) -> Result<bool, StoreError> {
        match self.write(Write::Resume(queue.cloned())).await? {
            Written::Removed(removed) => Ok(removed),
            _ => {
                Err(StoreError::Backend("the writer answered a resume with something else".into()))
            }
        }
    }

    async fn pauses(&self) -> Result<Vec<Pause>, StoreError> {
        let rows =
            sqlx::query("SELECT scope, paused_at, until FROM dispatch_pauses ORDER BY scope")
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
        rows.iter().map(pause_from_row).collect()
    }

    async fn count_by_status(&self) -> Result<Vec<(CallStatus, u64)>, StoreError> {
        let rows = sqlx::query(COUNT_BY_STATUS).fetch_all(&self.pool).await.map_err(backend)?;
        let mut counts = Vec::with_capacity(rows.len());
        for row in rows {
            let status: String = row.try_get(0).map_err(backend)?;
            let status =
                CallStatus::parse(&status).map_err(|e| StoreError::Backend(e.to_string()))?;
            let n: i64 = row.try_get(1).map_err(backend)?;
            counts.push((status, n as u64));
        }
        counts.sort_by_key(|&(status, _)| CallStatus::ALL.iter().position(|s| *s == status));
        Ok(counts)
    }

    /// Other processes on the same file are seen through SQLite's
    /// `PRAGMA data_version`, read every few milliseconds on a connection of
    /// its own; when it moved and the next due moment is now sooner, that
    /// moment is announced. In memory, nothing is.
    fn announcements(&self) -> Announcements {
        let Some(options) = &self.watch else { return Announcements::none() };
        let sender = self.announcer.get_or_init(|| {
            let sender = broadcast::Sender::new(watch::BUFFER);
            tokio::spawn(watch::run(options.clone(), sender.clone()));
            sender
        });
        Announcements::subscribe(sender)
    }

    async fn stats_inputs(&self, sla_seconds: f64) -> Result<StatsInputs, StoreError> {
        // The threshold in whole milliseconds, as the kept counts are (0012_kept_stats.sql).
        let sla_ms = (sla_seconds * 1000.0).round() as i64;
        let queue_rows = sqlx::query(QUEUE_TOTALS)
            .bind(sla_ms.div_euclid(1000))
            .bind(sla_ms)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        let agent_rows =
            sqlx::query(AGENT_TOTALS).fetch_all(&self.pool).await.map_err(backend)?;

        let count = |row: &SqliteRow, column: &str| -> Result<u64, StoreError> {
            let n: i64 = row.try_get(column).map_err(backend)?;
            Ok(u64::try_from(n).unwrap_or(0))
        };
        let seconds = |row: &SqliteRow, column: &str| -> Result<f64, StoreError> {
            let micros: i64 = row.try_get(column).map_err(backend)?;
            Ok(micros as f64 / 1e6)
        };
        let mut queues = Vec::with_capacity(queue_rows.len());
        for row in &queue_rows {
            let id: String = row.try_get("queue_id").map_err(backend)?;
            queues.push(QueueTotals {
                queue_id: QueueId::parse(id).map_err(|e| crate::rows::corrupt("queue_id", e))?,
                offered: count(row, "offered")?,
                answered: count(row, "answered")?,
                abandoned: count(row, "abandoned")?,
                answered_within_sla: count(row, "within_sla")?,
                wait_seconds: seconds(row, "wait_us")?,
                hold_seconds: seconds(row, "hold_us")?,
            });
        }
        let mut answered = Vec::with_capacity(agent_rows.len());
        let mut reroutes = Vec::new();
        for row in &agent_rows {
            let id: String = row.try_get("agent_id").map_err(backend)?;
            let agent_id = AgentId::parse(id).map_err(|e| crate::rows::corrupt("agent_id", e))?;
            let rerouted = count(row, "reroutes")?;
            if rerouted > 0 {
                reroutes.push((agent_id.clone(), rerouted));
            }
            if count(row, "answered")? > 0 {
                answered.push(AgentTotals {
                    answered: count(row, "answered")?,
                    wait_seconds: seconds(row, "wait_us")?,
                    ended: count(row, "ended")?,
                    talk_seconds: seconds(row, "talk_us")?,
                    hold_seconds: seconds(row, "hold_us")?,
                    ..AgentTotals::new(agent_id)
                });
            }
        }
        Ok(StatsInputs::new(queues, answered, reroutes))
    }

    async fn minute_totals(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<MinuteTotals>, StoreError> {
        let span = |sql| sqlx::query(sql).bind(micros(since)).bind(micros(until));
        let ended_rows = span(ENDED_PER_MINUTE).fetch_all(&self.pool).await.map_err(backend)?;
        let placed_rows =
            span(PLACED_PER_MINUTE).fetch_all(&self.pool).await.map_err(backend)?;
        let count = |row: &SqliteRow, column: &str| -> Result<u64, StoreError> {
            let n: i64 = row.try_get(column).map_err(backend)?;
            Ok(u64::try_from(n).unwrap_or(0))
        };
        let mut ended = Vec::with_capacity(ended_rows.len());
        for row in &ended_rows {
            ended.push(MinuteTotals {
                minute: row.try_get("minute").map_err(backend)?,
                completed: count(row, "completed")?,
                missed: count(row, "missed")?,
                failed: count(row, "failed")?,
                ..MinuteTotals::default()
            });
        }
        let mut placed = Vec::with_capacity(placed_rows.len());
        for row in &placed_rows {
            placed.push(MinuteTotals {
                minute: row.try_get("minute").map_err(backend)?,
                placed: count(row, "placed")?,
                lateness_seconds: row.try_get("lateness").map_err(backend)?,
                max_lateness_seconds: row.try_get("max_lateness").map_err(backend)?,
                ..MinuteTotals::default()
            });
        }
        Ok(MinuteTotals::join(ended, placed))
    }
}

fn queue_from_row(row: &SqliteRow) -> Result<Queue, StoreError> {
    let id: String = row.try_get("id").map_err(backend)?;
    let created_at: i64 = row.try_get("created_at").map_err(backend)?;
    Ok(Queue {
        id: QueueId::parse(id).map_err(|e| StoreError::Backend(e.to_string()))?,
        created_at: Utc
            .timestamp_micros(created_at)
            .single()
            .ok_or_else(|| StoreError::Backend(format!("unreadable created_at {created_at}")))?,
    })
}

fn pause_from_row(row: &SqliteRow) -> Result<Pause, StoreError> {
    let scope: String = row.try_get("scope").map_err(backend)?;
    let time = |micros: i64| {
        Utc.timestamp_micros(micros)
            .single()
            .ok_or_else(|| StoreError::Backend(format!("unreadable pause time {micros}")))
    };
    let until: Option<i64> = row.try_get("until").map_err(backend)?;
    Ok(Pause {
        queue: (!scope.is_empty())
            .then(|| QueueId::parse(scope).map_err(|e| StoreError::Backend(e.to_string())))
            .transpose()?,
        paused_at: time(row.try_get("paused_at").map_err(backend)?)?,
        until: until.map(time).transpose()?,
    })
}
