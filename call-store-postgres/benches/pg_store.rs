//! The PostgreSQL store's throughput and latency, printed as figures next
//! to their goals (issue #11) and, where the machine's noise matters, as a
//! ratio to a baseline measured in the same run. Nothing here asserts a
//! speed.
//!
//! Run with: cargo bench -p call-store-postgres --bench pg_store
//! Quick check (CI): cargo bench -p call-store-postgres --bench pg_store -- --quick
//!
//! The server is the one at CALLWORK_TEST_PG_URL, else a throwaway one from
//! the system's packages (`fsync=off`, as the tests run it: the figures are
//! the store's and the server's CPU, not a disk's flush).

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use call_core::{
    AgentId, Call, CallId, CallParts, CallStatus, Direction, Engine, EventSource, IncomingEvent,
    Initiated, Lifecycle, NewCall, PhoneNumber, StatusFilter, WorkerConfig, WorkerId,
    ports::{CallStore, Claim, HistoryQuery, ListQuery},
};
use call_provider_http::{
    HttpProvider,
    mock::{MockCallApi, MockOptions},
};
use call_store_postgres::{PgOptions, PgStore, testing::TestServer};
use chrono::{TimeDelta, Utc};
use sqlx::Connection;

struct Sizes {
    claim_calls: usize,
    schedule_many: usize,
    ingest_calls_per_task: usize,
    table: usize,
    history: usize,
    samples: usize,
    lateness_calls: usize,
    lateness_spread_s: i64,
}

const FULL: Sizes = Sizes {
    claim_calls: 40_000,
    schedule_many: 100_000,
    ingest_calls_per_task: 30,
    table: 1_000_000,
    history: 1_000,
    samples: 1_000,
    lateness_calls: 10_000,
    lateness_spread_s: 10,
};
const QUICK: Sizes = Sizes {
    claim_calls: 4_000,
    schedule_many: 10_000,
    ingest_calls_per_task: 3,
    table: 50_000,
    history: 200,
    samples: 200,
    lateness_calls: 2_000,
    lateness_spread_s: 2,
};

fn phone(n: u64) -> PhoneNumber {
    PhoneNumber::parse(&format!("+1415{:07}", 5_000_000 + n % 4_000_000)).expect("a valid number")
}

fn rate(n: usize, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

async fn fresh_store(server: &TestServer, pool: u32) -> (Arc<PgStore>, String) {
    let url = server.database().await;
    let store = PgStore::open_with(&url, &PgOptions::max_connections(pool)).await.expect("open");
    (Arc::new(store), url)
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let sizes = if quick { QUICK } else { FULL };
    let Some(server) = TestServer::shared() else { return };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async move {
        println!(
            "call-store-postgres benchmarks ({} mode), release build, server {}",
            if quick { "quick" } else { "full" },
            call_store_postgres::redact(server.admin_url())
        );
        claims(server, &sizes).await;
        schedule_many(server, &sizes).await;
        ingest(server, &sizes).await;
        reads_on_a_large_table(server, &sizes).await;
        lateness(server, &sizes).await;
    });
}

fn due_calls(n: usize) -> Vec<Call> {
    let now = Utc::now();
    (0..n)
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
        .collect()
}

/// Claims per second with 1, 2, 4 and 8 claimers taking batches of 100
/// from one table of due calls, each claimer a store of its own (a
/// process), until none is left.
async fn claims(server: &TestServer, sizes: &Sizes) {
    for claimers in [1usize, 2, 4, 8] {
        let (store, url) = fresh_store(server, 4).await;
        for chunk in due_calls(sizes.claim_calls).chunks(10_000) {
            store.insert(chunk, &[]).await.expect("insert");
        }
        let mut stores = Vec::new();
        for _ in 0..claimers {
            stores.push(Arc::new(
                PgStore::open_with(&url, &PgOptions::max_connections(2)).await.expect("open"),
            ));
        }
        let started = Instant::now();
        let mut running = tokio::task::JoinSet::new();
        for (w, store) in stores.into_iter().enumerate() {
            running.spawn(async move {
                let now = Utc::now();
                let claim = Claim {
                    now,
                    worker: WorkerId::parse(format!("w{w}")).expect("an id"),
                    lease_until: now + TimeDelta::seconds(60),
                    limit: 100,
                };
                let mut n = 0;
                loop {
                    let claimed = store.claim_due(&claim).await.expect("claim");
                    if claimed.is_empty() {
                        return n;
                    }
                    n += claimed.len();
                }
            });
        }
        let mut n = 0;
        while let Some(done) = running.join_next().await {
            n += done.expect("a claimer");
        }
        let elapsed = started.elapsed();
        assert_eq!(n, sizes.claim_calls, "every call claimed once");
        println!(
            "claims, {claimers} concurrent claimer(s), batches of 100: {n} calls in {:.2} s = {:.0} calls/s \
             (anchor: River 46,000 jobs/s on 8 cores)",
            elapsed.as_secs_f64(),
            rate(n, elapsed)
        );
        drop(store);
    }
}

