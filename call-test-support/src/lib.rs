//! What callwork's test suites share, so that each helper is written once:
//! settings read from the environment, a free loopback port, every call of
//! a store, and a bounded wait for a store's calls to end. For tests only
//! (`publish = false`); each helper panics, naming what went wrong, as a
//! test helper should.

use std::{collections::HashMap, time::Duration};

use call_core::{
    Call,
    ports::{CallStore, ListQuery},
};
use call_provider_http::mock::MockCallApi;
use chrono::{DateTime, Utc};

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

/// The value at `p` (0–1) of `sorted`, by nearest rank: `p = 0.99` is the
/// smallest value at least 99% of them do not exceed.
///
/// # Panics
///
/// When `sorted` is empty.
pub fn percentile<T: Copy>(sorted: &[T], p: f64) -> T {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// Waits until the stand-in provider has been asked to place `n` calls,
/// for at most `within`.
///
/// # Panics
///
/// When fewer were placed by then, naming how many.
pub async fn until_placed(api: &MockCallApi, n: u64, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    while api.calls_placed() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {n} placed within {within:?}",
            api.calls_placed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How late the stand-in received each placement, in milliseconds after
/// its call's due time, smallest first.
#[derive(Debug, Clone)]
pub struct Lateness {
    sorted_ms: Vec<f64>,
}

impl Lateness {
    /// The placements `api` received, each measured from the due time of
    /// its number in `due` (E.164 text); a number not in `due` is not counted.
    pub fn of(api: &MockCallApi, due: &HashMap<String, DateTime<Utc>>) -> Lateness {
        let mut sorted_ms: Vec<f64> = api
            .received()
            .iter()
            .filter_map(|(number, received)| {
                let late = *received - *due.get(number)?;
                Some(late.num_microseconds().unwrap_or(i64::MAX) as f64 / 1e3)
            })
            .collect();
        sorted_ms.sort_by(f64::total_cmp);
        Lateness { sorted_ms }
    }

    /// At `p` (0–1), by nearest rank.
    ///
    /// # Panics
    ///
    /// When nothing was placed.
    pub fn at(&self, p: f64) -> f64 {
        percentile(&self.sorted_ms, p)
    }

    /// The least late (negative when early).
    pub fn min(&self) -> f64 {
        self.at(0.0)
    }

    /// The latest.
    pub fn max(&self) -> f64 {
        self.at(1.0)
    }

    /// How many were received before their due time.
    pub fn early(&self) -> usize {
        self.sorted_ms.iter().filter(|&&ms| ms < 0.0).count()
    }
}
