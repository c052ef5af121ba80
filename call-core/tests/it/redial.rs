//! Redial by outcome through the engine and the worker, on a manual clock.

use call_core::{
    Call, CallId, CallStatus, CallingWindow, Config, Engine, EventType, Flag, NewCall, Redial,
    WorkerConfig, WorkerId,
    ports::{Clock, HistoryQuery, ProviderError, ProviderStatus},
    testing::MemoryStore,
};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use std::sync::Arc;

use crate::helpers::{TestApp, eventually, phone, secs, settle, spawn_app};

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

fn config() -> WorkerConfig {
    WorkerConfig { worker_id: WorkerId::parse("w1").unwrap(), ..WorkerConfig::default() }
}

fn busy_or_unanswered(max: u32) -> Redial {
    Redial::parse(["busy", "no_answer"], max, "10m").unwrap()
}

async fn get(app: &TestApp, id: &CallId) -> Call {
    app.engine.get(id).await.unwrap()
}

/// Waits until `id` has ended and answers it.
async fn ended(app: &TestApp, id: &CallId) -> Call {
    app.advance_until("the attempt ended", secs(1), secs(60), || async {
        get(app, id).await.status().is_terminal()
    })
    .await;
    get(app, id).await
}

#[tokio::test(start_paused = true)]
async fn a_busy_call_is_redialled_per_its_policy_and_every_attempt_keeps_its_outcome() {
    let app = spawn_app();
    app.provider.set_outcome(ProviderStatus::Busy);
    let to = phone(1);
    let worker = app.start_worker(config());
    let first = app.engine.schedule(NewCall::to(to.clone()).redial(busy_or_unanswered(3))).await;
    let first = first.unwrap();
    assert_eq!(first.redial(), Some(&busy_or_unanswered(3)));
    assert_eq!(first.redial_attempt(), 1);

    let mut attempt = ended(&app, first.id()).await;
    let mut ids = vec![attempt.id().clone()];
    for number in 2..=3 {
        assert_eq!(attempt.status(), CallStatus::Busy);
        let next_id = attempt.redialed_as().expect("a busy attempt is redialled").clone();
        let next = get(&app, &next_id).await;
        let due = attempt.ended_at().unwrap() + TimeDelta::minutes(10);
        assert_eq!(next.scheduled_at(), Some(due), "ten minutes after the end");
        assert_eq!(next.redial_attempt(), number);
        assert_eq!(next.redial_of(), Some(attempt.id()));
        assert_eq!(next.redial(), attempt.redial(), "the policy goes with the attempts");

        // The attempt that ended says what comes next; the next says why it exists.
        let events = app.engine.events(attempt.id()).await.unwrap();
        let end = events.iter().find(|e| e.event_type() == EventType::CallEnded).unwrap();
        assert_eq!(end.metadata()["redial"]["call_id"], json!(next_id.as_str()));
        assert_eq!(end.metadata()["redial"]["attempt"], json!(number));
        let scheduled = &app.engine.events(&next_id).await.unwrap()[0];
        assert_eq!(scheduled.event_type(), EventType::CallScheduled);
        assert_eq!(scheduled.metadata()["redial_of"], json!(attempt.id().as_str()));
        assert_eq!(scheduled.metadata()["attempt"], json!(number));
        assert_eq!(scheduled.metadata()["outcome"], json!("busy"));

        // Not a second early, then on the second.
        let placements = app.provider.placements(&to);
        app.clock.set(due - TimeDelta::seconds(1));
        settle().await;
        assert_eq!(app.provider.placements(&to), placements, "not before its time");
        app.clock.set(due);
        eventually("the redial is placed", || async {
            get(&app, &next_id).await.status() != CallStatus::Scheduled
        })
        .await;
        assert_eq!(get(&app, &next_id).await.initiated_at(), Some(due), "on the second");
        attempt = ended(&app, &next_id).await;
        ids.push(next_id);
    }
    // The third attempt was the last.
    assert_eq!(attempt.status(), CallStatus::Busy);
    assert_eq!(attempt.redialed_as(), None);
    app.advance(secs(3600), secs(600)).await;
    assert_eq!(app.provider.placements(&to), 3);
    worker.stop().await;

    // Linked from any of them, first to last; the last's outcome is final.
    for id in &ids {
        let chain: Vec<CallId> =
            app.engine.attempts(id).await.unwrap().iter().map(|c| c.id().clone()).collect();
        assert_eq!(&chain, &ids);
    }
    // The number's history has every attempt.
    let history = app.engine.history(&to, &HistoryQuery::default()).await.unwrap();
    assert_eq!(history.items.len(), 3);
}

