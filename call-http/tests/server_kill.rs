//! The server killed under load: `call-http` (API and worker in one
//! process, on one SQLite file) takes 16 clients scheduling calls and
//! reporting inbound calls' lifecycles, with 4 live subscribers, and is
//! SIGKILLed at random moments and restarted, 10 times. Each client retries
//! a request that got no answer with the same `Idempotency-Key` or
//! `event_id`, as a client that does not know whether it was taken should,
//! and logs what it was told. Afterwards: every request answered 2xx is in
//! the database, nothing is in it twice, no number was dialled twice (the
//! stand-in runs in this process, so it outlives every kill), every call has
//! ended, every audit log is complete and in order, and every live
//! subscriber, resuming after the last message it saw each time the server
//! came back, got every entry of the log once, in order.
//!
//! ```sh
//! CALLWORK_SUITES=1 cargo test -p call-http --test server_kill -- --nocapture                 # 10 kills
//! CALLWORK_SUITES=1 SERVER_KILLS=4 cargo test -p call-http --test server_kill               # CI's short run
//! ```

use std::{
    collections::{BTreeMap, HashMap},
    path::Path,
    process::Stdio,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use call_core::{CallId, CallStatus, Direction, EventId, EventType, ports::CallStore};
use call_http::live::LiveMessage;
use call_provider_http::mock::{MockCallApi, MockOptions};
use call_store_sqlite::SqliteStore;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use call_test_support::{all_calls, free_port, setting, until_every_call_ended};

/// Starts `call-http` on `db`, placing calls through `provider`, and waits
/// until it answers.
async fn start_server(db: &Path, port: u16, provider: &str, client: &reqwest::Client) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_call-http"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--provider-url", provider])
        .args(["--lease", "2s", "--heartbeat", "500ms", "--db"])
        .arg(db)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start call-http");
    let healthz = format!("http://127.0.0.1:{port}/healthz");
    for _ in 0..300 {
        if client.get(&healthz).send().await.is_ok_and(|r| r.status().is_success()) {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("call-http did not start on port {port}");
}

/// POSTs `body` to `path` until the server answers 2xx: a request that
/// got no answer, or a 503, may or may not have been taken, so it is sent
/// again, the same. Anything else is a failure of the suite.
async fn until_taken(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    body: &Value,
    key: Option<&str>,
) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let mut request = client.post(format!("{base}{path}")).json(body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        match request.send().await {
            Ok(answer) if answer.status().is_success() => {
                if let Ok(value) = answer.json::<Value>().await {
                    return value;
                }
                // The body was cut off by a kill: ask again.
            }
            Ok(answer) if answer.status() == 503 => {}
            Ok(answer) => {
                let status = answer.status();
                panic!("{path} {body}: {status} {}", answer.text().await.unwrap_or_default());
            }
            Err(_) => {}
        }
        assert!(tokio::time::Instant::now() < deadline, "{path} {body}: never taken");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The events of `log` that are among `steps`, in the log's order.
fn lifecycle(log: &[EventType], steps: &[EventType]) -> Vec<EventType> {
    log.iter().copied().filter(|t| steps.contains(t)).collect()
}

/// What the clients were told was taken.
#[derive(Default)]
struct Acknowledged {
    /// Scheduled outbound calls: number → the id the server answered.
    scheduled: Mutex<HashMap<String, String>>,
    /// Reported inbound calls, by id.
    inbound: Mutex<Vec<String>>,
    /// Every lifecycle event taken, by event id.
    events: Mutex<Vec<String>>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_under_load_loses_nothing_it_acknowledged() {
    if !call_test_support::suite("server-kill") {
        return;
    }
    let kills = setting("SERVER_KILLS", 10);
    let n_clients = 16;
    let n_subscribers = 4;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    // 10 contract seconds take 0.5 s.
    let api = MockCallApi::start(MockOptions { time_scale: 0.05, ..MockOptions::default() })
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("calls.db");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = start_server(&db, port, api.url(), &client).await;

    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(Acknowledged::default());
    let mut clients = tokio::task::JoinSet::new();
    for c in 0..n_clients {
        let (client, base, stop, acked) =
            (client.clone(), base.clone(), stop.clone(), acknowledged.clone());
        clients.spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                // An outbound call, due within the next second.
                let number = format!("+1415{:07}", 5_000_000 + c * 10_000 + n);
                let due = chrono::Utc::now() + chrono::TimeDelta::milliseconds(fastrand::i64(0..1_000));
                let body = json!({"phone_number": number, "scheduled_at": due.to_rfc3339()});
                let key = format!("c{c}-{n}");
                let call = until_taken(&client, &base, "/api/calls", &body, Some(&key)).await;
                let id = call["id"].as_str().unwrap().to_owned();
                acked.scheduled.lock().unwrap().insert(number, id);
                // An inbound call's whole lifecycle, each event with its id.
                let call_id = format!("in-{c}-{n}");
                for (k, event) in [
                    json!({"event_type": "call_initiated", "call_id": call_id, "from": "+14155550199"}),
                    json!({"event_type": "call_answered", "call_id": call_id, "wait_time": 3}),
                    json!({"event_type": "call_ended", "call_id": call_id, "duration": 20}),
                ]
                .into_iter()
                .enumerate()
                {
                    let event_id = format!("ev-{c}-{n}-{k}");
                    let mut event = event;
                    event["event_id"] = json!(event_id);
                    until_taken(&client, &base, "/api/events", &event, None).await;
                    acked.events.lock().unwrap().push(event_id);
                }
                acked.inbound.lock().unwrap().push(call_id);
                n += 1;
            }
        });
    }
    // Each subscriber resumes after the last message it saw every time the
    // server comes back, and answers what it was sent.
    let mut subscribers = tokio::task::JoinSet::new();
    for _ in 0..n_subscribers {
        let (url, stop) = (format!("ws://127.0.0.1:{port}/api/ws"), stop.clone());
        subscribers.spawn(async move {
            let mut seen = Subscribed::default();
            while !stop.load(Ordering::Relaxed) {
                let url = match seen.last {
                    Some(last) => format!("{url}?after={last}"),
                    None => url.clone(),
                };
                if let Ok((mut socket, _)) = tokio_tungstenite::connect_async(&url).await {
                    seen.connections += 1;
                    while let Ok(Some(Ok(message))) =
                        tokio::time::timeout(Duration::from_millis(500), socket.next()).await
                    {
                        if message.is_text() {
                            seen.take(serde_json::from_str(message.to_text().unwrap()).unwrap());
                        }
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            seen
        });
    }

    // SIGKILL at random moments, restarting at once each time.
    let started = std::time::Instant::now();
    for kill in 0..kills {
        tokio::time::sleep(Duration::from_millis(fastrand::u64(300..1_200))).await;
        server.start_kill().unwrap();
        let status = server.wait().await.unwrap();
        assert!(!status.success(), "kill {kill}: killed, not stopped");
        server = start_server(&db, port, api.url(), &client).await;
    }
    stop.store(true, Ordering::Relaxed);
    while let Some(done) = clients.join_next().await {
        done.unwrap();
    }
    let mut subscribed = Vec::new();
    while let Some(done) = subscribers.join_next().await {
        subscribed.push(done.unwrap());
    }
    let loaded_for = started.elapsed();

    // The last server finishes the calls: placed and followed, or failed as
    // cut off by a kill once their lease lapsed.
    let store = SqliteStore::open(&db).await.unwrap();
    until_every_call_ended(&store, Duration::from_secs(120)).await;
    server.start_kill().unwrap();
    let _ = server.wait().await;

    let all = all_calls(&store).await;
    let scheduled = acknowledged.scheduled.lock().unwrap().clone();
    let inbound = acknowledged.inbound.lock().unwrap().clone();
    let events = acknowledged.events.lock().unwrap().clone();

    // Every acknowledged call is there, and nothing else, once.
    let mut by_number: HashMap<String, Vec<&call_core::Call>> = HashMap::new();
    for call in all.iter().filter(|c| c.direction() == Direction::Outbound) {
        by_number.entry(call.to().unwrap().to_string()).or_default().push(call);
    }
    for (number, id) in &scheduled {
        let calls = by_number.get(number).map_or(&[][..], Vec::as_slice);
        assert_eq!(calls.len(), 1, "{number}: {} calls for one acknowledged schedule", calls.len());
        assert_eq!(calls[0].id().as_str(), id, "{number}: the call acknowledged");
    }
    assert!(by_number.len() >= scheduled.len(), "fewer numbers stored than acknowledged");
    for id in &inbound {
        let call = store.get(&CallId::parse(id).unwrap()).await.unwrap();
        let call = call.unwrap_or_else(|| panic!("acknowledged inbound call {id} is missing"));
        assert_eq!(call.status(), CallStatus::Completed, "{id}");
    }
    for id in &events {
        let found = store.event(&EventId::parse(id).unwrap()).await.unwrap();
        assert!(found.is_some(), "acknowledged event {id} is missing");
    }

    // No number dialled twice; every call ended; every log whole and in order.
    let dialled = api.stats().by_number;
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut n_events = 0;
    for call in &all {
        assert!(call.status().is_terminal(), "{} is {}", call.id(), call.status());
        let log = store.events(call.id()).await.unwrap();
        n_events += log.len();
        let types: Vec<EventType> = log.iter().map(|e| e.event_type()).collect();
        assert!(
            log.windows(2).all(|w| w[0].recorded_at() <= w[1].recorded_at()),
            "{}: {:?}",
            call.id(),
            log.iter()
                .map(|e| (e.event_type(), e.timestamp(), e.recorded_at()))
                .collect::<Vec<_>>()
        );
        let mut ids: Vec<&EventId> = log.iter().map(|e| e.id()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), log.len(), "{}: an event twice", call.id());
        match call.direction() {
            Direction::Outbound => {
                let number = call.to().unwrap().as_str();
                let times = dialled.get(number).copied().unwrap_or(0);
                assert!(times <= 1, "{number} was dialled {times} times");
                assert_eq!(
                    types.first(),
                    Some(&EventType::CallScheduled),
                    "{}: {types:?}",
                    call.id()
                );
                if call.status() == CallStatus::Completed {
                    assert_eq!(times, 1, "{}: completed, so dialled once", call.id());
                    use EventType::*;
                    let steps =
                        [CallScheduled, CallDispatched, CallInitiated, CallAnswered, CallEnded];
                    assert_eq!(lifecycle(&types, &steps), steps, "{}: {types:?}", call.id());
                } else {
                    assert!(
                        call.flags().contains(call_core::Flag::OutcomeUnknown),
                        "{}: {} {:?}",
                        call.id(),
                        call.status(),
                        call.last_error()
                    );
                }
            }
            Direction::Inbound => {
                use EventType::*;
                let steps = [CallInitiated, CallAnswered, CallEnded];
                assert_eq!(lifecycle(&types, &steps), steps, "{}: {types:?}", call.id());
            }
        }
        let outcome = format!("{} {}", call.direction(), call.status());
        *outcomes.entry(outcome).or_default() += 1;
    }
    // Every live subscriber got each entry of the log from its first
    // connection to its last message once, in order, across every kill.
    let mut received = 0;
    for seen in &subscribed {
        let (Some(start), Some(last)) = (seen.start, seen.last) else { continue };
        let log = store.log_after(start, usize::MAX).await.unwrap();
        let mut expected: Vec<String> = Vec::new();
        for entry in log.iter().take_while(|e| e.seq <= last) {
            expected.push(match entry.event.event_type() {
                EventType::SurveyRequested => format!("survey@{}", entry.seq),
                _ => entry.event.id().to_string(),
            });
        }
        assert_eq!(
            seen.entries.len(),
            expected.len(),
            "a subscriber missed entries or got some twice"
        );
        assert_eq!(seen.entries, expected, "a subscriber's entries, in the log's order");
        assert!(seen.connections > 1, "a subscriber that never had to resume");
        received += seen.entries.len();
    }
    println!(
        "server kill: {kills} SIGKILLs in {:.1} s under {n_clients} clients and {n_subscribers} live subscribers; \
         acknowledged {} schedules, {} inbound calls, {} events; stored {} calls, {n_events} audit events, none twice; \
         {} dialled, none twice; outcomes {outcomes:?}; {received} log entries received live by {} subscribers \
         (resuming {} times), each once, in order, none missed",
        loaded_for.as_secs_f64(),
        scheduled.len(),
        inbound.len(),
        events.len(),
        all.len(),
        dialled.values().sum::<u64>(),
        subscribed.len(),
        subscribed.iter().map(|s| s.connections.saturating_sub(1)).sum::<usize>(),
    );
}

/// What one live subscriber was sent across its connections.
#[derive(Default)]
struct Subscribed {
    /// The position its first connection started after.
    start: Option<u64>,
    /// The position of the last message: where it resumes.
    last: Option<u64>,
    /// The log entries its messages carried, in the order sent: event ids,
    /// and `survey@seq` for survey requests (whose message names no event).
    entries: Vec<String>,
    connections: usize,
}

impl Subscribed {
    fn take(&mut self, message: LiveMessage) {
        let seq = message.seq();
        match &message {
            LiveMessage::Hello { seq } => {
                assert!(
                    self.last.is_none_or(|last| last == *seq),
                    "resumed after {seq}, not {:?}",
                    self.last
                );
                self.start.get_or_insert(*seq);
            }
            LiveMessage::Reload { reason, .. } => panic!("told to reload: {reason}"),
            _ => {
                assert!(
                    self.last.is_none_or(|last| seq > last),
                    "{seq} after {:?}: twice or out of order",
                    self.last
                );
            }
        }
        match message {
            LiveMessage::CallChanged { events, .. } => {
                self.entries.extend(events.into_iter().map(|e| e.id))
            }
            LiveMessage::Alert { alert, .. } => self.entries.push(alert.id),
            LiveMessage::SurveyRequested { seq, .. } => self.entries.push(format!("survey@{seq}")),
            LiveMessage::Hello { .. } | LiveMessage::Reload { .. } => {}
        }
        self.last = Some(seq);
    }
}
