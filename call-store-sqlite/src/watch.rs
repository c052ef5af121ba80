//! Wake-ups across processes on one file: SQLite has no notifications, but
//! `PRAGMA data_version` on a connection changes whenever another
//! connection (this process's writer, or another process) commits. Reading
//! it is a look at a counter in shared memory, so checking every
//! [`INTERVAL`] costs next to nothing, and a call scheduled by another
//! process is seen within that interval instead of at a worker's recheck.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::{Connection, Row, SqliteConnection, sqlite::SqliteConnectOptions};
use tokio::sync::broadcast;

/// How often the file is looked at.
pub(crate) const INTERVAL: Duration = Duration::from_millis(20);

/// Announcements kept for a slow worker.
pub(crate) const BUFFER: usize = 1024;

/// Watches for as long as the process runs.
pub(crate) async fn run(options: SqliteConnectOptions, sender: broadcast::Sender<DateTime<Utc>>) {
    let mut conn = match SqliteConnection::connect_with(&options).await {
        Ok(conn) => conn,
        Err(error) => {
            tracing::warn!(%error, "cannot watch the database for other processes' calls");
            return;
        }
    };
    let mut ticks = tokio::time::interval(INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_version: Option<i64> = None;
    let mut last_due: Option<DateTime<Utc>> = None;
    loop {
        ticks.tick().await;
        // No worker listening now: look again when one is (the store hands
        // this sender to every later worker too).
        if sender.receiver_count() == 0 {
            last_version = None;
            last_due = None;
            continue;
        }
        match look(&mut conn, last_version).await {
            Ok(None) => {}
            Ok(Some((version, due))) => {
                last_version = Some(version);
                // Only what moved the schedule sooner wakes anyone.
                if let Some(due) = due
                    && last_due.is_none_or(|last| due < last)
                {
                    let _ = sender.send(due);
                }
                last_due = due;
            }
            Err(error) => tracing::warn!(%error, "cannot read the database's data version"),
        }
    }
}

/// The data version and, when it moved since `last`, the next due moment.
async fn look(
    conn: &mut SqliteConnection,
    last: Option<i64>,
) -> Result<Option<(i64, Option<DateTime<Utc>>)>, sqlx::Error> {
    let version: i64 =
        sqlx::query("PRAGMA data_version").fetch_one(&mut *conn).await?.try_get(0)?;
    if last == Some(version) {
        return Ok(None);
    }
    let micros: Option<i64> =
        sqlx::query(crate::NEXT_DUE).fetch_one(&mut *conn).await?.try_get("t")?;
    Ok(Some((version, micros.and_then(|m| Utc.timestamp_micros(m).single()))))
}
