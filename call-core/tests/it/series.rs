//! Recurring series through the engine and the worker, on a manual clock.

use call_core::{
    Call, CallStatus, Error, IdempotencyKey, NewCall, Recurrence, SeriesId, StatusFilter,
    WorkerConfig, WorkerId, ports::ListQuery,
};
use chrono::{DateTime, Utc};

use crate::helpers::{TestApp, claim_as_a_dead_worker, eventually, phone, secs, settle, spawn_app};

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

fn config() -> WorkerConfig {
    WorkerConfig { worker_id: WorkerId::parse("w1").unwrap(), ..WorkerConfig::default() }
}

fn weekdays_at_nine_in_paris(count: Option<u32>) -> Recurrence {
    Recurrence::new("0 9 * * MON-FRI", "Europe/Paris", count, None).unwrap()
}

/// The calls of a series, by occurrence number.
async fn occurrences(app: &TestApp, series: &SeriesId) -> Vec<Call> {
    let query = ListQuery { series: Some(series.clone()), limit: 1000, ..ListQuery::default() };
    let mut calls = app.engine.list(&query).await.unwrap().items;
    calls.sort_by_key(|c| c.occurrence().map(|o| o.number));
    calls
}

/// On Thursday 22 October 2026, noon in Paris (the clocks go back on
/// Sunday 25th), schedules a series calling `phone(1)`: its first call and id.
async fn start(app: &TestApp, recurrence: Recurrence) -> (Call, SeriesId) {
    app.clock.set(utc("2026-10-22T10:00:00Z"));
    let first = app.engine.schedule(NewCall::to(phone(1)).recurrence(recurrence)).await.unwrap();
    let series = first.occurrence().expect("an occurrence").series_id.clone();
    (first, series)
}

async fn status_is(app: &TestApp, call: &Call, status: CallStatus) -> bool {
    app.engine.get(call.id()).await.unwrap().status() == status
}

