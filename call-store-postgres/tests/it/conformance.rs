use std::sync::Arc;

use call_core::{ports::CallStore, testing::conformance};

use crate::helpers::{fresh_store, open, server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_store_meets_the_contract() {
    let Some(server) = server() else { return };
    conformance::run(|| async { Arc::new(fresh_store(server).await.0) as Arc<dyn CallStore> })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_postgres_stores_on_one_database_meet_the_contract() {
    let Some(server) = server() else { return };
    conformance::run_shared(|| async {
        let (first, url) = fresh_store(server).await;
        let second = open(&url).await;
        (Arc::new(first) as Arc<dyn CallStore>, Arc::new(second) as Arc<dyn CallStore>)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_wakes_for_a_call_another_process_schedules_on_the_database() {
    let Some(server) = server() else { return };
    let (worker_store, url) = fresh_store(server).await;
    let other = open(&url).await;
    let waited = conformance::run_wakeups((Arc::new(worker_store), Arc::new(other))).await;
    println!("placed {} ms after another store scheduled it", waited.as_millis());
}
