//! callwork's [`CallStore`] on SQLite.
//!
//! One file holds the calls, their append-only audit log and the queue
//! registry. The connection discipline follows what SQLite does well:
//!
//! - WAL, `synchronous = NORMAL` (a committed write survives the process
//!   being killed; a power loss may lose the last commits, never corrupt
//!   the file: [`SqliteOptions::full_sync`] loses none), a busy timeout,
//!   foreign keys on;
//! - every write goes through one writer thread with `BEGIN IMMEDIATE`,
//!   which commits all the writes waiting together (group commit): many
//!   concurrent callers cost one transaction, not one each;
//! - reads go through a few read-only connections, each read run whole on a
//!   blocking thread;
//! - both on rusqlite, statements prepared once per connection; the schema
//!   is embedded (`migrations/`) and brought up to date on open (sqlx's
//!   migrator).
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
use chrono::{DateTime, Utc};
use sqlx::{
    ConnectOptions, SqlitePool,
    migrate::{MigrateError, Migrator},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::{
    cache::LiveCalls,
    pages::PageQuery,
    readers::Readers,
    rows::{
        ALERT_COLUMNS, Named, SERIES_BY_ID, SERIES_PAGE, Statement, alert_from_row, call_from_row,
        close_alerts, corrupt, count_of, do_not_call_from_row, event_from_row, int_of, micros,
        opt_time, parsed, required, series_from_row, text, text_of, time_of,
    },
    writer::{Job, Write, Written},
};

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
        let uri = path.to_string_lossy();
        let readers = (0..READERS)
            .map(|_| reader_connection(&uri, settings))
            .collect::<Result<_, _>>()
            .map_err(|e| OpenError::Other { path: path.clone(), message: e.to_string() })?;
        let live = LiveCalls::new(!settings.uncached_reads);
        let watch = options.read_only(true);
        SqliteStore::start(Readers::new(readers), writer, &path, Some(watch), live)
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
        let migrations = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(|e| classify(&path, e))?;
        migrate(&migrations, &path).await?;
        migrations.close().await;
        let readers = (0..READERS)
            .map(|_| {
                reader_connection(&format!("file:{name}?vfs=memdb"), &SqliteOptions::default())
            })
            .collect::<Result<_, _>>()
            .map_err(|e| other(e.to_string()))?;
        SqliteStore::start(Readers::new(readers), writer, &path, None, LiveCalls::new(true))
    }

    fn start(
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
        self.readers
            .rows("PRAGMA integrity_check", Vec::new(), |row| text_of(row, "integrity_check"))
            .await
    }

    /// Whether each commit waits for the disk (`synchronous = FULL`,
    /// [`SqliteOptions::full_sync`]) rather than for the WAL alone
    /// (`NORMAL`), as SQLite reports it.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when SQLite cannot be asked.
    pub async fn full_sync(&self) -> Result<bool, StoreError> {
        let level = self
            .readers
            .row("PRAGMA synchronous", Vec::new(), |row| int_of(row, "synchronous"))
            .await?
            .unwrap_or(0);
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
        let phone = PhoneNumber::parse("+14155550100")
            .map_err(|e| StoreError::Backend(e.to_string().into()))?;
        let queue = QueueId::parse("q").map_err(|e| StoreError::Backend(e.to_string().into()))?;
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
        let alert_shape = |query: &AlertQuery| alerts_query(query).sql;
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
            .sql
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
            ("history".to_owned(), history_query(&phone, &history).build().sql),
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
            ("event by id".to_owned(), EVENT_BY_ID.to_owned()),
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
            let explain = format!("EXPLAIN QUERY PLAN {sql}");
            let details = self
                .readers
                .run(move |conn| {
                    let mut statement = conn.prepare(&explain).map_err(writer::failed)?;
                    // A shape's values do not change its plan: every one bound to NULL.
                    let nulls = vec![rusqlite::types::Value::Null; statement.parameter_count()];
                    let rows = statement
                        .query_map(rusqlite::params_from_iter(nulls), |row| row.get("detail"))
                        .map_err(writer::failed)?;
                    rows.collect::<Result<Vec<String>, _>>().map_err(writer::failed)
                })
                .await?;
            plans.push((name, details));
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

/// A read-only connection to `uri` (a path or a `file:` URI). Its
/// `synchronous` is the store's, for [`SqliteStore::full_sync`] to report.
fn reader_connection(
    uri: &str,
    settings: &SqliteOptions,
) -> rusqlite::Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let conn = rusqlite::Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "synchronous", if settings.full_sync { "FULL" } else { "NORMAL" })?;
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

const LOG_HEAD: &str = "SELECT coalesce(max(seq), 0) AS head FROM events";

