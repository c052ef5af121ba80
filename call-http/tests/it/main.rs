//! The router in process (`oneshot`), and a real server on a free port for
//! the WebSocket and the webhooks.

mod api;
mod auth;
mod bad_input;
mod binary;
mod forms;
mod live;
mod notify;
mod socketio;

use std::sync::Arc;

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
};
use call_core::testing::MemoryStore;
use call_http::{AppState, AppStateBuilder, router};
use serde_json::Value;
use tower::ServiceExt;

/// A state on a fresh in-memory store.
pub(crate) fn builder() -> AppStateBuilder {
    AppState::builder(Arc::new(MemoryStore::new()))
}

/// A Prometheus recorder for one test: installed on the test's thread with
/// `metrics::set_default_local_recorder`, it gets what the engine and the
/// server record there (a current-thread runtime runs every task on it),
/// and no other test's figures.
pub(crate) fn recorder() -> metrics_exporter_prometheus::PrometheusRecorder {
    use call_core::metrics::{PLACEMENT_LATENCY, PLACEMENT_LATENCY_BUCKETS};
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(PLACEMENT_LATENCY.into()), &PLACEMENT_LATENCY_BUCKETS)
        .unwrap()
        .build_recorder()
}

/// A call placed at the provider as `prov-1`, in a fresh store.
pub(crate) async fn placed_call() -> Arc<call_core::testing::MemoryStore> {
    use call_core::{Call, CallParts, CallStatus, Direction, ports::CallStore};
    let store = Arc::new(call_core::testing::MemoryStore::new());
    let now = chrono::Utc::now();
    let placed = Call::from_parts(CallParts {
        to: Some(call_core::PhoneNumber::parse("+14155550100").unwrap()),
        external_id: Some("prov-1".into()),
        initiated_at: Some(now),
        version: 1,
        ..CallParts::new(
            call_core::CallId::parse("placed").unwrap(),
            Direction::Outbound,
            CallStatus::Initiated,
            now,
        )
    });
    store.insert(&[placed], &[]).await.unwrap();
    store
}

/// The app, and its state for reaching the engine.
pub(crate) fn app() -> (Router, AppState) {
    let state = builder().build();
    (router(state.clone()), state)
}

/// What one request got.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) content_type: String,
    pub(crate) text: String,
}

impl Answer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {:?}", self.text))
    }

    /// Asserts an error answer of the contract's shape; its `error` object.
    pub(crate) fn error(&self, status: StatusCode, code: &str) -> Value {
        assert_eq!(self.status, status, "{}", self.text);
        assert!(self.content_type.starts_with("application/json"), "{self:?}");
        let error = self.json()["error"].clone();
        assert_eq!(error["code"], code, "{}", self.text);
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", self.text);
        error
    }
}

/// Sends a request with an optional body (JSON unless a content type is given).
pub(crate) async fn send(
    app: &Router,
    method: &str,
    path: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> Answer {
    let mut request = Request::builder().method(method).uri(path);
    if body.is_some() && !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
    {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request =
        request.body(body.map_or_else(Body::empty, |b| Body::from(b.to_owned()))).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map_or_else(String::new, |v| v.to_str().unwrap().to_owned());
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    Answer { status, content_type, text: String::from_utf8_lossy(&bytes).into_owned() }
}

pub(crate) async fn get(app: &Router, path: &str) -> Answer {
    send(app, "GET", path, None, &[]).await
}

pub(crate) async fn post(app: &Router, path: &str, body: &str) -> Answer {
    send(app, "POST", path, Some(body), &[]).await
}

/// Serves the app on a free loopback port; its address.
pub(crate) async fn serve(app: Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

/// An HTTP client for the tests' real servers.
pub(crate) fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// Polls until `done`, for at most 10 s.
pub(crate) async fn eventually<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !done().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
