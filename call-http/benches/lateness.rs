//! Lateness: how long after its `scheduled_at` each call reaches the
//! provider. 10,000 calls due across 10 s, in a SQLite file, placed by one
//! worker through `HttpProvider` into the stand-in; the stand-in notes
//! when each request arrived.
//!
//! `cargo bench -p call-http --bench lateness` (10,000 calls over 10 s), or
//! with `-- --quick` (2,000 over 2 s; what CI runs). Prints the
//! distribution; asserts nothing about speed.

use std::{collections::HashMap, sync::Arc, time::Duration};

use call_core::{Engine, NewCall, PhoneNumber, WorkerConfig};
use call_provider_http::{
    HttpProvider,
    mock::{MockCallApi, MockOptions},
};
use call_store_sqlite::SqliteStore;
use chrono::{TimeDelta, Utc};

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (n, spread) = if quick { (2_000, 2) } else { (10_000, 10) };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async move {
        let api = MockCallApi::start(MockOptions::default()).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path().join("lateness.db")).await.unwrap());
        let engine = Engine::builder(store).build();
        let provider = Arc::new(HttpProvider::new(api.url()).unwrap());
        // Followed calls are not what is measured: poll rarely.
        let config =
            WorkerConfig { poll_interval: Duration::from_secs(30), ..WorkerConfig::default() };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let worker = tokio::spawn(engine.worker(provider, config).unwrap().run(async {
            let _ = stopped.await;
        }));

        let start = Utc::now() + TimeDelta::seconds(3);
        let mut due = HashMap::with_capacity(n);
        let calls: Vec<NewCall> = (0..n)
            .map(|i| {
                let number = PhoneNumber::parse(&format!("+1415{:07}", 5_550_000 + i)).unwrap();
                let at = start + TimeDelta::microseconds(i as i64 * spread * 1_000_000 / n as i64);
                due.insert(number.as_str().to_owned(), at);
                NewCall::to(number).at(at)
            })
            .collect();
        engine.schedule_many(calls).await.unwrap();

        let within = Duration::from_secs(spread as u64 + 60);
        call_test_support::until_placed(&api, n as u64, within).await;
        let _ = stop.send(());
        let _ = worker.await;

        let lateness = call_test_support::Lateness::of(&api, &due);
        println!(
            "lateness of {n} calls due across {spread} s (stand-in received − scheduled_at): \
             min {:.1} ms, p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {early} early \
             (goal: p99 < 50 ms, max < 200 ms)",
            lateness.min(),
            lateness.at(0.5),
            lateness.at(0.9),
            lateness.at(0.99),
            lateness.max(),
            early = lateness.early(),
        );
    });
}
