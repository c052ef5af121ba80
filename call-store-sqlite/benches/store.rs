//! The SQLite store's throughput and latency, printed as figures.
//!
//! Run with: cargo bench -p call-store-sqlite --bench store
//! Quick check (CI): cargo bench -p call-store-sqlite --bench store -- --quick
//! The reads at several sizes: STORE_BENCH_TABLES=100000,1000000,5000000 cargo bench -p call-store-sqlite --bench store
//!
//! Each figure is printed with its goal; the goals are issue #3's. Nothing
//! here asserts a speed: a slow machine prints a slow figure.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use call_core::{
    AgentId, Call, CallId, CallParts, CallStatus, Direction, Engine, EventSource, IncomingEvent,
    Initiated, Lifecycle, NewCall, PhoneNumber, QueueId, StatusFilter, WorkerId,
    ports::{CallStore, Claim, HistoryQuery, ListQuery},
};
use call_store_sqlite::{SqliteOptions, SqliteStore};
use chrono::{TimeDelta, Utc};

/// Reads of `stats_inputs` timed.
const STATS_SAMPLES: usize = 100;

#[derive(Clone, Copy)]
struct Sizes {
    schedule_many: usize,
    ingest_calls_per_task: usize,
    table: usize,
    history: usize,
    samples: usize,
    claim: usize,
}

const FULL: Sizes = Sizes {
    schedule_many: 100_000,
    ingest_calls_per_task: 1_000,
    table: 1_000_000,
    history: 1_000,
    samples: 1_000,
    claim: 1_000,
};
const QUICK: Sizes = Sizes {
    schedule_many: 5_000,
    ingest_calls_per_task: 50,
    table: 20_000,
    history: 200,
    samples: 100,
    claim: 1_000,
};

fn phone(n: u64) -> PhoneNumber {
    PhoneNumber::parse(&format!("+1415{:07}", 5_000_000 + n % 4_000_000)).expect("a valid number")
}

fn rate(n: usize, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64()
}

async fn fresh_store(dir: &tempfile::TempDir, name: &str) -> Arc<SqliteStore> {
    Arc::new(SqliteStore::open(dir.path().join(name)).await.expect("open"))
}

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let sizes = if quick { QUICK } else { FULL };
    let dir = tempfile::tempdir().expect("a temp dir");
    println!(
        "call-store-sqlite benchmarks ({} mode), release build, file in {}",
        if quick { "quick" } else { "full" },
        dir.path().display()
    );

    schedule_many(&dir, &sizes).await;
    concurrent_ingest(&dir, &sizes).await;
    // How the reads' cost grows: STORE_BENCH_TABLES=100000,1000000,5000000
    // runs them on a table of each size in turn.
    let tables: Vec<usize> = match std::env::var("STORE_BENCH_TABLES") {
        Ok(list) => list
            .split(',')
            .map(|n| n.trim().parse().expect("STORE_BENCH_TABLES is a list of sizes"))
            .collect(),
        Err(_) => vec![sizes.table],
    };
    for table in tables {
        reads_on_a_large_table(&dir, &Sizes { table, ..sizes }).await;
    }
}

async fn schedule_many(dir: &tempfile::TempDir, sizes: &Sizes) {
    let engine = Engine::builder(fresh_store(dir, "schedule.db").await).build();
    let calls: Vec<NewCall> = (0..sizes.schedule_many as u64)
        .map(|n| NewCall::to(phone(n)).customer_name("bench"))
        .collect();
    let started = Instant::now();
    let scheduled = engine.schedule_many(calls).await.expect("schedule_many");
    let elapsed = started.elapsed();
    assert_eq!(scheduled.len(), sizes.schedule_many);
    println!(
        "schedule_many: {} calls in {:.2} s = {:.0} calls/s (goal >= 80,000)",
        sizes.schedule_many,
        elapsed.as_secs_f64(),
        rate(sizes.schedule_many, elapsed)
    );
}

async fn concurrent_ingest(dir: &tempfile::TempDir, sizes: &Sizes) {
    let store = fresh_store(dir, "ingest.db").await;
    let engine = Engine::builder(store.clone()).build();
    // The cost of one read and of one write on their own, for reading the figure below.
    let call = engine.schedule(NewCall::to(phone(1))).await.expect("schedule");
    let n = sizes.samples;
    let started = Instant::now();
    for _ in 0..n {
        store.get(call.id()).await.expect("get");
    }
    let read = started.elapsed() / n as u32;
    let started = Instant::now();
    let mut call = call;
    for _ in 0..n {
        let next =
            Call::from_parts(CallParts { version: call.version() + 1, ..call.parts().clone() });
        store.save(&next, &[]).await.expect("save");
        call = next;
    }
    let write = started.elapsed() / n as u32;
    println!(
        "  (one read: {:.0} µs; one write committed alone: {:.0} µs)",
        read.as_secs_f64() * 1e6,
        write.as_secs_f64() * 1e6
    );
    // The calls in motion kept by the store (the default), then each read
    // from the file (`SqliteOptions::uncached_reads`), in one run.
    let cached = ingest(&engine, "cached", sizes).await;
    let mut options = SqliteOptions::default();
    options.uncached_reads = true;
    let uncached_store = SqliteStore::open_with(dir.path().join("ingest-uncached.db"), &options)
        .await
        .expect("open");
    let uncached =
        ingest(&Engine::builder(Arc::new(uncached_store)).build(), "uncached", sizes).await;
    println!(
        "  ratio with the kept calls / reading each call from the file: {:.2}",
        cached / uncached
    );
}

