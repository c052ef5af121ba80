//! Calling windows through the engine and the worker, on a manual clock.
//!
//! 2026-11-23 is a Monday; New York is on EST (-05:00), so 09:00 there is
//! 14:00 UTC and 20:00 is 01:00 UTC the next day.

use std::sync::Arc;

use call_core::{
    Call, CallStatus, CallingWindow, Config, Engine, Error, EventType, NewCall, PhoneNumber,
    Recurrence, Weekdays, WorkerConfig, WorkerId,
    ports::{CallStore, Clock, ListQuery},
    testing::MemoryStore,
};
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::helpers::{TestApp, eventually, secs, settle, spawn_app};

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

fn number(text: &str) -> PhoneNumber {
    PhoneNumber::parse(text).unwrap()
}

fn config() -> WorkerConfig {
    WorkerConfig { worker_id: WorkerId::parse("w1").unwrap(), ..WorkerConfig::default() }
}

/// 09:00-20:00 on weekdays, in the number's own zones.
fn office_hours() -> CallingWindow {
    CallingWindow::hours("09:00-20:00").unwrap().on(Weekdays::parse("days", "mon-fri").unwrap())
}

const NEW_YORK: &str = "+1 212 555 0100";

async fn status_is(app: &TestApp, call: &Call, status: CallStatus) -> bool {
    app.engine.get(call.id()).await.unwrap().status() == status
}

async fn event_types(app: &TestApp, call: &Call) -> Vec<EventType> {
    app.engine.events(call.id()).await.unwrap().iter().map(|e| e.event_type()).collect()
}

