//! [`MockCallApi`]: a stand-in of the Mock Call API, for tests and local runs.
//!
//! By default it answers exactly as the contract says (`../shared/DESIGN.md`
//! §3): the same routes, status codes, bodies (keys sorted, as Flask's
//! `jsonify` writes them), naive local timestamps with microseconds, calls
//! that are `initiated`, `ringing` at 2 s, `connected` at 5 s and
//! `completed` with `duration` 10 at 10 s, kept in memory only. With
//! [`MockOptions`] it injects faults: a time scale, added latency, a share of
//! 503 answers, a share of requests that hang, answers lost on the wire
//! after a call was created (the connection cut, or the answer sent too
//! late), calls that end busy / no-answer / failed, status callbacks; and it
//! counts what it was asked
//! (`GET /__stats`), so a test can prove a number was dialled once.

use std::{
    collections::{BTreeMap, HashMap},
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::{Local, NaiveDateTime, TimeDelta};
use serde_json::{Value, json};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle, time::Instant};

/// How the stand-in departs from the contract; [`Default`] departs in nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct MockOptions {
    /// Real seconds per contract second: 0.01 makes a 10 s call take 100 ms.
    pub time_scale: f64,
    /// Added before every `/api` answer.
    pub latency: Duration,
    /// The share (0–1) of `/api` requests answered `503` without effect.
    pub error_rate: f64,
    /// The share (0–1) of `/api` requests that hang for `hang_for`, without effect.
    pub hang_rate: f64,
    /// How long a hanging request hangs before answering `504`.
    pub hang_for: Duration,
    /// The share (0–1) of created calls whose answer is lost: the call is
    /// made, then the connection is cut before the `201` reaches the client.
    pub lost_answer_rate: f64,
    /// The share (0–1) of created calls whose `201` is held back by
    /// `late_answer_by`: made at once, answered after the client gave up.
    pub late_answer_rate: f64,
    /// How long a late answer is held back.
    pub late_answer_by: Duration,
    /// The share (0–1) of calls that end `busy` at 5 s instead of connecting.
    pub busy: f64,
    /// The share (0–1) of calls that end `no-answer` at 5 s.
    pub no_answer: f64,
    /// The share (0–1) of calls that end `failed` at 5 s.
    pub failed: f64,
    /// Where to POST `{"success": true, "call": {…}}` at each status change.
    pub callback_url: Option<String>,
}

impl Default for MockOptions {
    fn default() -> MockOptions {
        MockOptions {
            time_scale: 1.0,
            latency: Duration::ZERO,
            error_rate: 0.0,
            hang_rate: 0.0,
            hang_for: Duration::from_secs(30),
            lost_answer_rate: 0.0,
            late_answer_rate: 0.0,
            late_answer_by: Duration::from_secs(30),
            busy: 0.0,
            no_answer: 0.0,
            failed: 0.0,
            callback_url: None,
        }
    }
}

/// What the stand-in was asked, as `GET /__stats` answers it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct MockStats {
    /// Calls created (`201` answers to `POST /api/call`).
    pub calls_placed: u64,
    /// Calls created per phone number, as the client sent it.
    pub by_number: BTreeMap<String, u64>,
    /// `/api` requests received, answered or not.
    pub requests: u64,
    /// `503` answers injected.
    pub injected_errors: u64,
    /// Requests left hanging.
    pub injected_hangs: u64,
    /// Calls created whose connection was cut before the answer.
    pub lost_answers: u64,
    /// Calls created whose answer was held back.
    pub late_answers: u64,
}

/// The status names this API uses.
const TIMELINE: [(f64, &str); 4] =
    [(0.0, "initiated"), (2.0, "ringing"), (5.0, "connected"), (10.0, "completed")];

#[derive(Debug, Clone)]
struct MockCall {
    id: String,
    phone_number: String,
    started: Instant,
    created_at: NaiveDateTime,
    /// When the request that created it arrived, in UTC, for lateness measurements.
    received_at: chrono::DateTime<chrono::Utc>,
    /// `completed`, or how it ends at 5 s instead: `busy`, `no-answer`, `failed`.
    outcome: &'static str,
}

#[derive(Debug, Default)]
struct Registry {
    calls: HashMap<String, MockCall>,
    stats: MockStats,
    /// Killed: requests still arriving on open connections take no effect.
    dead: bool,
}

#[derive(Debug)]
struct Shared {
    options: MockOptions,
    registry: Mutex<Registry>,
    callbacks: reqwest::Client,
}

