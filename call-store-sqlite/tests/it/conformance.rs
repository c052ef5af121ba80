use std::sync::{Arc, Mutex};

use call_core::{ports::CallStore, testing::conformance};
use call_store_sqlite::SqliteStore;
use tempfile::TempDir;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_store_meets_the_contract() {
    // Each check gets a new file; the folders live until the end of the test.
    let dirs = Arc::new(Mutex::new(Vec::<TempDir>::new()));
    conformance::run(|| {
        let dirs = dirs.clone();
        async move {
            let dir = tempfile::tempdir().unwrap();
            let store = SqliteStore::open(dir.path().join("calls.db")).await.unwrap();
            dirs.lock().unwrap().push(dir);
            Arc::new(store) as Arc<dyn CallStore>
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_memory_store_meets_the_contract() {
    conformance::run(|| async {
        Arc::new(SqliteStore::open_in_memory().await.unwrap()) as Arc<dyn CallStore>
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_file_stores_on_one_file_meet_the_contract() {
    let dirs = Arc::new(Mutex::new(Vec::<TempDir>::new()));
    conformance::run_shared(|| {
        let dirs = dirs.clone();
        async move {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("calls.db");
            let first = SqliteStore::open(&path).await.unwrap();
            let second = SqliteStore::open(&path).await.unwrap();
            dirs.lock().unwrap().push(dir);
            (Arc::new(first) as Arc<dyn CallStore>, Arc::new(second) as Arc<dyn CallStore>)
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_wakes_for_a_call_another_process_schedules_on_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calls.db");
    let worker_store = Arc::new(SqliteStore::open(&path).await.unwrap()) as Arc<dyn CallStore>;
    let other = Arc::new(SqliteStore::open(&path).await.unwrap()) as Arc<dyn CallStore>;
    let waited = conformance::run_wakeups((worker_store, other)).await;
    println!("placed {} ms after another store scheduled it", waited.as_millis());
}
