//! Soak: mixed load over HTTP against the `call-http` binary, run as its
//! own process (worker included, the stand-in provider at 10x speed in
//! this process), on a SQLite file and then on PostgreSQL: scheduling
//! calls, call-centre lifecycles, list and history reads, and WebSocket
//! subscribers, all at once. After a warm-up long enough for the page
//! caches to fill (90 s, and on SQLite until the file has outgrown the
//! writer's cache by half again), the load goes on for the measured
//! phase. Prints errors, p50/p99 per
//! kind of request, the server's resident memory through the measured
//! phase and the database's growth per call; fails if any request failed,
//! or (in a full run) if that memory grew by 10 % or more.
//!
//! `cargo bench -p call-http --bench soak` (90 s warm-up, then 10 minutes
//! measured, `SOAK_SECONDS` to change it), or `-- --quick` (15 s + 15 s:
//! what CI runs). PostgreSQL comes from `CALLWORK_TEST_PG_URL` or the
//! system's packages, and is skipped, saying so, without them.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering::Relaxed},
    },
    time::{Duration, Instant},
};

use call_provider_http::mock::{MockCallApi, MockOptions};
use futures_util::StreamExt;
use serde_json::json;
use tokio::sync::Mutex;

/// Resident memory of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// The `call-http` binary on a free port, placing calls through `provider`;
/// the child and its base URL.
fn start_server(db: &str, provider: &str) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_call-http"))
        .args(["--listen", "127.0.0.1:0", "--provider-url", provider, "--db", db])
        .env("RUST_LOG", "warn,call_http=info")
        .env_remove("CALLS_API_KEY")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the call-http binary starts");
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let base = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| {
            let rest = line.split("dashboard at ").nth(1)?;
            Some(rest.split_whitespace().next()?.trim_end_matches('/').to_owned())
        })
        .expect("the server says where it listens");
    // Keep reading its log, so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, base)
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
        let at = |p: f64| {
            if latencies.is_empty() {
                Duration::ZERO
            } else {
                call_test_support::percentile(&latencies, p)
            }
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

/// Where a soak keeps its calls.
enum Database {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl Database {
    fn arg(&self) -> String {
        match self {
            Database::Sqlite(path) => path.display().to_string(),
            Database::Postgres(url) => url.clone(),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Database::Sqlite(_) => "SQLite",
            Database::Postgres(_) => "PostgreSQL",
        }
    }

    /// Its size on disk now, in bytes: the file and its WAL, or the database.
    async fn size(&self) -> u64 {
        match self {
            Database::Sqlite(path) => {
                let wal = path.with_extension("db-wal");
                std::fs::metadata(path).map_or(0, |m| m.len())
                    + std::fs::metadata(wal).map_or(0, |m| m.len())
            }
            Database::Postgres(url) => {
                let store = call_store_postgres::PgStore::open(url).await.unwrap();
                store.database_size().await.unwrap()
            }
        }
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let measured_seconds =
        std::env::var("SOAK_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(600);
    let (warm_up, measured) = if quick {
        (Duration::from_secs(15), Duration::from_secs(15))
    } else {
        (Duration::from_secs(90), Duration::from_secs(measured_seconds))
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        soak(&Database::Sqlite(dir.path().join("soak.db")), warm_up, measured, quick).await;
        match call_store_postgres::testing::TestServer::shared() {
            Some(server) => {
                let url = server.database().await;
                soak(&Database::Postgres(url), warm_up, measured, quick).await;
            }
            None => println!("soak on PostgreSQL: skipped (no PostgreSQL on this machine)"),
        }
    });
}

/// The file size past which SQLite's page caches are full: half again the
/// writer's, so the readers' caches have filled too.
const WARM_FILE: u64 = call_store_sqlite::WRITER_CACHE_BYTES * 3 / 2;

/// Waits out the warm-up: `at_least`, and for a SQLite file in a full run
/// until it has outgrown its caches (at most 15 minutes); how long it took.
async fn warm(database: &Database, at_least: Duration, quick: bool) -> Duration {
    let started = Instant::now();
    tokio::time::sleep(at_least).await;
    if !quick && matches!(database, Database::Sqlite(_)) {
        while database.size().await < WARM_FILE && started.elapsed() < Duration::from_secs(900) {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    started.elapsed()
}

async fn soak(database: &Database, warm_up: Duration, measured: Duration, quick: bool) {
    let api = MockCallApi::start(MockOptions { time_scale: 0.1, ..MockOptions::default() })
        .await
        .unwrap();
    let (mut server, base) = start_server(&database.arg(), api.url());
    let pid = server.id();
    let address = base.trim_start_matches("http://").to_owned();
    let client = reqwest::Client::new();
    let queue = client
        .post(format!("{base}/api/queues"))
        .json(&json!({"id": "soak"}))
        .send()
        .await
        .unwrap();
    assert!(queue.status().is_success(), "{}", queue.status());

    // The load runs until both phases are over; the warm-up's length is
    // known only once it ends.
    let running = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let kinds: Arc<[Kind; 4]> = Arc::new(Default::default());
    let received = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();

    for _ in 0..4 {
        let (received, running) = (received.clone(), running.clone());
        let url = format!("ws://{address}/api/ws");
        tasks.push(tokio::spawn(async move {
            let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
            while running.load(Relaxed) {
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
        let (kinds, running) = (kinds.clone(), running.clone());
        let base = base.clone();
        tasks.push(tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut n = 0usize;
                while running.load(Relaxed) {
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
    // The server's resident memory: at the end of the warm-up, then
    // every sixth of the measured phase; the database's size and the
    // calls placed across the measured phase.
    let warmed_in = warm(database, warm_up, quick).await;
    let mut curve = vec![rss_kib(pid)];
    let calls_so_far = || async {
        // Two schedules and one six-event inbound lifecycle in ten requests.
        kinds[0].latencies.lock().await.len() + kinds[1].latencies.lock().await.len() / 6
    };
    let (size_warm, calls_warm) = (database.size().await, calls_so_far().await);
    for _ in 0..6 {
        tokio::time::sleep(measured / 6).await;
        curve.push(rss_kib(pid));
    }
    running.store(false, Relaxed);
    let rss_warm = curve[0];
    let rss_end = *curve.last().unwrap();
    for task in tasks {
        task.await.unwrap();
    }
    let db_size = database.size().await;
    let calls_made = (calls_so_far().await - calls_warm).max(1);
    let _ = server.kill();
    let _ = server.wait();

    println!(
        "soak on {}: {} s warm-up + {} s measured of mixed load over HTTP on the call-http binary, \
             16 clients, 4 WebSocket subscribers",
        database.name(),
        warmed_in.as_secs(),
        measured.as_secs()
    );
    let mut errors = 0;
    for (kind, name) in kinds.iter().zip([
        "POST /api/calls",
        "POST /api/events",
        "GET /api/calls",
        "GET .../history",
    ]) {
        errors += kind.report(name).await;
    }
    println!(
        "websocket messages received: {}; calls placed by the stand-in: {}",
        received.load(Relaxed),
        api.calls_placed()
    );
    let curve: Vec<String> = curve.iter().map(|kib| format!("{}", kib / 1024)).collect();
    println!(
        "server resident memory from the end of warm-up, every {:.1} s (MiB): {}; database: {} MiB, \
             grown {:.0} bytes per call made while measured (outbound and inbound, with their events)",
        (measured / 6).as_secs_f64(),
        curve.join(", "),
        db_size / (1024 * 1024),
        db_size.saturating_sub(size_warm) as f64 / calls_made as f64
    );
    println!(
        "server resident memory: {} MiB after {} s of warm-up, {} MiB at the end ({:+.1} %, goal < 10 %); errors: {errors}",
        rss_warm / 1024,
        warmed_in.as_secs(),
        rss_end / 1024,
        (rss_end as f64 / rss_warm.max(1) as f64 - 1.0) * 100.0
    );
    // The suite's verdict (not a speed): no request may fail, and after
    // a full warm-up the server's memory must stay flat.
    assert_eq!(errors, 0, "requests failed under load");
    if !quick {
        assert!(rss_end * 10 < rss_warm * 11, "resident memory grew 10 % or more after warm-up");
    }
}
