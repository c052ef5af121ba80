use std::sync::Arc;

use call_core::{
    ports::CallStore,
    testing::{MemoryStore, conformance},
};

#[tokio::test]
async fn memory_store_meets_the_contract() {
    conformance::run(|| async { Arc::new(MemoryStore::new()) as Arc<dyn CallStore> }).await;
}
