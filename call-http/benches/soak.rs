//! Soak: mixed load over HTTP against one server (SQLite file, worker,
//! stand-in provider at 10x speed): scheduling calls, call-centre
//! lifecycles, list and history reads, and WebSocket subscribers, all at
//! once. Prints errors, p99 latency per kind of request, and resident
//! memory after warm-up and at the end.
//!
//! `cargo bench -p call-http --bench soak` (60 s), or `-- --quick` (8 s).

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering::Relaxed},
    },
    time::{Duration, Instant},
};

use call_core::{QueueId, WorkerConfig};
use call_http::{AppState, router};
use call_provider_http::{
    HttpProvider,
    mock::{MockCallApi, MockOptions},
};
use call_store_sqlite::SqliteStore;
use futures_util::StreamExt;
use serde_json::json;
use tokio::sync::Mutex;

/// Resident memory of this process, in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

#[derive(Default)]
struct Kind {
    latencies: Mutex<Vec<Duration>>,
    errors: AtomicU64,
}

impl Kind {
    async fn record(&self, took: Duration, ok: bool) {
        self.latencies.lock().await.push(took);
        if !ok {
            self.errors.fetch_add(1, Relaxed);
        }
    }

    async fn report(&self, name: &str) -> u64 {
        let mut latencies = self.latencies.lock().await;
        latencies.sort_unstable();
        let n = latencies.len().max(1);
        let at = |p: f64| {
            latencies
                .get(((n as f64 * p).ceil() as usize).clamp(1, n) - 1)
                .copied()
                .unwrap_or_default()
        };
        let errors = self.errors.load(Relaxed);
        println!(
            "{name:<24} {:>7} requests  {errors} errors  p50 {:>6.2} ms  p99 {:>6.2} ms",
            latencies.len(),
            at(0.5).as_secs_f64() * 1e3,
            at(0.99).as_secs_f64() * 1e3
        );
        errors
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let duration = Duration::from_secs(if quick { 8 } else { 60 });
    let warm_up = duration / 6;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async move {
        let api = MockCallApi::start(MockOptions { time_scale: 0.1, ..MockOptions::default() }).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path().join("soak.db")).await.unwrap());
        let state = AppState::builder(store).build();
        state.engine().add_queue(QueueId::parse("soak").unwrap()).await.unwrap();
        let provider = state.metrics().metered(Arc::new(HttpProvider::new(api.url()).unwrap()));
        let config = WorkerConfig { poll_interval: Duration::from_millis(200), ..WorkerConfig::default() };
        tokio::spawn(state.engine().worker(provider, config).run(std::future::pending()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
        let base = format!("http://{address}");

        let start = Instant::now();
        let end = start + duration;
        let kinds: Arc<[Kind; 4]> = Arc::new(Default::default());
        let received = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();

        for _ in 0..4 {
            let received = received.clone();
            let url = format!("ws://{address}/api/ws");
            tasks.push(tokio::spawn(async move {
                let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
                while Instant::now() < end {
                    match tokio::time::timeout(Duration::from_millis(200), socket.next()).await {
                        Ok(Some(Ok(_))) => {
                            received.fetch_add(1, Relaxed);
                        }
                        Ok(_) => panic!("a subscriber was disconnected"),
                        Err(_) => {}
                    }
                }
            }));
        }
        for task in 0..16 {
            let kinds = kinds.clone();
            let base = base.clone();
            tasks.push(tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut n = 0usize;
                while Instant::now() < end {
                    let (kind, request) = match n % 10 {
                        // Outbound calls, due in a second.
                        0 | 1 => (0, client.post(format!("{base}/api/calls")).json(&json!({
                            "phone_number": format!("+1415555{:04}", (task * 1_000 + n) % 10_000),
                            "scheduled_at": (chrono::Utc::now() + chrono::TimeDelta::seconds(1)).to_rfc3339(),
                            "queue_id": "soak",
                        }))),
                        // A call-centre lifecycle, one event per request.
                        2..=7 => {
                            let call = format!("soak-{task}-{}", n / 10);
                            let event = match n % 10 {
                                2 => json!({"event_type": "call_initiated", "call_id": call, "queue_id": "soak", "from": "+14155550100"}),
                                3 => json!({"event_type": "call_routed", "call_id": call, "agent_id": format!("agent-{}", task % 4)}),
                                4 => json!({"event_type": "call_answered", "call_id": call}),
                                5 => json!({"event_type": "call_hold", "call_id": call}),
                                6 => json!({"event_type": "call_resumed", "call_id": call}),
                                _ => json!({"event_type": "call_ended", "call_id": call}),
                            };
                            (1, client.post(format!("{base}/api/events")).json(&event))
                        }
                        8 => (2, client.get(format!("{base}/api/calls?status=live,ended&limit=50"))),
                        _ => (3, client.get(format!("{base}/api/phones/%2B14155550100/history?limit=50"))),
                    };
                    let sent = Instant::now();
                    let ok = match request.send().await {
                        Ok(response) => {
                            let ok = response.status().is_success();
                            let _ = response.bytes().await;
                            ok
                        }
                        Err(_) => false,
                    };
                    kinds[kind].record(sent.elapsed(), ok).await;
                    n += 1;
                }
            }));
        }
        // Resident memory every sixth of the run: the curve, not just its ends.
        let mut curve = Vec::new();
        while Instant::now() < end {
            tokio::time::sleep(warm_up).await;
            curve.push(rss_kib());
        }
        let rss_warm = curve[0];
        for task in tasks {
            task.await.unwrap();
        }
        let rss_end = rss_kib();
        let db_size = std::fs::metadata(dir.path().join("soak.db")).map_or(0, |m| m.len())
            + std::fs::metadata(dir.path().join("soak.db-wal")).map_or(0, |m| m.len());

        println!("soak: {} s of mixed load over HTTP, 16 clients, 4 WebSocket subscribers", duration.as_secs());
        let mut errors = 0;
        for (kind, name) in kinds.iter().zip(["POST /api/calls", "POST /api/events", "GET /api/calls", "GET .../history"]) {
            errors += kind.report(name).await;
        }
        println!(
            "websocket messages received: {}; calls placed by the stand-in: {}",
            received.load(Relaxed),
            api.calls_placed()
        );
        let curve: Vec<String> = curve.iter().map(|kib| format!("{}", kib / 1024)).collect();
        println!("resident memory every {} s (MiB): {}; database file and WAL: {} MiB", warm_up.as_secs(), curve.join(", "), db_size / (1024 * 1024));
        println!(
            "resident memory: {} MiB after {} s of warm-up, {} MiB at the end ({:+.1} %); errors: {errors}",
            rss_warm / 1024,
            warm_up.as_secs(),
            rss_end / 1024,
            (rss_end as f64 / rss_warm.max(1) as f64 - 1.0) * 100.0
        );
    });
}
