//! The do-not-call list through the engine and the worker, on a manual clock.

use call_core::{
    CallStatus, EndReason, Error, EventType, NewCall, Refusal, WorkerConfig, WorkerId,
};

use crate::helpers::{eventually, phone, secs, settle, spawn_app};

fn config() -> WorkerConfig {
    WorkerConfig { worker_id: WorkerId::parse("w1").unwrap(), ..WorkerConfig::default() }
}

#[tokio::test(start_paused = true)]
async fn scheduling_a_listed_number_is_refused_and_writes_nothing() {
    let app = spawn_app();
    let (entry, new) =
        app.engine.add_do_not_call(phone(1), Some("asked us not to call")).await.unwrap();
    assert!(new);
    assert_eq!(entry.reason.as_deref(), Some("asked us not to call"));
    let (again, new) = app.engine.add_do_not_call(phone(1), None).await.unwrap();
    assert!(!new, "listed once");
    assert_eq!(again, entry, "the first entry stands");

    let Err(Error::Validation(refused)) = app.engine.schedule(NewCall::to(phone(1))).await else {
        panic!("a listed number is refused");
    };
    assert_eq!((refused.refusal(), refused.field()), (Refusal::DoNotCall, "phone_number"));
    // In a batch, the listed one is named and nothing is scheduled.
    let batch = vec![NewCall::to(phone(2)), NewCall::to(phone(1))];
    let Err(Error::Batch { index, error }) = app.engine.schedule_many(batch).await else {
        panic!("the batch is refused");
    };
    assert_eq!((index, error.refusal()), (1, Refusal::DoNotCall));
    let listed = app.engine.list(&Default::default()).await.unwrap();
    assert!(listed.items.is_empty(), "nothing was scheduled");

    assert!(app.engine.remove_do_not_call(&phone(1)).await.unwrap());
    assert!(app.engine.schedule(NewCall::to(phone(1))).await.is_ok(), "unlisted, it is called");
}

#[tokio::test(start_paused = true)]
async fn a_call_whose_number_is_listed_before_it_falls_due_is_canceled_never_dialled() {
    let app = spawn_app();
    let worker = app.start_worker(config());
    let due = app.at(60.0);
    let listed = app.engine.schedule(NewCall::to(phone(1)).at(due)).await.unwrap();
    let free = app.engine.schedule(NewCall::to(phone(2)).at(due)).await.unwrap();
    // Listed a moment before the claim: after scheduling, before the due time.
    app.advance(secs(59), secs(10)).await;
    app.engine.add_do_not_call(phone(1), None).await.unwrap();
    app.clock.set(due);
    eventually("the free call is placed", || async {
        app.engine.get(free.id()).await.unwrap().status() != CallStatus::Scheduled
    })
    .await;
    eventually("the listed call is canceled", || async {
        app.engine.get(listed.id()).await.unwrap().status() == CallStatus::Canceled
    })
    .await;
    settle().await;
    let canceled = app.engine.get(listed.id()).await.unwrap();
    assert_eq!(canceled.end_reason(), Some(EndReason::DoNotCall));
    assert_eq!(canceled.ended_at(), Some(due));
    assert_eq!(app.provider.placements(&phone(1)), 0, "never dialled");
    assert_eq!(app.provider.placements(&phone(2)), 1);
    let log = app.engine.events(listed.id()).await.unwrap();
    let types: Vec<EventType> = log.iter().map(|e| e.event_type()).collect();
    assert_eq!(types, [EventType::CallScheduled, EventType::CallCanceled]);
    assert_eq!(log[1].metadata()["reason"], "do_not_call");
    // The change was announced, as every change is.
    let announced = app.notifier.notifications().into_iter().any(|n| {
        matches!(n, call_core::ports::Notification::CallChanged { call, .. }
            if call.id() == listed.id() && call.status() == CallStatus::Canceled)
    });
    assert!(announced, "the cancellation is announced, as every change is");
    worker.stop().await;
}