/// A running stand-in; stops when dropped or [`stop`](Self::stop)ped.
#[derive(Debug)]
pub struct MockCallApi {
    url: String,
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl MockCallApi {
    /// Starts on a free port of 127.0.0.1.
    ///
    /// # Errors
    ///
    /// When the port cannot be bound.
    pub async fn start(options: MockOptions) -> std::io::Result<MockCallApi> {
        MockCallApi::bind(SocketAddr::from(([127, 0, 0, 1], 0)), options).await
    }

    /// Starts on `addr`.
    ///
    /// # Errors
    ///
    /// When `addr` cannot be bound.
    pub async fn bind(addr: SocketAddr, options: MockOptions) -> std::io::Result<MockCallApi> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let _ = rustls::crypto::ring::default_provider().install_default();
        let callbacks = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared { options, registry: Mutex::default(), callbacks });
        let (shutdown, stopped) = oneshot::channel::<()>();
        let app = router(shared.clone());
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = serve.await {
                tracing::error!(%error, "the mock call API stopped");
            }
        });
        Ok(MockCallApi {
            url: format!("http://{addr}"),
            addr,
            shared,
            shutdown: Some(shutdown),
            task: Some(task),
        })
    }

    /// Its base URL, such as `http://127.0.0.1:41234`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What it was asked so far.
    pub fn stats(&self) -> MockStats {
        self.shared.registry().stats.clone()
    }

    /// How many calls it created, without copying the per-number counts.
    pub fn calls_placed(&self) -> u64 {
        self.shared.registry().stats.calls_placed
    }

    /// Each call it holds: its number, and when the request creating it
    /// arrived (before any injected latency). For measuring how late calls
    /// were placed.
    pub fn received(&self) -> Vec<(String, chrono::DateTime<chrono::Utc>)> {
        let registry = self.shared.registry();
        registry.calls.values().map(|c| (c.phone_number.clone(), c.received_at)).collect()
    }

    /// Forgets every call, as the real API does when it restarts.
    pub fn forget_all(&self) {
        self.shared.registry().calls.clear();
    }

    /// Stops listening and waits for open requests to finish.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Stops at once, as a process that crashed or was restarted would
    /// (for fault tests): from now on no request takes effect and the port
    /// is free to bind again. Returns what it had counted, final.
    pub async fn kill(mut self) -> MockStats {
        let stats = {
            let mut registry = self.shared.registry();
            registry.dead = true;
            registry.stats.clone()
        };
        // The listener goes at once (not gracefully: hanging requests would
        // hold it for `hang_for`); requests on connections already open get
        // 503s from the dead registry until their clients drop them.
        self.shutdown.take();
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
        stats
    }

    /// Runs until Ctrl-C or SIGTERM, then stops.
    pub async fn serve_until_signal(self) {
        call_signal::shutdown_signal().await;
        self.stop().await;
    }
}

impl Drop for MockCallApi {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

impl Shared {
    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Contract seconds since the call was created.
    fn elapsed(&self, call: &MockCall) -> f64 {
        call.started.elapsed().as_secs_f64() / self.options.time_scale.max(1e-9)
    }

    /// The call as the API shows it now.
    fn view(&self, call: &MockCall) -> Value {
        let elapsed = self.elapsed(call);
        let (since, status) = status_at(elapsed, call.outcome);
        let real_since = TimeDelta::microseconds((since * self.options.time_scale * 1e6) as i64);
        let duration = if status == "completed" { json!(10) } else { Value::Null };
        json!({
            "id": call.id,
            "phone_number": call.phone_number,
            "status": status,
            "created_at": isoformat(call.created_at),
            "updated_at": isoformat(call.created_at + real_since),
            "duration": duration,
        })
    }

    /// What every `/api` request goes through first: counting, latency, faults.
    async fn admit(&self) -> Option<Response> {
        let options = &self.options;
        self.registry().stats.requests += 1;
        if !options.latency.is_zero() {
            tokio::time::sleep(options.latency).await;
        }
        if options.hang_rate > 0.0 && fastrand::f64() < options.hang_rate {
            self.registry().stats.injected_hangs += 1;
            tokio::time::sleep(options.hang_for).await;
            return Some(error(StatusCode::GATEWAY_TIMEOUT, "Gateway timeout (injected)"));
        }
        if options.error_rate > 0.0 && fastrand::f64() < options.error_rate {
            self.registry().stats.injected_errors += 1;
            return Some(error(StatusCode::SERVICE_UNAVAILABLE, "Service unavailable (injected)"));
        }
        None
    }

    fn pick_outcome(&self) -> &'static str {
        let o = &self.options;
        let roll = fastrand::f64();
        if roll < o.busy {
            "busy"
        } else if roll < o.busy + o.no_answer {
            "no-answer"
        } else if roll < o.busy + o.no_answer + o.failed {
            "failed"
        } else {
            "completed"
        }
    }
}

/// The status a call shows `elapsed` contract seconds after creation, and
/// since when (in contract seconds).
fn status_at(elapsed: f64, outcome: &'static str) -> (f64, &'static str) {
    if outcome != "completed" && elapsed >= 5.0 {
        return (5.0, outcome);
    }
    let mut current = TIMELINE[0];
    for step in TIMELINE {
        if elapsed >= step.0 {
            current = step;
        }
    }
    current
}