#[tokio::test(start_paused = true)]
async fn a_weekday_series_rings_at_nine_in_paris_across_the_clock_change() {
    let app = spawn_app();
    let (first, series) = start(&app, weekdays_at_nine_in_paris(Some(4))).await;
    assert_eq!(first.occurrence().map(|o| o.number), Some(1));
    assert_eq!(first.scheduled_at(), Some(utc("2026-10-23T07:00:00Z")), "Friday 09:00 CEST");
    assert_eq!(occurrences(&app, &series).await.len(), 1, "one waits at a time");

    let worker = app.start_worker(config());
    let expected = [
        "2026-10-23T07:00:00Z", // Friday, 09:00 CEST
        "2026-10-26T08:00:00Z", // Monday, 09:00 CET: an hour later in UTC
        "2026-10-27T08:00:00Z",
        "2026-10-28T08:00:00Z",
    ];
    for (n, due) in expected.iter().enumerate() {
        let calls = occurrences(&app, &series).await;
        assert_eq!(calls.len(), n + 1, "occurrence {} exists, and no other", n + 1);
        let call = calls[n].clone();
        assert_eq!(call.scheduled_at(), Some(utc(due)), "occurrence {}", n + 1);
        app.clock.set(utc(due));
        eventually("placed at its time", || status_is(&app, &call, CallStatus::Initiated)).await;
        assert_eq!(app.engine.get(call.id()).await.unwrap().initiated_at(), Some(utc(due)));
        app.advance(secs(12), secs(1)).await;
        eventually("completed", || status_is(&app, &call, CallStatus::Completed)).await;
    }
    settle().await;
    let calls = occurrences(&app, &series).await;
    assert_eq!(calls.len(), 4, "a series of four makes four calls");
    assert_eq!(app.provider.placements(&phone(1)), 4, "each dialled once");
    let numbers: Vec<u32> = calls.iter().filter_map(|c| c.occurrence()).map(|o| o.number).collect();
    assert_eq!(numbers, [1, 2, 3, 4]);
    assert_eq!(app.engine.series(&series).await.unwrap().occurrences, 4);
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_worker_dying_after_its_claim_skips_and_doubles_nothing() {
    let app = spawn_app();
    let daily = Recurrence::new("0 9 * * *", "Europe/Paris", None, None).unwrap();
    let (first, series) = start(&app, daily).await;
    app.clock.set(first.scheduled_at().unwrap());

    // A worker claims the first and dies before placing it: the claim made
    // the next occurrence in its own transaction.
    let claimed = claim_as_a_dead_worker(&app).await;
    assert_eq!(claimed.len(), 1);
    let (second, _) = claimed[0].successor.clone().expect("made with the claim");
    assert_eq!(second.scheduled_at(), Some(utc("2026-10-24T07:00:00Z")));

    // A live worker recovers the lost claim (never dialling it blindly),
    // makes no second "second", and places the second at its time.
    let worker = app.start_worker(config());
    app.advance(secs(61), secs(5)).await;
    eventually("the lost claim failed", || status_is(&app, &first, CallStatus::Failed)).await;
    assert_eq!(occurrences(&app, &series).await.len(), 2, "nothing doubled by the recovery");
    app.clock.set(utc("2026-10-24T07:00:00Z"));
    eventually("the second placed", || status_is(&app, &second, CallStatus::Initiated)).await;
    settle().await;
    let calls = occurrences(&app, &series).await;
    assert_eq!(calls.len(), 3, "the second's claim made the third");
    assert_eq!(calls[2].scheduled_at(), Some(utc("2026-10-25T08:00:00Z")), "09:00 CET");
    assert_eq!(app.provider.placements(&phone(1)), 1, "the lost one was never dialled");
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn canceling_an_occurrence_skips_only_that_one() {
    let app = spawn_app();
    let (first, series) = start(&app, weekdays_at_nine_in_paris(None)).await;
    app.engine.cancel(first.id()).await.unwrap();
    let calls = occurrences(&app, &series).await;
    assert_eq!(calls.len(), 2, "the next one was made");
    assert_eq!(calls[0].status(), CallStatus::Canceled);
    assert_eq!(calls[1].status(), CallStatus::Scheduled);
    assert_eq!(calls[1].scheduled_at(), Some(utc("2026-10-26T08:00:00Z")), "Monday, not Friday");

    let worker = app.start_worker(config());
    app.clock.set(utc("2026-10-26T08:00:00Z"));
    eventually("the next placed", || status_is(&app, &calls[1], CallStatus::Initiated)).await;
    assert_eq!(app.provider.placements(&phone(1)), 1);
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn canceling_a_series_cancels_its_waiting_call_and_makes_no_more() {
    let app = spawn_app();
    let (_, series) = start(&app, weekdays_at_nine_in_paris(None)).await;
    let canceled = app.engine.cancel_series(&series).await.unwrap();
    assert_eq!(canceled.canceled_at, Some(app.now()));
    let again = app.engine.cancel_series(&series).await.unwrap();
    assert_eq!(again.canceled_at, canceled.canceled_at, "canceled once");
    let calls = occurrences(&app, &series).await;
    assert_eq!(calls.len(), 1, "no next one for a canceled series");
    assert_eq!(calls[0].status(), CallStatus::Canceled);

    let worker = app.start_worker(config());
    app.clock.set(utc("2026-10-27T10:00:00Z"));
    settle().await;
    assert_eq!(app.provider.total_placements(), 0, "nothing is placed");
    let scheduled = ListQuery {
        statuses: vec![StatusFilter::Status(CallStatus::Scheduled)],
        ..ListQuery::default()
    };
    assert!(app.engine.list(&scheduled).await.unwrap().items.is_empty());
    worker.stop().await;

    let unknown = SeriesId::parse("nope").unwrap();
    assert!(matches!(app.engine.cancel_series(&unknown).await, Err(Error::SeriesNotFound(_))));
    assert!(matches!(app.engine.series(&unknown).await, Err(Error::SeriesNotFound(_))));
}

#[tokio::test(start_paused = true)]
async fn a_series_that_cannot_fire_is_refused_and_writes_nothing() {
    let app = spawn_app();
    app.clock.set(utc("2026-10-22T10:00:00Z"));
    let over =
        Recurrence::new("0 9 * * *", "UTC", None, Some(utc("2026-10-22T12:00:00Z"))).unwrap();
    let error = app.engine.schedule(NewCall::to(phone(1)).recurrence(over)).await.unwrap_err();
    assert_eq!(error.validation().map(|e| e.field()), Some("recurrence.until"), "{error}");
    assert!(app.engine.list(&ListQuery::default()).await.unwrap().items.is_empty());
    assert!(app.engine.list_series(None, 10).await.unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_retried_recurring_request_makes_one_series() {
    let app = spawn_app();
    let key = IdempotencyKey::parse("weekly-checkup").unwrap();
    let request = || {
        NewCall::to(phone(1))
            .recurrence(weekdays_at_nine_in_paris(None))
            .idempotency_key(key.clone())
    };
    let first = app.engine.schedule_once(request()).await.unwrap();
    let again = app.engine.schedule_once(request()).await.unwrap();
    assert!(first.is_new() && !again.is_new());
    assert_eq!(first.call().id(), again.call().id());
    assert_eq!(app.engine.list_series(None, 10).await.unwrap().len(), 1, "one series");
    let other = NewCall::to(phone(1))
        .recurrence(weekdays_at_nine_in_paris(Some(3)))
        .idempotency_key(key.clone());
    let refused = app.engine.schedule_once(other).await.unwrap_err();
    assert_eq!(refused.validation().map(|e| e.field()), Some("idempotency_key"));
}
