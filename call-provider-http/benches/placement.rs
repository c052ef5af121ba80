//! Calls placed per second: the engine's worker through `HttpProvider`,
//! against a bare loop of POSTs from the same client to the same stand-in.
//!
//! Run with: cargo bench -p call-provider-http --features mock-server --bench placement
//! Quick check (CI): add `-- --quick`
//!
//! Both run in this process on the same runtime as the stand-in, so they
//! share the machine alike; the ratio is the engine's overhead.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use call_core::{
    CallId, Engine, NewCall, PhoneNumber, WorkerConfig,
    ports::{CallProvider, PlaceCall},
    testing::MemoryStore,
};
use call_provider_http::{
    HttpProvider,
    mock::{MockCallApi, MockOptions},
};

const IN_FLIGHT: usize = 64;

fn phone(n: usize) -> PhoneNumber {
    PhoneNumber::parse(&format!("+1415{:07}", 5_000_000 + n)).expect("a valid number")
}

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let n = if quick { 2_000 } else { 20_000 };
    println!(
        "call-provider-http placement benchmark ({} mode), release build",
        if quick { "quick" } else { "full" }
    );

    let api = MockCallApi::start(MockOptions::default()).await.expect("start the stand-in");
    let provider = Arc::new(HttpProvider::new(api.url()).expect("a client"));

    // Warm the connection pool.
    bare_loop(&provider, 0, 200).await;

    let started = Instant::now();
    bare_loop(&provider, 1_000_000, n).await;
    let bare = n as f64 / started.elapsed().as_secs_f64();

    let engine = Engine::builder(Arc::new(MemoryStore::new())).build();
    let config = WorkerConfig {
        max_in_flight: IN_FLIGHT,
        poll_interval: Duration::from_secs(3600),
        ..WorkerConfig::default()
    };
    let placed_before = api.calls_placed();
    let calls = engine
        .schedule_many((0..n).map(|i| NewCall::to(phone(2_000_000 + i))).collect())
        .await
        .expect("schedule");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let worker = tokio::spawn(engine.worker(provider.clone(), config).unwrap().run(async {
        let _ = stopped.await;
    }));
    while api.calls_placed() - placed_before < n as u64 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let elapsed = started.elapsed();
    stop.send(()).ok();
    worker.await.expect("the worker");
    let through_engine = n as f64 / elapsed.as_secs_f64();
    assert_eq!(calls.len(), n);

    println!("bare loop of POST /api/call, {IN_FLIGHT} in flight: {n} calls, {bare:.0} calls/s");
    println!(
        "engine worker placing due calls, {IN_FLIGHT} in flight: {n} calls, {through_engine:.0} calls/s (goal >= 3,000), \
         {:.2} of the bare loop (goal >= 0.8)",
        through_engine / bare
    );
}

/// `n` placements straight through the client, `IN_FLIGHT` at a time.
async fn bare_loop(provider: &Arc<HttpProvider>, first: usize, n: usize) {
    let permits = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let mut tasks = tokio::task::JoinSet::new();
    for i in first..first + n {
        let permit = permits.clone().acquire_owned().await.expect("the semaphore is open");
        let provider = provider.clone();
        tasks.spawn(async move {
            let request = PlaceCall { call_id: CallId::generate(), to: phone(i), from: None };
            provider.place_call(&request).await.expect("placed");
            drop(permit);
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("a placement");
    }
}
