//! What callwork's test suites share, so that each helper is written once:
//! settings read from the environment, a free loopback port, every call of
//! a store, and a bounded wait for a store's calls to end. For tests only
//! (`publish = false`); each helper panics, naming what went wrong, as a
//! test helper should.

use std::time::Duration;

use call_core::{
    Call,
    ports::{CallStore, ListQuery},
};

/// The environment variable `name` as a number, or `default` when it is
/// unset or not a number: how a suite's size is turned up or down
/// (`CRASH_CALLS=300`).
pub fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Whether the long suite `name` runs: only when `CALLWORK_SUITES` is set
/// (`.ci/run` sets it), since each runs for minutes; otherwise it says in
/// one line what it skipped. Its size comes from [`setting`].
pub fn suite(name: &str) -> bool {
    if std::env::var_os("CALLWORK_SUITES").is_some() {
        return true;
    }
    skipped(&format!("the {name} suite runs for minutes; set CALLWORK_SUITES=1 to run it"));
    false
}

/// What a test does when a program it needs is missing: fails, when the
/// environment variable `require` is set (`CALLWORK_REQUIRE_CHROMIUM`, as
/// `.ci/run` sets it, where nothing may be skipped), and otherwise says in
/// one line that it skipped `what` (which names what to install).
///
/// # Panics
///
/// When `require` is set.
pub fn missing(require: &str, what: &str) {
    assert!(std::env::var_os(require).is_none(), "{require} is set, but skipping: {what}");
    skipped(what);
}

/// Says on standard error, in one line, that a test skipped `what`. It
/// writes past the test harness's capture, which would hide the line of a
/// test that passes.
pub fn skipped(what: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "skipped: {what}");
}

/// A loopback port free when asked (another process may take it before
/// the caller binds it; the suites start their servers at once).
///
/// # Panics
///
/// When the system has no port to give.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Every call in `store`, newest first.
///
/// # Panics
///
/// When the store fails.
pub async fn all_calls(store: &dyn CallStore) -> Vec<Call> {
    let mut all = Vec::new();
    let mut query = ListQuery { limit: 1_000, ..ListQuery::default() };
    loop {
        let page = store.list(&query).await.expect("a page of calls");
        all.extend(page.items);
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return all,
        }
    }
}

/// Waits until every call in `store` has ended, for at most `within`,
/// looking every 200 ms.
///
/// # Panics
///
/// When calls are still open after `within`, naming the counts, or when
/// the store fails.
pub async fn until_every_call_ended(store: &dyn CallStore, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let counts = store.count_by_status().await.expect("the counts by status");
        let open: u64 = counts.iter().filter(|(s, _)| !s.is_terminal()).map(|(_, n)| n).sum();
        if open == 0 {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "calls still open: {counts:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
