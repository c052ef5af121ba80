//! The [`CallStore`] contract as an executable suite.
//!
//! Every store implementation runs it from its own tests:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use std::sync::Arc;
//! use call_core::{ports::CallStore, testing::{MemoryStore, conformance}};
//!
//! conformance::run(|| async { Arc::new(MemoryStore::new()) as Arc<dyn CallStore> }).await;
//! # }
//! ```
//!
//! Each check gets a fresh store from the factory and panics, naming the
//! check and what differed, when the store breaks the contract. A store
//! that several processes can share also runs [`run_shared`], whose checks
//! take two stores on one storage.

use std::{collections::HashSet, future::Future, sync::Arc};

use chrono::{DateTime, DurationRound, TimeDelta, TimeZone, Utc};
use serde_json::{Map, json};

use crate::{
    AgentId, Call, CallEvent, CallId, CallParts, CallStatus, Direction, EventId, EventSource,
    EventType, HeldKey, IdempotencyKey, Lease, Occurrence, Pause, PhoneNumber, QueueId, Recurrence,
    Series, SeriesId, StatusFilter, StatusGroup, WorkerId,
    ports::{
        CallStore, Claim, Claimed, Cursor, HistoryQuery, LeaseRenewal, ListQuery, MinuteTotals,
        Queue, StoreError,
    },
    rules::AlertKind,
};

