//! What the store keeps, and what it never does half.

use std::{collections::HashSet, sync::Arc, time::Duration};

use call_core::{
    CallId, CallStatus, Engine, EventSource, IncomingEvent, Initiated, Lifecycle, NewCall,
    PhoneNumber, WorkerConfig, WorkerId,
    ports::{CallStore, Claim, ManualClock, StoreError},
    testing::FakeProvider,
};
use chrono::{TimeDelta, Utc};

use crate::helpers::{engine, open, temp_db};

fn phone(n: u32) -> PhoneNumber {
    PhoneNumber::parse(&format!("+1415555{n:04}")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_close_and_reopen() {
    let db = temp_db();
    let (call, events) = {
        let engine = engine(open(&db.path).await);
        let call = engine.schedule(NewCall::to(phone(1)).customer_name("Ada")).await.unwrap();
        let call = engine.cancel(call.id()).await.unwrap();
        engine.add_queue("sales".parse().unwrap()).await.unwrap();
        (call.clone(), engine.events(call.id()).await.unwrap())
    };
    // Let the first store's writer finish and close its connection.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let engine = engine(open(&db.path).await);
    assert_eq!(engine.get(call.id()).await.unwrap(), call);
    assert_eq!(engine.events(call.id()).await.unwrap(), events);
    assert_eq!(engine.queues().await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_file_never_claim_the_same_call() {
    let db = temp_db();
    let first = open(&db.path).await;
    let second = open(&db.path).await;
    let calls = engine(first.clone())
        .schedule_many((0..400).map(|n| NewCall::to(phone(n))).collect())
        .await;
    assert_eq!(calls.unwrap().len(), 400);

    let mut claimers = tokio::task::JoinSet::new();
    for (n, store) in [first, second].into_iter().cycle().take(6).enumerate() {
        claimers.spawn(async move {
            let claim = Claim {
                now: Utc::now() + TimeDelta::seconds(1),
                worker: WorkerId::parse(format!("w{n}")).unwrap(),
                lease_until: Utc::now() + TimeDelta::seconds(60),
                limit: 9,
            };
            let mut mine = Vec::new();
            loop {
                let claimed = store.claim_due(&claim).await.unwrap();
                if claimed.is_empty() {
                    return mine;
                }
                mine.extend(claimed.into_iter().map(|(call, _)| call.id().clone()));
            }
        });
    }
    let mut all: Vec<CallId> = Vec::new();
    while let Some(mine) = claimers.join_next().await {
        all.extend(mine.unwrap());
    }
    let unique: HashSet<&CallId> = all.iter().collect();
    assert_eq!(all.len(), 400, "every call claimed");
    assert_eq!(unique.len(), 400, "no call claimed twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_refused_half_way_leaves_nothing_written() {
    let db = temp_db();
    let store = open(&db.path).await;
    let engine = engine(store.clone());
    let existing = engine.schedule(NewCall::to(phone(1))).await.unwrap();
    // 1,500 calls span two multi-row statements; the last one repeats an existing id.
    let mut calls: Vec<_> = engine
        .schedule_many((0..1499).map(|n| NewCall::to(phone(n))).collect())
        .await
        .unwrap()
        .into_iter()
        .map(|call| {
            let parts = call::with_new_id(&call);
            call_core::Call::from_parts(parts)
        })
        .collect();
    calls.push(existing.clone());
    let error = store.insert(&calls, &[]).await.unwrap_err();
    assert_eq!(error, StoreError::DuplicateCall(existing.id().clone()));
    for call in &calls[..1499] {
        assert_eq!(
            store.get(call.id()).await.unwrap(),
            None,
            "nothing of the refused insert is written"
        );
    }
}

mod call {
    use call_core::{Call, CallId, CallParts};

    /// The same call under a fresh id.
    pub(super) fn with_new_id(call: &Call) -> CallParts {
        CallParts { id: CallId::generate(), ..call.parts().clone() }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_are_committed_together_and_each_recorded() {
    let db = temp_db();
    let engine = engine(open(&db.path).await);
    let mut writers = tokio::task::JoinSet::new();
    for task in 0..8 {
        let engine = engine.clone();
        writers.spawn(async move {
            for n in 0..25 {
                let call_id = CallId::parse(format!("t{task}-c{n}")).unwrap();
                let event = |lifecycle| IncomingEvent {
                    call_id: call_id.clone(),
                    event_id: None,
                    timestamp: None,
                    source: EventSource::Api,
                    lifecycle,
                };
                engine.ingest(event(Lifecycle::Initiated(Initiated::default()))).await.unwrap();
                engine.ingest(event(Lifecycle::Answered { wait_time: None })).await.unwrap();
                engine
                    .ingest(event(Lifecycle::Ended { end_reason: None, duration: Some(12.0) }))
                    .await
                    .unwrap();
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.unwrap();
    }
    for task in 0..8 {
        for n in 0..25 {
            let id = CallId::parse(format!("t{task}-c{n}")).unwrap();
            assert_eq!(engine.get(&id).await.unwrap().status(), CallStatus::Completed);
            assert_eq!(
                engine.events(&id).await.unwrap().len(),
                4,
                "initiated, answered, ended, survey"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_runs_on_the_sqlite_store() {
    let db = temp_db();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let store = open(&db.path).await;
    let engine = Engine::builder(store as Arc<dyn CallStore>).clock(clock.clone()).build();
    let provider = Arc::new(FakeProvider::new(clock.clone()));
    let call = engine
        .schedule(NewCall::to(phone(7)).at(clock_now(&clock) + TimeDelta::seconds(5)))
        .await
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = engine.worker(provider.clone(), WorkerConfig::default());
    let running = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));
    // Step the clock a second at a time until the call has run its course.
    for _ in 0..60 {
        if engine.get(call.id()).await.unwrap().status() == CallStatus::Completed {
            break;
        }
        clock.advance(Duration::from_secs(1));
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let done = engine.get(call.id()).await.unwrap();
    assert_eq!(done.status(), CallStatus::Completed);
    assert_eq!(done.duration_seconds(), Some(10.0));
    assert_eq!(provider.placements(&phone(7)), 1);
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), running).await.unwrap().unwrap();
}

fn clock_now(clock: &ManualClock) -> chrono::DateTime<Utc> {
    use call_core::ports::Clock;
    clock.now()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_write_in_a_group_commit_leaves_the_others_in() {
    use call_core::{CallEvent, CallParts, EventId, EventType};
    let db = temp_db();
    let store = open(&db.path).await;
    let calls = engine(store.clone())
        .schedule_many((0..60).map(|n| NewCall::to(phone(n))).collect())
        .await
        .unwrap();
    let recorded = store.events(calls[0].id()).await.unwrap()[0].id().clone();
    let next = |call: &call_core::Call, name: &str| {
        call_core::Call::from_parts(CallParts {
            version: call.version() + 1,
            customer_name: Some(name.into()),
            ..call.parts().clone()
        })
    };
    let event = |call: &call_core::Call, id: EventId| {
        CallEvent::new(
            id,
            call.id().clone(),
            EventType::CallRescheduled,
            Utc::now(),
            Utc::now(),
            EventSource::Api,
            Default::default(),
        )
    };
    // Every call saved once; calls 0–9 a second time from the same stale
    // version; call 59 with an event id already recorded. All at once, so
    // the writer commits them in groups.
    let mut saves = tokio::task::JoinSet::new();
    for (n, call) in calls.iter().enumerate() {
        let writer = store.clone();
        let (first, ev) = (
            next(call, "first"),
            event(call, if n == 59 { recorded.clone() } else { EventId::generate() }),
        );
        saves.spawn(async move { (n, "first", writer.save(&first, &[ev]).await) });
        if n < 10 {
            let writer = store.clone();
            let second = next(call, "second");
            saves.spawn(async move { (n, "second", writer.save(&second, &[]).await) });
        }
    }
    let mut conflicts = 0;
    while let Some(done) = saves.join_next().await {
        let (n, which, result) = done.unwrap();
        match result {
            Ok(()) => {}
            Err(StoreError::Conflict { .. }) => conflicts += 1,
            Err(StoreError::DuplicateEvent(id)) => {
                assert_eq!((n, which, &id), (59, "first", &recorded))
            }
            Err(other) => panic!("save {n} {which}: {other}"),
        }
    }
    assert_eq!(conflicts, 10, "one of each stale pair is refused");
    for (n, call) in calls.iter().enumerate() {
        let stored = store.get(call.id()).await.unwrap().unwrap();
        if n == 59 {
            assert_eq!(stored, *call, "the save with a recorded event id wrote nothing");
        } else {
            assert_eq!(stored.version(), call.version() + 1, "call {n} saved once");
        }
    }
}
