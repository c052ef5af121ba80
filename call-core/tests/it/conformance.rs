use std::sync::Arc;

use call_core::{
    ports::CallStore,
    testing::{MemoryStore, conformance},
};

#[tokio::test(start_paused = true)]
async fn memory_store_meets_the_contract() {
    conformance::run(|| async { Arc::new(MemoryStore::new()) as Arc<dyn CallStore> }).await;
}

#[tokio::test(start_paused = true)]
async fn the_memory_store_shared_by_two_handles_meets_the_contract() {
    conformance::run_shared(|| async {
        let store = Arc::new(MemoryStore::new()) as Arc<dyn CallStore>;
        (store.clone(), store)
    })
    .await;
}