/// Python's `datetime.isoformat()`: microseconds when there are any.
fn isoformat(t: NaiveDateTime) -> String {
    if t.and_utc().timestamp_subsec_micros() == 0 {
        t.format("%Y-%m-%dT%H:%M:%S").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/call", post(create_call))
        .route("/api/call/{id}", get(get_call))
        .route("/health", get(|| async { Json(json!({ "status": "healthy" })) }))
        .route("/__stats", get(stats))
        .with_state(shared)
}

async fn create_call(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let received_at = chrono::Utc::now();
    if let Some(fault) = shared.admit().await {
        return fault;
    }
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let Some(value) =
        parsed.as_ref().and_then(|b| b.as_object()).and_then(|o| o.get("phone_number"))
    else {
        return error(StatusCode::BAD_REQUEST, "phone_number is required");
    };
    let phone_number = match value {
        Value::String(s) if s.chars().count() >= 10 => s.clone(),
        _ => return error(StatusCode::BAD_REQUEST, "Invalid phone number"),
    };
    let call = MockCall {
        id: uuid::Uuid::new_v4().to_string(),
        phone_number: phone_number.clone(),
        started: Instant::now(),
        created_at: Local::now().naive_local(),
        received_at,
        outcome: shared.pick_outcome(),
    };
    let view = shared.view(&call);
    {
        let mut registry = shared.registry();
        if registry.dead {
            return error(StatusCode::SERVICE_UNAVAILABLE, "Service unavailable (restarting)");
        }
        registry.stats.calls_placed += 1;
        *registry.stats.by_number.entry(phone_number).or_default() += 1;
        registry.calls.insert(call.id.clone(), call.clone());
    }
    if let Some(url) = shared.options.callback_url.clone() {
        tokio::spawn(send_callbacks(shared.clone(), call, url));
    }
    let options = &shared.options;
    if options.lost_answer_rate > 0.0 && fastrand::f64() < options.lost_answer_rate {
        shared.registry().stats.lost_answers += 1;
        return Response::new(axum::body::Body::new(CutConnection));
    }
    if options.late_answer_rate > 0.0 && fastrand::f64() < options.late_answer_rate {
        shared.registry().stats.late_answers += 1;
        tokio::time::sleep(options.late_answer_by).await;
    }
    (StatusCode::CREATED, Json(json!({ "success": true, "call": view }))).into_response()
}

/// A response body that fails before its first byte, so that hyper drops the
/// connection without sending the response at all: what a client sees when
/// the provider accepted a call and the network then lost its answer.
struct CutConnection;

impl http_body::Body for CutConnection {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        std::task::Poll::Ready(Some(Err(std::io::Error::from(std::io::ErrorKind::ConnectionReset))))
    }
}

async fn get_call(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    if let Some(fault) = shared.admit().await {
        return fault;
    }
    let call = {
        let registry = shared.registry();
        if registry.dead {
            return error(StatusCode::SERVICE_UNAVAILABLE, "Service unavailable (restarting)");
        }
        registry.calls.get(&id).cloned()
    };
    match call {
        Some(call) => Json(json!({ "success": true, "call": shared.view(&call) })).into_response(),
        None => error(StatusCode::NOT_FOUND, "Call not found"),
    }
}

async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.registry().stats.clone()).into_response()
}

/// POSTs the call to `url` at each status change, while the API still knows it.
async fn send_callbacks(shared: Arc<Shared>, call: MockCall, url: String) {
    let mut changes: Vec<f64> = TIMELINE.iter().map(|(at, _)| *at).skip(1).collect();
    if call.outcome != "completed" {
        changes.truncate(2);
    }
    for at in changes {
        let due = call.started + Duration::from_secs_f64(at * shared.options.time_scale);
        tokio::time::sleep_until(due).await;
        if !shared.registry().calls.contains_key(&call.id) {
            return;
        }
        let body = json!({ "success": true, "call": shared.view(&call) });
        if let Err(error) = shared.callbacks.post(&url).json(&body).send().await {
            tracing::warn!(%error, call_id = %call.id, "status callback failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timeline() {
        let check = |elapsed: f64, outcome: &'static str, expected: &str| {
            assert_eq!(status_at(elapsed, outcome).1, expected, "{elapsed} s, {outcome}");
        };
        check(0.0, "completed", "initiated");
        check(1.99, "completed", "initiated");
        check(2.0, "completed", "ringing");
        check(4.99, "completed", "ringing");
        check(5.0, "completed", "connected");
        check(9.99, "completed", "connected");
        check(10.0, "completed", "completed");
        check(60.0, "completed", "completed");
        check(4.0, "busy", "ringing");
        check(5.0, "busy", "busy");
        check(11.0, "no-answer", "no-answer");
    }

    #[test]
    fn timestamps_as_python_writes_them() {
        let t = NaiveDateTime::parse_from_str("2025-11-01T14:00:00.123456", "%Y-%m-%dT%H:%M:%S%.f")
            .unwrap();
        assert_eq!(isoformat(t), "2025-11-01T14:00:00.123456");
        let whole =
            NaiveDateTime::parse_from_str("2025-11-01T14:00:00", "%Y-%m-%dT%H:%M:%S").unwrap();
        assert_eq!(isoformat(whole), "2025-11-01T14:00:00");
    }
}
