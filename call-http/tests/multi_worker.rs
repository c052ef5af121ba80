//! The multi-worker suite: one schedule on PostgreSQL shared by separate
//! processes. `call-http --no-worker` takes the schedules over HTTP; three
//! `calls run --db postgres://…` workers place them through the stand-in,
//! and one of them is SIGKILLed and restarted 5 times during the run.
//! Afterwards every call has ended, no number was dialled twice (the
//! stand-in's counter), the placements spread across the workers, and the
//! lateness of every placement is printed.
//!
//! ```sh
//! CALLWORK_SUITES=1 cargo test -p call-http --test multi_worker -- --nocapture                # 2,000 calls across 10 s
//! CALLWORK_SUITES=1 MULTI_CALLS=400 MULTI_SPREAD=4 cargo test -p call-http --test multi_worker    # CI's short run
//! ```
//!
//! PostgreSQL comes from `CALLWORK_TEST_PG_URL` or the system's packages
//! (see `call_store_postgres::testing`).

use std::{
    collections::{BTreeMap, HashMap},
    path::PathBuf,
    process::Stdio,
    sync::Arc,
    time::Duration,
};

use call_core::{CallStatus, EventType, ports::CallStore};
use call_provider_http::mock::{MockCallApi, MockOptions};
use call_store_postgres::{PgStore, testing::TestServer};
use chrono::{TimeDelta, Utc};
use tokio::process::{Child, Command};

use call_test_support::{all_calls, free_port, setting, until_every_call_ended};

/// The `calls` binary, built beside this package's `call-http` when missing.
fn calls_binary() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_BIN_EXE_call-http")).with_file_name("calls");
    if !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let built = std::process::Command::new(cargo)
            .args(["build", "-p", "call-cli", "--bin", "calls"])
            .status()
            .expect("run cargo build");
        assert!(built.success(), "cannot build the calls binary");
    }
    path
}

fn worker(calls: &PathBuf, db: &str, provider: &str) -> Child {
    Command::new(calls)
        .args([
            "run",
            "--provider-url",
            provider,
            "--poll-interval",
            "100ms",
            "--lease",
            "2s",
            "--heartbeat",
            "500ms",
        ])
        .env("CALLS_DB", db)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start calls run")
}

