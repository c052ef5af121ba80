//! The store a `--db` value names, for the binaries: `calls` and
//! `call-http` take either a SQLite file path or a `postgres://` URL, read
//! the same way by both.
//!
//! ```
//! use call_db::Database;
//!
//! assert!(matches!(Database::parse("calls.db"), Database::Sqlite(_)));
//! assert!(matches!(Database::parse("postgres://db.internal/calls"), Database::Postgres(_)));
//! ```

use std::{path::PathBuf, sync::Arc};

use call_core::ports::CallStore;
use call_store_postgres::{PgOptions, PgStore};
use call_store_sqlite::{SqliteOptions, SqliteStore};

/// The file used when neither `--db`, `CALLS_DB` nor `DATABASE_URL` names one.
pub const DEFAULT_PATH: &str = "calls.db";

/// Where the calls are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file, created on first use.
    Sqlite(PathBuf),
    /// A PostgreSQL database, by its URL.
    Postgres(String),
}

/// How the binaries open a store: the flags they share.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// PostgreSQL's connections, at most (its default when `None`); a
    /// SQLite file has one writer and a fixed reader pool, and ignores it.
    pub pool_size: Option<u32>,
    /// A SQLite file commits with `synchronous = FULL`: each commit waits
    /// for the disk, so a power loss loses no acknowledged write either
    /// (a killed process loses none in both modes). PostgreSQL ignores it:
    /// its durability is the server's (`synchronous_commit`).
    pub full_sync: bool,
}

impl OpenOptions {
    /// What these options mean to a SQLite file.
    pub fn sqlite(&self) -> SqliteOptions {
        let mut options = SqliteOptions::default();
        options.full_sync = self.full_sync;
        options
    }

    /// What these options mean to PostgreSQL.
    pub fn postgres(&self) -> PgOptions {
        self.pool_size.map_or_else(PgOptions::default, PgOptions::max_connections)
    }
}

/// Why the store could not be opened: one line, naming the file or the
/// server (without its password).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The SQLite file.
    #[error(transparent)]
    Sqlite(#[from] call_store_sqlite::OpenError),
    /// The PostgreSQL server.
    #[error(transparent)]
    Postgres(#[from] call_store_postgres::OpenError),
}

impl Database {
    /// A `postgres://` or `postgresql://` URL is a PostgreSQL database;
    /// anything else is the path of a SQLite file.
    pub fn parse(text: &str) -> Database {
        let lower = text.get(..13).unwrap_or(text).to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Database::Postgres(text.to_owned())
        } else {
            Database::Sqlite(PathBuf::from(text))
        }
    }

    /// The database of `--db` (or `CALLS_DB`, which clap reads into it)
    /// when given; else `DATABASE_URL` when set and not empty; else
    /// [`DEFAULT_PATH`].
    pub fn resolve(db: Option<&str>) -> Database {
        let from_env = std::env::var("DATABASE_URL").ok().filter(|url| !url.trim().is_empty());
        match db.filter(|db| !db.is_empty()) {
            Some(db) => Database::parse(db),
            None => Database::parse(from_env.as_deref().unwrap_or(DEFAULT_PATH)),
        }
    }

    /// The file's path or the URL without its password, for logs and messages.
    pub fn describe(&self) -> String {
        match self {
            Database::Sqlite(path) => path.display().to_string(),
            Database::Postgres(url) => call_store_postgres::redact(url),
        }
    }

    /// Opens the store, creating a SQLite file or bringing a schema up to
    /// date as needed, with `options`.
    ///
    /// # Errors
    ///
    /// An [`OpenError`] naming the file or the server.
    pub async fn open(&self, options: &OpenOptions) -> Result<Arc<dyn CallStore>, OpenError> {
        Ok(match self {
            Database::Sqlite(path) => {
                Arc::new(SqliteStore::open_with(path, &options.sqlite()).await?)
            }
            Database::Postgres(url) => {
                Arc::new(PgStore::open_with(url, &options.postgres()).await?)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(text: &str, expected: Database) {
        assert_eq!(Database::parse(text), expected, "{text}");
    }

    #[test]
    fn a_url_is_postgres_anything_else_a_file() {
        let pg = |s: &str| Database::Postgres(s.to_owned());
        let file = |s: &str| Database::Sqlite(PathBuf::from(s));
        check("postgres://u@h/db", pg("postgres://u@h/db"));
        check("postgresql://u@h:5433/db", pg("postgresql://u@h:5433/db"));
        check("POSTGRES://h/db", pg("POSTGRES://h/db"));
        check("calls.db", file("calls.db"));
        check("/var/lib/calls/calls.db", file("/var/lib/calls/calls.db"));
        check("postgres", file("postgres"));
        check("sqlite://x.db", file("sqlite://x.db"));
    }

    #[test]
    fn a_description_hides_the_password() {
        let db = Database::parse("postgres://callwork:hunter2@db.internal:5432/calls");
        assert_eq!(db.describe(), "postgres://callwork:***@db.internal:5432/calls");
    }

    #[tokio::test]
    async fn a_file_path_opens_a_sqlite_store() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::parse(dir.path().join("calls.db").to_str().unwrap());
        db.open(&OpenOptions { pool_size: Some(3), ..OpenOptions::default() }).await.unwrap();
        assert!(dir.path().join("calls.db").is_file());
    }

    #[test]
    fn full_sync_is_sqlites_and_the_pool_postgres() {
        let options = OpenOptions { pool_size: Some(3), full_sync: true };
        assert!(options.sqlite().full_sync);
        assert!(!OpenOptions::default().sqlite().full_sync);
        assert_eq!(options.postgres(), PgOptions::max_connections(3));
    }
}