/// 8 tasks each reporting whole call-centre lifecycles, one event at a
/// time, with ids prefixed by `run`; prints and answers the events per second.
async fn ingest(engine: &Engine, run: &str, sizes: &Sizes) -> f64 {
    let tasks = 8;
    let started = Instant::now();
    let mut running = tokio::task::JoinSet::new();
    for task in 0..tasks {
        let engine = engine.clone();
        let n_calls = sizes.ingest_calls_per_task;
        let run = run.to_owned();
        running.spawn(async move {
            let mut n_events = 0;
            for n in 0..n_calls {
                let call_id = CallId::parse(format!("{run}-t{task}-{n}")).expect("an id");
                let agent_id = AgentId::parse(format!("agent-{task}")).expect("an id");
                let lifecycle = [
                    Lifecycle::Initiated(Initiated::default()),
                    Lifecycle::Ringing,
                    Lifecycle::Routed { agent_id, routing_time: None },
                    Lifecycle::Answered { wait_time: None },
                    Lifecycle::Hold { hold_duration: None },
                    Lifecycle::Resumed,
                    Lifecycle::Ended { end_reason: None, duration: Some(42.0) },
                ];
                for lifecycle in lifecycle {
                    let event = IncomingEvent {
                        call_id: call_id.clone(),
                        event_id: None,
                        timestamp: None,
                        source: EventSource::Api,
                        lifecycle,
                    };
                    engine.ingest(event).await.expect("ingest");
                    n_events += 1;
                }
            }
            n_events
        });
    }
    let mut n_events = 0;
    while let Some(done) = running.join_next().await {
        n_events += done.expect("a task");
    }
    let elapsed = started.elapsed();
    let events_per_second = rate(n_events, elapsed);
    println!(
        "ingest ({run}), {tasks} concurrent tasks one event at a time: {n_events} events in {:.2} s = {events_per_second:.0} events/s (goal >= 20,000)",
        elapsed.as_secs_f64(),
    );
    events_per_second
}

