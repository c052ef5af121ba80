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

/// WAL with `synchronous = NORMAL` unless asked for `FULL`, which waits
/// for the disk at each commit (`calls --full-sync`, `call-http --full-sync`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_wait_for_the_disk_only_when_asked() {
    let db = temp_db();
    assert!(!open(&db.path).await.full_sync().await.unwrap(), "NORMAL by default");
    let mut options = call_store_sqlite::SqliteOptions::default();
    options.full_sync = true;
    let store = call_store_sqlite::SqliteStore::open_with(&db.path, &options).await.unwrap();
    assert!(store.full_sync().await.unwrap(), "FULL when asked");
    engine(Arc::new(store)).schedule(NewCall::to(phone(1))).await.unwrap();
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
                mine.extend(claimed.into_iter().map(|c| c.call.id().clone()));
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
        .enumerate()
        .map(|(n, call)| call_core::Call::from_parts(call::with_id(&call, &format!("0-{n:04}"))))
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

    /// The same call under another id. `0-…` ids sort before every UUID, so
    /// the rows the first statement inserted come first in the id index: a
    /// duplicate looked up among them would be misnamed.
    pub(super) fn with_id(call: &Call, id: &str) -> CallParts {
        CallParts { id: CallId::parse(id).unwrap(), ..call.parts().clone() }
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
    let worker = engine.worker(provider.clone(), WorkerConfig::default()).unwrap();
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
    use call_core::{Call, CallEvent, CallParts, EventId, EventType};
    let db = temp_db();
    let store = open(&db.path).await;
    let new_calls = (0..60).map(|n| NewCall::to(phone(n))).collect();
    let calls = engine(store.clone()).schedule_many(new_calls).await.unwrap();
    let recorded = store.events(calls[0].id()).await.unwrap()[0].id().clone();
    let at_version = |call: &Call, version: u64| {
        Call::from_parts(CallParts {
            version,
            customer_name: Some(format!("v{version}")),
            ..call.parts().clone()
        })
    };
    let event = |call: &Call, id: EventId| {
        let now = Utc::now();
        CallEvent::new(
            id,
            call.id().clone(),
            EventType::CallRescheduled,
            now,
            now,
            EventSource::Api,
            Default::default(),
        )
    };
    // Every call saved once, to version 2.
    for call in &calls {
        store.save(&at_version(call, 2), &[event(call, EventId::generate())]).await.unwrap();
    }
    // Then two rounds of saves, each sent all at once so the writer groups
    // them (each call once per group), each with one kind of refusal.
    let race = |saves: Vec<(usize, Call, CallEvent)>| {
        let store = store.clone();
        async move {
            let mut running = tokio::task::JoinSet::new();
            for (n, call, event) in saves {
                let store = store.clone();
                running.spawn(async move { (n, store.save(&call, &[event]).await) });
            }
            let mut results = std::collections::BTreeMap::new();
            while let Some(done) = running.join_next().await {
                let (n, result) = done.unwrap();
                results.insert(n, result);
            }
            results
        }
    };
    // Round one: calls 0–9 saved again from the stale version 1; the others to version 3.
    let round = calls.iter().enumerate().map(|(n, call)| {
        let version = if n < 10 { 2 } else { 3 };
        (n, at_version(call, version), event(call, EventId::generate()))
    });
    for (n, result) in race(round.collect()).await {
        if n < 10 {
            assert!(matches!(result, Err(StoreError::Conflict { .. })), "call {n}: {result:?}");
        } else {
            assert_eq!(result, Ok(()), "call {n}");
        }
    }
    // Round two: calls 10–59 to version 4, call 59 with an event id already recorded.
    let round = calls.iter().enumerate().skip(10).map(|(n, call)| {
        let event_id = if n == 59 { recorded.clone() } else { EventId::generate() };
        (n, at_version(call, 4), event(call, event_id))
    });
    for (n, result) in race(round.collect()).await {
        if n == 59 {
            assert_eq!(result, Err(StoreError::DuplicateEvent(recorded.clone())), "call 59");
        } else {
            assert_eq!(result, Ok(()), "call {n}");
        }
    }
    for (n, call) in calls.iter().enumerate() {
        let stored = store.get(call.id()).await.unwrap().unwrap();
        let expected = match n {
            0..10 => 2,
            59 => 3,
            _ => 4,
        };
        assert_eq!(stored.version(), expected, "call {n}");
        assert_eq!(
            store.events(call.id()).await.unwrap().len(),
            expected as usize,
            "call {n}'s events"
        );
    }
}
