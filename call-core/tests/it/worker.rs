//! The worker, driven by a manual clock against the fake provider.

use std::time::Duration;

use call_core::{
    AgentId, CallStatus, EventSource, EventType, Flag, Initiated, Lifecycle, LostDispatch, NewCall,
    RetryPolicy, WorkerConfig, WorkerId,
    ports::{CallStore, ProviderCall, ProviderError, ProviderStatus},
    rules::AlertKind,
};
use chrono::TimeDelta;

use crate::helpers::{
    TestApp, claim_by_a_dead_worker, eventually, id, millis, phone, secs, settle, spawn_app,
};

fn config() -> WorkerConfig {
    WorkerConfig { worker_id: WorkerId::parse("w1").unwrap(), ..WorkerConfig::default() }
}

async fn status_is(app: &TestApp, call: &call_core::CallId, status: CallStatus) -> bool {
    app.engine.get(call).await.unwrap().status() == status
}

async fn event_types(app: &TestApp, call: &call_core::CallId) -> Vec<EventType> {
    app.engine.events(call).await.unwrap().iter().map(|e| e.event_type()).collect()
}

#[tokio::test(start_paused = true)]
async fn a_call_is_placed_at_its_due_time_and_followed_to_its_end() {
    let app = spawn_app();
    let call = app.engine.schedule(NewCall::to(phone(1)).at(app.at(10.0))).await.unwrap();
    let worker = app.start_worker(config());

    app.advance(millis(9_999), secs(1)).await;
    settle().await;
    assert_eq!(app.provider.place_requests(), 0, "not placed before its due time");
    assert!(status_is(&app, call.id(), CallStatus::Scheduled).await);

    app.advance(millis(1), secs(1)).await;
    eventually("the call is placed", || status_is(&app, call.id(), CallStatus::Initiated)).await;
    let placed = app.engine.get(call.id()).await.unwrap();
    assert_eq!(
        placed.initiated_at(),
        Some(app.now()),
        "placed at the due time exactly (manual clock)"
    );
    assert_eq!(placed.external_id(), Some("fake-1"));
    assert_eq!(placed.attempts(), 1);

    // The fake provider rings at 2 s, connects at 5 s and completes at 10 s.
    app.advance(secs(2), secs(1)).await;
    eventually("ringing", || status_is(&app, call.id(), CallStatus::Ringing)).await;
    app.advance(secs(3), secs(1)).await;
    eventually("answered", || status_is(&app, call.id(), CallStatus::Active)).await;
    app.advance(secs(5), secs(1)).await;
    eventually("completed", || status_is(&app, call.id(), CallStatus::Completed)).await;

    let done = app.engine.get(call.id()).await.unwrap();
    assert_eq!(done.duration_seconds(), Some(10.0));
    assert_eq!(done.wait_seconds(), Some(5.0));
    assert_eq!(app.provider.placements(&phone(1)), 1);
    assert_eq!(
        event_types(&app, call.id()).await,
        [
            EventType::CallScheduled,
            EventType::CallDispatched,
            EventType::CallInitiated,
            EventType::CallRinging,
            EventType::CallAnswered,
            EventType::CallEnded,
            EventType::SurveyRequested,
        ]
    );
    let events = app.engine.events(call.id()).await.unwrap();
    let sources: Vec<EventSource> = events.iter().map(|e| e.source()).collect();
    use EventSource::{Api, Provider, Rules, Scheduler};
    assert_eq!(sources, [Api, Scheduler, Scheduler, Provider, Provider, Provider, Rules]);
    assert_eq!(events[2].metadata()["external_id"], "fake-1");
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_sooner_call_wakes_the_sleeping_worker_at_once() {
    let app = spawn_app();
    app.engine.schedule(NewCall::to(phone(1)).at(app.at(3600.0))).await.unwrap();
    let worker = app.start_worker(config());
    settle().await;
    // The clock does not move: only the engine's wake-up can get this placed.
    let call = app.engine.schedule(NewCall::to(phone(2))).await.unwrap();
    eventually("the new call is placed", || status_is(&app, call.id(), CallStatus::Initiated))
        .await;
    assert_eq!(app.provider.total_placements(), 1);
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn two_workers_place_each_call_once() {
    let app = spawn_app();
    let calls = app.engine.schedule_many((0..60).map(|n| NewCall::to(phone(n))).collect()).await;
    let calls = calls.unwrap();
    let config = |name: &str| WorkerConfig {
        worker_id: WorkerId::parse(name).unwrap(),
        max_in_flight: 4,
        batch_size: 5,
        ..WorkerConfig::default()
    };
    let first = app.start_worker(config("w1"));
    let second = app.start_worker(config("w2"));
    eventually("every call is placed", || async {
        let mut placed = 0;
        for call in &calls {
            placed += usize::from(status_is(&app, call.id(), CallStatus::Initiated).await);
        }
        placed == calls.len()
    })
    .await;
    for n in 0..60 {
        assert_eq!(app.provider.placements(&phone(n)), 1, "{} dialled once", phone(n));
    }
    assert_eq!(app.provider.place_requests(), 60);
    let mut by_worker = std::collections::HashMap::<String, usize>::new();
    for call in &calls {
        let events = app.engine.events(call.id()).await.unwrap();
        let claims: Vec<_> =
            events.iter().filter(|e| e.event_type() == EventType::CallDispatched).collect();
        assert_eq!(claims.len(), 1, "claimed once");
        *by_worker
            .entry(claims[0].metadata()["worker"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(by_worker.values().sum::<usize>(), 60);
    first.stop().await;
    second.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_call_canceled_before_its_time_is_never_placed() {
    let app = spawn_app();
    let call = app.engine.schedule(NewCall::to(phone(1)).at(app.at(5.0))).await.unwrap();
    let worker = app.start_worker(config());
    app.engine.cancel(call.id()).await.unwrap();
    app.advance(secs(10), secs(1)).await;
    settle().await;
    assert_eq!(app.provider.place_requests(), 0);
    assert!(status_is(&app, call.id(), CallStatus::Canceled).await);
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_rescheduled_call_is_placed_at_its_new_time() {
    let app = spawn_app();
    let call = app.engine.schedule(NewCall::to(phone(1)).at(app.at(5.0))).await.unwrap();
    let worker = app.start_worker(config());
    app.engine.reschedule(call.id(), app.at(20.0)).await.unwrap();
    app.advance(secs(19), secs(1)).await;
    settle().await;
    assert_eq!(app.provider.place_requests(), 0, "not at the old time");
    app.advance(secs(1), secs(1)).await;
    eventually("placed at the new time", || status_is(&app, call.id(), CallStatus::Initiated))
        .await;
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn transient_errors_are_retried_with_backoff() {
    let app = spawn_app();
    let unavailable =
        |n: u32| ProviderError::Transient { message: format!("503 #{n}"), retry_after: None };
    app.provider.fail_next_placements([unavailable(1), unavailable(2)]);
    let retry = RetryPolicy { attempts: 3, base_delay: secs(2), max_delay: secs(60) };
    let worker = app.start_worker(WorkerConfig { retry, ..config() });
    let call = app.engine.schedule(NewCall::to(phone(1))).await.unwrap();

    eventually("the first attempt", || async { app.provider.place_requests() == 1 }).await;
    settle().await;
    assert_eq!(app.provider.place_requests(), 1, "no retry before the backoff (1–2 s) has passed");
    assert!(
        status_is(&app, call.id(), CallStatus::Dispatching).await,
        "still claimed while retrying"
    );
    app.advance_until("the second attempt", millis(250), secs(3), || async {
        app.provider.place_requests() == 2
    })
    .await;
    app.advance_until("placed on the third attempt", millis(250), secs(5), || {
        status_is(&app, call.id(), CallStatus::Initiated)
    })
    .await;

    let placed = app.engine.get(call.id()).await.unwrap();
    assert_eq!(placed.attempts(), 3);
    assert_eq!(placed.last_error(), Some("503 #2"));
    assert_eq!(app.provider.placements(&phone(1)), 1);
    let events = app.engine.events(call.id()).await.unwrap();
    let initiated = events.iter().find(|e| e.event_type() == EventType::CallInitiated).unwrap();
    assert_eq!(initiated.metadata()["retried_errors"], serde_json::json!(["503 #1", "503 #2"]));
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn retries_give_up_after_the_last_attempt() {
    let app = spawn_app();
    let unavailable =
        || ProviderError::Transient { message: "timed out".into(), retry_after: Some(secs(1)) };
    app.provider.fail_next_placements([unavailable(), unavailable(), unavailable()]);
    let worker = app.start_worker(config());
    let call = app.engine.schedule(NewCall::to(phone(1))).await.unwrap();
    app.advance_until("failed", millis(250), secs(4), || {
        status_is(&app, call.id(), CallStatus::Failed)
    })
    .await;
    let failed = app.engine.get(call.id()).await.unwrap();
    assert_eq!(failed.last_error(), Some("provider unavailable after 3 attempts: timed out"));
    assert_eq!(failed.attempts(), 3);
    assert_eq!(app.provider.place_requests(), 3);
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_permanent_error_fails_the_call_at_once() {
    let app = spawn_app();
    app.provider.fail_next_placements([ProviderError::Permanent {
        message: "Invalid phone number".into(),
    }]);
    let worker = app.start_worker(config());
    let call = app.engine.schedule(NewCall::to(phone(1))).await.unwrap();
    eventually("failed", || status_is(&app, call.id(), CallStatus::Failed)).await;
    let failed = app.engine.get(call.id()).await.unwrap();
    assert_eq!(failed.last_error(), Some("Invalid phone number"));
    assert_eq!(app.provider.place_requests(), 1, "not retried");
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn an_unanswered_placement_is_never_sent_again_by_default() {
    let app = spawn_app();
    let unanswered = || ProviderError::Unanswered { message: "timed out".into() };
    app.provider.fail_next_placements([unanswered(), unanswered()]);
    let worker = app.start_worker(config());
    // Not even a policy that redials failures dials a call that may have rung.
    let on_failure = call_core::Redial::parse(["failed"], 3, "1m").unwrap();
    let call = app.engine.schedule(NewCall::to(phone(1)).redial(on_failure)).await.unwrap();
    eventually("failed", || status_is(&app, call.id(), CallStatus::Failed)).await;
    let failed = app.engine.get(call.id()).await.unwrap();
    assert!(failed.flags().contains(Flag::OutcomeUnknown), "{:?}", failed.flags());
    assert_eq!(
        failed.last_error(),
        Some(
            "no answer from the provider after one attempt (timed out): \
             it may have placed the call, so it is not dialled again"
        )
    );
    assert_eq!(failed.redialed_as(), None);
    app.advance(secs(600), secs(60)).await;
    assert_eq!(app.provider.place_requests(), 1, "sent once, never again");
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn an_unanswered_placement_is_sent_again_under_the_at_least_once_policy() {
    let app = spawn_app();
    app.provider.fail_next_placements([ProviderError::Unanswered { message: "reset".into() }]);
    let worker = app.start_worker(WorkerConfig { lost_dispatch: LostDispatch::Redial, ..config() });
    let call = app.engine.schedule(NewCall::to(phone(1))).await.unwrap();
    app.advance_until("placed on the second attempt", millis(250), secs(3), || {
        status_is(&app, call.id(), CallStatus::Initiated)
    })
    .await;
    let placed = app.engine.get(call.id()).await.unwrap();
    assert_eq!(placed.attempts(), 2);
    assert!(!placed.flags().contains(Flag::OutcomeUnknown));
    assert_eq!(app.provider.place_requests(), 2);
    worker.stop().await;
}

/// A worker with a 3 s lease renewed every second.
fn short_lease(name: &str) -> WorkerConfig {
    WorkerConfig {
        worker_id: WorkerId::parse(name).unwrap(),
        lease: secs(3),
        heartbeat: secs(1),
        ..WorkerConfig::default()
    }
}

#[tokio::test(start_paused = true)]
async fn a_placement_slower_than_its_lease_keeps_its_claim_by_renewing_it() {
    let app = spawn_app();
    app.provider.hold_placements();
    let placing = app.start_worker(short_lease("w1"));
    let call = app.engine.schedule(NewCall::to(phone(1))).await.unwrap();
    eventually("claimed", || status_is(&app, call.id(), CallStatus::Dispatching)).await;
    let other = app.start_worker(short_lease("w2"));
    // Ten leases' worth of a provider that does not answer.
    app.advance(secs(30), millis(500)).await;
    let held = app.engine.get(call.id()).await.unwrap();
    assert_eq!(held.status(), CallStatus::Dispatching, "not taken for lost");
    let lease = held.lease().unwrap();
    assert_eq!(lease.worker.as_str(), "w1");
    assert!(lease.expires_at > app.now(), "renewed: {} at {}", lease.expires_at, app.now());

    app.provider.release();
    eventually("placed", || status_is(&app, call.id(), CallStatus::Initiated)).await;
    let placed = app.engine.get(call.id()).await.unwrap();
    assert!(!placed.flags().contains(Flag::OutcomeUnknown));
    assert_eq!(app.provider.placements(&phone(1)), 1);
    assert_eq!(
        event_types(&app, call.id()).await,
        [EventType::CallScheduled, EventType::CallDispatched, EventType::CallInitiated],
        "renewals are not events"
    );
    other.stop().await;
    placing.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_placement_whose_claim_is_lost_stops_before_its_request_goes_out() {
    let app = spawn_app();
    app.provider.hold_placements();
    let worker = app.start_worker(short_lease("w1"));
    let call = app.engine.schedule(NewCall::to(phone(1))).await.unwrap();
    eventually("claimed", || status_is(&app, call.id(), CallStatus::Dispatching)).await;
    // Another worker holds the claim now (as a recovery of a lapsed lease would).
    let mut parts = app.engine.get(call.id()).await.unwrap().parts().clone();
    parts.lease = Some(call_core::Lease {
        worker: WorkerId::parse("other").unwrap(),
        expires_at: app.at(600.0),
    });
    parts.version += 1;
    app.store.save(&call_core::Call::from_parts(parts), &[]).await.unwrap();
    // The next heartbeat finds the claim gone and abandons the placement.
    app.advance(secs(2), millis(250)).await;
    app.provider.release();
    app.advance(secs(5), secs(1)).await;
    assert_eq!(app.provider.place_requests(), 0, "the abandoned request never went out");
    let call = app.engine.get(call.id()).await.unwrap();
    assert_eq!(call.status(), CallStatus::Dispatching);
    assert_eq!(call.lease().unwrap().worker.as_str(), "other", "left to the worker that holds it");
    worker.stop().await;
}

#[test]
fn a_lease_must_outlive_two_missed_heartbeats() {
    let check = |lease: u64, heartbeat: u64, refused: Option<&str>| {
        let config = WorkerConfig { lease: secs(lease), heartbeat: secs(heartbeat), ..config() };
        assert_eq!(
            config.check().err().map(|e| e.field()),
            refused,
            "lease {lease}s, heartbeat {heartbeat}s"
        );
    };
    check(60, 10, None);
    check(30, 10, None);
    check(29, 10, Some("lease"));
    check(1, 10, Some("lease"));
    check(60, 0, Some("heartbeat"));
    let message = WorkerConfig { lease: secs(1), ..config() }.check().unwrap_err();
    assert_eq!(
        message.message(),
        "a lease of 1s is shorter than three heartbeats of 10s (30s): a claim must outlive two \
         missed renewals"
    );
}

#[tokio::test(start_paused = true)]
async fn a_provider_that_forgets_an_accepted_call_fails_it() {
    let app = spawn_app();
    let worker = app.start_worker(config());
    let call = app.engine.schedule(NewCall::to(phone(1))).await.unwrap();
    eventually("placed", || status_is(&app, call.id(), CallStatus::Initiated)).await;
    app.provider.forget_all();
    app.advance(secs(1), secs(1)).await;
    eventually("failed", || status_is(&app, call.id(), CallStatus::Failed)).await;
    let failed = app.engine.get(call.id()).await.unwrap();
    assert!(
        failed.last_error().unwrap().contains("no longer knows call fake-1"),
        "{:?}",
        failed.last_error()
    );
    assert!(failed.flags().contains(Flag::OutcomeUnknown), "how it ended is lost");
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_busy_callee_ends_the_call_busy() {
    let app = spawn_app();
    app.provider.set_outcome(ProviderStatus::Busy);
    let worker = app.start_worker(config());
    let call = app.engine.schedule(NewCall::to(phone(1))).await.unwrap();
    eventually("placed", || status_is(&app, call.id(), CallStatus::Initiated)).await;
    app.advance(secs(6), secs(1)).await;
    eventually("busy", || status_is(&app, call.id(), CallStatus::Busy)).await;
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_lost_claim_ends_failed_with_outcome_unknown_and_is_never_redialled() {
    let app = spawn_app();
    let call = claim_by_a_dead_worker(&app).await;
    let worker = app.start_worker(config());
    app.advance(secs(59), secs(10)).await;
    settle().await;
    assert!(status_is(&app, &call, CallStatus::Dispatching).await, "the lease still holds");
    app.advance(secs(1), secs(1)).await;
    eventually("failed", || status_is(&app, &call, CallStatus::Failed)).await;
    let failed = app.engine.get(&call).await.unwrap();
    assert!(failed.flags().contains(Flag::OutcomeUnknown));
    assert!(failed.last_error().unwrap().contains("worker dead lost its claim"));
    app.advance(secs(60), secs(10)).await;
    assert_eq!(app.provider.place_requests(), 0, "never dialled blindly");
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_lost_claim_is_redialled_under_the_at_least_once_policy() {
    let app = spawn_app();
    let call = claim_by_a_dead_worker(&app).await;
    let worker = app.start_worker(WorkerConfig { lost_dispatch: LostDispatch::Redial, ..config() });
    app.advance(secs(60), secs(10)).await;
    eventually("redialled", || status_is(&app, &call, CallStatus::Initiated)).await;
    assert_eq!(app.provider.placements(&phone(1)), 1);
    let events = app.engine.events(&call).await.unwrap();
    let redial =
        events.iter().filter(|e| e.event_type() == EventType::CallDispatched).nth(1).unwrap();
    assert_eq!(redial.metadata()["lost_by"], "dead");
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn an_unanswered_routing_is_re_routed_by_the_engine_after_15s() {
    let app = spawn_app();
    app.ingest("in-1", Lifecycle::Initiated(Initiated::default()), None).await;
    let in_1 = id("in-1");
    let worker = app.start_worker(config());
    app.advance(secs(5), secs(5)).await;
    let routed = Lifecycle::Routed { agent_id: AgentId::parse("ann").unwrap(), routing_time: None };
    app.ingest("in-1", routed, None).await;

    app.advance(millis(14_999), secs(1)).await;
    settle().await;
    assert!(status_is(&app, &in_1, CallStatus::Routed).await, "the agent still has time");
    app.advance(millis(1), secs(1)).await;
    eventually("re-routed", || status_is(&app, &in_1, CallStatus::Initiated)).await;
    let call = app.engine.get(&in_1).await.unwrap();
    assert_eq!(call.agent_id(), None);
    assert!(call.flags().contains(Flag::Rerouted));
    let events = app.engine.events(&in_1).await.unwrap();
    let retransfer = events.iter().find(|e| e.event_type() == EventType::CallRetransfer).unwrap();
    assert_eq!(retransfer.source(), EventSource::Rules);
    assert_eq!(retransfer.metadata()["agent_id"], "ann");

    // Still waiting at 30 s: one SLA alert, however long it goes on.
    app.advance(secs(10), secs(1)).await;
    eventually("the SLA alert", || async { !app.notifier.alerts().is_empty() }).await;
    app.advance(secs(60), secs(10)).await;
    let alerts: Vec<AlertKind> = app.notifier.alerts().iter().map(|a| a.kind).collect();
    assert_eq!(alerts, [AlertKind::SlaBreach]);
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_long_hold_raises_one_alert_by_the_clock() {
    let app = spawn_app();
    app.ingest("c", Lifecycle::Initiated(Initiated::default()), None).await;
    app.ingest("c", Lifecycle::Answered { wait_time: None }, None).await;
    app.ingest("c", Lifecycle::Hold { hold_duration: None }, None).await;
    let worker = app.start_worker(config());
    app.advance(secs(59), secs(10)).await;
    settle().await;
    assert!(app.notifier.alerts().is_empty());
    app.advance(secs(1), secs(1)).await;
    eventually("the hold alert", || async { app.notifier.alerts().len() == 1 }).await;
    app.advance(secs(120), secs(10)).await;
    assert_eq!(app.notifier.alerts().len(), 1, "once");
    assert_eq!(app.notifier.alerts()[0].kind, AlertKind::HoldExceeded);
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn calls_per_second_spaces_out_requests() {
    let app = spawn_app();
    app.engine.schedule_many((0..4).map(|n| NewCall::to(phone(n))).collect()).await.unwrap();
    let worker = app.start_worker(WorkerConfig { calls_per_second: Some(2.0), ..config() });
    eventually("the first request", || async { app.provider.place_requests() == 1 }).await;
    settle().await;
    assert_eq!(app.provider.place_requests(), 1, "the second waits for its slot");
    for expected in 2..=4 {
        app.advance(millis(500), millis(500)).await;
        eventually("the next slot", || async { app.provider.place_requests() == expected }).await;
    }
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_finishes_the_placement_in_flight() {
    let app = spawn_app();
    app.provider.hold_placements();
    let worker = app.start_worker(config());
    let call = app.engine.schedule(NewCall::to(phone(1))).await.unwrap();
    eventually("claimed", || status_is(&app, call.id(), CallStatus::Dispatching)).await;
    let handle = worker.signal_stop();
    settle().await;
    assert!(!handle.is_finished(), "waits for the request in flight");
    app.provider.release();
    tokio::time::timeout(Duration::from_secs(10), handle).await.unwrap().unwrap();
    let call = app.engine.get(call.id()).await.unwrap();
    assert_eq!(
        call.status(),
        CallStatus::Initiated,
        "the outcome was recorded, not left half-done"
    );
    assert_eq!(call.lease(), None);

    // And a stopped worker claims nothing more.
    let later = app.engine.schedule(NewCall::to(phone(2))).await.unwrap();
    settle().await;
    assert!(status_is(&app, later.id(), CallStatus::Scheduled).await);
}

#[tokio::test(start_paused = true)]
async fn provider_callbacks_move_calls_like_polling_does() {
    let app = spawn_app();
    let worker = app.start_worker(WorkerConfig { poll_interval: secs(3600), ..config() });
    let call = app.engine.schedule(NewCall::to(phone(1))).await.unwrap();
    eventually("placed", || status_is(&app, call.id(), CallStatus::Initiated)).await;
    let report = |status| ProviderCall {
        external_id: "fake-1".into(),
        status,
        duration_seconds: Some(10.0),
    };
    // A completed callback after a missed `connected` still records the answer.
    let done = app.engine.provider_update(&report(ProviderStatus::Completed)).await.unwrap();
    assert_eq!(done.status(), CallStatus::Completed);
    assert_eq!(done.duration_seconds(), Some(10.0));
    // A late, older report changes nothing.
    let again = app.engine.provider_update(&report(ProviderStatus::Ringing)).await.unwrap();
    assert_eq!(again.version(), done.version());
    let unknown = ProviderCall { external_id: "nope".into(), ..report(ProviderStatus::Ringing) };
    let error = app.engine.provider_update(&unknown).await.unwrap_err();
    assert_eq!(error.validation().map(|v| v.field()), Some("external_id"));
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn deadlines_are_stored_with_the_call() {
    let app = spawn_app();
    app.ingest("c", Lifecycle::Initiated(Initiated::default()), None).await;
    let call = app.engine.get(&id("c")).await.unwrap();
    assert_eq!(call.deadline_at(), Some(app.now() + TimeDelta::seconds(30)));
    assert_eq!(app.store.next_due().await.unwrap(), call.deadline_at());
}

#[tokio::test(start_paused = true)]
async fn a_rate_limited_backlog_is_claimed_no_faster_than_it_can_be_sent() {
    let app = spawn_app();
    let calls = app.engine.schedule_many((0..12).map(|n| NewCall::to(phone(n))).collect()).await;
    let calls = calls.unwrap();
    // 1 call a second and a 4 s lease: claiming the backlog at once would let leases lapse.
    let config = WorkerConfig {
        calls_per_second: Some(1.0),
        lease: secs(4),
        heartbeat: secs(1),
        ..config()
    };
    let worker = app.start_worker(config);
    app.advance_until("every call is placed", millis(250), secs(30), || async {
        app.provider.total_placements() == calls.len()
    })
    .await;
    for call in &calls {
        let call = app.engine.get(call.id()).await.unwrap();
        assert!(!call.flags().contains(Flag::OutcomeUnknown), "{} lost its claim", call.id());
    }
    assert_eq!(app.provider.place_requests(), calls.len());
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn every_placed_call_is_followed_however_many_there_are() {
    let app = spawn_app();
    // Pages of 4 calls (batch_size 1): 30 live calls span 8 pages a poll round.
    let config = WorkerConfig { batch_size: 1, ..config() };
    let calls = app.engine.schedule_many((0..30).map(|n| NewCall::to(phone(n))).collect()).await;
    let calls = calls.unwrap();
    let worker = app.start_worker(config);
    eventually("every call placed", || async { app.provider.total_placements() == calls.len() })
        .await;
    // One poll round at +2 s sees every call ringing, not just its first page.
    app.advance(secs(2), secs(1)).await;
    eventually("every call ringing after one round", || async {
        let mut ringing = 0;
        for call in &calls {
            ringing += usize::from(status_is(&app, call.id(), CallStatus::Ringing).await);
        }
        ringing == calls.len()
    })
    .await;
    app.advance_until("every call completed", millis(500), secs(30), || async {
        let mut completed = 0;
        for call in &calls {
            completed += usize::from(status_is(&app, call.id(), CallStatus::Completed).await);
        }
        completed == calls.len()
    })
    .await;
    assert_eq!(app.provider.total_placements(), 30);
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_pause_holds_due_calls_until_resumed_while_placed_calls_are_followed() {
    let app = spawn_app();
    let placed = app.engine.schedule(NewCall::to(phone(1)).at(app.at(1.0))).await.unwrap();
    let worker = app.start_worker(config());
    app.advance(secs(1), secs(1)).await;
    eventually("the first call placed", || status_is(&app, placed.id(), CallStatus::Initiated))
        .await;

    let pauses = app.engine.pause(None, None).await.unwrap();
    assert_eq!(pauses.len(), 1);
    assert_eq!((pauses[0].queue.as_ref(), pauses[0].until), (None, None));
    let held = app.engine.schedule(NewCall::to(phone(2)).at(app.at(1.0))).await.unwrap();
    app.advance(secs(60), secs(1)).await;
    settle().await;
    assert!(status_is(&app, held.id(), CallStatus::Scheduled).await, "held while paused");
    assert_eq!(app.provider.placements(&phone(2)), 0, "never dialled while paused");
    assert!(
        status_is(&app, placed.id(), CallStatus::Completed).await,
        "the call placed before the pause was followed to its end"
    );

    assert_eq!(app.engine.resume(None).await.unwrap(), [], "nothing paused any more");
    eventually("placed once resumed, with no clock step", || {
        status_is(&app, held.id(), CallStatus::Initiated)
    })
    .await;
    assert_eq!(app.provider.placements(&phone(2)), 1);
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_queue_paused_until_a_time_holds_only_its_calls_and_lapses_by_itself() {
    let app = spawn_app();
    let sales = call_core::QueueId::parse("sales").unwrap();
    app.engine.add_queue(sales.clone()).await.unwrap();
    app.engine.pause(Some(sales.clone()), Some(app.at(20.0))).await.unwrap();
    let held = app
        .engine
        .schedule(NewCall::to(phone(1)).at(app.at(1.0)).queue(sales.clone()))
        .await
        .unwrap();
    let free = app.engine.schedule(NewCall::to(phone(2)).at(app.at(1.0))).await.unwrap();
    let worker = app.start_worker(config());
    app.advance(secs(19), secs(1)).await;
    assert_eq!(app.provider.placements(&phone(2)), 1, "the call of no queue was placed");
    assert_ne!(app.engine.get(free.id()).await.unwrap().status(), CallStatus::Scheduled);
    assert!(status_is(&app, held.id(), CallStatus::Scheduled).await, "sales held until 20 s");
    app.advance(secs(1), secs(1)).await;
    eventually("placed when the pause lapsed", || {
        status_is(&app, held.id(), CallStatus::Initiated)
    })
    .await;
    assert_eq!(app.engine.pauses().await.unwrap(), [], "a lapsed pause is not in force");
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_pause_needs_a_known_queue_and_an_end_in_the_future() {
    let app = spawn_app();
    let unknown = call_core::QueueId::parse("nowhere").unwrap();
    let refused = |e: call_core::Error| match e {
        call_core::Error::Validation(v) => v.field().to_owned(),
        other => panic!("expected a validation error, got {other:?}"),
    };
    let err = app.engine.pause(Some(unknown), None).await.unwrap_err();
    assert_eq!(refused(err), "queue_id");
    for until in [app.now(), app.at(-1.0)] {
        let err = app.engine.pause(None, Some(until)).await.unwrap_err();
        assert_eq!(refused(err), "until");
    }
    assert_eq!(app.engine.pauses().await.unwrap(), [], "nothing was recorded");
    assert_eq!(app.engine.pause(None, Some(app.at(0.001))).await.unwrap().len(), 1);
}
