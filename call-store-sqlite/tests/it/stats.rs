//! The sums behind the queue and agent metrics are kept as calls change
//! (migration 0012), not summed on each read: after any run of inserts,
//! saves and reroutes they must be what summing every call gives, which is
//! what the in-memory store does.

use call_core::{
    AgentId, Call, CallEvent, CallId, CallParts, CallStatus, Direction, EventId, EventSource,
    EventType, QueueId,
    ports::{CallStore, StatsInputs},
    testing::MemoryStore,
};
use call_store_sqlite::SqliteStore;
use chrono::{TimeZone, Utc};
use serde_json::{Map, json};

/// Waits that sit on and around the thresholds asked for below.
const WAITS: [Option<f64>; 9] = [
    None,
    Some(0.0),
    Some(2.5),
    Some(2.5004),
    Some(29.9995),
    Some(30.0),
    Some(30.0004),
    Some(61.25),
    Some(0.1),
];

/// Thresholds: none, a fraction of a second, whole seconds, between two waits.
const SLAS: [f64; 6] = [0.0, 2.5, 2.501, 30.0, 30.001, 90.0];

fn pick<T: Clone>(rng: &mut fastrand::Rng, from: &[T]) -> T {
    from[rng.usize(..from.len())].clone()
}

/// `parts` with some of the parts the sums read changed at random: all of
/// them, or one or two alone (a hold ending changes nothing else).
fn random_parts(rng: &mut fastrand::Rng, mut parts: CallParts) -> CallParts {
    let queues = [None, Some("q1"), Some("q2")];
    let agents = [None, Some("ann"), Some("bob")];
    let all = rng.bool();
    let mut change = || all || rng.u8(..4) == 0;
    let (status, queue, agent, answered, wait, hold, talk) =
        (change(), change(), change(), change(), change(), change(), change());
    if status {
        parts.status = pick(rng, CallStatus::ALL);
    }
    if queue {
        parts.queue_id = pick(rng, &queues).map(|q| QueueId::parse(q).unwrap());
    }
    if agent {
        parts.agent_id = pick(rng, &agents).map(|a| AgentId::parse(a).unwrap());
    }
    if answered {
        parts.answered_at = rng.bool().then(|| Utc.timestamp_opt(1_700_000_100, 0).unwrap());
    }
    if wait {
        parts.wait_seconds =
            if rng.u8(..4) == 0 { Some(rng.f64() * 100.0) } else { pick(rng, &WAITS) };
    }
    if hold {
        parts.hold_seconds = pick(rng, &[None, Some(0.0), Some(4.75), Some(12.125)]);
    }
    if talk {
        let talk = rng.f64() * 600.0;
        parts.duration_seconds = pick(rng, &[None, Some(60.0), Some(0.333), Some(talk)]);
    }
    parts
}

/// `n` new calls, each in a random state.
fn new_calls(rng: &mut fastrand::Rng, n: usize) -> Vec<Call> {
    let created = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
    (0..n)
        .map(|_| {
            let id = CallId::generate();
            let parts = CallParts::new(id, Direction::Inbound, CallStatus::Initiated, created);
            Call::from_parts(random_parts(rng, parts))
        })
        .collect()
}

fn reroute(n: usize, call: &Call, agent: &str) -> CallEvent {
    let mut metadata = Map::new();
    metadata.insert("agent_id".into(), json!(agent));
    let at = Utc.timestamp_opt(1_700_000_200, 0).unwrap();
    CallEvent::new(
        EventId::parse(format!("reroute-{n}")).unwrap(),
        call.id().clone(),
        EventType::CallRetransfer,
        at,
        at,
        EventSource::Rules,
        metadata,
    )
}

