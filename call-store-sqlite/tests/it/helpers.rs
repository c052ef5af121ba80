use std::sync::Arc;

use call_core::{Engine, ports::CallStore};
use call_store_sqlite::SqliteStore;
use tempfile::TempDir;

/// A folder that lives as long as the test, and the database path in it.
pub(crate) struct TempDb {
    pub(crate) dir: TempDir,
    pub(crate) path: std::path::PathBuf,
}

pub(crate) fn temp_db() -> TempDb {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("calls.db");
    TempDb { dir, path }
}

pub(crate) async fn open(path: &std::path::Path) -> Arc<SqliteStore> {
    Arc::new(SqliteStore::open(path).await.expect("open the store"))
}

pub(crate) fn engine(store: Arc<SqliteStore>) -> Engine {
    Engine::builder(store as Arc<dyn CallStore>).build()
}
