//! The engine's operations, without a worker.

use std::time::Duration;

use call_core::{
    CallStatus, Error, EventType, HistoryType, IdempotencyKey, Initiated, Lifecycle, NewCall,
    QueueId, Scheduled, StatusFilter, StatusGroup,
    ports::{HistoryQuery, ListQuery, Notification, StoreError},
};

use crate::helpers::{id, phone, secs, spawn_app};

#[tokio::test(start_paused = true)]
async fn schedule_stores_a_scheduled_call_with_its_event() {
    let app = spawn_app();
    let call = app
        .engine
        .schedule(NewCall::to(phone(1)).at(app.at(30.0)).customer_name("Ada").workflow("reminder"))
        .await
        .unwrap();
    assert_eq!(call.status(), CallStatus::Scheduled);
    assert_eq!(call.scheduled_at(), Some(app.at(30.0)));
    assert_eq!(call.customer_name(), Some("Ada"));
    assert_eq!(call.version(), 1);
    assert_eq!(app.engine.get(call.id()).await.unwrap(), call);
    let events = app.engine.events(call.id()).await.unwrap();
    let types: Vec<EventType> = events.iter().map(|e| e.event_type()).collect();
    assert_eq!(types, [EventType::CallScheduled]);
    assert!(matches!(&app.notifier.notifications()[..], [Notification::CallChanged { .. }]));
    // No time means now.
    let now = app.engine.schedule(NewCall::to(phone(2))).await.unwrap();
    assert_eq!(now.scheduled_at(), Some(app.now()));
}

#[tokio::test(start_paused = true)]
async fn schedule_validates_the_time_and_the_queue() {
    let app = spawn_app();
    let check = |result: Result<call_core::Call, Error>, field: &str, message: &str| {
        let error = result.unwrap_err();
        let validation =
            error.validation().unwrap_or_else(|| panic!("not a validation error: {error}"));
        assert_eq!(validation.field(), field);
        assert!(
            validation.message().contains(message),
            "{:?} lacks {message:?}",
            validation.message()
        );
    };
    // Up to 60 s in the past is "now"; more is an error.
    app.engine.schedule(NewCall::to(phone(1)).at(app.at(-60.0))).await.unwrap();
    check(
        app.engine.schedule(NewCall::to(phone(1)).at(app.at(-61.0))).await,
        "scheduled_at",
        "61s in the past",
    );
    let queue = QueueId::parse("billing").unwrap();
    check(
        app.engine.schedule(NewCall::to(phone(1)).queue(queue.clone())).await,
        "queue_id",
        "unknown queue \"billing\"",
    );
    app.engine.add_queue(queue.clone()).await.unwrap();
    app.engine.schedule(NewCall::to(phone(1)).queue(queue)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn schedule_many_is_all_or_nothing() {
    let app = spawn_app();
    let batch = vec![
        NewCall::to(phone(1)),
        NewCall::to(phone(2)).at(app.at(-3600.0)),
        NewCall::to(phone(3)),
    ];
    match app.engine.schedule_many(batch).await.unwrap_err() {
        Error::Batch { index, error } => {
            assert_eq!(index, 1);
            assert_eq!(error.field(), "scheduled_at");
        }
        other => panic!("expected a batch error, got {other}"),
    }
    let all = app.engine.list(&ListQuery::default()).await.unwrap();
    assert!(all.items.is_empty(), "nothing of a refused batch is written");

    let calls = app.engine.schedule_many((0..100).map(|n| NewCall::to(phone(n))).collect()).await;
    assert_eq!(calls.unwrap().len(), 100);
    let page = app.engine.list(&ListQuery { limit: 1000, ..ListQuery::default() }).await.unwrap();
    assert_eq!(page.items.len(), 100);
}

#[tokio::test(start_paused = true)]
async fn cancel_only_before_placing() {
    let app = spawn_app();
    let call = app.engine.schedule(NewCall::to(phone(1)).at(app.at(60.0))).await.unwrap();
    let canceled = app.engine.cancel(call.id()).await.unwrap();
    assert_eq!(canceled.status(), CallStatus::Canceled);
    assert_eq!(canceled.version(), 2);
    let error = app.engine.cancel(call.id()).await.unwrap_err();
    assert_eq!(error.to_string(), "event call_canceled is not allowed in status canceled");
    assert!(matches!(app.engine.cancel(&id("nope")).await, Err(Error::NotFound(_))));
    let types: Vec<EventType> =
        app.engine.events(call.id()).await.unwrap().iter().map(|e| e.event_type()).collect();
    assert_eq!(types, [EventType::CallScheduled, EventType::CallCanceled]);
}

#[tokio::test(start_paused = true)]
async fn reschedule_only_while_scheduled() {
    let app = spawn_app();
    let call = app.engine.schedule(NewCall::to(phone(1)).at(app.at(60.0))).await.unwrap();
    let moved = app.engine.reschedule(call.id(), app.at(120.0)).await.unwrap();
    assert_eq!(moved.scheduled_at(), Some(app.at(120.0)));
    let error = app.engine.reschedule(call.id(), app.at(-3600.0)).await.unwrap_err();
    assert_eq!(error.validation().map(|v| v.field()), Some("scheduled_at"));
    app.engine.cancel(call.id()).await.unwrap();
    let error = app.engine.reschedule(call.id(), app.at(10.0)).await.unwrap_err();
    assert!(matches!(error, Error::InvalidTransition(_)), "{error}");
    let events = app.engine.events(call.id()).await.unwrap();
    let rescheduled = events.iter().find(|e| e.event_type() == EventType::CallRescheduled).unwrap();
    assert_eq!(rescheduled.metadata()["to"], call_core::time::rfc3339(app.at(120.0)));
}

#[tokio::test(start_paused = true)]
async fn list_filters_by_group_and_pages() {
    let app = spawn_app();
    for n in 0..5 {
        app.engine.schedule(NewCall::to(phone(n))).await.unwrap();
        app.clock.advance(std::time::Duration::from_millis(1));
    }
    app.ingest("in-1", Lifecycle::Initiated(Initiated::default()), None).await;
    let live = ListQuery {
        statuses: vec![StatusFilter::Group(StatusGroup::Live)],
        ..ListQuery::default()
    };
    let page = app.engine.list(&live).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].id().as_str(), "in-1");
    let first = app.engine.list(&ListQuery { limit: 4, ..ListQuery::default() }).await.unwrap();
    assert_eq!(first.items.len(), 4);
    let second = app
        .engine
        .list(&ListQuery { limit: 4, cursor: first.next_cursor, ..ListQuery::default() })
        .await
        .unwrap();
    assert_eq!(second.items.len(), 2);
}