/// `kept` and `summed` agree: counts exactly, sums to the microsecond the
/// kept ones are rounded to.
fn assert_same(kept: &StatsInputs, summed: &StatsInputs, context: &str) {
    let close = |a: f64, b: f64| (a - b).abs() < 1e-3;
    assert_eq!(kept.queues.len(), summed.queues.len(), "{context}: queues {kept:?} {summed:?}");
    for (k, s) in kept.queues.iter().zip(&summed.queues) {
        let counts = |t: &call_core::ports::QueueTotals| {
            (t.queue_id.clone(), t.offered, t.answered, t.abandoned, t.answered_within_sla)
        };
        assert_eq!(counts(k), counts(s), "{context}: queue counts");
        assert!(close(k.wait_seconds, s.wait_seconds), "{context}: {k:?} {s:?}");
        assert!(close(k.hold_seconds, s.hold_seconds), "{context}: {k:?} {s:?}");
    }
    assert_eq!(kept.agents.len(), summed.agents.len(), "{context}: agents {kept:?} {summed:?}");
    for (k, s) in kept.agents.iter().zip(&summed.agents) {
        let counts = |t: &call_core::ports::AgentTotals| {
            (t.agent_id.clone(), t.answered, t.ended, t.reroutes)
        };
        assert_eq!(counts(k), counts(s), "{context}: agent counts");
        for (a, b) in [
            (k.wait_seconds, s.wait_seconds),
            (k.talk_seconds, s.talk_seconds),
            (k.hold_seconds, s.hold_seconds),
        ] {
            assert!(close(a, b), "{context}: {k:?} {s:?}");
        }
    }
}

async fn assert_stores_agree(sqlite: &SqliteStore, memory: &MemoryStore, context: &str) {
    for sla in SLAS {
        let kept = sqlite.stats_inputs(sla).await.unwrap();
        let summed = memory.stats_inputs(sla).await.unwrap();
        assert_same(&kept, &summed, &format!("{context}, SLA {sla} s"));
    }
}

#[tokio::test]
async fn the_kept_sums_are_what_summing_every_call_gives() {
    let db = crate::helpers::temp_db();
    let sqlite = SqliteStore::open(&db.path).await.unwrap();
    let memory = MemoryStore::new();
    let mut rng = fastrand::Rng::with_seed(15);
    let mut calls: Vec<Call> = Vec::new();
    let mut reroutes = 0;
    for round in 0..30 {
        // New calls, some of them at once in one insert.
        let n = rng.usize(1..6);
        let fresh = new_calls(&mut rng, n);
        for store in [&sqlite as &dyn CallStore, &memory] {
            store.insert(&fresh, &[]).await.unwrap();
        }
        calls.extend(fresh);
        // Changes of every kind the sums read: status, queue, agent, times.
        for _ in 0..12 {
            let n = rng.usize(..calls.len());
            let parts = random_parts(&mut rng, calls[n].parts().clone());
            let next = Call::from_parts(CallParts { version: calls[n].version() + 1, ..parts });
            let events: Vec<CallEvent> = if rng.u8(..3) == 0 {
                reroutes += 1;
                vec![reroute(reroutes, &next, pick(&mut rng, &["ann", "bob", "cy"]))]
            } else {
                Vec::new()
            };
            for store in [&sqlite as &dyn CallStore, &memory] {
                store.save(&next, &events).await.unwrap();
            }
            calls[n] = next;
        }
        assert_stores_agree(&sqlite, &memory, &format!("round {round}")).await;
    }
    assert!(reroutes > 0);
}

#[tokio::test]
async fn a_file_from_before_the_kept_sums_gets_them_from_its_calls() {
    let db = crate::helpers::temp_db();
    let memory = MemoryStore::new();
    let mut rng = fastrand::Rng::with_seed(16);
    {
        let sqlite = SqliteStore::open(&db.path).await.unwrap();
        let calls = new_calls(&mut rng, 200);
        let events: Vec<CallEvent> =
            (0..20).map(|n| reroute(n, &calls[n], pick(&mut rng, &["ann", "cy"]))).collect();
        for store in [&sqlite as &dyn CallStore, &memory] {
            store.insert(&calls, &events).await.unwrap();
        }
    }
    // The file as migration 0011 left it, with these calls in it.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.path.display())).await.unwrap();
    for statement in [
        "DROP TRIGGER calls_summed_on_insert",
        "DROP TRIGGER calls_summed_on_update",
        "DROP TRIGGER reroutes_counted",
        "DROP TABLE queue_totals",
        "DROP TABLE queue_wait_seconds",
        "DROP TABLE queue_wait_millis",
        "DROP TABLE agent_totals",
        "CREATE INDEX events_reroutes ON events (json_extract(metadata, '$.agent_id')) \
         WHERE type = 'call_retransfer'",
        "DELETE FROM _sqlx_migrations WHERE version = 12",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let sqlite = SqliteStore::open(&db.path).await.unwrap();
    assert_stores_agree(&sqlite, &memory, "after migration 0012").await;
}
