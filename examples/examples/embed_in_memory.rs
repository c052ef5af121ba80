//! Run with: cargo run -p examples --example embed_in_memory
//!
//! Embeds the engine the way a service would, with the in-memory store and
//! the fake provider of call-core's `testing` feature in place of SQLite
//! and a real telephony provider. It schedules three calls a second apart,
//! runs the worker on the real clock while printing the live update
//! stream, feeds one inbound call-centre call through its lifecycle events,
//! and prints every call's timeline from the audit log. Takes about 15 s:
//! the fake provider, like the Mock Call API, completes a call 10 s after
//! placing it.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use call_core::{
    AgentId, CallId, Engine, EventSource, IncomingEvent, Initiated, Lifecycle, NewCall,
    PhoneNumber, QueueId, WorkerConfig,
    ports::{BroadcastNotifier, Clock, Fanout, LogNotifier, Notification, SystemClock},
    testing::{FakeProvider, MemoryStore},
};
use chrono::TimeDelta;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let clock = Arc::new(SystemClock);
    let live = BroadcastNotifier::new(1024);
    let engine = Engine::builder(Arc::new(MemoryStore::new()))
        .clock(clock.clone())
        .notifier(Arc::new(Fanout(vec![Arc::new(LogNotifier), Arc::new(live.clone())])))
        .build();
    let provider = Arc::new(FakeProvider::new(clock.clone()));

    // Print the live update stream, as a dashboard would receive it.
    let mut updates = live.subscribe();
    let printer = tokio::spawn(async move {
        while let Ok(notification) = updates.recv().await {
            match &*notification {
                Notification::CallChanged { call, events } => {
                    for event in events {
                        println!(
                            "  live: {:<38} {:<18} -> {}",
                            call.id(),
                            event.event_type(),
                            call.status()
                        );
                    }
                }
                Notification::Alert(alert) => {
                    println!("  live: ALERT {} on {}", alert.kind, alert.call_id)
                }
                Notification::SurveyRequested { call } => {
                    println!("  live: survey for {}", call.id())
                }
            }
        }
    });

    // Outbound calls, due one, two and three seconds from now.
    let mut ids = Vec::new();
    for (n, name) in ["Ada", "Grace", "Edsger"].iter().enumerate() {
        let to = PhoneNumber::parse(&format!("+1 (415) 555-01{n:02}"))
            .context("failed to parse a number")?;
        let due = clock.now() + TimeDelta::seconds(n as i64 + 1);
        let call = engine
            .schedule(NewCall::to(to).at(due).customer_name(*name).workflow("reminder"))
            .await?;
        println!("scheduled {} for {} ({name})", call.id(), due.format("%H:%M:%S%.3f"));
        ids.push(call.id().clone());
    }

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = engine.worker(provider.clone(), WorkerConfig::default())?;
    let running = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));

    // An inbound call reported by a contact-centre platform.
    let queue = engine.add_queue(QueueId::parse("support")?).await?.id;
    let inbound = CallId::parse("cc-1001")?;
    let event = |lifecycle| IncomingEvent {
        call_id: inbound.clone(),
        event_id: None,
        timestamp: None,
        source: EventSource::Api,
        lifecycle,
    };
    let from = PhoneNumber::parse("+44 20 7946 0958")?;
    engine
        .ingest(event(Lifecycle::Initiated(Initiated {
            queue_id: Some(queue),
            from: Some(from),
            ..Initiated::default()
        })))
        .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let agent_id = AgentId::parse("agent-7")?;
    engine.ingest(event(Lifecycle::Routed { agent_id, routing_time: Some(0.8) })).await?;
    engine.ingest(event(Lifecycle::Answered { wait_time: None })).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    engine.ingest(event(Lifecycle::Ended { end_reason: None, duration: None })).await?;
    ids.push(inbound);

    // Wait until every outbound call has ended, then stop the worker gracefully.
    for id in &ids {
        while !engine.get(id).await?.status().is_terminal() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    stop.send(()).ok();
    running.await.context("the worker panicked")?;
    printer.abort();

    println!();
    for id in &ids {
        let call = engine.get(id).await?;
        println!(
            "{} {} to {} — {} (waited {}, talked {}, flags [{}])",
            call.direction(),
            call.id(),
            call.to().map_or("-".to_owned(), ToString::to_string),
            call.status(),
            seconds(call.wait_seconds()),
            seconds(call.duration_seconds()),
            call.flags(),
        );
        for event in engine.events(id).await? {
            println!(
                "    {}  {:<18} {:<9} {}",
                event.timestamp().format("%H:%M:%S%.3f"),
                event.event_type(),
                event.source(),
                serde_json::Value::Object(event.metadata().clone()),
            );
        }
    }
    let stats = engine.stats().await?;
    for queue in stats.queues {
        println!(
            "queue {}: offered {}, answered {}, service level {}",
            queue.queue_id,
            queue.offered,
            queue.answered,
            queue.service_level.map_or("-".to_owned(), |level| format!("{:.0}%", level * 100.0)),
        );
    }
    Ok(())
}

fn seconds(value: Option<f64>) -> String {
    value.map_or("-".to_owned(), |s| format!("{s:.1} s"))
}
