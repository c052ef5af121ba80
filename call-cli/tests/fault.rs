//! The fault suite: `calls run` against a stand-in that answers 20 % of
//! requests with 503, adds 200 ms to every answer, leaves 5 % hanging past
//! the client's timeout, loses the answer to 5 % of the calls it makes (the
//! connection cut after the call was made), answers another 5 % after the
//! client's timeout, and is restarted mid-run (forgetting every call it
//! accepted). Every call must end completed, or failed with a reason;
//! nothing may stay dispatching or live; the worker must finish; no call
//! may be attempted more often than the retry policy allows, or dialled
//! twice: a placement whose answer was lost may have rung, so it ends
//! `failed` with `outcome_unknown` and is never sent again.
//!
//! ```sh
//! CALLWORK_SUITES=1 cargo test -p call-cli --test fault -- --nocapture          # 300 calls
//! CALLWORK_SUITES=1 FAULT_CALLS=60 cargo test -p call-cli --test fault        # CI's short run
//! ```

use std::{collections::BTreeMap, time::Duration};

use call_core::CallStatus;
use call_provider_http::mock::{MockCallApi, MockOptions};
use call_store_sqlite::SqliteStore;
use chrono::TimeDelta;

mod common;

use call_test_support::{all_calls, setting};
use common::{calls, import_spread};

fn faulty() -> MockOptions {
    MockOptions {
        // A 10 s call takes 1 s.
        time_scale: 0.1,
        latency: Duration::from_millis(200),
        error_rate: 0.2,
        hang_rate: 0.05,
        // Past the client's 10 s request timeout.
        hang_for: Duration::from_secs(12),
        lost_answer_rate: 0.05,
        late_answer_rate: 0.05,
        late_answer_by: Duration::from_secs(12),
        ..MockOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_ends_placed_or_failed_with_a_reason_under_faults() {
    if !call_test_support::suite("fault") {
        return;
    }
    let n_calls = setting("FAULT_CALLS", 300);
    let api = MockCallApi::start(faulty()).await.unwrap();
    let address = api.addr();
    let url = api.url().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("calls.db");

    import_spread(&db, n_calls, TimeDelta::seconds(1), TimeDelta::seconds(4)).await;

    let started = std::time::Instant::now();
    let worker =
        calls(&db, &["run", "--provider-url", &url, "--poll-interval", "100ms", "--until-idle"])
            .output();
    let restart = async {
        // Mid-run: calls are being placed and followed.
        tokio::time::sleep(Duration::from_secs(3)).await;
        // A restart: open requests are cut, every accepted call forgotten.
        let before = api.kill().await;
        let again = MockCallApi::bind(address, faulty()).await.unwrap();
        (before, again)
    };
    let (worker, (before, after_restart)) = tokio::join!(
        async { tokio::time::timeout(Duration::from_secs(300), worker).await },
        restart
    );
    let worker = worker.expect("the worker finished: it never stalls").unwrap();
    assert!(worker.status.success(), "{}", String::from_utf8_lossy(&worker.stderr));
    let took = started.elapsed();

    let store = SqliteStore::open(&db).await.unwrap();
    let all = all_calls(&store).await;
    assert_eq!(all.len(), n_calls);
    let after = after_restart.stats();
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    for call in &all {
        let number = call.to().unwrap().as_str();
        let dialled = before.by_number.get(number).copied().unwrap_or(0)
            + after.by_number.get(number).copied().unwrap_or(0);
        assert!(dialled <= 1, "{number} dialled {dialled} times");
        assert!(call.status().is_terminal(), "{} stayed {}", call.id(), call.status());
        assert!((1..=3).contains(&call.attempts()), "{}: {} attempts", call.id(), call.attempts());
        match call.status() {
            CallStatus::Completed => assert_eq!(dialled, 1),
            CallStatus::Failed => {
                let reason = call.last_error().unwrap_or_default();
                let unknown = call.flags().contains(call_core::Flag::OutcomeUnknown);
                let kind = if reason.contains("no longer knows") {
                    // Placed, then forgotten by the restart: how it ended is lost.
                    assert!(unknown, "{}: forgotten but not outcome_unknown", call.id());
                    assert_eq!(dialled, 1, "{}", call.id());
                    "failed: forgotten by the provider's restart (outcome_unknown)"
                } else if reason.starts_with("no answer from the provider") {
                    // Sent, and no answer read: it may have rung, so it is
                    // sent no more. A hang took no effect; a lost or late
                    // answer did.
                    assert!(unknown, "{}: unanswered but not outcome_unknown", call.id());
                    "failed: no answer, never sent again (outcome_unknown)"
                } else if reason.contains("after 3 attempts") {
                    assert_eq!(call.attempts(), 3, "{}", call.id());
                    assert!(!unknown, "{}: refused, so never dialled", call.id());
                    "failed: unavailable after 3 attempts"
                } else {
                    panic!("{} failed with an unexpected reason: {reason:?}", call.id())
                };
                *outcomes.entry(kind.to_owned()).or_default() += 1;
                continue;
            }
            other => panic!("{} ended {other}", call.id()),
        }
        *outcomes.entry(call.status().to_string()).or_default() += 1;
    }
    let faults = |stats: &call_provider_http::mock::MockStats| {
        format!(
            "{} placed, {} 503s, {} hangs, {} answers lost, {} late",
            stats.calls_placed,
            stats.injected_errors,
            stats.injected_hangs,
            stats.lost_answers,
            stats.late_answers
        )
    };
    println!(
        "fault suite: {n_calls} calls in {took:.1?}; stand-in before restart {}; after {}",
        faults(&before),
        faults(&after),
    );
    println!("outcomes: {outcomes:#?}");
}