const EVENT_BY_ID: &str = "SELECT * FROM events WHERE id = ?";

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
fn alerts_query(query: &AlertQuery) -> Statement {
    let index = match (&query.queue, query.open) {
        (Some(_), _) => "alerts_by_queue",
        (None, true) => "alerts_open",
        (None, false) => "alerts_by_raised",
    };
    let mut b =
        Statement::new(format!("SELECT {ALERT_COLUMNS} FROM alerts INDEXED BY {index} WHERE 1"));
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

fn page(items: Vec<Call>, order: PageOrder, limit: usize) -> Result<Page<Call>, StoreError> {
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
        let call = self.readers.by_key(GET_CALL, vec![text(id)], call_from_row).await?;
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
        self.readers.by_key(GET_BY_EXTERNAL_ID, vec![text(external_id)], call_from_row).await
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
                changed: self
                    .live
                    .get(call.id())
                    .filter(|kept| kept.version().wrapping_add(1) == call.version())
                    .map(|kept| crate::rows::changed_columns(&kept, call)),
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
        let Statement { sql, params } = page_query.build();
        let calls = self.readers.rows(sql, params, call_from_row).await?;
        page(calls, PageOrder::Created, query.limit)
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
        self.readers.by_key(SERIES_BY_ID, vec![text(id)], series_from_row).await
    }

    async fn list_series<'a>(
        &self,
        before: Option<&'a SeriesId>,
        limit: usize,
    ) -> Result<Vec<Series>, StoreError> {
        let params = vec![text(before.map_or("\u{ffff}", SeriesId::as_str)), count(limit)];
        self.readers.rows(SERIES_PAGE, params, series_from_row).await
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
        let due = self.readers.row(NEXT_DUE, Vec::new(), |row| opt_time(row, "t")).await?;
        Ok(due.flatten())
    }

    async fn deadlines_due(&self, now: DateTime<Utc>, n: usize) -> Result<Vec<Call>, StoreError> {
        let params = vec![micros(now).into(), count(n)];
        self.readers.rows(DEADLINES_DUE, params, call_from_row).await
    }

    async fn expired_leases(&self, now: DateTime<Utc>, n: usize) -> Result<Vec<Call>, StoreError> {
        let params = vec![micros(now).into(), count(n)];
        self.readers.rows(EXPIRED_LEASES, params, call_from_row).await
    }

    async fn following<'a>(
        &self,
        after: Option<&'a CallId>,
        n: usize,
    ) -> Result<Vec<Call>, StoreError> {
        let params = vec![text(after.map_or("", CallId::as_str)), count(n)];
        self.readers.rows(FOLLOWING, params, call_from_row).await
    }

    async fn alerts(&self, query: &AlertQuery) -> Result<AlertPage, StoreError> {
        let Statement { sql, params } = alerts_query(query);
        let items = self.readers.rows(sql, params, alert_from_row).await?;
        Ok(AlertPage::of(items, query.limit))
    }

    async fn alert(&self, id: &EventId) -> Result<Option<AlertRecord>, StoreError> {
        let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ?");
        self.readers.row(sql, vec![text(id)], alert_from_row).await
    }

    async fn history(
        &self,
        number: &PhoneNumber,
        query: &HistoryQuery,
    ) -> Result<Page<Call>, StoreError> {
        let Statement { sql, params } = history_query(number, query).build();
        let calls = self.readers.rows(sql, params, call_from_row).await?;
        page(calls, PageOrder::Happened, query.limit)
    }

    async fn events(&self, id: &CallId) -> Result<Vec<CallEvent>, StoreError> {
        self.readers.rows(EVENTS_OF_CALL, vec![text(id)], event_from_row).await
    }

    async fn event(&self, id: &EventId) -> Result<Option<CallEvent>, StoreError> {
        self.readers.by_key(EVENT_BY_ID, vec![text(id)], event_from_row).await
    }

    async fn log_after(&self, after: u64, limit: usize) -> Result<Vec<LogEntry>, StoreError> {
        let params = vec![count(after), count(limit)];
        let events = self
            .readers
            .rows(LOG_AFTER, params, |row| Ok((count_of(row, "seq")?, event_from_row(row)?)))
            .await?;
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = events.iter().map(|(_, e)| e.call_id().as_str()).collect();
        let params = vec![serde_json::json!(ids).to_string().into()];
        let calls = self.readers.rows(CALLS_AMONG, params, call_from_row).await?;
        Ok(LogEntry::pair(events, calls))
    }

    async fn log_head(&self) -> Result<u64, StoreError> {
        let head = self.readers.row(LOG_HEAD, Vec::new(), |row| count_of(row, "head")).await?;
        Ok(head.unwrap_or(0))
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
        let sql = "SELECT id, created_at FROM queues WHERE id = ?";
        self.readers.by_key(sql, vec![text(id)], queue_from_row).await
    }

    async fn queues(&self) -> Result<Vec<Queue>, StoreError> {
        let sql = "SELECT id, created_at FROM queues ORDER BY id";
        self.readers.rows(sql, Vec::new(), queue_from_row).await
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
        let params = vec![serde_json::json!(numbers).to_string().into()];
        self.readers.rows(DO_NOT_CALL_AMONG, params, do_not_call_from_row).await
    }

    async fn list_do_not_call<'a>(
        &self,
        after: Option<&'a PhoneNumber>,
        limit: usize,
    ) -> Result<Vec<DoNotCall>, StoreError> {
        let params = vec![text(after.map_or("", PhoneNumber::as_str)), count(limit)];
        self.readers.rows(DO_NOT_CALL_PAGE, params, do_not_call_from_row).await
    }

    async fn resume<'a>(&self, queue: Option<&'a QueueId>) -> Result<bool, StoreError> {
        match self.write(Write::Resume(queue.cloned())).await? {
            Written::Removed(removed) => Ok(removed),
            _ => {
                Err(StoreError::Backend("the writer answered a resume with something else".into()))
            }
        }
    }

    async fn pauses(&self) -> Result<Vec<Pause>, StoreError> {
        let sql = "SELECT scope, paused_at, until FROM dispatch_pauses ORDER BY scope";
        self.readers.rows(sql, Vec::new(), pause_from_row).await
    }

    async fn count_by_status(&self) -> Result<Vec<(CallStatus, u64)>, StoreError> {
        let mut counts = self
            .readers
            .rows(COUNT_BY_STATUS, Vec::new(), |row| {
                Ok((parsed(row, "status", CallStatus::parse)?, count_of(row, "n")?))
            })
            .await?;
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
        let params = vec![sla_ms.div_euclid(1000).into(), sla_ms.into()];
        let queues = self.readers.rows(QUEUE_TOTALS, params, |row| {
            Ok(QueueTotals {
                queue_id: parsed(row, "queue_id", |q| QueueId::parse(q))?,
                offered: count_of(row, "offered")?,
                answered: count_of(row, "answered")?,
                abandoned: count_of(row, "abandoned")?,
                answered_within_sla: count_of(row, "within_sla")?,
                wait_seconds: seconds(row, "wait_us")?,
                hold_seconds: seconds(row, "hold_us")?,
            })
        });
        let agents = self.readers.rows(AGENT_TOTALS, Vec::new(), |row| {
            Ok(AgentTotals {
                answered: count_of(row, "answered")?,
                wait_seconds: seconds(row, "wait_us")?,
                ended: count_of(row, "ended")?,
                talk_seconds: seconds(row, "talk_us")?,
                hold_seconds: seconds(row, "hold_us")?,
                reroutes: count_of(row, "reroutes")?,
                ..AgentTotals::new(parsed(row, "agent_id", |a| AgentId::parse(a))?)
            })
        });
        let (queues, agents) = (queues.await?, agents.await?);
        let reroutes = agents
            .iter()
            .filter(|agent| agent.reroutes > 0)
            .map(|agent| (agent.agent_id.clone(), agent.reroutes))
            .collect();
        let answered = agents.into_iter().filter(|agent| agent.answered > 0).collect();
        Ok(StatsInputs::new(queues, answered, reroutes))
    }

    async fn minute_totals(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<MinuteTotals>, StoreError> {
        let span = || vec![micros(since).into(), micros(until).into()];
        let ended = self.readers.rows(ENDED_PER_MINUTE, span(), |row| {
            Ok(MinuteTotals {
                minute: int_of(row, "minute")?,
                completed: count_of(row, "completed")?,
                missed: count_of(row, "missed")?,
                failed: count_of(row, "failed")?,
                ..MinuteTotals::default()
            })
        });
        let placed = self.readers.rows(PLACED_PER_MINUTE, span(), |row| {
            Ok(MinuteTotals {
                minute: int_of(row, "minute")?,
                placed: count_of(row, "placed")?,
                lateness_seconds: required(row.real("lateness")?, "lateness")?,
                max_lateness_seconds: required(row.real("max_lateness")?, "max_lateness")?,
                ..MinuteTotals::default()
            })
        });
        let (ended, placed) = (ended.await?, placed.await?);
        Ok(MinuteTotals::join(ended, placed))
    }
}

fn queue_from_row(row: &Named<'_>) -> Result<Queue, StoreError> {
    Ok(Queue {
        id: parsed(row, "id", |q| QueueId::parse(q))?,
        created_at: time_of(row, "created_at")?,
    })
}

fn pause_from_row(row: &Named<'_>) -> Result<Pause, StoreError> {
    let scope = text_of(row, "scope")?;
    Ok(Pause {
        queue: (!scope.is_empty())
            .then(|| QueueId::parse(scope).map_err(|e| corrupt("scope", e)))
            .transpose()?,
        paused_at: time_of(row, "paused_at")?,
        until: opt_time(row, "until")?,
    })
}

/// A seconds sum kept in microseconds.
fn seconds(row: &Named<'_>, column: &str) -> Result<f64, StoreError> {
    Ok(int_of(row, column)? as f64 / 1e6)
}

/// A count or a position bound as SQLite's integer.
fn count(n: impl TryInto<i64>) -> rusqlite::types::Value {
    n.try_into().unwrap_or(i64::MAX).into()
}
