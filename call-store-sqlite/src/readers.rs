//! The readers: a few read-only connections, each read run whole on a
//! blocking thread (one hand-off a read, not one a statement step as in
//! sqlx), decoded there by the functions of `rows.rs`.

use std::{
    borrow::Cow,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicUsize, Ordering},
    },
};

use call_core::ports::StoreError;
use rusqlite::{Connection, types::Value as Sql};

use crate::{
    rows::{ColumnIndex, Named},
    writer::failed,
};

/// Read-only connections to one database, shared by clones of a store.
pub(crate) struct Readers {
    connections: Vec<Mutex<Connection>>,
    next: AtomicUsize,
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers").field("connections", &self.connections.len()).finish()
    }
}

impl Readers {
    pub(crate) fn new(connections: Vec<Connection>) -> Readers {
        Readers {
            connections: connections.into_iter().map(Mutex::new).collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// A connection no other read holds, looking first at the next in
    /// turn, so that reads spread over the connections.
    fn free_connection(&self) -> Option<MutexGuard<'_, Connection>> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.connections.len();
        (0..n).find_map(|i| self.connections[(start + i) % n].try_lock().ok())
    }

    /// A free connection; else the next in turn, once its read is done.
    fn connection(&self) -> MutexGuard<'_, Connection> {
        self.free_connection().unwrap_or_else(|| {
            let next = self.next.fetch_add(1, Ordering::Relaxed) % self.connections.len();
            self.connections[next].lock().unwrap_or_else(|e| e.into_inner())
        })
    }

    /// Runs `read` on a connection, on a blocking thread.
    pub(crate) async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        read: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let readers = self.clone();
        tokio::task::spawn_blocking(move || read(&readers.connection()))
            .await
            .map_err(|e| StoreError::Backend(format!("a read stopped: {e}").into()))?
    }

    /// The rows `sql` answers with `params`, each decoded by `decode`.
    pub(crate) async fn rows<T: Send + 'static>(
        self: &Arc<Self>,
        sql: impl Into<Cow<'static, str>>,
        params: Vec<Sql>,
        decode: fn(&Named<'_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let sql = sql.into();
        self.run(move |conn| read(conn, &sql, params, decode)).await
    }

    /// The first row `sql` answers with `params`, decoded by `decode`.
    pub(crate) async fn row<T: Send + 'static>(
        self: &Arc<Self>,
        sql: impl Into<Cow<'static, str>>,
        params: Vec<Sql>,
        decode: fn(&Named<'_>) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        Ok(self.rows(sql, params, decode).await?.into_iter().next())
    }

    /// A row found by a key (`sql` reads one row through an index), read on
    /// the caller's thread when a connection is free: such a read costs a
    /// few microseconds, less than handing it to another thread and back
    /// (BENCHMARKS.md), and a reader on the WAL never waits for a writer.
    /// Else as [`Readers::row`].
    pub(crate) async fn by_key<T: Send + 'static>(
        self: &Arc<Self>,
        sql: &'static str,
        params: Vec<Sql>,
        decode: fn(&Named<'_>) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        if let Some(conn) = self.free_connection() {
            return Ok(read(&conn, sql, params, decode)?.into_iter().next());
        }
        self.row(sql, params, decode).await
    }
}

/// The rows `sql` answers with `params` on `conn`, each decoded by `decode`.
fn read<T>(
    conn: &Connection,
    sql: &str,
    params: Vec<Sql>,
    decode: fn(&Named<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut statement = conn.prepare_cached(sql).map_err(failed)?;
    let columns = ColumnIndex::of(&statement);
    let rows = statement
        .query_map(rusqlite::params_from_iter(params), |row| {
            Ok(decode(&Named { row, columns: &columns }))
        })
        .map_err(failed)?;
    rows.map(|row| row.map_err(failed)?).collect()
}