/// `call-http --no-worker` on `db`, answering: the child, its base URL, and
/// a client for it.
async fn serve_api(db: &str) -> (Child, String, reqwest::Client) {
    let port = free_port();
    let http = Command::new(env!("CARGO_BIN_EXE_call-http"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--no-worker", "--db", db])
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..300 {
        if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (http, base, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_on_many_processes_share_one_schedule_and_dial_each_call_once() {
    if !call_test_support::suite("multi-worker") {
        return;
    }
    let Some(server) = TestServer::shared() else { return };
    let n_calls = setting("MULTI_CALLS", 2_000);
    let spread = setting("MULTI_SPREAD", 10) as i64;
    let kills = setting("MULTI_KILLS", 5);
    let db = server.database().await;
    let calls = calls_binary();
    // 10 contract seconds take 0.5 s: calls are live while a worker dies.
    let api = MockCallApi::start(MockOptions { time_scale: 0.05, ..MockOptions::default() })
        .await
        .unwrap();

    let (mut http, base, client) = serve_api(&db).await;

    let mut workers: Vec<Child> = (0..3).map(|_| worker(&calls, &db, api.url())).collect();

    // n calls due across `spread` seconds from 3 s from now, one number
    // each, scheduled over HTTP by 16 clients while the workers run.
    let start = Utc::now() + TimeDelta::seconds(3);
    let due: Arc<HashMap<String, chrono::DateTime<Utc>>> = Arc::new(
        (0..n_calls)
            .map(|i| {
                let at =
                    start + TimeDelta::microseconds(i as i64 * spread * 1_000_000 / n_calls as i64);
                (format!("+1415{:07}", 5_550_000 + i), at)
            })
            .collect(),
    );
    let numbers: Vec<String> = due.keys().cloned().collect();
    let mut clients = tokio::task::JoinSet::new();
    for chunk in numbers.chunks(n_calls.div_ceil(16)) {
        let (client, base, due, chunk) =
            (client.clone(), base.clone(), due.clone(), chunk.to_vec());
        clients.spawn(async move {
            for number in chunk {
                let body = serde_json::json!({
                    "phone_number": number,
                    "scheduled_at": due[&number].to_rfc3339(),
                });
                let answer = client.post(format!("{base}/api/calls")).json(&body).send().await;
                let answer = answer.expect("POST /api/calls");
                assert_eq!(answer.status(), 201, "{}", answer.text().await.unwrap_or_default());
            }
        });
    }
    while let Some(done) = clients.join_next().await {
        done.unwrap();
    }
    let scheduled_in = Utc::now() - (start - TimeDelta::seconds(3));
    println!("{n_calls} calls scheduled over HTTP in {} ms", scheduled_in.num_milliseconds());

    // SIGKILL worker 0 at random moments across the run, restarting it each time.
    let run_for = Duration::from_secs(3 + spread as u64);
    for kill in 0..kills {
        tokio::time::sleep(
            run_for.mul_f64(fastrand::f64() * 0.8 / kills as f64 + 0.1 / kills as f64),
        )
        .await;
        workers[0].start_kill().unwrap();
        let status = workers[0].wait().await.unwrap();
        assert!(!status.success(), "kill {kill}: the worker was killed, not stopped");
        workers[0] = worker(&calls, &db, api.url());
    }

    // Every call ends: placed, followed to completed, or failed as cut off.
    let store = PgStore::open(&db).await.unwrap();
    until_every_call_ended(&store, run_for + Duration::from_secs(120)).await;
    for mut worker in workers {
        worker.start_kill().unwrap();
        let _ = worker.wait().await;
    }
    http.start_kill().unwrap();
    let _ = http.wait().await;

    let all = all_calls(&store).await;
    assert_eq!(all.len(), n_calls, "every acknowledged schedule is stored, once");

    let dialled = api.stats().by_number;
    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_worker: BTreeMap<String, usize> = BTreeMap::new();
    for call in &all {
        let number = call.to().unwrap().as_str();
        let times = dialled.get(number).copied().unwrap_or(0);
        assert!(times <= 1, "{number} was dialled {times} times");
        assert!(call.status().is_terminal(), "{} is {}", call.id(), call.status());
        if call.status() == CallStatus::Completed {
            assert_eq!(times, 1, "{}: completed, so dialled once", call.id());
        }
        *by_status.entry(call.status().to_string()).or_default() += 1;
        let events = store.events(call.id()).await.unwrap();
        assert_eq!(events.first().map(|e| e.event_type()), Some(EventType::CallScheduled));
        assert!(events.last().unwrap().timestamp() >= events[0].timestamp(), "ordered log");
        for event in events.iter().filter(|e| e.event_type() == EventType::CallDispatched) {
            let worker = event.metadata()["worker"].as_str().unwrap_or_default().to_owned();
            *by_worker.entry(worker).or_default() += 1;
        }
    }
    let placed = dialled.values().sum::<u64>();
    let busy_workers = by_worker.values().filter(|&&n| n >= 1).count();
    assert!(busy_workers >= 3, "placements did not spread: {by_worker:?}");

    let lateness = call_test_support::Lateness::of(&api, &due);
    let mut shares: Vec<usize> = by_worker.values().copied().collect();
    shares.sort_unstable_by(|a, b| b.cmp(a));
    println!(
        "multi-worker: {n_calls} calls due across {spread} s, 3 workers, worker 0 SIGKILLed {kills} times; \
         {placed} dialled (none twice); outcomes {by_status:?}; claims per worker process {shares:?}; \
         lateness (stand-in received − scheduled_at) p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        lateness.at(0.5),
        lateness.at(0.99),
        lateness.max()
    );
}

/// How many lines of `log` contain `text`.
fn lines_with(log: &str, text: &str) -> usize {
    log.lines().filter(|line| line.contains(text)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schedule_survives_a_postgresql_restart_mid_run() {
    if !call_test_support::suite("multi-worker") {
        return;
    }
    let Some(server) = TestServer::dedicated() else { return };
    let n_calls = setting("RESTART_CALLS", 200);
    let db = server.database().await;
    let calls = calls_binary();
    let api = MockCallApi::start(MockOptions { time_scale: 0.05, ..MockOptions::default() })
        .await
        .unwrap();
    let logs = tempfile::tempdir().unwrap();
    let (mut http, base, client) = serve_api(&db).await;
    let log_path = |n: usize| logs.path().join(format!("worker-{n}.log"));
    let mut workers: Vec<Child> = (0..2)
        .map(|n| {
            let mut command = std::process::Command::new(&calls);
            command
                .args(["run", "--provider-url", api.url(), "--poll-interval", "100ms"])
                .args(["--lease", "3s", "--heartbeat", "1s"])
                .env("CALLS_DB", &db)
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(log_path(n)).unwrap());
            Command::from(command).kill_on_drop(true).spawn().unwrap()
        })
        .collect();

    // Due across 6 s from 1 s from now, so calls are being claimed, placed
    // and followed when the database goes away.
    let start = Utc::now() + TimeDelta::seconds(1);
    let schedule = |number: String, at: chrono::DateTime<Utc>| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            let body = serde_json::json!({"phone_number": number, "scheduled_at": at.to_rfc3339()});
            client.post(format!("{base}/api/calls")).json(&body).send().await
        }
    };
    for i in 0..n_calls {
        let at = start + TimeDelta::milliseconds(i as i64 * 6_000 / n_calls as i64);
        let answer = schedule(format!("+1415{:07}", 5_550_000 + i), at).await.unwrap();
        assert_eq!(answer.status(), 201, "{}", answer.text().await.unwrap_or_default());
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Longer than the store waits for a connection (5 s): an outage the
    // workers must see, log once and ride out.
    let down_for = Duration::from_secs(7);
    let restarted_at = std::time::Instant::now();
    tokio::task::block_in_place(|| server.restart(down_for));
    let outage = restarted_at.elapsed();

    // The server answers again by itself; a schedule it acknowledges after
    // the restart is placed like the rest.
    let after = format!("+1415{:07}", 5_550_000 + n_calls);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let answer = schedule(after.clone(), Utc::now()).await.unwrap();
        if answer.status() == 201 {
            break;
        }
        assert_eq!(answer.status(), 503, "an outage is a 503: {}", answer.text().await.unwrap());
        assert!(tokio::time::Instant::now() < deadline, "the server never recovered");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let store = PgStore::open(&db).await.unwrap();
    until_every_call_ended(&store, Duration::from_secs(120)).await;
    // A worker logs the end of an outage once the store has answered for a
    // second; the last call can end sooner than that after the restart.
    for n in 0..2 {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while lines_with(&std::fs::read_to_string(log_path(n)).unwrap(), "the store answers again")
            == 0
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    for worker in &mut workers {
        assert!(worker.try_wait().unwrap().is_none(), "a worker exited during the outage");
        worker.start_kill().unwrap();
        let _ = worker.wait().await;
    }
    assert!(http.try_wait().unwrap().is_none(), "the server exited during the outage");
    http.start_kill().unwrap();
    let _ = http.wait().await;

    let all = all_calls(&store).await;
    assert_eq!(all.len(), n_calls + 1, "every acknowledged schedule is stored, once");
    let dialled = api.stats().by_number;
    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    for call in &all {
        let number = call.to().unwrap().as_str();
        let times = dialled.get(number).copied().unwrap_or(0);
        assert!(times <= 1, "{number} was dialled {times} times");
        if call.status() == CallStatus::Completed {
            assert_eq!(times, 1, "{}: completed, so dialled once", call.id());
        }
        let outcome = match call.last_error() {
            Some(reason) if call.status() != CallStatus::Completed => {
                format!("{}: {}", call.status(), reason.split(':').next().unwrap_or(reason))
            }
            _ => call.status().to_string(),
        };
        *by_status.entry(outcome).or_default() += 1;
    }
    let completed = by_status.get("completed").copied().unwrap_or(0);
    // A call placed as the database went away may end `outcome_unknown`
    // (its outcome could not be recorded within its lease); nearly every
    // other rides the outage out.
    assert!(completed * 10 >= all.len() * 9, "nearly every call completed: {by_status:?}");
    for n in 0..2 {
        let log = std::fs::read_to_string(log_path(n)).unwrap();
        assert_eq!(
            lines_with(&log, "the store is not answering"),
            1,
            "one line per outage:\n{log}"
        );
        assert_eq!(lines_with(&log, "the store answers again"), 1, "and one when it ends:\n{log}");
    }
    println!(
        "postgres restart: {} calls, 2 workers, the server down {:.1} s ({down_for:?} asked); \
         {} dialled (none twice); outcomes {by_status:?}",
        all.len(),
        outage.as_secs_f64(),
        dialled.values().sum::<u64>(),
    );
}
