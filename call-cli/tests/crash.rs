//! The crash suite: `calls run` killed with SIGKILL at random moments while
//! it places calls, and restarted, many times. Afterwards every call is in
//! a terminal status, no call was dialled twice, every call whose
//! placement was cut off is `failed` with `outcome_unknown`, and every
//! audit log is complete and in order.
//!
//! ```sh
//! CALLWORK_SUITES=1 cargo test -p call-cli --test crash -- --nocapture          # 1,000 calls, 20 kills
//! CALLWORK_SUITES=1 CRASH_CALLS=200 CRASH_KILLS=5 cargo test -p call-cli --test crash    # CI's short run
//! ```

use std::{collections::BTreeMap, time::Duration};

use call_core::{CallStatus, EventType, Flag, ports::CallStore};
use call_provider_http::mock::{MockCallApi, MockOptions};
use call_store_sqlite::SqliteStore;
use chrono::TimeDelta;

mod common;

use call_test_support::{all_calls, setting};
use common::{calls, import_spread};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_workers_never_dial_twice_and_leave_every_call_ended() {
    if !call_test_support::suite("crash") {
        return;
    }
    let n_calls = setting("CRASH_CALLS", 1_000);
    let kills = setting("CRASH_KILLS", 20);
    // 10 contract seconds take 0.5 s: calls are live while workers die.
    let api = MockCallApi::start(MockOptions { time_scale: 0.05, ..MockOptions::default() })
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("calls.db");

    // n calls due across 10 s, from 2 s from now, one number each.
    import_spread(&db, n_calls, TimeDelta::seconds(2), TimeDelta::seconds(10)).await;

    let run = [
        "run",
        "--provider-url",
        api.url(),
        "--poll-interval",
        "50ms",
        "--lease",
        "1s",
        "--heartbeat",
        "300ms",
    ];
    for kill in 0..kills {
        let mut worker = calls(&db, &run).spawn().unwrap();
        let alive = Duration::from_millis(fastrand::u64(100..1_200));
        tokio::time::sleep(alive).await;
        worker.start_kill().unwrap(); // SIGKILL: no shutdown, no cleanup
        let status = worker.wait().await.unwrap();
        assert!(!status.success(), "kill {kill}: the worker was killed, not stopped");
    }
    // A last worker finishes the job, recovering every claim the killed ones held.
    let last = calls(&db, &[&run[..], &["--until-idle"]].concat()).output().await.unwrap();
    assert!(last.status.success(), "{}", String::from_utf8_lossy(&last.stderr));

    let store = SqliteStore::open(&db).await.unwrap();
    let all = all_calls(&store).await;
    assert_eq!(all.len(), n_calls);

    let dialled = api.stats().by_number;
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    for call in &all {
        let number = call.to().unwrap().as_str();
        let times = dialled.get(number).copied().unwrap_or(0);
        assert!(times <= 1, "{number} was dialled {times} times");
        assert!(call.status().is_terminal(), "{} is {}", call.id(), call.status());
        let unknown = call.flags().contains(Flag::OutcomeUnknown);
        match call.status() {
            CallStatus::Completed => {
                assert_eq!(times, 1, "{}: completed, so dialled once", call.id());
                assert!(!unknown);
            }
            // Cut off mid-placement: the claim expired with the worker.
            CallStatus::Failed => assert!(
                unknown,
                "{} failed without outcome_unknown: {:?}",
                call.id(),
                call.last_error()
            ),
            other => panic!("{} ended {other}, which the stand-in never answers", call.id()),
        }
        *outcomes
            .entry(format!("{}{}", call.status(), if unknown { " (outcome_unknown)" } else { "" }))
            .or_default() += 1;

        // The audit log: complete and ordered.
        let events = store.events(call.id()).await.unwrap();
        let types: Vec<EventType> = events.iter().map(|e| e.event_type()).collect();
        assert_eq!(types.first(), Some(&EventType::CallScheduled), "{}: {types:?}", call.id());
        assert!(types.contains(&EventType::CallDispatched), "{}: {types:?}", call.id());
        assert!(
            events.windows(2).all(|w| w[0].recorded_at() <= w[1].recorded_at()),
            "{}: recorded out of order: {types:?}",
            call.id()
        );
        let last = *types
            .iter()
            .rev()
            .find(|t| !matches!(t, EventType::SurveyRequested | EventType::CallFlagged))
            .unwrap();
        match call.status() {
            CallStatus::Completed => {
                for step in
                    [EventType::CallInitiated, EventType::CallAnswered, EventType::CallEnded]
                {
                    assert!(types.contains(&step), "{}: {step} missing from {types:?}", call.id());
                }
                assert_eq!(last, EventType::CallEnded, "{}: {types:?}", call.id());
            }
            _ => assert_eq!(last, EventType::CallFailed, "{}: {types:?}", call.id()),
        }
    }
    println!(
        "crash suite: {n_calls} calls, {kills} SIGKILLs; {} placed by the stand-in, none twice; outcomes {outcomes:?}",
        api.calls_placed()
    );
}