#[tokio::test(start_paused = true)]
async fn a_call_due_before_the_window_waits_and_rings_at_the_opening_on_the_second() {
    let app = spawn_app();
    app.clock.set(utc("2026-11-23T11:00:00Z"));
    let to = number(NEW_YORK);
    let call = app
        .engine
        .schedule(
            NewCall::to(to.clone()).at(utc("2026-11-23T12:00:00Z")).calling_window(office_hours()),
        )
        .await
        .unwrap();
    assert_eq!(call.scheduled_at(), Some(utc("2026-11-23T14:00:00Z")), "09:00 in New York");
    assert_eq!(call.calling_window(), Some(&office_hours()));
    let events = app.engine.events(call.id()).await.unwrap();
    assert_eq!(events.len(), 1, "one event says why it waits");
    let metadata = serde_json::Value::Object(events[0].metadata().clone());
    assert_eq!(metadata["waits_for"], "calling_window");
    assert_eq!(metadata["zones"], json!(["America/New_York"]));
    assert_eq!(metadata["due_at"], "2026-11-23T12:00:00.000000Z");
    assert_eq!(metadata["until"], "2026-11-23T14:00:00.000000Z");

    let worker = app.start_worker(config());
    app.clock.set(utc("2026-11-23T13:59:59Z"));
    settle().await;
    assert_eq!(app.provider.placements(&to), 0, "not a second early");
    assert_eq!(app.store.next_due().await.unwrap(), Some(utc("2026-11-23T14:00:00Z")));
    app.clock.set(utc("2026-11-23T14:00:00Z"));
    eventually("placed at the opening", || status_is(&app, &call, CallStatus::Initiated)).await;
    let placed = app.engine.get(call.id()).await.unwrap();
    assert_eq!(placed.initiated_at(), Some(utc("2026-11-23T14:00:00Z")), "on the second");
    assert_eq!(app.provider.placements(&to), 1);
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_number_of_several_zones_rings_only_while_every_zone_is_open() {
    // Southern Idaho may be Boise (MST) or Los Angeles (PST).
    let app = spawn_app();
    app.clock.set(utc("2026-11-23T16:00:00Z"));
    let to = number("+1 208 200 1234");
    let window = CallingWindow::hours("09:00-20:00").unwrap();
    // 09:30 in Boise is 08:30 in Los Angeles: it waits for 09:00 there.
    let call = app
        .engine
        .schedule(NewCall::to(to.clone()).at(utc("2026-11-23T16:30:00Z")).calling_window(window))
        .await
        .unwrap();
    assert_eq!(call.scheduled_at(), Some(utc("2026-11-23T17:00:00Z")));
    let events = app.engine.events(call.id()).await.unwrap();
    assert_eq!(events[0].metadata()["zones"], json!(["America/Boise", "America/Los_Angeles"]));

    let worker = app.start_worker(config());
    app.clock.set(utc("2026-11-23T16:59:59Z"));
    settle().await;
    assert_eq!(app.provider.placements(&to), 0, "closed in Los Angeles");
    app.clock.set(utc("2026-11-23T17:00:00Z"));
    eventually("placed once both are open", || status_is(&app, &call, CallStatus::Initiated)).await;
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_call_claimed_after_its_window_closed_waits_for_the_next_opening() {
    let app = spawn_app();
    app.clock.set(utc("2026-11-23T23:00:00Z"));
    let to = number(NEW_YORK);
    // Due at 19:00 in New York, inside the window...
    let call = app
        .engine
        .schedule(
            NewCall::to(to.clone()).at(utc("2026-11-24T00:00:00Z")).calling_window(office_hours()),
        )
        .await
        .unwrap();
    assert_eq!(call.scheduled_at(), Some(utc("2026-11-24T00:00:00Z")));
    // ...but no worker runs until 20:30 there, after it closed.
    app.clock.set(utc("2026-11-24T01:30:00Z"));
    let worker = app.start_worker(config());
    eventually("back to wait", || status_is(&app, &call, CallStatus::Scheduled)).await;
    eventually("moved to the next opening", || async {
        app.engine.get(call.id()).await.unwrap().scheduled_at() == Some(utc("2026-11-24T14:00:00Z"))
    })
    .await;
    assert_eq!(app.provider.placements(&to), 0, "not placed outside the window");
    // Rounds go by; the waiting call costs nothing and says why once.
    app.advance(secs(600), secs(60)).await;
    assert_eq!(
        event_types(&app, &call).await,
        [EventType::CallScheduled, EventType::CallDispatched, EventType::CallRescheduled]
    );
    let events = app.engine.events(call.id()).await.unwrap();
    assert_eq!(events[2].metadata()["waits_for"], "calling_window");
    assert_eq!(events[2].metadata()["until"], "2026-11-24T14:00:00.000000Z");
    let waiting = app.engine.get(call.id()).await.unwrap();
    assert_eq!(waiting.lease(), None, "the claim is let go");

    app.clock.set(utc("2026-11-24T14:00:00Z"));
    eventually("placed at the opening", || status_is(&app, &call, CallStatus::Initiated)).await;
    assert_eq!(app.provider.placements(&to), 1);
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn rescheduling_obeys_the_window_and_a_caller_cannot_move_a_claimed_call() {
    let app = spawn_app();
    app.clock.set(utc("2026-11-23T15:00:00Z"));
    let call = app
        .engine
        .schedule(
            NewCall::to(number(NEW_YORK))
                .at(utc("2026-11-23T16:00:00Z"))
                .calling_window(office_hours()),
        )
        .await
        .unwrap();
    // Saturday noon moves to Monday 09:00.
    let moved = app.engine.reschedule(call.id(), utc("2026-11-28T17:00:00Z")).await.unwrap();
    assert_eq!(moved.scheduled_at(), Some(utc("2026-11-30T14:00:00Z")));
    let events = app.engine.events(call.id()).await.unwrap();
    let metadata = events.last().unwrap().metadata();
    assert_eq!(metadata["to"], "2026-11-30T14:00:00.000000Z");
    assert_eq!(metadata["due_at"], "2026-11-28T17:00:00.000000Z");
    assert_eq!(metadata["waits_for"], "calling_window");

    // The worker's way back to `scheduled` is not the caller's.
    app.clock.set(utc("2026-11-30T14:00:00Z"));
    let claimed = app.engine.get(call.id()).await.unwrap();
    let worker = app.start_worker(config());
    eventually("placed", || status_is(&app, &claimed, CallStatus::Initiated)).await;
    worker.stop().await;
    let error = app.engine.reschedule(call.id(), utc("2026-12-01T15:00:00Z")).await.unwrap_err();
    assert!(matches!(error, Error::InvalidTransition(_)), "{error:?}");
}

#[tokio::test(start_paused = true)]
async fn a_window_that_never_opens_is_refused_and_nothing_is_written() {
    let app = spawn_app();
    let narrow = CallingWindow::hours("09:00-09:30").unwrap();
    let error = app
        .engine
        .schedule(NewCall::to(number("+1 208 200 1234")).calling_window(narrow))
        .await
        .unwrap_err();
    let Error::Validation(error) = error else { panic!("{error:?}") };
    assert_eq!(error.field(), "calling_window");
    assert!(error.message().contains("America/Boise, America/Los_Angeles"), "{}", error.message());
    let listed = app.engine.list(&ListQuery::default()).await.unwrap();
    assert!(listed.items.is_empty(), "nothing was written");
}

#[tokio::test(start_paused = true)]
async fn the_engines_default_window_fills_what_a_call_leaves_out() {
    let clock = Arc::new(call_core::ports::ManualClock::new(utc("2026-11-23T13:00:00Z")));
    let store = Arc::new(MemoryStore::new());
    let config = Config {
        default_window: CallingWindow::hours("08:00-21:00").unwrap(),
        ..Config::default()
    };
    let engine = Engine::builder(store).clock(clock.clone()).config(config).build();
    // 22:00 in Tokyo waits for 08:00 there (23:00 UTC).
    let tokyo = CallingWindow::new(Some("Asia/Tokyo"), None, None, None).unwrap();
    let call = engine.schedule(NewCall::to(number(NEW_YORK)).calling_window(tokyo)).await.unwrap();
    assert_eq!(call.scheduled_at(), Some(utc("2026-11-23T23:00:00Z")));
    assert_eq!(
        call.calling_window().map(ToString::to_string).as_deref(),
        Some("tz=Asia/Tokyo;start=08:00;end=21:00")
    );
    // Without a window of its own, a call takes the default in its number's zone:
    // 08:00 in New York is 13:00 UTC, now.
    let plain = engine.schedule(NewCall::to(number(NEW_YORK))).await.unwrap();
    assert_eq!(plain.scheduled_at(), Some(clock.now()));
    // A call with no window and no default has none.
    let unrestricted = Engine::builder(Arc::new(MemoryStore::new())).clock(clock).build();
    let call = unrestricted.schedule(NewCall::to(number(NEW_YORK))).await.unwrap();
    assert_eq!(call.calling_window(), None);
}

#[tokio::test(start_paused = true)]
async fn a_series_occurrence_outside_the_window_rings_at_its_opening() {
    let app = spawn_app();
    app.clock.set(utc("2026-11-23T11:00:00Z"));
    let to = number(NEW_YORK);
    // Every day at 07:00 in New York, but the window opens at 09:00.
    let recurrence = Recurrence::new("0 7 * * *", "America/New_York", Some(2), None).unwrap();
    let first = app
        .engine
        .schedule(NewCall::to(to.clone()).recurrence(recurrence).calling_window(office_hours()))
        .await
        .unwrap();
    assert_eq!(first.scheduled_at(), Some(utc("2026-11-23T14:00:00Z")));
    let worker = app.start_worker(config());
    app.clock.set(utc("2026-11-23T14:00:00Z"));
    eventually("the first is placed", || status_is(&app, &first, CallStatus::Initiated)).await;
    let series = first.occurrence().unwrap().series_id.clone();
    let query = ListQuery {
        series: Some(series),
        statuses: vec![call_core::StatusFilter::Status(CallStatus::Scheduled)],
        ..ListQuery::default()
    };
    let next = app.engine.list(&query).await.unwrap().items;
    assert_eq!(next.len(), 1);
    assert_eq!(
        next[0].scheduled_at(),
        Some(utc("2026-11-24T14:00:00Z")),
        "Tuesday 09:00, not 07:00"
    );
    assert_eq!(next[0].calling_window(), Some(&office_hours()), "it keeps the window");
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_worker_holds_a_call_scheduled_without_a_window_to_its_default() {
    // Scheduled by a process with no default window, placed by one with
    // 08:00-21:00: due at 06:00 in New York, it rings at 08:00 there.
    let app = spawn_app();
    app.clock.set(utc("2026-11-23T11:00:00Z"));
    let to = number(NEW_YORK);
    let call = app.engine.schedule(NewCall::to(to.clone())).await.unwrap();
    assert_eq!(call.calling_window(), None);
    let settings = Config {
        default_window: CallingWindow::hours("08:00-21:00").unwrap(),
        ..Config::default()
    };
    let engine =
        Engine::builder(app.store.clone()).clock(app.clock.clone()).config(settings).build();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(engine.worker(app.provider.clone(), config()).unwrap().run(async {
        let _ = stopped.await;
    }));
    eventually("held to the default window", || async {
        app.engine.get(call.id()).await.unwrap().scheduled_at() == Some(utc("2026-11-23T13:00:00Z"))
    })
    .await;
    assert_eq!(app.provider.placements(&to), 0);
    app.clock.set(utc("2026-11-23T13:00:00Z"));
    eventually("placed at 08:00", || status_is(&app, &call, CallStatus::Initiated)).await;
    let _ = stop.send(());
    worker.await.unwrap();
}