/// `schedule_many` through the engine, against COPY of the same rows (the
/// calls and their `call_scheduled` events) into tables of the same shape
/// and indexes, in the same run.
async fn schedule_many(server: &TestServer, sizes: &Sizes) {
    let n = sizes.schedule_many;
    let (store, url) = fresh_store(server, 4).await;
    let engine = Engine::builder(store.clone()).build();
    let calls: Vec<NewCall> =
        (0..n as u64).map(|i| NewCall::to(phone(i)).customer_name("bench")).collect();
    let started = Instant::now();
    let scheduled = engine.schedule_many(calls).await.expect("schedule_many");
    let engine_elapsed = started.elapsed();
    assert_eq!(scheduled.len(), n);

    // The baseline: the same rows as CSV, COPY'd into plain copies of the tables.
    let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
    sqlx::raw_sql(
        "CREATE TABLE calls_copy (LIKE calls INCLUDING ALL); \
         CREATE TABLE events_copy (LIKE events INCLUDING ALL)",
    )
    .execute(&mut conn)
    .await
    .expect("tables");
    let now = Utc::now().to_rfc3339();
    let mut call_rows = String::with_capacity(n * 160);
    let mut event_rows = String::with_capacity(n * 160);
    for i in 0..n as u64 {
        let id = CallId::generate();
        call_rows.push_str(&format!(
            "{id},outbound,{},bench,voice,{{}},scheduled,{now},0,{now},{now},0,1\n",
            phone(i)
        ));
        event_rows.push_str(&format!(
            "{},{id},call_scheduled,{now},{now},api,\"{{\"\"scheduled_at\"\":\"\"{now}\"\"}}\"\n",
            call_core::EventId::generate()
        ));
    }
    let started = Instant::now();
    let mut tx = conn.begin().await.expect("begin");
    let mut copy = tx
        .copy_in_raw(
            "COPY calls_copy (id, direction, to_number, customer_name, media, metadata, status, \
             scheduled_at, attempts, created_at, updated_at, flags, version) FROM STDIN (FORMAT csv)",
        )
        .await
        .expect("copy calls");
    copy.send(call_rows.as_bytes()).await.expect("send");
    copy.finish().await.expect("finish");
    let mut copy = tx
        .copy_in_raw(
            "COPY events_copy (id, call_id, type, timestamp, recorded_at, source, metadata) \
             FROM STDIN (FORMAT csv)",
        )
        .await
        .expect("copy events");
    copy.send(event_rows.as_bytes()).await.expect("send");
    copy.finish().await.expect("finish");
    tx.commit().await.expect("commit");
    let copy_elapsed = started.elapsed();
    println!(
        "schedule_many: {n} calls in {:.2} s = {:.0} calls/s; COPY of the same rows (calls and events) \
         {:.0} rows/s; ratio {:.2} (goal >= 0.5)",
        engine_elapsed.as_secs_f64(),
        rate(n, engine_elapsed),
        rate(n, copy_elapsed),
        copy_elapsed.as_secs_f64() / engine_elapsed.as_secs_f64()
    );
}

