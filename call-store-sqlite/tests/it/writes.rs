//! The writer inserts many rows to a statement (64 at a time); a refused
//! row among many is still named, and refuses the whole write.

use call_core::{
    Call, CallEvent, CallId, CallParts, CallStatus, Direction, EventId, EventSource, EventType,
    ports::{CallStore, StoreError},
};
use call_store_sqlite::SqliteStore;
use chrono::{TimeZone, Utc};
use serde_json::Map;

fn call(n: usize) -> Call {
    let at = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
    Call::from_parts(CallParts::new(
        CallId::parse(format!("call-{n:04}")).unwrap(),
        Direction::Inbound,
        CallStatus::Initiated,
        at,
    ))
}

fn event(n: usize, call: &Call) -> CallEvent {
    let at = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
    CallEvent::new(
        EventId::parse(format!("event-{n:04}")).unwrap(),
        call.id().clone(),
        EventType::CallInitiated,
        at,
        at,
        EventSource::Api,
        Map::new(),
    )
}

#[tokio::test]
async fn a_stored_id_among_many_new_rows_refuses_them_all_and_is_named() {
    let db = crate::helpers::temp_db();
    let store = SqliteStore::open(&db.path).await.unwrap();
    let first: Vec<Call> = (0..100).map(call).collect();
    let first_events: Vec<CallEvent> = first.iter().enumerate().map(|(n, c)| event(n, c)).collect();
    store.insert(&first, &first_events).await.unwrap();

    // 200 calls, the 150th already stored: in the third statement of 64.
    let calls: Vec<Call> =
        (1000..1200).map(|n| if n == 1149 { call(42) } else { call(n) }).collect();
    let refused = store.insert(&calls, &[]).await.unwrap_err();
    assert_eq!(refused, StoreError::DuplicateCall(CallId::parse("call-0042").unwrap()));

    // 200 new calls with their events, the 130th event's id already stored.
    let calls: Vec<Call> = (2000..2200).map(call).collect();
    let events: Vec<CallEvent> = calls
        .iter()
        .enumerate()
        .map(|(n, c)| if n == 129 { event(7, c) } else { event(2000 + n, c) })
        .collect();
    let refused = store.insert(&calls, &events).await.unwrap_err();
    assert_eq!(refused, StoreError::DuplicateEvent(EventId::parse("event-0007").unwrap()));

    // Neither wrote anything; the counts are the first 100 calls'.
    for n in [1000, 1063, 1064, 1148, 1199, 2000, 2199] {
        assert_eq!(store.get(call(n).id()).await.unwrap(), None, "call-{n} was written");
    }
    let counts = store.count_by_status().await.unwrap();
    assert_eq!(counts, vec![(CallStatus::Initiated, 100)]);

    // Without the refused rows, all of it is written.
    let calls: Vec<Call> = (3000..3130).map(call).collect();
    let events: Vec<CallEvent> =
        calls.iter().enumerate().map(|(n, c)| event(3000 + n, c)).collect();
    store.insert(&calls, &events).await.unwrap();
    assert_eq!(store.get(call(3129).id()).await.unwrap(), Some(call(3129)));
    assert_eq!(store.events(call(3064).id()).await.unwrap(), vec![event(3064, &call(3064))]);
    assert_eq!(store.count_by_status().await.unwrap(), vec![(CallStatus::Initiated, 230)]);
}