/// Scheduled on Monday for Friday, a call is in the history under Friday,
/// when it was placed: ordered, filtered and shown by that moment.
#[tokio::test(start_paused = true)]
async fn history_shows_a_call_when_it_was_placed_not_when_it_was_scheduled() {
    let app = spawn_app();
    let customer = phone(1);
    let monday = app.now();
    let day = |n: i64| monday + chrono::TimeDelta::days(n);
    let friday_call = NewCall::to(customer.clone()).at(day(4));
    let friday_call = app.engine.schedule(friday_call).await.unwrap();
    let worker = app.start_worker(call_core::WorkerConfig::default());

    // On Tuesday another call is scheduled for then and placed at once.
    app.clock.set(day(1));
    let tuesday_call = app.engine.schedule(NewCall::to(customer.clone())).await.unwrap();
    let ended = |id: call_core::CallId| {
        let app = &app;
        async move {
            app.advance_until("the call ended", secs(1), secs(120), || async {
                app.engine.get(&id).await.unwrap().status().is_terminal()
            })
            .await;
            app.engine.get(&id).await.unwrap()
        }
    };
    let tuesday_call = ended(tuesday_call.id().clone()).await;
    app.clock.set(day(4));
    let friday_call = ended(friday_call.id().clone()).await;
    worker.stop().await;

    let placed_friday = friday_call.initiated_at().expect("placed");
    assert!(placed_friday >= day(4), "placed when due, not before");
    let history = |query: HistoryQuery| {
        let (engine, customer) = (app.engine.clone(), customer.clone());
        async move { engine.history(&customer, &query).await.unwrap().items }
    };
    let all = history(HistoryQuery::default()).await;
    let shown: Vec<_> = all.iter().map(|r| (r.call_id.clone(), r.created_at)).collect();
    assert_eq!(
        shown,
        [
            (friday_call.id().clone(), placed_friday),
            (tuesday_call.id().clone(), tuesday_call.initiated_at().unwrap()),
        ],
        "newest first by when each was placed, and shown at that moment"
    );
    let since_thursday = HistoryQuery { since: Some(day(3)), ..HistoryQuery::default() };
    let since_thursday = history(since_thursday).await;
    assert_eq!(since_thursday.len(), 1, "since is about when calls were placed");
    assert_eq!(&since_thursday[0].call_id, friday_call.id());
    let until_wednesday = HistoryQuery { until: Some(day(2)), ..HistoryQuery::default() };
    let until_wednesday = history(until_wednesday).await;
    assert_eq!(until_wednesday.len(), 1, "until is about when calls were placed");
    assert_eq!(&until_wednesday[0].call_id, tuesday_call.id());
}