/// Runs every check of the contract, each on a fresh store from `make_store`.
///
/// # Panics
///
/// When the store breaks the contract: the message names the check.
pub async fn run<F, Fut>(make_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn CallStore>>,
{
    insert_and_get(make_store().await).await;
    a_read_to_change_is_the_call_as_written(make_store().await).await;
    insert_is_all_or_nothing(make_store().await).await;
    keyed_inserts_take_each_key_once(make_store().await).await;
    save_checks_the_version(make_store().await).await;
    save_refuses_recorded_event_ids(make_store().await).await;
    save_and_insert_is_all_or_nothing(make_store().await).await;
    get_by_external_id(make_store().await).await;
    list_filters_and_pages(make_store().await).await;
    claim_takes_due_calls_once(make_store().await).await;
    a_claim_takes_only_calls_made_by_its_now(make_store().await).await;
    concurrent_claims_never_overlap(make_store().await).await;
    next_due_is_the_earliest_moment(make_store().await).await;
    pauses_hold_claims_until_lifted(make_store().await).await;
    do_not_call_list(make_store().await).await;
    claims_cancel_listed_numbers(make_store().await).await;
    a_claimed_occurrence_makes_the_next_once(make_store().await).await;
    series_are_listed_and_canceled(make_store().await).await;
    deadlines_and_expired_leases(make_store().await).await;
    renewals_extend_only_the_workers_live_leases(make_store().await).await;
    following_lists_placed_live_calls(make_store().await).await;
    history_of_a_number(make_store().await).await;
    the_log_is_read_in_the_order_it_was_written(make_store().await).await;
    history_is_by_when_calls_took_place(make_store().await).await;
    alerts_are_records_written_with_their_events(make_store().await).await;
    queue_registry(make_store().await).await;
    stats_inputs(make_store().await).await;
    minute_totals(make_store().await).await;
    count_by_status(make_store().await).await;
}

/// Runs the checks that need two stores on one storage, as two processes
/// (or two machines) would open it: `make_pair` answers two stores on a
/// fresh, shared storage for each check. A store that only one process can
/// use (such as [`MemoryStore`](super::MemoryStore)) passes the same store
/// twice.
///
/// # Panics
///
/// When the stores break the contract: the message names the check.
pub async fn run_shared<F, Fut>(make_pair: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = (Arc<dyn CallStore>, Arc<dyn CallStore>)>,
{
    each_store_sees_the_others_writes(make_pair().await).await;
    claims_from_two_stores_never_overlap(make_pair().await).await;
    a_save_racing_a_claim_loses_or_wins_whole(make_pair().await).await;
    one_key_racing_on_two_stores_makes_one_call(make_pair().await).await;
    a_pause_holds_every_store(make_pair().await).await;
    one_occurrence_racing_on_two_stores_advances_once(make_pair().await).await;
    a_number_listed_on_one_store_is_never_claimed_on_the_other(make_pair().await).await;
    a_reader_of_the_log_misses_nothing(make_pair().await).await;
    a_change_decided_on_what_the_other_replaced_is_decided_again(make_pair().await).await;
}

/// For a store that announces other processes' writes
/// ([`CallStore::announcements`]): a worker on one store, with a recheck
/// interval of a minute, places a call scheduled "now" through the other
/// within two seconds, so it was woken, not rechecking; and a call held by
/// a pause, once the pause is lifted through the other store. Answers how
/// long the first took, on the real clock.
///
/// # Panics
///
/// When the call was not placed within two seconds.
pub async fn run_wakeups(
    (worker_store, other): (Arc<dyn CallStore>, Arc<dyn CallStore>),
) -> std::time::Duration {
    use crate::{
        Engine, NewCall, WorkerConfig,
        ports::{Clock, SystemClock},
        testing::FakeProvider,
    };

    let clock = Arc::new(SystemClock);
    let worker_engine = Engine::builder(worker_store).clock(clock.clone()).build();
    let config =
        WorkerConfig { recheck_interval: std::time::Duration::from_secs(60), ..Default::default() };
    let provider = Arc::new(FakeProvider::new(clock.clone()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(
        worker_engine.worker(provider.clone(), config).expect("a worker config").run(async {
            let _ = stopped.await;
        }),
    );
    // Warm the other store's connection and statements with a call due
    // later than the worker's plan (which wakes nobody), and let the worker
    // go to sleep on its minute-long plan.
    let scheduling = Engine::builder(other).clock(clock.clone()).build();
    let later = clock.now() + TimeDelta::hours(1);
    scheduling.schedule(NewCall::to(phone(8)).at(later)).await.expect("run_wakeups: schedule");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    let call = scheduling.schedule(NewCall::to(phone(7))).await.expect("run_wakeups: schedule");
    while provider.total_placements() == 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "run_wakeups: a call scheduled through another store was not placed within 2 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    let waited = started.elapsed();

    // A pause lifted through the other store wakes the worker too.
    scheduling.pause(None, None).await.expect("run_wakeups: pause");
    let held = scheduling.schedule(NewCall::to(phone(6))).await.expect("run_wakeups: schedule");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(provider.placements(held.to().unwrap()), 0, "run_wakeups: held by the pause");
    let resumed = std::time::Instant::now();
    scheduling.resume(None).await.expect("run_wakeups: resume");
    while provider.placements(held.to().unwrap()) == 0 {
        assert!(
            resumed.elapsed() < std::time::Duration::from_secs(2),
            "run_wakeups: a pause lifted through another store did not wake the worker within 2 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }

    let _ = stop.send(());
    worker.await.expect("run_wakeups: the worker stopped");
    assert_eq!(provider.placements(call.to().unwrap()), 1, "run_wakeups: placed once");
    waited
}

type Pair = (Arc<dyn CallStore>, Arc<dyn CallStore>);

async fn each_store_sees_the_others_writes((a, b): Pair) {
    let call_a = call("a", 0, |_| {});
    insert_all(&a, std::slice::from_ref(&call_a)).await;
    assert_eq!(
        b.get(call_a.id()).await.unwrap().as_ref(),
        Some(&call_a),
        "each_store_sees_the_others_writes: an insert"
    );
    let saved_by_b = next_version(&call_a, |p| p.customer_name = Some("b".into()));
    b.save(&saved_by_b, &[event(&saved_by_b, "e1", EventType::CallFlagged, t(1))]).await.unwrap();
    let stale = next_version(&call_a, |p| p.customer_name = Some("stale".into()));
    assert_eq!(
        a.save(&stale, &[event(&stale, "e2", EventType::CallFlagged, t(2))]).await,
        Err(StoreError::Conflict { id: call_a.id().clone(), expected: 1 }),
        "each_store_sees_the_others_writes: a save based on what the other replaced"
    );
    assert_eq!(a.events(call_a.id()).await.unwrap().len(), 1, "only the first save's event");
    assert_eq!(
        a.event(&EventId::parse("e1").unwrap()).await.unwrap().map(|e| e.call_id().clone()),
        Some(call_a.id().clone()),
        "each_store_sees_the_others_writes: an event"
    );
}

/// Two engines, one on each store, report one call's lifecycle in turns:
/// each event is decided on what the other wrote, however a store answers
/// [`CallStore::get_to_change`] (a cache of what it last wrote may be a
/// step behind). A transition refused on an old read (`call_hold` on a
/// call the other answered), and a save on one (`call_ended` on a call the
/// other resumed), are decided again on what is stored.
async fn a_change_decided_on_what_the_other_replaced_is_decided_again((a, b): Pair) {
    use crate::{Engine, IncomingEvent, Initiated, Lifecycle, ports::ManualClock};

    let clock = Arc::new(ManualClock::new(t(0)));
    let on_a = Engine::builder(a).clock(clock.clone()).build();
    let on_b = Engine::builder(b.clone()).clock(clock.clone()).build();
    let id = CallId::parse("two-engines").unwrap();
    let report = |engine: &Engine, lifecycle: Lifecycle| {
        let (engine, id) = (engine.clone(), id.clone());
        async move {
            let event = IncomingEvent {
                call_id: id,
                event_id: None,
                timestamp: None,
                source: EventSource::Api,
                lifecycle,
            };
            engine
                .ingest(event)
                .await
                .map(|ingested| ingested.call.status())
                .map_err(|e| e.to_string())
        }
    };
    let what = "a_change_decided_on_what_the_other_replaced_is_decided_again";
    let initiated = Lifecycle::Initiated(Initiated::default());
    assert_eq!(report(&on_a, initiated).await, Ok(CallStatus::Initiated), "{what}");
    clock.advance(std::time::Duration::from_secs(1));
    let answered = Lifecycle::Answered { wait_time: None };
    assert_eq!(report(&on_b, answered).await, Ok(CallStatus::Active), "{what}");
    clock.advance(std::time::Duration::from_secs(1));
    let hold = Lifecycle::Hold { hold_duration: None };
    assert_eq!(report(&on_a, hold).await, Ok(CallStatus::OnHold), "{what}: hold after answered");
    clock.advance(std::time::Duration::from_secs(1));
    assert_eq!(report(&on_b, Lifecycle::Resumed).await, Ok(CallStatus::Active), "{what}");
    clock.advance(std::time::Duration::from_secs(1));
    let ended = Lifecycle::Ended { end_reason: None, duration: None };
    assert_eq!(
        report(&on_a, ended).await,
        Ok(CallStatus::Completed),
        "{what}: ended after resumed"
    );
    let types: Vec<EventType> =
        b.events(&id).await.unwrap().iter().map(CallEvent::event_type).collect();
    for expected in [
        EventType::CallInitiated,
        EventType::CallAnswered,
        EventType::CallHold,
        EventType::CallResumed,
        EventType::CallEnded,
    ] {
        let n = types.iter().filter(|t| **t == expected).count();
        assert_eq!(n, 1, "{what}: one {expected:?} in {types:?}");
    }
}

/// Writers on one store save calls side by side while a reader on the other
/// follows the log from where it last read; afterwards the reader has read
/// every entry, once: a position handed out before another but committed
/// after it would be passed over.
async fn a_reader_of_the_log_misses_nothing((a, b): Pair) {
    const CALLS: usize = 40;
    const SAVES: usize = 10;
    let calls: Vec<Call> = (0..CALLS).map(|i| call(&format!("l{i:02}"), 0, |_| {})).collect();
    insert_all(&a, &calls).await;
    let start = a.log_head().await.unwrap();
    let writers: Vec<_> = calls
        .into_iter()
        .map(|mut call| {
            let store = a.clone();
            tokio::spawn(async move {
                for n in 0..SAVES {
                    call = next_version(&call, |p| p.customer_name = Some(format!("v{n}")));
                    let e =
                        event(&call, &format!("{}-{n}", call.id()), EventType::CallFlagged, t(1));
                    store.save(&call, &[e]).await.unwrap();
                }
            })
        })
        .collect();
    let done = all_done(writers);
    tokio::pin!(done);
    let (mut read, mut last) = (Vec::new(), start);
    loop {
        let finished = tokio::select! {
            () = &mut done => true,
            () = tokio::task::yield_now() => false,
        };
        loop {
            let page = b.log_after(last, 7).await.unwrap();
            let Some(end) = page.last() else { break };
            last = end.seq;
            read.extend(page.into_iter().map(|e| (e.seq, e.event.id().clone())));
        }
        if finished {
            break;
        }
    }
    let all: Vec<(u64, EventId)> = a
        .log_after(start, usize::MAX)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.seq, e.event.id().clone()))
        .collect();
    assert_eq!(all.len(), CALLS * SAVES, "a_reader_of_the_log_misses_nothing: every save logged");
    let missed: Vec<&(u64, EventId)> = all.iter().filter(|e| !read.contains(e)).collect();
    assert_eq!(
        missed,
        [] as [&(u64, EventId); 0],
        "a_reader_of_the_log_misses_nothing: passed over"
    );
    assert_eq!(read, all, "a_reader_of_the_log_misses_nothing: read as it was written, once");
}

/// Waits for every task; a task's panic is the caller's.
async fn all_done(tasks: Vec<tokio::task::JoinHandle<()>>) {
    for task in tasks {
        task.await.expect("a writer panicked");
    }
}

async fn claims_from_two_stores_never_overlap((a, b): Pair) {
    let calls: Vec<Call> =
        (0..300).map(|i| call(&format!("c{i:03}"), 0, |p| p.scheduled_at = Some(t(-1)))).collect();
    insert_all(&a, &calls).await;
    let all = claim_all_at_once(&[a, b.clone()]).await;
    let unique: HashSet<&CallId> = all.iter().collect();
    assert_eq!(all.len(), 300, "claims_from_two_stores_never_overlap: every call claimed once");
    assert_eq!(unique.len(), 300, "claims_from_two_stores_never_overlap: no call claimed twice");
    for call in &calls {
        let events = b.events(call.id()).await.unwrap();
        assert_eq!(
            events.iter().map(CallEvent::event_type).collect::<Vec<_>>(),
            [EventType::CallDispatched],
            "claims_from_two_stores_never_overlap: one call_dispatched each"
        );
    }
}

/// A pause recorded through one store holds the claims of the other, and a
/// resume through the other lifts it.
async fn a_pause_holds_every_store((a, b): Pair) {
    let check = "a_pause_holds_every_store";
    insert_all(&a, &[call("held", 0, |p| p.scheduled_at = Some(t(-1)))]).await;
    a.pause(&pause_of(None, None)).await.unwrap();
    assert_eq!(b.pauses().await.unwrap(), [pause_of(None, None)], "{check}: seen by the other");
    assert_eq!(claim_names(&b, 0).await, Vec::<String>::new(), "{check}: the other claims nothing");
    assert_eq!(b.next_due().await.unwrap(), None, "{check}: nothing due for the other");
    assert!(b.resume(None).await.unwrap(), "{check}: lifted through the other");
    assert_eq!(claim_names(&a, 0).await, ["held"], "{check}: claimed once lifted");
}

/// Eight writers on two stores insert a call each under one key at once:
/// one call is made, and every other writer is answered with its key.
async fn one_key_racing_on_two_stores_makes_one_call((a, b): Pair) {
    let check = "one_key_racing_on_two_stores_makes_one_call";
    let barrier = Arc::new(tokio::sync::Barrier::new(8));
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            let barrier = barrier.clone();
            tokio::spawn(async move {
                let mine = call(&format!("racer{i}"), 0, |_| {});
                let key = held_key("the-key", &mine, "same", 100);
                let events = [event(&mine, &format!("e{i}"), EventType::CallScheduled, t(0))];
                barrier.wait().await;
                let held = store
                    .insert_keyed(std::slice::from_ref(&mine), &events, &[], &[key], t(0))
                    .await
                    .expect("insert_keyed");
                (mine, held)
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut answered = Vec::new();
    for task in tasks {
        let (mine, held) = task.await.unwrap();
        match held.as_slice() {
            [] => winners.push(mine),
            [key] => answered.push(key.call_id.clone()),
            more => panic!("{check}: one key answered as {more:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "{check}: one writer makes the call");
    let winner = winners[0].id().clone();
    assert!(answered.iter().all(|id| *id == winner), "{check}: the others get the winner's call");
    for i in 0..8 {
        let stored = b.get(&id(&format!("racer{i}"))).await.unwrap();
        assert_eq!(stored.is_some(), id(&format!("racer{i}")) == winner, "{check}: one call");
    }
}

/// Eight writers on two stores advance one occurrence at once: one makes
/// the next, the others nothing.
async fn one_occurrence_racing_on_two_stores_advances_once((a, b): Pair) {
    let check = "one_occurrence_racing_on_two_stores_advances_once";
    let (series, first) = a_series("race", None);
    insert_series(&a, &series, &first).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(8));
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            let (barrier, first) = (barrier.clone(), first.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store.advance_series(&first, t(1)).await.expect("advance_series")
            })
        })
        .collect();
    let mut made = 0;
    for task in tasks {
        made += usize::from(task.await.unwrap().is_some());
    }
    assert_eq!(made, 1, "{check}: one writer makes the next occurrence");
    let stored = b.series(&series.id).await.unwrap().expect("the series");
    assert_eq!(stored.occurrences, 2, "{check}: counted once");
    assert_eq!(occurrences_of(&a, &series.id).await.len(), 2, "{check}: two calls in all");
}

/// A claim on one store and a cancel (a save of the version read before)
/// on the other race for each of 100 due calls: each call ends claimed or
/// canceled, never both, and its log holds the winner's event alone.
async fn a_save_racing_a_claim_loses_or_wins_whole((a, b): Pair) {
    let calls: Vec<Call> =
        (0..100).map(|i| call(&format!("r{i:03}"), 0, |p| p.scheduled_at = Some(t(-1)))).collect();
    insert_all(&a, &calls).await;
    let claimer = tokio::spawn({
        let a = a.clone();
        async move {
            let claim = Claim {
                now: t(0),
                worker: WorkerId::parse("claimer").unwrap(),
                lease_until: t(30),
                limit: 3,
            };
            let mut claimed = HashSet::new();
            loop {
                let batch = a.claim_due(&claim).await.unwrap();
                if batch.is_empty() {
                    return claimed;
                }
                claimed.extend(batch.into_iter().map(|c| c.call.id().clone()));
                tokio::task::yield_now().await;
            }
        }
    });
    let canceler = tokio::spawn({
        let calls = calls.clone();
        async move {
            let mut canceled = HashSet::new();
            for (i, call) in calls.iter().enumerate() {
                let next = next_version(call, |p| p.status = CallStatus::Canceled);
                let cancel = event(&next, &format!("cancel-{i}"), EventType::CallCanceled, t(0));
                match b.save(&next, &[cancel]).await {
                    Ok(()) => {
                        canceled.insert(call.id().clone());
                    }
                    Err(StoreError::Conflict { .. }) => {}
                    Err(other) => panic!("a_save_racing_a_claim: unexpected {other}"),
                }
                tokio::task::yield_now().await;
            }
            canceled
        }
    });
    let claimed = claimer.await.unwrap();
    let canceled = canceler.await.unwrap();
    assert!(
        claimed.is_disjoint(&canceled),
        "a_save_racing_a_claim: a call both claimed and canceled"
    );
    assert_eq!(
        claimed.len() + canceled.len(),
        100,
        "a_save_racing_a_claim: every call claimed or canceled"
    );
    for call in &calls {
        let stored = a.get(call.id()).await.unwrap().unwrap();
        let log: Vec<EventType> =
            a.events(call.id()).await.unwrap().iter().map(CallEvent::event_type).collect();
        let (status, logged) = if claimed.contains(call.id()) {
            (CallStatus::Dispatching, EventType::CallDispatched)
        } else {
            (CallStatus::Canceled, EventType::CallCanceled)
        };
        assert_eq!(stored.status(), status, "a_save_racing_a_claim: the winner's status");
        assert_eq!(stored.version(), 2, "a_save_racing_a_claim: one change");
        assert_eq!(log, [logged], "a_save_racing_a_claim: the winner's event alone");
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap() + TimeDelta::microseconds(123_456)
}

fn t(seconds: i64) -> DateTime<Utc> {
    t0() + TimeDelta::seconds(seconds)
}

fn phone(n: u32) -> PhoneNumber {
    PhoneNumber::parse(&format!("+1415555{n:04}")).unwrap()
}

fn id(name: &str) -> CallId {
    CallId::parse(name).unwrap()
}

/// A scheduled outbound call to `phone(1)` created at `t(created)`; `edit` shapes it.
fn call(name: &str, created: i64, edit: impl FnOnce(&mut CallParts)) -> Call {
    let mut parts = CallParts {
        to: Some(phone(1)),
        customer_name: Some(format!("customer {name}")),
        workflow: Some("support".into()),
        metadata: json!({ "ticket": 7, "tags": ["a", "b"] }).as_object().cloned().unwrap(),
        scheduled_at: Some(t(created + 60)),
        version: 1,
        ..CallParts::new(id(name), Direction::Outbound, CallStatus::Scheduled, t(created))
    };
    edit(&mut parts);
    Call::from_parts(parts)
}

/// `call` changed by `edit`, one version on.
fn next_version(call: &Call, edit: impl FnOnce(&mut CallParts)) -> Call {
    let mut parts = call.parts().clone();
    parts.version += 1;
    edit(&mut parts);
    Call::from_parts(parts)
}

fn event(call: &Call, event_id: &str, event_type: EventType, at: DateTime<Utc>) -> CallEvent {
    let metadata: Map<String, serde_json::Value> =
        json!({ "n": event_id }).as_object().cloned().unwrap();
    CallEvent::new(
        EventId::parse(event_id).unwrap(),
        call.id().clone(),
        event_type,
        at,
        at,
        EventSource::Api,
        metadata,
    )
}

async fn insert_all(store: &Arc<dyn CallStore>, calls: &[Call]) {
    store.insert(calls, &[]).await.expect("insert");
}

fn ids(calls: &[Call]) -> Vec<&str> {
    calls.iter().map(|c| c.id().as_str()).collect()
}

async fn the_log_is_read_in_the_order_it_was_written(store: Arc<dyn CallStore>) {
    let name = "the_log_is_read_in_the_order_it_was_written";
    assert_eq!(store.log_head().await.unwrap(), 0, "{name}: an empty log's head");
    assert_eq!(store.log_after(0, 10).await.unwrap(), [], "{name}: an empty log");
    let (x, y) = (call("x", 0, |_| {}), call("y", 0, |_| {}));
    store
        .insert(&[x.clone(), y.clone()], &[event(&x, "x1", EventType::CallScheduled, t(0))])
        .await
        .unwrap();
    let y2 = next_version(&y, |p| p.customer_name = Some("y2".into()));
    store.save(&y2, &[event(&y2, "y1", EventType::CallFlagged, t(1))]).await.unwrap();
    let x2 = next_version(&x, |p| p.customer_name = Some("x2".into()));
    let written = [
        event(&x2, "x2", EventType::CallFlagged, t(2)),
        event(&x2, "x3", EventType::CallFlagged, t(2)),
    ];
    store.save(&x2, &written).await.unwrap();
    let log = store.log_after(0, 10).await.unwrap();
    let read: Vec<(&str, &str)> =
        log.iter().map(|e| (e.event.id().as_str(), e.call.id().as_str())).collect();
    assert_eq!(read, [("x1", "x"), ("y1", "y"), ("x2", "x"), ("x3", "x")], "{name}: in order");
    assert!(log.windows(2).all(|w| w[0].seq < w[1].seq), "{name}: positions grow: {log:?}");
    assert_eq!(log[0].call, x2, "{name}: each entry's call as it is now");
    assert_eq!(log[1].call, y2, "{name}: each entry's call as it is now");
    assert_eq!(store.log_head().await.unwrap(), log[3].seq, "{name}: the head is the last");
    let rest = store.log_after(log[1].seq, 1).await.unwrap();
    assert_eq!(rest, [log[2].clone()], "{name}: after a position, at most the limit");
    assert_eq!(
        store.log_after(log[3].seq, 10).await.unwrap(),
        [],
        "{name}: nothing after the head"
    );
}

async fn insert_and_get(store: Arc<dyn CallStore>) {
    let a = call("a", 0, |p| {
        p.from = Some(phone(9));
        p.flags = [crate::Flag::Rerouted, crate::Flag::ShortCall].into_iter().collect();
        p.wait_seconds = Some(1.5);
        p.lease = Some(Lease { worker: WorkerId::parse("w").unwrap(), expires_at: t(5) });
        p.calling_window = Some(
            "tz=America/New_York;start=09:00;end=20:00;days=mon,tue,wed,thu,fri".parse().unwrap(),
        );
        p.redial = Some("on=busy,no_answer;max=3;delay=10m".parse().unwrap());
        p.redial_attempt = 2;
        p.redial_of = Some(id("before-a"));
    });
    let b = call("b", 1, |p| {
        p.direction = Direction::Inbound;
        p.to = None;
        p.status = CallStatus::Initiated;
        p.scheduled_at = None;
    });
    let events = [
        event(&a, "e1", EventType::CallScheduled, t(0)),
        event(&a, "e2", EventType::CallFlagged, t(0)),
    ];
    store.insert(&[a.clone(), b.clone()], &events).await.expect("insert_and_get: insert");
    assert_eq!(
        store.get(a.id()).await.unwrap().as_ref(),
        Some(&a),
        "insert_and_get: every field of a call survives"
    );
    assert_eq!(
        store.get(b.id()).await.unwrap().as_ref(),
        Some(&b),
        "insert_and_get: absent fields stay absent"
    );
    assert_eq!(store.get(&id("nope")).await.unwrap(), None, "insert_and_get: unknown id");
    assert_eq!(
        store.events(a.id()).await.unwrap(),
        events,
        "insert_and_get: events in order, every field"
    );
    assert_eq!(store.events(b.id()).await.unwrap(), [], "insert_and_get: no events");
    assert_eq!(
        store.event(&EventId::parse("e2").unwrap()).await.unwrap().as_ref(),
        Some(&events[1])
    );
    assert_eq!(store.event(&EventId::parse("e3").unwrap()).await.unwrap(), None);
}

/// [`CallStore::get_to_change`] answers what this store wrote: a call
/// inserted, then saved, then refused a stale save; never a call that is
/// not there.
async fn a_read_to_change_is_the_call_as_written(store: Arc<dyn CallStore>) {
    let what = "a_read_to_change_is_the_call_as_written";
    let first = call("r", 0, |_| {});
    insert_all(&store, std::slice::from_ref(&first)).await;
    let read = |id: CallId| {
        let store = store.clone();
        async move { store.get_to_change(&id).await.unwrap().map(|read| read.call) }
    };
    assert_eq!(read(first.id().clone()).await.as_ref(), Some(&first), "{what}: inserted");
    let second = next_version(&first, |p| p.customer_name = Some("second".into()));
    store.save(&second, &[event(&second, "r1", EventType::CallFlagged, t(1))]).await.unwrap();
    assert_eq!(read(first.id().clone()).await.as_ref(), Some(&second), "{what}: saved");
    let stale = next_version(&first, |p| p.customer_name = Some("stale".into()));
    assert!(store.save(&stale, &[]).await.is_err(), "{what}: a stale save is refused");
    assert_eq!(read(first.id().clone()).await.as_ref(), Some(&second), "{what}: after a refusal");
    assert_eq!(read(CallId::parse("nosuch").unwrap()).await, None, "{what}: no such call");
}

async fn insert_is_all_or_nothing(store: Arc<dyn CallStore>) {
    let a = call("a", 0, |_| {});
    store
        .insert(std::slice::from_ref(&a), &[event(&a, "e1", EventType::CallScheduled, t(0))])
        .await
        .unwrap();
    let b = call("b", 1, |_| {});
    let error = store.insert(&[b.clone(), call("a", 2, |_| {})], &[]).await.unwrap_err();
    assert_eq!(
        error,
        StoreError::DuplicateCall(id("a")),
        "insert_is_all_or_nothing: duplicate call"
    );
    assert_eq!(store.get(b.id()).await.unwrap(), None, "insert_is_all_or_nothing: nothing written");
    let error = store
        .insert(std::slice::from_ref(&b), &[event(&b, "e1", EventType::CallScheduled, t(1))])
        .await
        .unwrap_err();
    assert_eq!(
        error,
        StoreError::DuplicateEvent(EventId::parse("e1").unwrap()),
        "insert_is_all_or_nothing: duplicate event"
    );
    assert_eq!(store.get(b.id()).await.unwrap(), None, "insert_is_all_or_nothing: nothing written");
    assert_eq!(
        store.get(a.id()).await.unwrap().as_ref(),
        Some(&a),
        "insert_is_all_or_nothing: first call intact"
    );
}

/// The key `key` held by `call` until `t(expires)`, for the request `fingerprint`.
fn held_key(key: &str, call: &Call, fingerprint: &str, expires: i64) -> HeldKey {
    HeldKey {
        key: IdempotencyKey::parse(key).unwrap(),
        fingerprint: fingerprint.into(),
        call_id: call.id().clone(),
        expires_at: t(expires),
    }
}

/// A series `name` of calls every ten minutes (at most `count`), and its
/// first occurrence, due at the first firing after `t(0)`.
fn a_series(name: &str, count: Option<u32>) -> (Series, Call) {
    let recurrence = Recurrence::new("*/10 * * * *", "UTC", count, None).unwrap();
    let due = recurrence.first(t(0)).unwrap();
    let series = Series {
        id: SeriesId::parse(name).unwrap(),
        recurrence,
        created_at: t(0),
        canceled_at: None,
        occurrences: 1,
    };
    let first = call(&format!("{name}-1"), 0, |p| {
        p.scheduled_at = Some(due);
        p.occurrence = Some(Occurrence { series_id: series.id.clone(), number: 1 });
    });
    (series, first)
}

async fn insert_series(store: &Arc<dyn CallStore>, series: &Series, first: &Call) {
    let events = [event(first, &format!("{}-e", first.id()), EventType::CallScheduled, t(0))];
    let held = store
        .insert_keyed(std::slice::from_ref(first), &events, std::slice::from_ref(series), &[], t(0))
        .await
        .expect("insert_keyed with a series");
    assert_eq!(held, [], "a series with no keys holds none");
}

async fn occurrences_of(store: &Arc<dyn CallStore>, series: &SeriesId) -> Vec<Call> {
    let query = ListQuery { series: Some(series.clone()), ..ListQuery::default() };
    store.list(&query).await.expect("list").items
}

async fn a_claimed_occurrence_makes_the_next_once(store: Arc<dyn CallStore>) {
    let check = "a_claimed_occurrence_makes_the_next_once";
    let (series, first) = a_series("s1", Some(3));
    insert_series(&store, &series, &first).await;
    assert_eq!(store.series(&series.id).await.unwrap(), Some(series.clone()), "{check}: stored");
    let lone = call("lone", 0, |p| p.scheduled_at = first.scheduled_at());
    insert_all(&store, std::slice::from_ref(&lone)).await;

    let now = first.scheduled_at().unwrap();
    let worker = WorkerId::parse("w1").unwrap();
    let claim = Claim { now, worker, lease_until: now + TimeDelta::seconds(30), limit: 10 };
    let claimed = store.claim_due(&claim).await.unwrap();
    assert_eq!(claimed.len(), 2, "{check}: both due calls claimed");
    let of = |id: &CallId| claimed.iter().find(|c| c.call.id() == id).expect("claimed");
    assert_eq!(of(lone.id()).successor, None, "{check}: a lone call has no successor");
    let (second, scheduled) = of(first.id()).successor.clone().expect("the next occurrence");
    assert_eq!(
        second.occurrence(),
        Some(&Occurrence { series_id: series.id.clone(), number: 2 }),
        "{check}: the second occurrence"
    );
    assert_eq!(
        second.scheduled_at(),
        Some(now + TimeDelta::minutes(10)),
        "{check}: at the next firing"
    );
    assert_eq!(second.status(), CallStatus::Scheduled, "{check}: waiting");
    assert_eq!(store.get(second.id()).await.unwrap(), Some(second.clone()), "{check}: stored");
    assert_eq!(store.events(second.id()).await.unwrap(), [scheduled], "{check}: its first event");
    let stored = store.series(&series.id).await.unwrap().unwrap();
    assert_eq!(stored.occurrences, 2, "{check}: the series counts it");

    // The first, claimed again after a retry, or advanced by hand, makes nothing more.
    let first = of(first.id()).call.clone();
    assert_eq!(store.advance_series(&first, now).await.unwrap(), None, "{check}: not the latest");
    let (third, _) = store.advance_series(&second, now).await.unwrap().expect("the third");
    assert_eq!(third.occurrence().map(|o| o.number), Some(3), "{check}: numbered 3");
    assert_eq!(store.advance_series(&third, now).await.unwrap(), None, "{check}: count is 3");
    let numbers: HashSet<u32> = occurrences_of(&store, &series.id)
        .await
        .iter()
        .filter_map(|c| c.occurrence().map(|o| o.number))
        .collect();
    assert_eq!(numbers, HashSet::from([1, 2, 3]), "{check}: listed by series, once each");
    assert_eq!(store.series(&series.id).await.unwrap().unwrap().occurrences, 3, "{check}: 3 made");
}

async fn series_are_listed_and_canceled(store: Arc<dyn CallStore>) {
    let check = "series_are_listed_and_canceled";
    let (s1, first1) = a_series("s1", None);
    let (s2, first2) = a_series("s2", None);
    insert_series(&store, &s1, &first1).await;
    insert_series(&store, &s2, &first2).await;
    let ids = |list: Vec<Series>| list.into_iter().map(|s| s.id.to_string()).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list_series(None, 10).await.unwrap()),
        ["s2", "s1"],
        "{check}: newest first"
    );
    assert_eq!(ids(store.list_series(None, 1).await.unwrap()), ["s2"], "{check}: the limit");
    assert_eq!(ids(store.list_series(Some(&s2.id), 10).await.unwrap()), ["s1"], "{check}: a page");

    let canceled = store.cancel_series(&s2.id, t(5)).await.unwrap().expect("s2");
    assert_eq!(canceled.canceled_at, Some(t(5)), "{check}: canceled when asked");
    let again = store.cancel_series(&s2.id, t(6)).await.unwrap().expect("s2");
    assert_eq!(again.canceled_at, Some(t(5)), "{check}: canceled once");
    assert_eq!(store.series(&s2.id).await.unwrap(), Some(canceled), "{check}: stored");
    let unknown = SeriesId::parse("nope").unwrap();
    assert_eq!(store.cancel_series(&unknown, t(5)).await.unwrap(), None, "{check}: unknown");
    assert_eq!(store.series(&unknown).await.unwrap(), None, "{check}: unknown");

    // A canceled series' waiting occurrence is still a call (the engine
    // cancels it); claimed, it makes no next one. The live series goes on.
    let now = first2.scheduled_at().unwrap();
    let worker = WorkerId::parse("w1").unwrap();
    let claim = Claim { now, worker, lease_until: now + TimeDelta::seconds(30), limit: 10 };
    let claimed = store.claim_due(&claim).await.unwrap();
    let successors: Vec<Option<u32>> = claimed
        .iter()
        .map(|c| c.successor.as_ref().and_then(|(next, _)| next.occurrence()).map(|o| o.number))
        .collect();
    let by_id: Vec<(&str, Option<u32>)> =
        claimed.iter().map(|c| c.call.id().as_str()).zip(successors).collect();
    assert_eq!(by_id.len(), 2, "{check}: both first occurrences claimed");
    assert!(by_id.contains(&("s1-1", Some(2))), "{check}: the live series goes on: {by_id:?}");
    assert!(by_id.contains(&("s2-1", None)), "{check}: the canceled one stops: {by_id:?}");
    assert_eq!(store.series(&s2.id).await.unwrap().unwrap().occurrences, 1, "{check}: stopped");
}

async fn keyed_inserts_take_each_key_once(store: Arc<dyn CallStore>) {
    let check = "keyed_inserts_take_each_key_once";
    let a = call("a", 0, |_| {});
    let a_key = held_key("k1", &a, "fa", 100);
    let held = store
        .insert_keyed(
            std::slice::from_ref(&a),
            &[event(&a, "e1", EventType::CallScheduled, t(0))],
            &[],
            std::slice::from_ref(&a_key),
            t(0),
        )
        .await
        .expect("insert_keyed");
    assert_eq!(held, [], "{check}: a free key is taken");
    assert_eq!(store.get(a.id()).await.unwrap().as_ref(), Some(&a), "{check}: call written");
    assert_eq!(store.events(a.id()).await.unwrap().len(), 1, "{check}: its event written");

    // A batch with a held key writes nothing, not even its unkeyed calls,
    // and answers the key as stored (whatever the new fingerprint).
    let b = call("b", 1, |_| {});
    let c = call("c", 1, |_| {});
    let d = call("d", 1, |_| {});
    let held = store
        .insert_keyed(
            &[b.clone(), c.clone(), d.clone()],
            &[event(&b, "e2", EventType::CallScheduled, t(1))],
            &[],
            &[held_key("k2", &b, "fb", 101), held_key("k1", &c, "other", 101)],
            t(99),
        )
        .await
        .expect("insert_keyed");
    assert_eq!(held, std::slice::from_ref(&a_key), "{check}: the held key, as stored");
    for unwritten in [&b, &c, &d] {
        assert_eq!(store.get(unwritten.id()).await.unwrap(), None, "{check}: nothing written");
    }
    assert_eq!(store.events(b.id()).await.unwrap(), [], "{check}: no event written");
    // k2 was not taken by the refused batch.
    let held = store
        .insert_keyed(std::slice::from_ref(&b), &[], &[], &[held_key("k2", &b, "fb", 101)], t(99))
        .await
        .unwrap();
    assert_eq!(held, [], "{check}: a key of a refused batch stays free");

    // From its expiry on, a key is free again, for another call.
    let e = call("e", 2, |_| {});
    let e_key = held_key("k1", &e, "fe", 300);
    let held = store
        .insert_keyed(std::slice::from_ref(&e), &[], &[], std::slice::from_ref(&e_key), t(100))
        .await
        .unwrap();
    assert_eq!(held, [], "{check}: an expired key is free");
    let f = call("f", 3, |_| {});
    let held = store
        .insert_keyed(std::slice::from_ref(&f), &[], &[], &[held_key("k1", &f, "fe", 400)], t(101))
        .await
        .unwrap();
    assert_eq!(held, [e_key], "{check}: the key now holds the new call");
    assert_eq!(store.get(a.id()).await.unwrap().as_ref(), Some(&a), "{check}: old call kept");

    // A duplicate call id refuses the batch, and its key is not taken.
    let again = call("a", 4, |_| {});
    let error = store
        .insert_keyed(
            std::slice::from_ref(&again),
            &[],
            &[],
            &[held_key("k3", &again, "fa", 500)],
            t(4),
        )
        .await
        .unwrap_err();
    assert_eq!(error, StoreError::DuplicateCall(id("a")), "{check}: duplicate call");
    let g = call("g", 4, |_| {});
    let held = store
        .insert_keyed(std::slice::from_ref(&g), &[], &[], &[held_key("k3", &g, "fg", 500)], t(4))
        .await
        .unwrap();
    assert_eq!(held, [], "{check}: the refused batch's key stays free");
}

async fn save_checks_the_version(store: Arc<dyn CallStore>) {
    let a = call("a", 0, |_| {});
    insert_all(&store, std::slice::from_ref(&a)).await;
    let canceled = next_version(&a, |p| {
        p.status = CallStatus::Canceled;
        p.calling_window = Some("start=08:00;end=21:00".parse().unwrap());
        p.redial = Some("on=failed;max=2;delay=1h".parse().unwrap());
        p.redialed_as = Some(id("after-a"));
    });
    store
        .save(&canceled, &[event(&canceled, "e1", EventType::CallCanceled, t(1))])
        .await
        .expect("save");
    assert_eq!(
        store.get(a.id()).await.unwrap().as_ref(),
        Some(&canceled),
        "save_checks_the_version: saved"
    );

    // A writer that read version 1 too is refused, and writes nothing.
    let stale = next_version(&a, |p| p.status = CallStatus::Dispatching);
    let error = store
        .save(&stale, &[event(&stale, "e2", EventType::CallDispatched, t(2))])
        .await
        .unwrap_err();
    assert_eq!(
        error,
        StoreError::Conflict { id: id("a"), expected: 1 },
        "save_checks_the_version: stale version"
    );
    assert_eq!(
        store.get(a.id()).await.unwrap().as_ref(),
        Some(&canceled),
        "save_checks_the_version: unchanged"
    );
    assert_eq!(
        store.events(a.id()).await.unwrap().len(),
        1,
        "save_checks_the_version: no event written"
    );

    let ghost = call("ghost", 0, |p| p.version = 2);
    let error = store.save(&ghost, &[]).await.unwrap_err();
    assert_eq!(error, StoreError::NotFound(id("ghost")), "save_checks_the_version: unknown call");
}

async fn save_refuses_recorded_event_ids(store: Arc<dyn CallStore>) {
    let a = call("a", 0, |_| {});
    insert_all(&store, std::slice::from_ref(&a)).await;
    let first = next_version(&a, |p| p.status = CallStatus::Initiated);
    let recorded = event(&first, "ext-1", EventType::CallInitiated, t(1));
    store.save(&first, std::slice::from_ref(&recorded)).await.unwrap();
    let again = next_version(&first, |p| p.status = CallStatus::Ringing);
    let error = store
        .save(&again, &[event(&again, "ext-1", EventType::CallRinging, t(2))])
        .await
        .unwrap_err();
    assert_eq!(
        error,
        StoreError::DuplicateEvent(EventId::parse("ext-1").unwrap()),
        "save_refuses_recorded_event_ids"
    );
    assert_eq!(
        store.get(a.id()).await.unwrap().as_ref(),
        Some(&first),
        "save_refuses_recorded_event_ids: unchanged"
    );
    assert_eq!(
        store.events(a.id()).await.unwrap(),
        std::slice::from_ref(&recorded),
        "save_refuses_recorded_event_ids: recorded once"
    );
    assert_eq!(
        store.event(recorded.id()).await.unwrap(),
        Some(recorded),
        "save_refuses_recorded_event_ids: the first"
    );
    // Twice in one save is refused too.
    let twice = [
        event(&again, "x", EventType::CallRinging, t(2)),
        event(&again, "x", EventType::CallFlagged, t(2)),
    ];
    assert!(
        store.save(&again, &twice).await.is_err(),
        "save_refuses_recorded_event_ids: same id twice in one save"
    );
    assert_eq!(store.get(a.id()).await.unwrap().as_ref(), Some(&first));
}

/// A call saved with the new call it makes (as a redial is made with the
/// end of the attempt before it): both or neither.
async fn save_and_insert_is_all_or_nothing(store: Arc<dyn CallStore>) {
    let check = "save_and_insert_is_all_or_nothing";
    let a = call("a", 0, |p| p.status = CallStatus::Initiated);
    let taken = call("taken", 0, |p| p.status = CallStatus::Canceled);
    insert_all(&store, &[a.clone(), taken.clone()]).await;
    let busy = next_version(&a, |p| {
        p.status = CallStatus::Busy;
        p.redialed_as = Some(id("a2"));
    });
    let redial = call("a2", 5, |p| {
        p.redial_attempt = 2;
        p.redial_of = Some(id("a"));
    });
    let events = [
        event(&busy, "ended", EventType::CallEnded, t(5)),
        event(&redial, "scheduled", EventType::CallScheduled, t(5)),
    ];

    // A stale version writes neither the save nor the new call.
    let stale = next_version(&busy, |_| {});
    let error =
        store.save_and_insert(&stale, std::slice::from_ref(&redial), &events).await.unwrap_err();
    assert_eq!(error, StoreError::Conflict { id: id("a"), expected: 2 }, "{check}: stale");
    // A new call whose id is taken writes neither either.
    let clash = call("taken", 5, |_| {});
    let error = store.save_and_insert(&busy, &[clash], &events[..1]).await.unwrap_err();
    assert_eq!(error, StoreError::DuplicateCall(id("taken")), "{check}: taken id");
    assert_eq!(store.get(a.id()).await.unwrap().as_ref(), Some(&a), "{check}: unchanged");
    assert_eq!(store.get(&id("a2")).await.unwrap(), None, "{check}: no new call");
    assert_eq!(store.events(a.id()).await.unwrap(), [], "{check}: no event");
    assert_eq!(store.get(taken.id()).await.unwrap().as_ref(), Some(&taken), "{check}: kept");

    store
        .save_and_insert(&busy, std::slice::from_ref(&redial), &events)
        .await
        .expect("save_and_insert");
    assert_eq!(store.get(a.id()).await.unwrap().as_ref(), Some(&busy), "{check}: saved");
    assert_eq!(store.get(redial.id()).await.unwrap().as_ref(), Some(&redial), "{check}: made");
    assert_eq!(store.events(a.id()).await.unwrap(), events[..1], "{check}: the end");
    assert_eq!(store.events(redial.id()).await.unwrap(), events[1..], "{check}: the new call's");
    assert_eq!(store.next_due().await.unwrap(), Some(t(65)), "{check}: the new call is due");
}

fn listed(n: u32, at: i64) -> crate::DoNotCall {
    crate::DoNotCall::new(phone(n), t(at), Some("asked us not to call")).unwrap()
}

async fn do_not_call_list(store: Arc<dyn CallStore>) {
    let check = "do_not_call_list";
    assert_eq!(store.add_do_not_call(&listed(2, 0)).await.unwrap(), None, "{check}: added");
    assert_eq!(store.add_do_not_call(&listed(1, 1)).await.unwrap(), None, "{check}: added");
    let again = crate::DoNotCall::new(phone(2), t(5), None).unwrap();
    assert_eq!(
        store.add_do_not_call(&again).await.unwrap(),
        Some(listed(2, 0)),
        "{check}: a listed number keeps its entry"
    );
    let all = store.list_do_not_call(None, 10).await.unwrap();
    assert_eq!(all, [listed(1, 1), listed(2, 0)], "{check}: in number order, every field");
    let first = store.list_do_not_call(None, 1).await.unwrap();
    assert_eq!(first, [listed(1, 1)], "{check}: a page");
    let next = store.list_do_not_call(Some(&phone(1)), 1).await.unwrap();
    assert_eq!(next, [listed(2, 0)], "{check}: the page after");
    let among = store.do_not_call(&[phone(3), phone(2)]).await.unwrap();
    assert_eq!(among, [listed(2, 0)], "{check}: the listed among some numbers");
    assert_eq!(store.do_not_call(&[]).await.unwrap(), [], "{check}: among none");
    assert!(store.remove_do_not_call(&phone(2)).await.unwrap(), "{check}: removed");
    assert!(!store.remove_do_not_call(&phone(2)).await.unwrap(), "{check}: removed already");
    assert_eq!(store.list_do_not_call(None, 10).await.unwrap(), [listed(1, 1)], "{check}");
}

/// A due call to a listed number is canceled by the claim, never dispatched.
async fn claims_cancel_listed_numbers(store: Arc<dyn CallStore>) {
    let check = "claims_cancel_listed_numbers";
    let due = |name: &str, n: u32, at: i64| {
        call(name, 0, move |p| {
            p.to = Some(phone(n));
            p.scheduled_at = Some(t(at));
        })
    };
    let calls = [due("listed", 1, -5), due("free", 2, -10), due("listed-later", 1, 60)];
    insert_all(&store, &calls).await;
    store.add_do_not_call(&listed(1, -1)).await.unwrap();
    let worker = WorkerId::parse("w1").unwrap();
    let claim = Claim { now: t(0), worker, lease_until: t(30), limit: 10 };
    let answered = store.claim_due(&claim).await.unwrap();
    let seen: Vec<(&str, CallStatus)> =
        answered.iter().map(|c| (c.call.id().as_str(), c.call.status())).collect();
    assert_eq!(
        seen,
        [("listed", CallStatus::Canceled), ("free", CallStatus::Dispatching)],
        "{check}: the listed one canceled (answered first), the other dispatched, the later one left"
    );
    let canceled = &answered[0];
    assert_eq!(canceled.call, claim.do_not_call(&calls[0]).0, "{check}: as Claim::do_not_call");
    assert_eq!(canceled.call.end_reason(), Some(crate::EndReason::DoNotCall), "{check}");
    assert_eq!(canceled.call.lease(), None, "{check}: no lease");
    assert_eq!(canceled.event.event_type(), EventType::CallCanceled, "{check}");
    assert_eq!(canceled.event.metadata()["reason"], "do_not_call", "{check}");
    assert_eq!(
        store.get(canceled.call.id()).await.unwrap().as_ref(),
        Some(&canceled.call),
        "{check}: stored as answered"
    );
    assert_eq!(
        store.events(canceled.call.id()).await.unwrap(),
        std::slice::from_ref(&canceled.event),
        "{check}: its one event"
    );
    assert_eq!(store.claim_due(&claim).await.unwrap(), [], "{check}: nothing more is due");
    // Taken off the list, its later call is dispatched when due.
    store.remove_do_not_call(&phone(1)).await.unwrap();
    let later = Claim { now: t(60), ..claim };
    let answered = store.claim_due(&later).await.unwrap();
    assert_eq!(answered.len(), 1, "{check}");
    assert_eq!(
        answered[0].call.status(),
        CallStatus::Dispatching,
        "{check}: dialled once unlisted"
    );
}

/// A number listed through one store is never dispatched by a claim on the
/// other made after it, call after call.
async fn a_number_listed_on_one_store_is_never_claimed_on_the_other((a, b): Pair) {
    let check = "a_number_listed_on_one_store_is_never_claimed_on_the_other";
    let calls: Vec<Call> = (0..20)
        .map(|n| {
            call(&format!("c{n:02}"), 0, move |p| {
                p.to = Some(phone(n));
                p.scheduled_at = Some(t(-1));
            })
        })
        .collect();
    insert_all(&a, &calls).await;
    let worker = WorkerId::parse("w2").unwrap();
    for n in 0..20 {
        a.add_do_not_call(&listed(n, 0)).await.unwrap();
        let claim = Claim { now: t(0), worker: worker.clone(), lease_until: t(30), limit: 1 };
        let answered = b.claim_due(&claim).await.unwrap();
        assert_eq!(answered.len(), 1, "{check}: one answered");
        assert_eq!(answered[0].call.id(), calls[n as usize].id(), "{check}: the listed one");
        assert_eq!(
            answered[0].call.status(),
            CallStatus::Canceled,
            "{check}: canceled, not dialled"
        );
    }
}

async fn get_by_external_id(store: Arc<dyn CallStore>) {
    let a = call("a", 0, |p| {
        p.status = CallStatus::Initiated;
        p.external_id = Some("prov-1".into());
    });
    insert_all(&store, &[a.clone(), call("b", 1, |_| {})]).await;
    assert_eq!(store.get_by_external_id("prov-1").await.unwrap(), Some(a), "get_by_external_id");
    assert_eq!(
        store.get_by_external_id("prov-2").await.unwrap(),
        None,
        "get_by_external_id: unknown"
    );
}

async fn list_filters_and_pages(store: Arc<dyn CallStore>) {
    let q1 = QueueId::parse("q1").unwrap();
    let calls = [
        call("c0", 0, |_| {}),
        call("c1", 1, |p| p.status = CallStatus::Ringing),
        call("c2", 2, |p| {
            p.status = CallStatus::Completed;
            p.queue_id = Some(q1.clone());
        }),
        // Three created at the same moment: ordered by id, newest first.
        call("c3a", 3, |p| p.status = CallStatus::Canceled),
        call("c3b", 3, |p| {
            p.status = CallStatus::Active;
            p.queue_id = Some(q1.clone());
        }),
        call("c3c", 3, |p| {
            p.to = Some(phone(2));
            p.from = Some(phone(3));
        }),
        call("c4", 4, |p| {
            p.status = CallStatus::Dispatching;
            p.direction = Direction::Inbound;
            p.to = Some(phone(3));
        }),
    ];
    insert_all(&store, &calls).await;
    let list = |query: ListQuery| {
        let store = store.clone();
        async move { store.list(&query).await.unwrap() }
    };
    let all = list(ListQuery { limit: 100, ..ListQuery::default() }).await;
    assert_eq!(
        ids(&all.items),
        ["c4", "c3c", "c3b", "c3a", "c2", "c1", "c0"],
        "list_filters_and_pages: newest first"
    );
    assert_eq!(all.next_cursor, None, "list_filters_and_pages: one page");

    // Pages of 3 cover everything once, in order.
    let mut seen = Vec::new();
    let mut cursor = None;
    for _ in 0..10 {
        let page =
            list(ListQuery { limit: 3, cursor: cursor.clone(), ..ListQuery::default() }).await;
        assert!(page.items.len() <= 3, "list_filters_and_pages: page size");
        seen.extend(page.items.iter().map(|c| c.id().to_string()));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen, ids(&all.items), "list_filters_and_pages: pages cover the listing once");

    let check = |query: ListQuery, expected: &'static [&'static str], what: &'static str| {
        let list = &list;
        async move {
            let page = list(ListQuery { limit: 100, ..query }).await;
            assert_eq!(ids(&page.items), expected, "list_filters_and_pages: {what}");
        }
    };
    let status =
        |filters: &[StatusFilter]| ListQuery { statuses: filters.to_vec(), ..ListQuery::default() };
    check(status(&[StatusFilter::Status(CallStatus::Ringing)]), &["c1"], "one status").await;
    check(status(&[StatusFilter::Group(StatusGroup::Live)]), &["c3b", "c1"], "live group").await;
    check(
        status(&[StatusFilter::Group(StatusGroup::Pending)]),
        &["c4", "c3c", "c0"],
        "pending group",
    )
    .await;
    check(
        status(&[
            StatusFilter::Group(StatusGroup::Ended),
            StatusFilter::Status(CallStatus::Ringing),
        ]),
        &["c3a", "c2", "c1"],
        "several filters",
    )
    .await;
    check(ListQuery { queue: Some(q1.clone()), ..ListQuery::default() }, &["c3b", "c2"], "queue")
        .await;
    check(
        ListQuery { phone: Some(phone(3)), ..ListQuery::default() },
        &["c4", "c3c"],
        "number on either side",
    )
    .await;
    check(
        ListQuery {
            phone: Some(phone(1)),
            queue: Some(q1),
            statuses: vec![StatusFilter::Group(StatusGroup::Live)],
            ..ListQuery::default()
        },
        &["c3b"],
        "filters combined",
    )
    .await;
}

async fn a_claim_takes_only_calls_made_by_its_now(store: Arc<dyn CallStore>) {
    let check = "a_claim_takes_only_calls_made_by_its_now";
    // Made at t(10), due at t(-5): a claim that read the clock at t(5), and
    // reached the store after the call was made, leaves it to the next.
    let late = call("made-later", 10, |p| p.scheduled_at = Some(t(-5)));
    let earlier = call("made-earlier", 0, |p| p.scheduled_at = Some(t(-5)));
    insert_all(&store, &[late, earlier]).await;
    let claim = |now| Claim {
        now: t(now),
        worker: WorkerId::parse("w").unwrap(),
        lease_until: t(60),
        limit: 10,
    };
    let first: Vec<String> =
        store.claim_due(&claim(5)).await.unwrap().iter().map(|c| c.call.id().to_string()).collect();
    assert_eq!(first, ["made-earlier"], "{check}: not one made after the claim's now");
    let next: Vec<String> = store
        .claim_due(&claim(10))
        .await
        .unwrap()
        .iter()
        .map(|c| c.call.id().to_string())
        .collect();
    assert_eq!(next, ["made-later"], "{check}: the next claim takes it");
}

async fn claim_takes_due_calls_once(store: Arc<dyn CallStore>) {
    let due = |name: &str, at: i64| call(name, 0, move |p| p.scheduled_at = Some(t(at)));
    let before = [due("first", -10), due("second", -5)];
    insert_all(
        &store,
        &[
            due("later", 5),
            due("first", -10),
            due("second", -5),
            due("exactly-now", 0),
            call("canceled", 0, |p| {
                p.status = CallStatus::Canceled;
                p.scheduled_at = Some(t(-20));
            }),
        ],
    )
    .await;
    let worker = WorkerId::parse("w1").unwrap();
    let claim = |limit| Claim { now: t(0), worker: worker.clone(), lease_until: t(30), limit };
    let claimed = store.claim_due(&claim(2)).await.unwrap();
    let names: Vec<&str> = claimed.iter().map(|c| c.call.id().as_str()).collect();
    assert_eq!(
        names,
        ["first", "second"],
        "claim_takes_due_calls_once: earliest due first, at most the limit"
    );
    for (Claimed { call, event, .. }, before) in claimed.iter().zip(&before) {
        // The store's claim is the engine's: the machine's status, the lease.
        assert_eq!(call, &claim(2).dispatched(before), "claim_takes_due_calls_once: as decided");
        assert_eq!(
            call.status(),
            CallStatus::Dispatching,
            "claim_takes_due_calls_once: dispatching"
        );
        assert_eq!(
            call.lease(),
            Some(&Lease { worker: worker.clone(), expires_at: t(30) }),
            "claim: lease"
        );
        assert_eq!(call.version(), 2, "claim_takes_due_calls_once: version raised");
        assert_eq!(call.updated_at(), t(0), "claim_takes_due_calls_once: updated_at");
        assert_eq!(
            store.get(call.id()).await.unwrap().as_ref(),
            Some(call),
            "claim_takes_due_calls_once: stored"
        );
        assert_eq!(event.event_type(), EventType::CallDispatched);
        assert_eq!(event.source(), EventSource::Scheduler);
        assert_eq!(
            event.metadata().get("worker"),
            Some(&json!("w1")),
            "claim_takes_due_calls_once: worker named"
        );
        assert_eq!(
            store.events(call.id()).await.unwrap(),
            std::slice::from_ref(event),
            "claim_takes_due_calls_once: logged"
        );
    }
    let rest = store.claim_due(&claim(10)).await.unwrap();
    let names: Vec<&str> = rest.iter().map(|c| c.call.id().as_str()).collect();
    assert_eq!(
        names,
        ["exactly-now"],
        "claim_takes_due_calls_once: due at now, never twice, not later, not canceled"
    );
    assert!(
        store.claim_due(&claim(10)).await.unwrap().is_empty(),
        "claim_takes_due_calls_once: nothing left"
    );
}

/// 8 workers, taking turns over `stores`, claim 7 due calls at a time
/// until none is left; the ids each claim answered, all together.
async fn claim_all_at_once(stores: &[Arc<dyn CallStore>]) -> Vec<CallId> {
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..8 {
        let store = stores[w % stores.len()].clone();
        workers.spawn(async move {
            let claim = Claim {
                now: t(0),
                worker: WorkerId::parse(format!("w{w}")).unwrap(),
                lease_until: t(30),
                limit: 7,
            };
            let mut mine = Vec::new();
            loop {
                let claimed = store.claim_due(&claim).await.unwrap();
                if claimed.is_empty() {
                    return mine;
                }
                mine.extend(claimed.into_iter().map(|c| c.call.id().clone()));
                tokio::task::yield_now().await;
            }
        });
    }
    let mut all = Vec::new();
    while let Some(mine) = workers.join_next().await {
        all.extend(mine.unwrap());
    }
    all
}

async fn concurrent_claims_never_overlap(store: Arc<dyn CallStore>) {
    let calls: Vec<Call> =
        (0..200).map(|i| call(&format!("c{i:03}"), 0, |p| p.scheduled_at = Some(t(-1)))).collect();
    insert_all(&store, &calls).await;
    let all = claim_all_at_once(&[store]).await;
    let unique: HashSet<&CallId> = all.iter().collect();
    assert_eq!(all.len(), 200, "concurrent_claims_never_overlap: every call claimed");
    assert_eq!(unique.len(), 200, "concurrent_claims_never_overlap: no call claimed twice");
}

async fn next_due_is_the_earliest_moment(store: Arc<dyn CallStore>) {
    assert_eq!(
        store.next_due().await.unwrap(),
        None,
        "next_due_is_the_earliest_moment: empty store"
    );
    insert_all(
        &store,
        &[
            call("scheduled", 0, |p| p.scheduled_at = Some(t(30))),
            call("canceled", 0, |p| {
                p.status = CallStatus::Canceled;
                p.scheduled_at = Some(t(1));
            }),
            call("done", 0, |p| {
                p.status = CallStatus::Completed;
                p.scheduled_at = Some(t(2));
            }),
        ],
    )
    .await;
    assert_eq!(
        store.next_due().await.unwrap(),
        Some(t(30)),
        "next_due: a scheduled call, not ended ones"
    );
    insert_all(
        &store,
        &[call("live", 1, |p| {
            p.status = CallStatus::Ringing;
            p.deadline_at = Some(t(20));
        })],
    )
    .await;
    assert_eq!(store.next_due().await.unwrap(), Some(t(20)), "next_due: a deadline");
    insert_all(
        &store,
        &[call("dispatching", 2, |p| {
            p.status = CallStatus::Dispatching;
            p.scheduled_at = Some(t(-100));
            p.lease = Some(Lease { worker: WorkerId::parse("w").unwrap(), expires_at: t(10) });
        })],
    )
    .await;
    assert_eq!(
        store.next_due().await.unwrap(),
        Some(t(10)),
        "next_due: a lease expiry, not a claimed call's due time"
    );
}

fn pause_of(queue: Option<&str>, until: Option<i64>) -> Pause {
    Pause { queue: queue.map(|q| QueueId::parse(q).unwrap()), paused_at: t0(), until: until.map(t) }
}

/// Claims everything due at `at` for worker `w`, by id.
async fn claim_names(store: &Arc<dyn CallStore>, at: i64) -> Vec<String> {
    let claim = Claim {
        now: t(at),
        worker: WorkerId::parse("w").unwrap(),
        lease_until: t(at + 60),
        limit: 100,
    };
    let mut names: Vec<String> =
        store.claim_due(&claim).await.unwrap().iter().map(|c| c.call.id().to_string()).collect();
    names.sort();
    names
}

/// A pause holds the calls it covers in `scheduled` (every call, or one
/// queue's) until it is lifted or lapses; `next_due` leaves held calls out
/// and names the lapse; `resume` lifts one scope; a claim forgets lapsed pauses.
async fn pauses_hold_claims_until_lifted(store: Arc<dyn CallStore>) {
    let check = "pauses_hold_claims_until_lifted";
    let in_queue = |name: &str, queue: Option<&str>, due: i64| {
        let queue = queue.map(|q| QueueId::parse(q).unwrap());
        call(name, 0, move |p| {
            p.scheduled_at = Some(t(due));
            p.queue_id = queue;
        })
    };
    assert_eq!(store.pauses().await.unwrap(), [], "{check}: none at first");
    assert!(!store.resume(None).await.unwrap(), "{check}: nothing to lift");
    store.pause(&pause_of(Some("sales"), None)).await.unwrap();
    store.pause(&pause_of(None, Some(20))).await.unwrap();
    store.pause(&pause_of(Some("support"), Some(50))).await.unwrap();
    store.pause(&pause_of(Some("support"), Some(40))).await.unwrap();
    assert_eq!(
        store.pauses().await.unwrap(),
        [
            pause_of(None, Some(20)),
            pause_of(Some("sales"), None),
            pause_of(Some("support"), Some(40))
        ],
        "{check}: every call's first, then by queue; a scope's pause replaced"
    );
    insert_all(
        &store,
        &[
            in_queue("sales-1", Some("sales"), -5),
            in_queue("support-1", Some("support"), 30),
            in_queue("plain-1", None, -10),
            in_queue("other-1", Some("other"), 25),
        ],
    )
    .await;
    assert_eq!(claim_names(&store, 0).await, Vec::<String>::new(), "{check}: everything held");
    assert_eq!(
        store.next_due().await.unwrap(),
        Some(t(20)),
        "{check}: held calls are not due; the first lapse is"
    );
    assert_eq!(
        claim_names(&store, 20).await,
        ["plain-1"],
        "{check}: the pause of every call lapsed at its end; the queues' pauses hold"
    );
    assert_eq!(
        store.pauses().await.unwrap(),
        [pause_of(Some("sales"), None), pause_of(Some("support"), Some(40))],
        "{check}: the claim forgot the lapsed pause"
    );
    assert_eq!(
        store.next_due().await.unwrap(),
        Some(t(25)),
        "{check}: a call no pause covers is due at its time"
    );
    assert_eq!(claim_names(&store, 35).await, ["other-1"], "{check}: support held until 40");
    assert_eq!(store.next_due().await.unwrap(), Some(t(40)), "{check}: the queue's lapse");
    assert_eq!(claim_names(&store, 40).await, ["support-1"], "{check}: support lapsed");
    assert_eq!(
        store.next_due().await.unwrap(),
        Some(t(80)),
        "{check}: a call held without end is not due (only the first claim's lease is)"
    );
    assert!(!store.resume(None).await.unwrap(), "{check}: no pause of every call is left");
    assert_eq!(claim_names(&store, 41).await, Vec::<String>::new(), "{check}: sales held");
    assert!(store.resume(Some(&QueueId::parse("sales").unwrap())).await.unwrap());
    assert_eq!(store.next_due().await.unwrap(), Some(t(-5)), "{check}: resumed, due again");
    assert_eq!(claim_names(&store, 41).await, ["sales-1"], "{check}: resumed, claimed");
    assert_eq!(store.pauses().await.unwrap(), [], "{check}: nothing left");
}

async fn deadlines_and_expired_leases(store: Arc<dyn CallStore>) {
    let lease = |at| Some(Lease { worker: WorkerId::parse("w").unwrap(), expires_at: t(at) });
    insert_all(
        &store,
        &[
            call("d2", 0, |p| {
                p.status = CallStatus::Routed;
                p.deadline_at = Some(t(2));
            }),
            call("d1", 1, |p| {
                p.status = CallStatus::OnHold;
                p.deadline_at = Some(t(1));
            }),
            call("d9", 2, |p| {
                p.status = CallStatus::Initiated;
                p.deadline_at = Some(t(9));
            }),
            call("l1", 3, |p| {
                p.status = CallStatus::Dispatching;
                p.lease = lease(1);
            }),
            call("l0", 4, |p| {
                p.status = CallStatus::Dispatching;
                p.lease = lease(0);
            }),
            call("l9", 5, |p| {
                p.status = CallStatus::Dispatching;
                p.lease = lease(9);
            }),
        ],
    )
    .await;
    assert_eq!(
        ids(&store.deadlines_due(t(2), 10).await.unwrap()),
        ["d1", "d2"],
        "deadlines_due: passed, earliest first"
    );
    assert_eq!(ids(&store.deadlines_due(t(2), 1).await.unwrap()), ["d1"], "deadlines_due: limit");
    assert_eq!(
        ids(&store.expired_leases(t(1), 10).await.unwrap()),
        ["l0", "l1"],
        "expired_leases: passed, earliest first"
    );
    assert_eq!(ids(&store.expired_leases(t(1), 1).await.unwrap()), ["l0"], "expired_leases: limit");
}

async fn renewals_extend_only_the_workers_live_leases(store: Arc<dyn CallStore>) {
    let check = "renew_leases";
    let lease = |worker: &str, at| {
        Some(Lease { worker: WorkerId::parse(worker).unwrap(), expires_at: t(at) })
    };
    let dispatching = |name: &str, worker: &str, at: i64| {
        let lease = lease(worker, at);
        call(name, 0, move |p| {
            p.status = CallStatus::Dispatching;
            p.lease = lease;
        })
    };
    let placed = call("placed", 0, |p| {
        p.status = CallStatus::Initiated;
        p.lease = lease("w", 10);
    });
    insert_all(
        &store,
        &[
            dispatching("mine", "w", 10),
            dispatching("also-mine", "w", 10),
            dispatching("theirs", "other", 10),
            dispatching("lapsed", "w", 5),
            placed,
        ],
    )
    .await;
    let renewal = LeaseRenewal { worker: WorkerId::parse("w").unwrap(), until: t(65) };
    let asked = ["mine", "theirs", "lapsed", "placed", "unknown", "also-mine"].map(id);
    let mut renewed = store.renew_leases(&renewal, &asked).await.expect(check);
    renewed.sort();
    assert_eq!(
        renewed,
        [id("also-mine"), id("lapsed"), id("mine")],
        "{check}: w's leases of dispatching calls, a lapsed one no one took included"
    );
    let mine = store.get(&id("mine")).await.unwrap().unwrap();
    assert_eq!(mine.lease().map(|l| l.expires_at), Some(t(65)), "{check}: the new expiry");
    assert_eq!(mine.version(), 2, "{check}: the version is raised");
    assert_eq!(mine.updated_at(), t(0), "{check}: nothing else changes");
    assert_eq!(store.events(&id("mine")).await.unwrap(), [], "{check}: no event");
    let theirs = store.get(&id("theirs")).await.unwrap().unwrap();
    assert_eq!(theirs.lease().map(|l| l.expires_at), Some(t(10)), "{check}: theirs untouched");
    assert_eq!(theirs.version(), 1, "{check}: theirs untouched");
    assert_eq!(
        store.expired_leases(t(11), 10).await.map(|c| ids(&c).join(",")).unwrap(),
        "theirs",
        "{check}: a renewed lease no longer lapses"
    );
    // A save that read the old lease loses to the renewal.
    let stale = call("mine", 0, |p| {
        p.status = CallStatus::Failed;
        p.version = 2;
    });
    assert!(
        matches!(store.save(&stale, &[]).await, Err(StoreError::Conflict { .. })),
        "{check}: a save of the version before the renewal is refused"
    );
    assert_eq!(store.renew_leases(&renewal, &[]).await.unwrap(), [], "{check}: nothing asked");
}

async fn following_lists_placed_live_calls(store: Arc<dyn CallStore>) {
    let placed = |name: &str, status, updated: i64| {
        call(name, 0, move |p| {
            p.status = status;
            p.external_id = Some(format!("x-{name}"));
            p.updated_at = t(updated);
        })
    };
    insert_all(
        &store,
        &[
            placed("ringing", CallStatus::Ringing, 5),
            placed("active", CallStatus::Active, 1),
            placed("done", CallStatus::Completed, 0),
            call("unplaced", 0, |p| p.status = CallStatus::Initiated),
            call("inbound", 0, |p| {
                p.direction = Direction::Inbound;
                p.status = CallStatus::Ringing;
                p.external_id = Some("x-in".into());
            }),
        ],
    )
    .await;
    assert_eq!(
        ids(&store.following(None, 10).await.unwrap()),
        ["active", "ringing"],
        "following: placed live outbound calls, by id"
    );
    assert_eq!(ids(&store.following(None, 1).await.unwrap()), ["active"], "following: limit");
    let after = id("active");
    assert_eq!(
        ids(&store.following(Some(&after), 1).await.unwrap()),
        ["ringing"],
        "following: the next page"
    );
    let after = id("ringing");
    assert!(store.following(Some(&after), 1).await.unwrap().is_empty(), "following: the last page");
}

async fn history_of_a_number(store: Arc<dyn CallStore>) {
    let me = phone(100);
    let other = phone(200);
    let ended = |name: &str, created: i64, status: CallStatus, edit: fn(&mut CallParts)| {
        let (me, other) = (me.clone(), other.clone());
        call(name, created, move |p| {
            p.status = status;
            p.to = Some(me);
            p.from = Some(other);
            edit(p);
        })
    };
    insert_all(
        &store,
        &[
            ended("received", 10, CallStatus::Completed, |p| p.answered_at = Some(t(11))),
            ended("missed", 20, CallStatus::NoAnswer, |_| {}),
            ended("made", 30, CallStatus::Completed, |p| {
                std::mem::swap(&mut p.to, &mut p.from);
                p.answered_at = Some(t(31));
            }),
            ended("canceled", 40, CallStatus::Canceled, |_| {}),
            ended("pending", 50, CallStatus::Scheduled, |_| {}),
            ended("live", 60, CallStatus::Active, |_| {}),
            ended("failed", 70, CallStatus::Failed, |p| p.from = None),
            call("someone-else", 80, |p| p.status = CallStatus::Completed),
        ],
    )
    .await;
    let history = |query: HistoryQuery| {
        let (store, me) = (store.clone(), me.clone());
        async move { store.history(&me, &query).await.unwrap() }
    };
    let all = history(HistoryQuery::default()).await;
    assert_eq!(
        ids(&all.items),
        ["failed", "made", "missed", "received"],
        "history: ended calls of the number, newest first; not canceled, pending or live ones"
    );
    let range =
        history(HistoryQuery { since: Some(t(20)), until: Some(t(30)), ..HistoryQuery::default() })
            .await;
    assert_eq!(ids(&range.items), ["missed"], "history: since inclusive, until exclusive");
    let first = history(HistoryQuery { limit: 3, ..HistoryQuery::default() }).await;
    assert_eq!(ids(&first.items), ["failed", "made", "missed"], "history: first page");
    let second =
        history(HistoryQuery { limit: 3, cursor: first.next_cursor, ..HistoryQuery::default() })
            .await;
    assert_eq!(ids(&second.items), ["received"], "history: second page");
    assert_eq!(second.next_cursor, None, "history: last page");
    let theirs = store.history(&other, &HistoryQuery::default()).await.unwrap();
    assert_eq!(ids(&theirs.items), ["made", "missed", "received"], "history: the other side");
}

/// A history is ordered, filtered and paged by [`Call::happened_at`]: a call
/// scheduled long before it was placed shows when it was placed.
async fn history_is_by_when_calls_took_place(store: Arc<dyn CallStore>) {
    let me = phone(100);
    let to_me = |name: &str, created: i64, edit: fn(&mut CallParts)| {
        let me = me.clone();
        call(name, created, move |p| {
            p.to = Some(me);
            edit(p);
        })
    };
    let early = to_me("scheduled-early", 0, |p| p.scheduled_at = Some(t(1_000)));
    insert_all(
        &store,
        &[
            early.clone(),
            to_me("placed-at-once", 500, |p| {
                p.status = CallStatus::Completed;
                p.initiated_at = Some(t(500));
                p.answered_at = Some(t(510));
                p.ended_at = Some(t(600));
            }),
            to_me("refused", 700, |p| {
                p.status = CallStatus::Failed;
                p.ended_at = Some(t(1_500));
            }),
        ],
    )
    .await;
    // Placed at 1,000 and ended busy: saved, not inserted, so the stores'
    // update path must keep `happened_at` and the indexes in step.
    let placed = next_version(&early, |p| {
        p.status = CallStatus::Busy;
        p.initiated_at = Some(t(1_000));
        p.ended_at = Some(t(1_030));
    });
    store.save(&placed, &[event(&placed, "e1", EventType::CallEnded, t(1_030))]).await.unwrap();
    let history = |query: HistoryQuery| {
        let (store, me) = (store.clone(), me.clone());
        async move { store.history(&me, &query).await.unwrap() }
    };
    assert_eq!(
        ids(&history(HistoryQuery::default()).await.items),
        ["refused", "scheduled-early", "placed-at-once"],
        "history_is_by_when_calls_took_place: placed (or, never placed, ended), not created"
    );
    let range = HistoryQuery { since: Some(t(1_000)), until: Some(t(1_001)), ..Default::default() };
    assert_eq!(
        ids(&history(range).await.items),
        ["scheduled-early"],
        "history_is_by_when_calls_took_place: since and until are about the same moment"
    );
    let first = history(HistoryQuery { limit: 2, ..HistoryQuery::default() }).await;
    assert_eq!(
        first.next_cursor,
        Some(Cursor { at: t(1_000), id: id("scheduled-early") }),
        "history_is_by_when_calls_took_place: the cursor is at the same moment"
    );
    let second =
        history(HistoryQuery { limit: 2, cursor: first.next_cursor, ..HistoryQuery::default() })
            .await;
    assert_eq!(
        ids(&second.items),
        ["placed-at-once"],
        "history_is_by_when_calls_took_place: the next page"
    );
}

/// An `alert_raised` event keeps a record; an `alert_acknowledged` marks it;
/// the call's answer, resumption or end closes it; pages are newest first.
async fn alerts_are_records_written_with_their_events(store: Arc<dyn CallStore>) {
    use crate::alerts::{AlertCursor, AlertQuery};
    let with =
        |call: &Call, id: &str, event_type: EventType, at: i64, metadata: serde_json::Value| {
            CallEvent::new(
                EventId::parse(id).unwrap(),
                call.id().clone(),
                event_type,
                t(at),
                t(at),
                EventSource::Rules,
                metadata.as_object().cloned().unwrap(),
            )
        };
    let sales = QueueId::parse("sales").unwrap();
    let waiting = call("waiting", 0, |p| {
        p.status = CallStatus::Ringing;
        p.queue_id = Some(sales.clone());
    });
    let held = call("held", 1, |p| p.status = CallStatus::OnHold);
    insert_all(&store, &[waiting.clone(), held.clone()]).await;
    let breach = json!({ "alert": "sla_breach", "seconds": 31.0, "threshold_seconds": 30.0 });
    let waiting = next_version(&waiting, |_| {});
    let raised = with(&waiting, "a-sla", EventType::AlertRaised, 31, breach);
    store.save(&waiting, &[raised]).await.unwrap();
    let hold = json!({ "alert": "hold_exceeded", "seconds": 61.5, "threshold_seconds": 60.0 });
    let held = next_version(&held, |_| {});
    store.save(&held, &[with(&held, "a-hold", EventType::AlertRaised, 62, hold)]).await.unwrap();

    let page = |query: AlertQuery| {
        let store = store.clone();
        async move { store.alerts(&query).await.unwrap() }
    };
    let ids = |page: &crate::alerts::AlertPage| -> Vec<String> {
        page.items.iter().map(|a| a.id.to_string()).collect()
    };
    let open = AlertQuery { open: true, ..AlertQuery::default() };
    assert_eq!(ids(&page(open.clone()).await), ["a-hold", "a-sla"], "alerts: open, newest first");
    let sla = store.alert(&EventId::parse("a-sla").unwrap()).await.unwrap().expect("a record");
    assert_eq!(
        (sla.kind, sla.raised_at, sla.queue_id.clone(), sla.seconds, sla.threshold_seconds),
        (AlertKind::SlaBreach, t(31), Some(sales.clone()), 31.0, 30.0),
        "alerts: the record of the event"
    );
    assert!(sla.is_open() && sla.acknowledged_at.is_none());
    let of_sales = AlertQuery { queue: Some(sales.clone()), ..open.clone() };
    assert_eq!(ids(&page(of_sales).await), ["a-sla"], "alerts: one queue's");
    let first = page(AlertQuery { limit: 1, ..AlertQuery::default() }).await;
    assert_eq!(
        first.next_cursor,
        Some(AlertCursor { at: t(62), id: EventId::parse("a-hold").unwrap() })
    );
    let second = page(AlertQuery { limit: 1, cursor: first.next_cursor, ..AlertQuery::default() });
    assert_eq!(ids(&second.await), ["a-sla"], "alerts: the next page");

    // Acknowledged: still open; the first acknowledgement stands.
    let acked = next_version(&waiting, |_| {});
    let ack = |id: &str, by: &str, at: i64| {
        with(&acked, id, EventType::AlertAcknowledged, at, json!({ "alert_id": "a-sla", "by": by }))
    };
    store.save(&acked, &[ack("ack-1", "sam", 40), ack("ack-2", "kim", 41)]).await.unwrap();
    let sla = store.alert(&EventId::parse("a-sla").unwrap()).await.unwrap().unwrap();
    assert_eq!((sla.acknowledged_at, sla.acknowledged_by.as_deref()), (Some(t(40)), Some("sam")));
    assert!(sla.is_open(), "alerts: acknowledged is not closed");

    // Answered: the SLA breach closes; the hold alert closes when its call resumes.
    let answered = next_version(&acked, |p| p.status = CallStatus::Active);
    store
        .save(&answered, &[with(&answered, "ans", EventType::CallAnswered, 50, json!({}))])
        .await
        .unwrap();
    let resumed = next_version(&held, |p| p.status = CallStatus::Active);
    store
        .save(&resumed, &[with(&resumed, "res", EventType::CallResumed, 70, json!({}))])
        .await
        .unwrap();
    assert!(page(open.clone()).await.items.is_empty(), "alerts: closed when their cause ended");
    let sla = store.alert(&EventId::parse("a-sla").unwrap()).await.unwrap().unwrap();
    assert_eq!((sla.closed_at, sla.closed_by), (Some(t(50)), Some(EventType::CallAnswered)));
    let hold = store.alert(&EventId::parse("a-hold").unwrap()).await.unwrap().unwrap();
    assert_eq!((hold.closed_at, hold.closed_by), (Some(t(70)), Some(EventType::CallResumed)));
    assert_eq!(page(AlertQuery::default()).await.items.len(), 2, "alerts: closed ones are kept");
}

async fn queue_registry(store: Arc<dyn CallStore>) {
    let queue = |name: &str| Queue { id: QueueId::parse(name).unwrap(), created_at: t(0) };
    assert_eq!(store.queues().await.unwrap(), [], "queue_registry: empty");
    store.add_queue(&queue("sales")).await.unwrap();
    store.add_queue(&queue("billing")).await.unwrap();
    let error = store.add_queue(&queue("sales")).await.unwrap_err();
    assert_eq!(
        error,
        StoreError::DuplicateQueue(QueueId::parse("sales").unwrap()),
        "queue_registry: duplicate"
    );
    assert_eq!(
        store.queues().await.unwrap(),
        [queue("billing"), queue("sales")],
        "queue_registry: ordered by id"
    );
    assert_eq!(
        store.queue(&queue("sales").id).await.unwrap(),
        Some(queue("sales")),
        "queue_registry: one"
    );
    assert!(store.remove_queue(&queue("sales").id).await.unwrap(), "queue_registry: removed");
    assert!(!store.remove_queue(&queue("sales").id).await.unwrap(), "queue_registry: removed once");
    assert_eq!(store.queue(&queue("sales").id).await.unwrap(), None, "queue_registry: gone");
}

async fn count_by_status(store: Arc<dyn CallStore>) {
    assert_eq!(store.count_by_status().await.unwrap(), [], "count_by_status: empty store");
    let with = |status| move |p: &mut CallParts| p.status = status;
    let calls = [
        call("a", 0, with(CallStatus::Scheduled)),
        call("b", 1, with(CallStatus::Completed)),
        call("c", 2, with(CallStatus::Scheduled)),
        call("d", 3, with(CallStatus::Active)),
    ];
    store.insert(&calls, &[]).await.unwrap();
    assert_eq!(
        store.count_by_status().await.unwrap(),
        [(CallStatus::Scheduled, 2), (CallStatus::Active, 1), (CallStatus::Completed, 1)],
        "count_by_status: in CallStatus::ALL order, empty statuses left out"
    );
    // Every kind of write that moves a call keeps the counts: a save, a
    // claim (whose listed number is canceled), a save refused as stale, a
    // save that changes no status, a renewal.
    let active = next_version(&calls[3], |p| p.status = CallStatus::Completed);
    store.save(&active, &[]).await.unwrap();
    let stale = next_version(&calls[3], |p| p.status = CallStatus::Failed);
    assert!(store.save(&stale, &[]).await.is_err(), "count_by_status: a stale save");
    let renamed = next_version(&active, |p| p.customer_name = Some("renamed".into()));
    store.save(&renamed, &[]).await.unwrap();
    store.add_do_not_call(&listed(9, 0)).await.unwrap();
    let to_listed = call("e", 4, |p| p.to = Some(phone(9)));
    store.insert(std::slice::from_ref(&to_listed), &[]).await.unwrap();
    // A keyed insert, and a save that makes a new call with it (a redial).
    let keyed = call("f", 5, |p| p.status = CallStatus::Failed);
    let key = held_key("count-f", &keyed, "f", 1_000);
    let held = store.insert_keyed(std::slice::from_ref(&keyed), &[], &[], &[key], t(5)).await;
    assert_eq!(held, Ok(Vec::new()), "count_by_status: a keyed insert");
    let redial = call("g", 6, |p| p.scheduled_at = Some(t(10_000)));
    let retried = next_version(&keyed, |p| p.customer_name = Some("redialed".into()));
    store.save_and_insert(&retried, std::slice::from_ref(&redial), &[]).await.unwrap();
    let worker = WorkerId::parse("w1").unwrap();
    let claim = Claim { now: t(100), worker: worker.clone(), lease_until: t(130), limit: 10 };
    let claimed = store.claim_due(&claim).await.unwrap();
    assert_eq!(claimed.len(), 3, "count_by_status: a, c and the listed e");
    let renewal = LeaseRenewal { worker, until: t(160) };
    store.renew_leases(&renewal, &[id("a"), id("c")]).await.unwrap();
    assert_eq!(
        store.count_by_status().await.unwrap(),
        [
            (CallStatus::Scheduled, 1),
            (CallStatus::Dispatching, 2),
            (CallStatus::Completed, 2),
            (CallStatus::Failed, 1),
            (CallStatus::Canceled, 1),
        ],
        "count_by_status: after inserts, saves, a claim and a renewal"
    );
}

async fn stats_inputs(store: Arc<dyn CallStore>) {
    let q = QueueId::parse("q").unwrap();
    let ann = AgentId::parse("ann").unwrap();
    let bob = AgentId::parse("bob").unwrap();
    let in_queue = |name: &str, status, edit: Box<dyn FnOnce(&mut CallParts)>| {
        let q = q.clone();
        call(name, 0, move |p| {
            p.queue_id = Some(q);
            p.status = status;
            edit(p);
        })
    };
    let answered = |wait: f64,
                    talk: Option<f64>,
                    hold: Option<f64>,
                    agent: &AgentId|
     -> Box<dyn FnOnce(&mut CallParts)> {
        let agent = agent.clone();
        Box::new(move |p: &mut CallParts| {
            p.answered_at = Some(t(1));
            p.wait_seconds = Some(wait);
            p.duration_seconds = talk;
            p.hold_seconds = hold;
            p.agent_id = Some(agent);
        })
    };
    let calls = [
        in_queue("fast", CallStatus::Completed, answered(10.0, Some(60.0), Some(5.0), &ann)),
        in_queue("slow", CallStatus::Active, answered(40.0, None, None, &ann)),
        in_queue("gone", CallStatus::Abandoned, Box::new(|_| {})),
        in_queue("waiting", CallStatus::Routed, Box::new(|_| {})),
        in_queue("pending", CallStatus::Scheduled, Box::new(|_| {})),
        in_queue("canceled", CallStatus::Canceled, Box::new(|_| {})),
        call("no-queue", 0, |p| {
            p.status = CallStatus::Completed;
            p.answered_at = Some(t(1));
            p.wait_seconds = Some(2.0);
            p.duration_seconds = Some(20.0);
            p.agent_id = Some(bob.clone());
        }),
    ];
    let waiting = &calls[3];
    let retransfer = |event_id: &str, agent: &str| {
        let mut metadata = Map::new();
        metadata.insert("agent_id".into(), json!(agent));
        CallEvent::new(
            EventId::parse(event_id).unwrap(),
            waiting.id().clone(),
            EventType::CallRetransfer,
            t(2),
            t(2),
            EventSource::Rules,
            metadata,
        )
    };
    store
        .insert(&calls, &[retransfer("r1", "bob"), retransfer("r2", "bob"), retransfer("r3", "cy")])
        .await
        .unwrap();
    let inputs = store.stats_inputs(30.0).await.unwrap();
    assert_eq!(inputs.queues.len(), 1, "stats_inputs: one queue");
    let totals = &inputs.queues[0];
    assert_eq!(
        (totals.offered, totals.answered, totals.abandoned, totals.answered_within_sla),
        (4, 2, 1, 1),
        "stats_inputs: offered (not pending, not canceled), answered, abandoned, within the SLA"
    );
    assert_eq!((totals.wait_seconds, totals.hold_seconds), (50.0, 5.0), "stats_inputs: queue sums");
    let agents: Vec<(&str, u64, f64, u64, f64, f64, u64)> = inputs
        .agents
        .iter()
        .map(|a| {
            (
                a.agent_id.as_str(),
                a.answered,
                a.wait_seconds,
                a.ended,
                a.talk_seconds,
                a.hold_seconds,
                a.reroutes,
            )
        })
        .collect();
    assert_eq!(
        agents,
        [
            ("ann", 2, 50.0, 1, 60.0, 5.0, 0),
            ("bob", 1, 2.0, 1, 20.0, 0.0, 2),
            ("cy", 0, 0.0, 0, 0.0, 0.0, 1)
        ],
        "stats_inputs: agents by id; ann's active call is answered but not ended"
    );
}

async fn minute_totals(store: Arc<dyn CallStore>) {
    // t0 is 12:00:00.123456; the span asked for is 12:00:00 to 12:03:00.
    let since = t0().duration_trunc(TimeDelta::minutes(1)).unwrap();
    let until = since + TimeDelta::minutes(3);
    let ended = |status: CallStatus, at: DateTime<Utc>| {
        move |p: &mut CallParts| {
            p.status = status;
            p.ended_at = Some(at);
        }
    };
    let placed = |due: DateTime<Utc>, at: DateTime<Utc>| {
        move |p: &mut CallParts| {
            p.status = CallStatus::Active;
            p.scheduled_at = Some(due);
            p.initiated_at = Some(at);
        }
    };
    let ms = TimeDelta::milliseconds;
    let calls = [
        call("done", 0, |p| {
            placed(t(0), t(1))(p);
            ended(CallStatus::Completed, t(10))(p);
        }),
        call("busy", 0, ended(CallStatus::Busy, t(20))),
        call("dropped", 0, ended(CallStatus::Canceled, t(15))),
        call("lost", 0, |p| {
            p.direction = Direction::Inbound;
            p.scheduled_at = None;
            p.initiated_at = Some(t(5));
            ended(CallStatus::Abandoned, t(70))(p);
        }),
        call("broke", 0, ended(CallStatus::Failed, t(130))),
        call("before", 0, ended(CallStatus::Completed, since - ms(1))),
        call("at-the-end", 0, ended(CallStatus::Completed, until)),
        call("late", 0, placed(t(0), t(2) + ms(500))),
        call("early", 0, placed(t(50), t(40))),
        call("next-minute", 0, placed(t(60), t(64))),
        call("placed-after", 0, placed(t(0), until)),
    ];
    store.insert(&calls, &[]).await.unwrap();
    let rows: Vec<(i64, u64, u64, u64, u64, f64, f64)> = store
        .minute_totals(since, until)
        .await
        .unwrap()
        .iter()
        .map(|m| {
            let minute = m.minute - MinuteTotals::minute_of(since);
            let lateness = (m.lateness_seconds * 1e6).round() / 1e6;
            let max = (m.max_lateness_seconds * 1e6).round() / 1e6;
            (minute, m.completed, m.missed, m.failed, m.placed, lateness, max)
        })
        .collect();
    assert_eq!(
        rows,
        [(0, 1, 1, 0, 3, 3.5, 2.5), (1, 0, 1, 0, 1, 4.0, 4.0), (2, 0, 0, 1, 0, 0.0, 0.0)],
        "minute_totals: (minute, completed, missed, failed, placed, lateness, max) from since, \
         until excluded; canceled ends and inbound calls count for no outcome or placement; \
         a call placed before it was due is 0 late"
    );
}
