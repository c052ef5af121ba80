//! What the process suites of this folder share: reading a whole store,
//! and waiting for its calls to end.

use std::time::Duration;

use call_core::{
    Call,
    ports::{CallStore, ListQuery},
};

/// Every call in `store`, newest first.
pub(crate) async fn all_calls(store: &dyn CallStore) -> Vec<Call> {
    let mut all = Vec::new();
    let mut query = ListQuery { limit: 1_000, ..ListQuery::default() };
    loop {
        let page = store.list(&query).await.unwrap();
        all.extend(page.items);
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return all,
        }
    }
}

/// Waits until every call in `store` has ended, for at most `within`.
///
/// # Panics
///
/// When calls are still open after `within`, naming the counts.
pub(crate) async fn until_every_call_ended(store: &dyn CallStore, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let counts = store.count_by_status().await.unwrap();
        let open: u64 = counts.iter().filter(|(s, _)| !s.is_terminal()).map(|(_, n)| n).sum();
        if open == 0 {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "calls still open: {counts:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
