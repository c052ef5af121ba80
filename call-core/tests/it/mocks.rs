//! The engine's promises that are about how many times a port is called,
//! checked on mocks (mockall): each expectation says how often a call may
//! come, and a mock dropped with one unmet fails the test. The fakes
//! (`FakeProvider`, `RecordingNotifier`) stay for behaviour over time.

use std::sync::Arc;

use call_core::{
    CallStatus, Engine, EventType, Flag, NewCall, WorkerConfig, WorkerId,
    ports::{Notification, ProviderError},
    testing::{MemoryStore, MockCallProvider, MockCallStore, MockNotifier},
};
use mockall::Sequence;

use crate::helpers::{claim_by_a_dead_worker, eventually, phone, secs, settle, spawn_app};

fn config() -> WorkerConfig {
    WorkerConfig { worker_id: WorkerId::parse("w1").unwrap(), ..WorkerConfig::default() }
}

/// A provider no call may reach: any placement or poll fails the test.
fn unreachable_provider() -> Arc<MockCallProvider> {
    let mut provider = MockCallProvider::new();
    provider.expect_place_call().never();
    provider.expect_fetch_call().never();
    Arc::new(provider)
}

#[tokio::test(start_paused = true)]
async fn a_permanent_error_places_the_call_once() {
    let app = spawn_app();
    let mut provider = MockCallProvider::new();
    provider
        .expect_place_call()
        .withf(|request| request.to == phone(1))
        .times(1)
        .returning(|_| Err(ProviderError::Permanent { message: "Invalid phone number".into() }));
    provider.expect_fetch_call().never();
    let provider = Arc::new(provider);
    let worker = app.start_worker_with(provider.clone(), config());
    let call = app.engine.schedule(NewCall::to(phone(1))).await.unwrap();
    eventually("failed", || async {
        app.engine.get(call.id()).await.unwrap().status() == CallStatus::Failed
    })
    .await;
    // Time for any retry to be tried: none may be.
    app.advance(secs(600), secs(30)).await;
    worker.stop().await;
    // The last holder: an unmet `times(1)` fails here.
    drop(Arc::into_inner(provider).expect("the worker let go of the provider"));
}

#[tokio::test(start_paused = true)]
async fn a_canceled_call_is_never_placed() {
    let app = spawn_app();
    let provider = unreachable_provider();
    let worker = app.start_worker_with(provider.clone(), config());
    let call = app.engine.schedule(NewCall::to(phone(1)).at(app.at(10.0))).await.unwrap();
    app.engine.cancel(call.id()).await.unwrap();
    app.advance(secs(60), secs(1)).await;
    settle().await;
    worker.stop().await;
    let events: Vec<EventType> =
        app.engine.events(call.id()).await.unwrap().iter().map(|e| e.event_type()).collect();
    assert_eq!(events, [EventType::CallScheduled, EventType::CallCanceled]);
    drop(Arc::into_inner(provider).expect("the worker let go of the provider"));
}

#[tokio::test(start_paused = true)]
async fn a_lost_claim_is_never_placed_again() {
    let app = spawn_app();
    // A worker that died after claiming the call, before its request went out.
    let call = claim_by_a_dead_worker(&app).await;
    let provider = unreachable_provider();
    let worker = app.start_worker_with(provider.clone(), config());
    app.advance(secs(61), secs(1)).await;
    eventually("failed", || async {
        app.engine.get(&call).await.unwrap().status() == CallStatus::Failed
    })
    .await;
    app.advance(secs(600), secs(30)).await;
    worker.stop().await;
    let failed = app.engine.get(&call).await.unwrap();
    assert!(failed.flags().contains(Flag::OutcomeUnknown), "{:?}", failed.flags());
    drop(Arc::into_inner(provider).expect("the worker let go of the provider"));
}

/// The first event of a change notification, if it is one.
fn first_event(notification: &Notification) -> Option<EventType> {
    match notification {
        Notification::CallChanged { events, .. } => events.first().map(|e| e.event_type()),
        _ => None,
    }
}

#[tokio::test(start_paused = true)]
async fn the_notifier_gets_each_change_once_in_order() {
    let mut notifier = MockNotifier::new();
    let mut order = Sequence::new();
    for event in [EventType::CallScheduled, EventType::CallRescheduled, EventType::CallCanceled] {
        notifier
            .expect_notify()
            .withf(move |n| first_event(n) == Some(event))
            .times(1)
            .in_sequence(&mut order)
            .return_const(());
    }
    let engine = Engine::builder(Arc::new(MemoryStore::new())).notifier(Arc::new(notifier)).build();
    let call =
        engine.schedule(NewCall::to(phone(1)).at(chrono::Utc::now() + secs(3600))).await.unwrap();
    let later = call.scheduled_at().unwrap() + secs(60);
    engine.reschedule(call.id(), later).await.unwrap();
    engine.cancel(call.id()).await.unwrap();
    // A change that changes nothing notifies nothing: canceling again is refused.
    assert!(engine.cancel(call.id()).await.is_err());
    // The engine, and with it the notifier, dropped: each `times(1)` checked.
    drop(engine);
}

/// Refused input changes nothing: the engine asks the store only what its
/// checks need, and never writes. A mock store that allows no write (any
/// call without an expectation fails the test) holds it to that.
#[tokio::test]
async fn refused_input_reads_what_it_checks_and_never_writes() {
    let mut store = MockCallStore::new();
    // An unknown queue: one lookup, then the refusal.
    store.expect_queue().times(1).returning(|_| Ok(None));
    let engine = Engine::builder(Arc::new(store)).build();
    let refused = engine
        .schedule(NewCall::to(phone(1)).queue(call_core::QueueId::parse("nosuch").unwrap()))
        .await
        .unwrap_err();
    assert_eq!(refused.validation().map(|e| e.field()), Some("queue_id"), "{refused}");
    // A time too far back, a name over its limit: refused before the store is asked.
    let long_ago = chrono::Utc::now() - chrono::TimeDelta::days(1);
    assert!(engine.schedule(NewCall::to(phone(1)).at(long_ago)).await.is_err());
    let long_name = "x".repeat(call_core::limits::MAX_NAME_CHARS + 1);
    assert!(engine.schedule(NewCall::to(phone(1)).customer_name(long_name)).await.is_err());
}

/// A claim goes to the store once per round with the worker's id, its
/// lease and its batch, and an empty answer claims nothing more.
#[tokio::test]
async fn a_round_claims_once_with_the_workers_lease() {
    let mut store = MockCallStore::new();
    store.expect_announcements().returning(call_core::ports::Announcements::none);
    store.expect_expired_leases().returning(|_, _| Ok(vec![]));
    store.expect_deadlines_due().returning(|_, _| Ok(vec![]));
    store.expect_next_due().returning(|| Ok(None));
    store.expect_following().returning(|_, _| Ok(vec![]));
    store
        .expect_claim_due()
        .withf(|claim| {
            claim.worker.as_str() == "w1"
                && claim.limit == 64
                && claim.lease_until - claim.now == chrono::TimeDelta::seconds(60)
        })
        .times(1..)
        .returning(|_| Ok(vec![]));
    let app = spawn_app();
    let engine = Engine::builder(Arc::new(store)).clock(app.clock.clone()).build();
    let worker = engine.worker(unreachable_provider(), config()).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));
    settle().await;
    stop.send(()).unwrap();
    running.await.unwrap();
}