#[tokio::test(start_paused = true)]
async fn an_answered_redial_ends_the_attempts() {
    let app = spawn_app();
    app.provider.set_outcome(ProviderStatus::NoAnswer);
    let worker = app.start_worker(config());
    let first = app.engine.schedule(NewCall::to(phone(1)).redial(busy_or_unanswered(5))).await;
    let first = ended(&app, first.unwrap().id()).await;
    assert_eq!(first.status(), CallStatus::NoAnswer);
    let second = first.redialed_as().unwrap().clone();
    app.provider.set_outcome(ProviderStatus::Completed);
    app.clock.set(get(&app, &second).await.scheduled_at().unwrap());
    let second = ended(&app, &second).await;
    assert_eq!(second.status(), CallStatus::Completed);
    assert_eq!(second.redialed_as(), None, "an answered call is not redialled");
    let attempts = app.engine.attempts(first.id()).await.unwrap();
    let outcomes: Vec<CallStatus> = attempts.iter().map(Call::status).collect();
    assert_eq!(outcomes, [CallStatus::NoAnswer, CallStatus::Completed]);
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn outcomes_the_policy_does_not_name_are_not_redialled() {
    let app = spawn_app();
    app.provider.set_outcome(ProviderStatus::Busy);
    let worker = app.start_worker(config());
    let only_unanswered = Redial::parse(["no_answer"], 3, "1m").unwrap();
    let call = app.engine.schedule(NewCall::to(phone(1)).redial(only_unanswered)).await.unwrap();
    let call = ended(&app, call.id()).await;
    assert_eq!(call.status(), CallStatus::Busy);
    assert_eq!(call.redialed_as(), None);
    // A call without a policy is never redialled.
    let plain = app.engine.schedule(NewCall::to(phone(2))).await.unwrap();
    assert_eq!(ended(&app, plain.id()).await.redialed_as(), None);
    app.advance(secs(600), secs(60)).await;
    assert_eq!(app.provider.total_placements(), 2);
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_placement_the_provider_refused_is_redialled_but_one_that_may_have_rung_is_not() {
    let app = spawn_app();
    let worker = app.start_worker(config());
    let on_failure = Redial::parse(["failed"], 2, "1m").unwrap();
    app.provider.fail_next_placements([ProviderError::Permanent { message: "bad route".into() }]);
    let refused = app.engine.schedule(NewCall::to(phone(1)).redial(on_failure.clone())).await;
    let refused = ended(&app, refused.unwrap().id()).await;
    assert_eq!(refused.status(), CallStatus::Failed);
    assert!(refused.redialed_as().is_some(), "the provider said no: dial again later");

    // An answer the worker could not read: the provider may have placed it.
    app.provider.fail_next_placements([ProviderError::Invalid { message: "garbled".into() }]);
    let unknown = app.engine.schedule(NewCall::to(phone(2)).redial(on_failure)).await;
    let unknown = ended(&app, unknown.unwrap().id()).await;
    assert_eq!(unknown.status(), CallStatus::Failed);
    assert!(unknown.flags().contains(Flag::OutcomeUnknown));
    assert_eq!(unknown.redialed_as(), None, "it may have rung: never dial blindly again");
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_redial_waits_for_the_calling_window() {
    let app = spawn_app();
    app.provider.set_outcome(ProviderStatus::Busy);
    // 19:55 in New York on Monday 23 November 2026: ten minutes later the
    // 09:00-20:00 window has closed, so the redial waits for Tuesday 09:00.
    app.clock.set(utc("2026-11-24T00:55:00Z"));
    let worker = app.start_worker(config());
    let window = CallingWindow::hours("09:00-20:00").unwrap();
    let new_call = NewCall::to(call_core::PhoneNumber::parse("+1 212 555 0100").unwrap())
        .calling_window(window)
        .redial(busy_or_unanswered(2));
    let call = app.engine.schedule(new_call).await.unwrap();
    let call = ended(&app, call.id()).await;
    let redial = get(&app, call.redialed_as().unwrap()).await;
    assert_eq!(redial.scheduled_at(), Some(utc("2026-11-24T14:00:00Z")));
    let scheduled = &app.engine.events(redial.id()).await.unwrap()[0];
    assert_eq!(scheduled.metadata()["waits_for"], json!("calling_window"));
    assert_eq!(scheduled.metadata()["until"], json!("2026-11-24T14:00:00.000000Z"));
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn the_engine_default_policy_applies_to_calls_without_their_own() {
    let clock = Arc::new(call_core::ports::ManualClock::new(utc("2026-11-23T12:00:00Z")));
    let config = Config { default_redial: Some(busy_or_unanswered(2)), ..Config::default() };
    let engine =
        Engine::builder(Arc::new(MemoryStore::new())).clock(clock.clone()).config(config).build();
    let defaulted = engine.schedule(NewCall::to(phone(1))).await.unwrap();
    assert_eq!(defaulted.redial(), Some(&busy_or_unanswered(2)));
    let own = Redial::parse(["failed"], 4, "1h").unwrap();
    let overridden = engine.schedule(NewCall::to(phone(2)).redial(own.clone())).await.unwrap();
    assert_eq!(overridden.redial(), Some(&own));
    assert_eq!(clock.now(), utc("2026-11-23T12:00:00Z"));
}