#[tokio::test(start_paused = true)]
async fn history_shows_each_call_from_the_numbers_side() {
    let app = spawn_app();
    let (customer, centre) = (phone(1), phone(2));
    let inbound = || {
        Lifecycle::Initiated(Initiated {
            from: Some(customer.clone()),
            to: Some(centre.clone()),
            ..Initiated::default()
        })
    };
    // Answered and talked for 42 s.
    app.ingest("answered", inbound(), Some(app.at(0.0))).await;
    app.ingest("answered", Lifecycle::Answered { wait_time: None }, Some(app.at(3.0))).await;
    app.ingest(
        "answered",
        Lifecycle::Ended { end_reason: None, duration: Some(42.0) },
        Some(app.at(45.0)),
    )
    .await;
    // Abandoned while waiting.
    app.clock.advance(std::time::Duration::from_secs(60));
    app.ingest("abandoned", inbound(), None).await;
    app.ingest("abandoned", Lifecycle::Ended { end_reason: None, duration: None }, None).await;
    // Still live, and a scheduled call canceled before it was placed: neither is listed.
    app.ingest("live", inbound(), None).await;
    let canceled = app.engine.schedule(NewCall::to(customer.clone())).await.unwrap();
    app.engine.cancel(canceled.id()).await.unwrap();

    let records = |number| {
        let engine = app.engine.clone();
        async move {
            let page = engine.history(&number, &HistoryQuery::default()).await.unwrap();
            page.items
                .into_iter()
                .map(|r| (r.call_id.to_string(), r.record_type, r.counterparty, r.duration_seconds))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        records(customer.clone()).await,
        [
            ("abandoned".into(), HistoryType::MissedOutbound, Some(centre.clone()), None),
            ("answered".into(), HistoryType::CompletedOutbound, Some(centre.clone()), Some(42.0)),
        ],
        "the customer made both calls"
    );
    assert_eq!(
        records(centre.clone()).await,
        [
            ("abandoned".into(), HistoryType::MissedInbound, Some(customer.clone()), None),
            ("answered".into(), HistoryType::CompletedInbound, Some(customer.clone()), Some(42.0)),
        ],
        "the centre received both"
    );
    assert_eq!(HistoryType::CompletedInbound.as_str(), "Completed Inbound");
}

#[tokio::test(start_paused = true)]
async fn queues_are_a_registry() {
    let app = spawn_app();
    let sales = QueueId::parse("sales").unwrap();
    app.engine.add_queue(sales.clone()).await.unwrap();
    let error = app.engine.add_queue(sales.clone()).await.unwrap_err();
    assert!(matches!(error, Error::Store(StoreError::DuplicateQueue(_))), "{error}");
    assert_eq!(app.engine.queues().await.unwrap().len(), 1);
    assert!(app.engine.remove_queue(&sales).await.unwrap());
    assert!(app.engine.queues().await.unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn due_times_are_kept_to_the_microsecond_as_stores_keep_them() {
    let app = spawn_app();
    let at = app.at(30.0) + chrono::TimeDelta::nanoseconds(123_456_789);
    let call = app.engine.schedule(NewCall::to(phone(1)).at(at)).await.unwrap();
    assert_eq!(call.scheduled_at(), Some(app.at(30.0) + chrono::TimeDelta::microseconds(123_456)));
    let moved = app.engine.reschedule(call.id(), at + chrono::TimeDelta::seconds(1)).await.unwrap();
    assert_eq!(moved.scheduled_at().unwrap().timestamp_subsec_nanos() % 1_000, 0);
}

fn key(text: &str) -> IdempotencyKey {
    IdempotencyKey::parse(text).unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_retried_request_with_its_key_answers_the_first_call() {
    let app = spawn_app();
    let request = || NewCall::to(phone(1)).customer_name("Ada").idempotency_key(key("k-1"));
    let first = app.engine.schedule_each(vec![request()]).await.unwrap();
    assert!(first[0].is_new());
    // A second later (the client timed out and retried): "now" moved, and
    // the request is still the same one.
    app.clock.advance(Duration::from_secs(1));
    let again = app.engine.schedule_each(vec![request()]).await.unwrap();
    assert_eq!(again, [Scheduled::Existing(first[0].call().clone())]);
    assert_eq!(app.engine.schedule(request()).await.unwrap().id(), first[0].call().id());
    let all = app.engine.list(&ListQuery::default()).await.unwrap();
    assert_eq!(all.items.len(), 1, "one key, one call");
    assert_eq!(app.notifier.notifications().len(), 1, "the replay announces nothing");

    // The replay answers the call as it is now.
    app.engine.cancel(first[0].call().id()).await.unwrap();
    let replay = app.engine.schedule(request()).await.unwrap();
    assert_eq!(replay.status(), CallStatus::Canceled);
}

#[tokio::test(start_paused = true)]
async fn a_key_reused_for_another_request_is_refused() {
    let app = spawn_app();
    let first = app.engine.schedule(NewCall::to(phone(1)).idempotency_key(key("k"))).await.unwrap();
    let other = NewCall::to(phone(2)).idempotency_key(key("k"));
    let error = app.engine.schedule(other).await.unwrap_err();
    let error = error.validation().expect("a validation error").clone();
    assert_eq!(error.field(), "idempotency_key");
    assert_eq!(
        error.message(),
        format!(
            "key \"k\" was used for a different request (call {}); a new request needs a new key",
            first.id()
        )
    );
    assert_eq!(app.engine.list(&ListQuery::default()).await.unwrap().items.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn keys_are_kept_for_the_retention_period_then_free() {
    let app = spawn_app();
    let first = app.engine.schedule(NewCall::to(phone(1)).idempotency_key(key("k"))).await.unwrap();
    app.clock.advance(Duration::from_secs(24 * 3600 - 1));
    let within = app.engine.schedule(NewCall::to(phone(1)).idempotency_key(key("k"))).await;
    assert_eq!(within.unwrap().id(), first.id(), "kept for 24 hours");
    app.clock.advance(Duration::from_secs(1));
    let after = app.engine.schedule(NewCall::to(phone(2)).idempotency_key(key("k"))).await;
    assert_ne!(after.unwrap().id(), first.id(), "free again after 24 hours, for any request");
}

#[tokio::test(start_paused = true)]
async fn a_batch_with_keys_makes_each_call_once() {
    let app = spawn_app();
    let done = app.engine.schedule(NewCall::to(phone(1)).idempotency_key(key("a"))).await.unwrap();
    let batch = vec![
        NewCall::to(phone(1)).idempotency_key(key("a")), // made before
        NewCall::to(phone(2)).idempotency_key(key("b")),
        NewCall::to(phone(3)),
        NewCall::to(phone(2)).idempotency_key(key("b")), // a repeat within the batch
    ];
    let scheduled = app.engine.schedule_each(batch).await.unwrap();
    let new: Vec<bool> = scheduled.iter().map(Scheduled::is_new).collect();
    assert_eq!(new, [false, true, true, false]);
    assert_eq!(scheduled[0].call().id(), done.id());
    assert_eq!(scheduled[3].call().id(), scheduled[1].call().id());
    assert_eq!(app.engine.list(&ListQuery::default()).await.unwrap().items.len(), 3);

    // A key used for two different requests of one batch refuses the batch.
    let batch = vec![
        NewCall::to(phone(4)).idempotency_key(key("c")),
        NewCall::to(phone(5)).idempotency_key(key("c")),
    ];
    match app.engine.schedule_each(batch).await.unwrap_err() {
        Error::Batch { index, error } => assert_eq!((index, error.field()), (1, "idempotency_key")),
        other => panic!("expected a batch error, got {other}"),
    }
    // So does a key used before for another request; nothing is written.
    let batch = vec![NewCall::to(phone(6)), NewCall::to(phone(7)).idempotency_key(key("a"))];
    match app.engine.schedule_each(batch).await.unwrap_err() {
        Error::Batch { index, error } => assert_eq!((index, error.field()), (1, "idempotency_key")),
        other => panic!("expected a batch error, got {other}"),
    }
    assert_eq!(app.engine.list(&ListQuery::default()).await.unwrap().items.len(), 3);
}

#[tokio::test(start_paused = true)]
async fn requests_racing_with_one_key_make_one_call() {
    let app = spawn_app();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let engine = app.engine.clone();
            tokio::spawn(async move {
                engine.schedule(NewCall::to(phone(1)).idempotency_key(key("race"))).await.unwrap()
            })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for task in tasks {
        ids.insert(task.await.unwrap().id().clone());
    }
    assert_eq!(ids.len(), 1, "every request answered with the one call");
    assert_eq!(app.engine.list(&ListQuery::default()).await.unwrap().items.len(), 1);
}