/// Lifecycle events from 64 concurrent tasks, each its own calls, one
/// event at a time through the engine (read, decide, save).
async fn ingest(server: &TestServer, sizes: &Sizes) {
    let (store, _) = fresh_store(server, 16).await;
    let engine = Engine::builder(store.clone()).build();
    let tasks = 64;
    let started = Instant::now();
    let mut running = tokio::task::JoinSet::new();
    for task in 0..tasks {
        let engine = engine.clone();
        let n_calls = sizes.ingest_calls_per_task;
        running.spawn(async move {
            let mut n_events = 0;
            for n in 0..n_calls {
                let call_id = CallId::parse(format!("t{task}-{n}")).expect("an id");
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
    println!(
        "ingest, {tasks} concurrent tasks one event at a time, pool of 16: {n_events} events in {:.2} s = {:.0} events/s",
        elapsed.as_secs_f64(),
        rate(n_events, elapsed)
    );
}

async fn reads_on_a_large_table(server: &TestServer, sizes: &Sizes) {
    let (store, _) = fresh_store(server, 4).await;
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
    let mut n = 0u64;
    while (n as usize) < sizes.table {
        let calls: Vec<Call> = (n..n + 10_000)
            .take(sizes.table - n as usize)
            .map(|i| {
                let to = if i % (sizes.table / sizes.history) as u64 == 0 {
                    hot.clone()
                } else {
                    phone(i)
                };
                let status = statuses[(i % statuses.len() as u64) as usize];
                let created_at = now - TimeDelta::seconds(sizes.table as i64 - i as i64);
                Call::from_parts(CallParts {
                    to: Some(to),
                    from: Some(phone(i + 7)),
                    answered_at: (status == CallStatus::Completed).then_some(created_at),
                    duration_seconds: (status == CallStatus::Completed).then_some(60.0),
                    scheduled_at: Some(created_at),
                    version: 1,
                    ..CallParts::new(CallId::generate(), Direction::Outbound, status, created_at)
                })
            })
            .collect();
        n += calls.len() as u64;
        store.insert(&calls, &[]).await.expect("insert");
    }
    sqlx::query("ANALYZE calls").execute(store.pool()).await.expect("analyze");
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
    let times = page_times(&store, &page, sizes.samples).await;
    println!(
        "list page of 50, status filter, {} calls: p50 {:.2} ms, p99 {:.2} ms (goal p99 < 5 ms)",
        sizes.table,
        ms(call_test_support::percentile(&times, 0.5)),
        ms(call_test_support::percentile(&times, 0.99))
    );

    let group = ListQuery {
        statuses: vec![StatusFilter::Group(call_core::StatusGroup::Ended)],
        limit: 50,
        ..ListQuery::default()
    };
    let times = page_times(&store, &group, sizes.samples).await;
    println!(
        "list page of 50, status group `ended`, {} calls: p50 {:.2} ms, p99 {:.2} ms (goal p99 < 5 ms)",
        sizes.table,
        ms(call_test_support::percentile(&times, 0.5)),
        ms(call_test_support::percentile(&times, 0.99))
    );

    let mut times = Vec::with_capacity(sizes.samples);
    for _ in 0..sizes.samples {
        let started = Instant::now();
        let page = store.history(&hot, &HistoryQuery::default()).await.expect("history");
        times.push(started.elapsed());
        assert_eq!(page.items.len(), 50);
    }
    times.sort();
    println!(
        "history of a number with {} calls, first page of 50, {} calls in the table: p50 {:.2} ms, p99 {:.2} ms (goal p99 < 5 ms)",
        sizes.history,
        sizes.table,
        ms(call_test_support::percentile(&times, 0.5)),
        ms(call_test_support::percentile(&times, 0.99))
    );
}

/// How long each of `samples` pages of `query` took, sorted: paging on
/// through the listing, and from the newest again after its last page.
async fn page_times(store: &PgStore, query: &ListQuery, samples: usize) -> Vec<Duration> {
    let mut times = Vec::with_capacity(samples);
    let mut cursor = None;
    for _ in 0..samples {
        let started = Instant::now();
        let result =
            store.list(&ListQuery { cursor: cursor.clone(), ..query.clone() }).await.expect("list");
        times.push(started.elapsed());
        cursor = result.next_cursor.filter(|_| !result.items.is_empty());
    }
    times.sort();
    times
}

/// 3 workers (each an engine on a store of its own, as 3 processes) place
/// calls due at 1,000 a second through the stand-in over HTTP; lateness is
/// when the stand-in received each request less its `scheduled_at`.
async fn lateness(server: &TestServer, sizes: &Sizes) {
    let n = sizes.lateness_calls;
    let spread = sizes.lateness_spread_s;
    let api = MockCallApi::start(MockOptions::default()).await.expect("the stand-in");
    let (scheduling, url) = fresh_store(server, 4).await;
    let mut stops = Vec::new();
    let mut workers = Vec::new();
    for _ in 0..3 {
        let store = PgStore::open_with(&url, &PgOptions::max_connections(4)).await.expect("open");
        let engine = Engine::builder(Arc::new(store)).build();
        let provider = Arc::new(HttpProvider::new(api.url()).expect("a provider"));
        // Followed calls are not what is measured: poll rarely.
        let config =
            WorkerConfig { poll_interval: Duration::from_secs(30), ..WorkerConfig::default() };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        stops.push(stop);
        workers.push(tokio::spawn(engine.worker(provider, config).unwrap().run(async {
            let _ = stopped.await;
        })));
    }
    let start = Utc::now() + TimeDelta::seconds(3);
    let mut due = HashMap::with_capacity(n);
    let calls: Vec<NewCall> = (0..n)
        .map(|i| {
            let number =
                PhoneNumber::parse(&format!("+1415{:07}", 5_550_000 + i)).expect("a number");
            let at = start + TimeDelta::microseconds(i as i64 * spread * 1_000_000 / n as i64);
            due.insert(number.as_str().to_owned(), at);
            NewCall::to(number).at(at)
        })
        .collect();
    Engine::builder(scheduling).build().schedule_many(calls).await.expect("schedule_many");
    let within = Duration::from_secs(spread as u64 + 60);
    call_test_support::until_placed(&api, n as u64, within).await;
    for stop in stops {
        let _ = stop.send(());
    }
    for worker in workers {
        let _ = worker.await;
    }
    let lateness = call_test_support::Lateness::of(&api, &due);
    println!(
        "lateness, 3 workers (stores of their own), {n} calls due at {} a second: p50 {:.1} ms, \
         p99 {:.1} ms, max {:.1} ms (goal p99 < 50 ms)",
        n as i64 / spread,
        lateness.at(0.5),
        lateness.at(0.99),
        lateness.max()
    );
}
