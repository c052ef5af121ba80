//! Run with: cargo run -p examples --example sqlite_worker -- [DB_PATH] [PROVIDER_URL]
//!
//! The engine on a SQLite file, the way a service embeds it: it schedules
//! three calls a second apart, runs the worker against the Mock Call API at
//! PROVIDER_URL (for example `http://localhost:5000`, as started by
//! `cargo run -p call-provider-http --features mock-server --bin mock-call-api`),
//! follows each call to its end, prints its audit log, and stops the
//! worker gracefully. With no PROVIDER_URL it starts the stand-in itself, at
//! ten times the real pace. The calls stay in DB_PATH (default
//! `./sqlite_worker.db`): run it twice and the second run counts the first's.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use call_core::{
    CallStatus, Engine, NewCall, PhoneNumber, WorkerConfig,
    ports::{Clock, ListQuery, SystemClock},
};
use call_provider_http::{
    HttpProvider,
    mock::{MockCallApi, MockOptions},
};
use call_store_sqlite::SqliteStore;
use chrono::TimeDelta;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let db_path = args.next().unwrap_or_else(|| "sqlite_worker.db".to_owned());
    let provider_url = args.next();

    // The stand-in, when no provider was named; kept alive until the end.
    let (stand_in, provider_url) = match provider_url {
        Some(url) => (None, url),
        None => {
            let api = MockCallApi::start(MockOptions { time_scale: 0.1, ..MockOptions::default() })
                .await
                .context("failed to start the stand-in provider")?;
            println!(
                "no provider URL given: using the built-in stand-in at {} (10x pace)",
                api.url()
            );
            let url = api.url().to_owned();
            (Some(api), url)
        }
    };

    let store =
        SqliteStore::open(&db_path).await.with_context(|| format!("failed to open {db_path}"))?;
    let engine = Engine::builder(Arc::new(store)).build();
    let earlier =
        engine.list(&ListQuery { limit: 1000, ..ListQuery::default() }).await?.items.len();
    println!("{db_path}: {earlier} calls from earlier runs");

    let provider =
        Arc::new(HttpProvider::new(&provider_url).context("failed to build the provider client")?);
    let poll_interval =
        if stand_in.is_some() { Duration::from_millis(100) } else { Duration::from_secs(1) };
    let config = WorkerConfig { poll_interval, ..WorkerConfig::default() };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(engine.worker(provider, config)?.run(async {
        let _ = stopped.await;
    }));

    let mut ids = Vec::new();
    for n in 0..3 {
        let to = PhoneNumber::parse(&format!("+1 415 555 02{n:02}"))?;
        let due = SystemClock.now() + TimeDelta::seconds(n + 1);
        let call = engine.schedule(NewCall::to(to).at(due).workflow("reminder")).await?;
        println!(
            "scheduled {} to {} for {}",
            call.id(),
            call.to().map(|n| n.to_string()).unwrap_or_default(),
            due.format("%H:%M:%S%.3f")
        );
        ids.push(call.id().clone());
    }

    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    for id in &ids {
        while !engine.get(id).await?.status().is_terminal() {
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "call {id} did not end within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    stop.send(()).ok();
    worker.await.context("the worker panicked")?;

    for id in &ids {
        let call = engine.get(id).await?;
        let talk = call.duration_seconds().map_or("no".to_owned(), |s| format!("{s:.0} s of"));
        println!("\n{} — {}, {talk} talk", call.id(), call.status());
        for event in engine.events(id).await? {
            println!(
                "    {}  {:<17} {}",
                event.timestamp().format("%H:%M:%S%.3f"),
                event.event_type(),
                event.source()
            );
        }
        anyhow::ensure!(
            call.status() == CallStatus::Completed || stand_in.is_none(),
            "the stand-in completes every call"
        );
    }
    if let Some(api) = stand_in {
        println!("\nthe stand-in was asked to place {} calls", api.stats().calls_placed);
    }
    Ok(())
}
