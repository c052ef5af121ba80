//! Lifecycle events ingested over HTTP on loopback, 64 connections at once,
//! against the server on a SQLite file, then on the in-memory store (to
//! separate the database's cost from HTTP's and the engine's); and, in the
//! same run, a trivial axum route (`GET /healthz`) the same way, for the ratio.
//!
//! `cargo bench -p call-http --bench ingest` (10 s per phase), or with
//! `-- --quick` (2 s per phase; what CI runs). Prints events/s, latency
//! percentiles and the ratio; asserts nothing about speed.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use call_http::{AppState, router};
use call_store_sqlite::SqliteStore;
use serde_json::json;

const CONNECTIONS: usize = 64;

/// What one phase measured.
struct Phase {
    requests: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&mut self, p: f64) -> Duration {
        self.latencies.sort_unstable();
        call_test_support::percentile(&self.latencies, p)
    }

    fn report(&mut self, name: &str, unit: &str) {
        println!(
            "{name:<28} {:>9.0} {unit}/s   p50 {:>6.2} ms   p99 {:>6.2} ms   ({} in {:.1} s, {CONNECTIONS} connections)",
            self.rate(),
            self.percentile(0.50).as_secs_f64() * 1e3,
            self.percentile(0.99).as_secs_f64() * 1e3,
            self.requests,
            self.elapsed.as_secs_f64(),
        );
    }
}

/// Runs `CONNECTIONS` loops of `request` for `duration`; each loop has its
/// own connection (its own client), and `request(task, n)` gives the n-th
/// request of a task.
async fn phase<F>(duration: Duration, request: F) -> Phase
where
    F: Fn(&reqwest::Client, usize, usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let request = Arc::new(request);
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|task| {
            let request = request.clone();
            tokio::spawn(async move {
                let client = reqwest::Client::builder().pool_max_idle_per_host(1).build().unwrap();
                let mut latencies = Vec::new();
                let mut n = 0;
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    let response =
                        request(&client, task, n).send().await.expect("the server answers");
                    let status = response.status();
                    let _ = response.bytes().await;
                    assert!(status.is_success(), "request {n} of task {task}: {status}");
                    latencies.push(sent.elapsed());
                    n += 1;
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    Phase { requests: latencies.len(), elapsed: start.elapsed(), latencies }
}

/// The lifecycle of one inbound call, as an event source sends it.
fn lifecycle_event(call: &str, step: usize) -> serde_json::Value {
    match step {
        0 => {
            json!({"event_type": "call_initiated", "call_id": call, "queue_id": "bench", "from": "+14155550100"})
        }
        1 => json!({"event_type": "call_routed", "call_id": call, "agent_id": "agent-1"}),
        2 => json!({"event_type": "call_answered", "call_id": call}),
        3 => json!({"event_type": "call_hold", "call_id": call}),
        4 => json!({"event_type": "call_resumed", "call_id": call}),
        _ => json!({"event_type": "call_ended", "call_id": call}),
    }
}

/// Serves the API on `store` on a free loopback port; its address.
async fn serve(store: Arc<dyn call_core::ports::CallStore>) -> std::net::SocketAddr {
    let state = AppState::builder(store).build();
    state.engine().add_queue(call_core::QueueId::parse("bench").unwrap()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
    address
}

/// The ingest phase against the server at `address`.
async fn ingest(duration: Duration, address: std::net::SocketAddr) -> Phase {
    let events_url = format!("http://{address}/api/events");
    phase(duration, move |client, task, n| {
        let call = format!("bench-{task}-{}", n / 6);
        client.post(&events_url).json(&lifecycle_event(&call, n % 6))
    })
    .await
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let duration = Duration::from_secs(if quick { 2 } else { 10 });
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async move {
        println!(
            "call-http ingest benchmark: {} s per phase{}",
            duration.as_secs(),
            if quick { " (--quick)" } else { "" }
        );
        let dir = tempfile::tempdir().unwrap();
        let sqlite = Arc::new(SqliteStore::open(dir.path().join("bench.db")).await.unwrap());
        let mut events = ingest(duration, serve(sqlite).await).await;
        events.report("POST /api/events (SQLite)", "events");

        // The same requests on the in-memory store: what HTTP, JSON and the
        // engine cost without the database.
        let memory = Arc::new(call_core::testing::MemoryStore::new());
        let mut in_memory = ingest(duration, serve(memory).await).await;
        in_memory.report("POST /api/events (memory)", "events");

        let health_url = format!("http://{}/healthz", serve(Arc::new(call_core::testing::MemoryStore::new())).await);
        let mut trivial = phase(duration, move |client, _, _| client.get(&health_url)).await;
        trivial.report("GET /healthz (trivial)", "req");

        println!(
            "ratio: ingest on SQLite is {:.3} of the trivial route's rate, {:.3} on the in-memory store \
             (goal: >= 10,000 events/s with p99 < 10 ms)",
            events.rate() / trivial.rate(),
            in_memory.rate() / trivial.rate()
        );
    });
}