/// A table of `sizes.table` calls, most of them ended, `sizes.history` of
/// them with one number; then list pages, histories and claims on it.
async fn reads_on_a_large_table(dir: &tempfile::TempDir, sizes: &Sizes) {
    let store = fresh_store(dir, &format!("large-{}.db", sizes.table)).await;
    let hot = phone(123_456_789);
    let now = Utc::now();
    let statuses = [
        CallStatus::Completed,
        CallStatus::Completed,
        CallStatus::Completed,
        CallStatus::NoAnswer,
        CallStatus::Busy,
        CallStatus::Failed,
        CallStatus::Canceled,
        CallStatus::Abandoned,
    ];
    let started = Instant::now();
    let batch = 10_000;
    let mut n = 0u64;
    while (n as usize) < sizes.table {
        let calls: Vec<Call> = (n..n + batch as u64)
            .take(sizes.table - n as usize)
            .map(|i| {
                let to = if i % (sizes.table / sizes.history) as u64 == 0 {
                    hot.clone()
                } else {
                    phone(i)
                };
                let status = statuses[(i % statuses.len() as u64) as usize];
                let created_at = now - TimeDelta::seconds(sizes.table as i64 - i as i64);
                let answered = status == CallStatus::Completed;
                // One call in four is a call centre's, in one of 8 queues
                // with one of 40 agents: what the queue and agent metrics sum.
                let call_centre = i % 4 == 0;
                Call::from_parts(CallParts {
                    to: Some(to),
                    from: Some(phone(i + 7)),
                    answered_at: answered.then_some(created_at),
                    duration_seconds: answered.then_some(60.0),
                    scheduled_at: Some(created_at),
                    queue_id: call_centre
                        .then(|| QueueId::parse(format!("q-{}", i / 4 % 8)).expect("an id")),
                    agent_id: (call_centre && answered)
                        .then(|| AgentId::parse(format!("agent-{}", i / 4 % 40)).expect("an id")),
                    wait_seconds: (call_centre && answered).then_some((i % 90) as f64 + 0.5),
                    version: 1,
                    ..CallParts::new(CallId::generate(), Direction::Outbound, status, created_at)
                })
            })
            .collect();
        n += calls.len() as u64;
        store.insert(&calls, &[]).await.expect("insert");
    }
    println!(
        "  (built a table of {} calls in {:.1} s)",
        sizes.table,
        started.elapsed().as_secs_f64()
    );

    let page = ListQuery {
        statuses: vec![StatusFilter::Status(CallStatus::NoAnswer)],
        limit: 50,
        ..ListQuery::default()
    };
    let mut list_times = Vec::with_capacity(sizes.samples);
    let mut cursor = None;
    for _ in 0..sizes.samples {
        let started = Instant::now();
        let result =
            store.list(&ListQuery { cursor: cursor.clone(), ..page.clone() }).await.expect("list");
        list_times.push(started.elapsed());
        // Page on; after the last page, start over from the newest.
        cursor = result.next_cursor.filter(|_| !result.items.is_empty());
    }
    list_times.sort();
    println!(
        "list page of 50, status filter, {} calls: p50 {:.2} ms, p99 {:.2} ms (goal p99 < 5 ms)",
        sizes.table,
        call_test_support::percentile(&list_times, 0.5).as_secs_f64() * 1e3,
        call_test_support::percentile(&list_times, 0.99).as_secs_f64() * 1e3
    );

    let mut page_times = Vec::with_capacity(sizes.samples);
    for _ in 0..sizes.samples {
        let started = Instant::now();
        let page = store.history(&hot, &HistoryQuery::default()).await.expect("history");
        page_times.push(started.elapsed());
        assert_eq!(page.items.len(), 50);
    }
    page_times.sort();
    println!(
        "history of a number with {} calls, first page of 50, {} calls in the table: p50 {:.2} ms, p99 {:.2} ms (goal p99 < 5 ms)",
        sizes.history,
        sizes.table,
        call_test_support::percentile(&page_times, 0.5).as_secs_f64() * 1e3,
        call_test_support::percentile(&page_times, 0.99).as_secs_f64() * 1e3
    );

    let mut history_times = Vec::with_capacity(sizes.samples);
    for _ in 0..sizes.samples {
        let started = Instant::now();
        let mut cursor = None;
        let mut seen = 0;
        loop {
            let page = store
                .history(&hot, &HistoryQuery { limit: 1000, cursor, ..HistoryQuery::default() })
                .await
                .expect("history");
            seen += page.items.len();
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        history_times.push(started.elapsed());
        assert!(seen > 0);
    }
    history_times.sort();
    println!(
        "history of a number with {} calls (all of it), {} calls in the table: p50 {:.2} ms, p99 {:.2} ms (goal p99 < 5 ms)",
        sizes.history,
        sizes.table,
        call_test_support::percentile(&history_times, 0.5).as_secs_f64() * 1e3,
        call_test_support::percentile(&history_times, 0.99).as_secs_f64() * 1e3
    );

    // What every Prometheus scrape and every dashboard refresh reads.
    let mut count_times = Vec::with_capacity(sizes.samples);
    for _ in 0..sizes.samples {
        let started = Instant::now();
        let counts = store.count_by_status().await.expect("count_by_status");
        count_times.push(started.elapsed());
        assert!(!counts.is_empty());
    }
    count_times.sort();
    let mut stats_times = Vec::with_capacity(STATS_SAMPLES);
    for _ in 0..STATS_SAMPLES {
        let started = Instant::now();
        let inputs = store.stats_inputs(30.0).await.expect("stats_inputs");
        assert!(inputs.queues.len() == 8 || sizes.table < 8, "every queue summed");
        stats_times.push(started.elapsed());
    }
    stats_times.sort();
    for (what, times) in [
        ("count_by_status (GET /metrics)", &count_times),
        ("stats_inputs (GET /api/stats)", &stats_times),
    ] {
        println!(
            "{what}, {} calls: p50 {:.2} ms, p99 {:.2} ms (goal p99 < 20 ms at 5,000,000)",
            sizes.table,
            call_test_support::percentile(times, 0.5).as_secs_f64() * 1e3,
            call_test_support::percentile(times, 0.99).as_secs_f64() * 1e3
        );
    }

    let due: Vec<Call> = (0..sizes.claim)
        .map(|i| {
            Call::from_parts(CallParts {
                to: Some(phone(i as u64)),
                scheduled_at: Some(now - TimeDelta::seconds(1)),
                version: 1,
                ..CallParts::new(
                    CallId::generate(),
                    Direction::Outbound,
                    CallStatus::Scheduled,
                    now,
                )
            })
        })
        .collect();
    store.insert(&due, &[]).await.expect("insert due calls");
    let claim = Claim {
        now,
        worker: WorkerId::parse("bench").expect("an id"),
        lease_until: now + TimeDelta::seconds(60),
        limit: sizes.claim,
    };
    let started = Instant::now();
    let claimed = store.claim_due(&claim).await.expect("claim");
    let elapsed = started.elapsed();
    assert_eq!(claimed.len(), sizes.claim);
    println!(
        "claim {} due calls in one claim: {:.2} ms (goal < 20 ms)",
        sizes.claim,
        elapsed.as_secs_f64() * 1e3
    );
}
