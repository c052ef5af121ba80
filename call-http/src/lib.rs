//! callwork's HTTP server: the REST API, live updates over WebSocket,
//! outbound webhooks, OpenAPI, Prometheus metrics and a live dashboard.
//!
//! [`router`] builds the whole application from an [`AppState`]; the
//! `call-http` binary adds the store, the provider, the worker and the
//! listener around it. Embedding it in another service:
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use call_http::{AppState, router};
//! use call_store_sqlite::SqliteStore;
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = Arc::new(SqliteStore::open("calls.db").await?);
//! let state = AppState::builder(store).api_key("s3cret").build();
//! // The worker, on the same engine, places the calls:
//! // tokio::spawn(state.engine().worker(provider, WorkerConfig::default())?.run(shutdown));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:4000").await?;
//! axum::serve(listener, router(state)).await?;
//! # Ok(()) }
//! ```
//!
//! Errors are JSON (`{"error": {"code", "message", "field"?}}`) for every
//! refusal, malformed bodies and unknown routes included; a failure of the
//! store is a 500 whose body says nothing of its cause.

mod auth;
mod error;
mod extract;
pub mod live;
pub mod metrics;
pub mod notify;
mod openapi;
mod routes;
pub mod signature;
mod socketio;

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    extract::{DefaultBodyLimit, Request, State},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use call_core::{
    Config, Engine,
    ports::{BroadcastNotifier, CallStore, Clock, Fanout, LogNotifier, Notifier},
};

/// The API's response shapes, for clients: its own (the answers of
/// `POST /api/events`), and the pages and lists it shares with the CLI,
/// which are [`call_wire`]'s (re-exported here, where they used to be).
pub mod dto {
    pub use call_wire::{CallPage, EventList, HistoryPage, QueueList};

    pub use crate::routes::events::{BatchIngested, BatchItem, Ingested};
}

pub use auth::ApiKey;
pub use error::{ApiError, ErrorBody, ErrorDetail};
pub use openapi::openapi;

/// Everything the handlers share: the engine, the live stream, the
/// metrics, and the server's limits. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    /// The engine's notifications: what wakes the feed.
    hints: BroadcastNotifier,
    /// The live stream, read from the store's log.
    feed: live::Feed,
    webhooks: Option<notify::WebhookNotifier>,
    /// The installed recorder's renderer, when the embedding has one.
    metrics: Option<metrics::Render>,
    api_key: Option<ApiKey>,
    provider_secret: Option<signature::ProviderSecret>,
    body_limit: usize,
    request_timeout: Duration,
    closing: tokio::sync::watch::Sender<bool>,
    /// Open `/api/ws` sockets (the live stream has other subscribers too:
    /// the Socket.IO forwarder).
    websocket_subscribers: std::sync::atomic::AtomicUsize,
}

impl AppState {
    /// Starts building the state around `store`.
    pub fn builder(store: Arc<dyn CallStore>) -> AppStateBuilder {
        AppStateBuilder {
            store,
            clock: None,
            config: Config::default(),
            notifiers: Vec::new(),
            metrics: None,
            api_key: None,
            provider_secret: None,
            body_limit: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            live_capacity: 4096,
            replay_window: live::REPLAY_WINDOW,
            webhooks: None,
        }
    }

    /// The engine: for the worker, and for anything the API does not cover.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// Reads a number given in `field`, in the engine's default region when
    /// written without a country code.
    pub(crate) fn phone(
        &self,
        field: &'static str,
        text: &str,
    ) -> Result<call_core::PhoneNumber, call_core::ValidationError> {
        call_core::PhoneNumber::parse_in(field, text, self.region())
    }

    /// The engine's default region ([`Config::default_region`](call_core::Config::default_region)).
    pub(crate) fn region(&self) -> Option<call_core::Region> {
        self.inner.engine.config().default_region
    }

    /// The installed recorder's renderer, when the embedding gave one.
    pub(crate) fn metrics(&self) -> Option<&metrics::Render> {
        self.inner.metrics.as_ref()
    }

    /// How many `/api/ws` sockets are open.
    pub fn websocket_subscribers(&self) -> usize {
        self.inner.websocket_subscribers.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Counts one open `/api/ws` socket until the guard is dropped.
    pub(crate) fn count_websocket(&self) -> WebSocketCount {
        self.inner.websocket_subscribers.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        WebSocketCount(self.clone())
    }

    /// The live stream `/api/ws`, `/socket.io/` and the webhooks send.
    pub(crate) fn feed(&self) -> &live::Feed {
        &self.inner.feed
    }

    /// The position of the audit log the live stream starts after (its
    /// head when first read): webhooks post every change committed after
    /// it. Await it right after building the state, before changes the
    /// webhooks must see (the binary does, before its worker starts).
    ///
    /// # Errors
    ///
    /// When the store cannot be read.
    pub async fn live_start(&self) -> Result<u64, call_core::ports::StoreError> {
        self.inner.feed.origin().await
    }

    /// Starts following the store's log, and the webhooks, once: when the
    /// state is built inside a runtime, or else when it is served.
    fn start_feed(&self) {
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let closing = {
            let state = self.clone();
            move || -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
                let state = state.clone();
                Box::pin(async move { state.closing().await })
            }
        };
        let inner = &self.inner;
        if inner.feed.start(inner.hints.subscribe(), closing())
            && let Some(webhooks) = &inner.webhooks
        {
            webhooks.start(&inner.feed, closing);
        }
    }

    /// Tells long-lived connections (WebSockets) to close, so that a
    /// graceful shutdown of the server does not wait on them.
    pub fn close_connections(&self) {
        self.inner.closing.send_replace(true);
    }

    /// Resolves once [`close_connections`](Self::close_connections) was called.
    pub(crate) async fn closing(&self) {
        let mut closing = self.inner.closing.subscribe();
        let _ = closing.wait_for(|&closing| closing).await;
    }

    pub(crate) fn api_key(&self) -> Option<&ApiKey> {
        self.inner.api_key.as_ref()
    }

    pub(crate) fn provider_secret(&self) -> Option<&signature::ProviderSecret> {
        self.inner.provider_secret.as_ref()
    }

    pub(crate) fn body_limit(&self) -> usize {
        self.inner.body_limit
    }
}

/// Builds an [`AppState`].
pub struct AppStateBuilder {
    store: Arc<dyn CallStore>,
    clock: Option<Arc<dyn Clock>>,
    config: Config,
    notifiers: Vec<Arc<dyn Notifier>>,
    metrics: Option<metrics::Render>,
    api_key: Option<ApiKey>,
    provider_secret: Option<signature::ProviderSecret>,
    body_limit: usize,
    request_timeout: Duration,
    live_capacity: usize,
    replay_window: u64,
    webhooks: Option<notify::WebhookNotifier>,
}

impl AppStateBuilder {
    /// Serves `GET /metrics` with `render`: the text of the recorder the
    /// program installed for the [`metrics`](::metrics) facade, such as
    /// `PrometheusHandle::render` (metrics-exporter-prometheus). Without
    /// it `/metrics` answers 404: the library never installs a recorder.
    pub fn metrics(
        mut self,
        render: impl Fn() -> String + Send + Sync + 'static,
    ) -> AppStateBuilder {
        self.metrics = Some(Arc::new(render));
        self
    }

    /// Requires this key on every `/api` route. An empty key is no key.
    pub fn api_key(mut self, key: &str) -> AppStateBuilder {
        self.api_key = ApiKey::new(key);
        self
    }

    /// Takes provider status callbacks (`POST /api/provider/webhook`) only
    /// when signed with this secret (see [`signature`]), in place of the API
    /// key, which a provider cannot send. An empty secret is no secret.
    pub fn provider_secret(mut self, secret: &str) -> AppStateBuilder {
        self.provider_secret = signature::ProviderSecret::new(secret);
        self
    }

    /// The engine's clock (a manual one in tests); the system clock by default.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> AppStateBuilder {
        self.clock = Some(clock);
        self
    }

    /// The engine's settings; the default rules, with events recorded as `api`.
    pub fn config(mut self, config: Config) -> AppStateBuilder {
        self.config = config;
        self
    }

    /// Posts the live stream to these webhooks.
    pub fn webhooks(mut self, webhooks: notify::WebhookNotifier) -> AppStateBuilder {
        self.webhooks = Some(webhooks);
        self
    }

    /// Another destination for the engine's notifications.
    pub fn notifier(mut self, notifier: Arc<dyn Notifier>) -> AppStateBuilder {
        self.notifiers.push(notifier);
        self
    }

    /// The largest request body, in bytes (1 MiB by default); larger is 413.
    pub fn body_limit(mut self, bytes: usize) -> AppStateBuilder {
        self.body_limit = bytes;
        self
    }

    /// The longest a request may take (30 s by default); longer is 503.
    pub fn request_timeout(mut self, timeout: Duration) -> AppStateBuilder {
        self.request_timeout = timeout;
        self
    }

    /// How many messages a live subscriber may fall behind the broadcast
    /// (4096 by default) before it is caught up from the store's log instead.
    pub fn live_capacity(mut self, capacity: usize) -> AppStateBuilder {
        self.live_capacity = capacity;
        self
    }

    /// How far behind the head of the log a live client may resume
    /// (`?after=`), in positions ([`live::REPLAY_WINDOW`] by default); further
    /// behind it is told to reload.
    pub fn replay_window(mut self, positions: u64) -> AppStateBuilder {
        self.replay_window = positions;
        self
    }

    /// The state, with an engine whose notifications go to the log and
    /// the added notifiers, and wake the live stream. Built
    /// inside a runtime, it starts following the store's log at once.
    pub fn build(self) -> AppState {
        // A hint lost to lag costs nothing: the feed reads the log anyway.
        let hints = BroadcastNotifier::new(4096);
        let mut notifiers: Vec<Arc<dyn Notifier>> =
            vec![Arc::new(hints.clone()), Arc::new(LogNotifier)];
        notifiers.extend(self.notifiers);
        let feed = live::Feed::new(self.store.clone(), self.live_capacity, self.replay_window);
        let mut engine =
            Engine::builder(self.store).config(self.config).notifier(Arc::new(Fanout(notifiers)));
        if let Some(clock) = self.clock {
            engine = engine.clock(clock);
        }
        let state = AppState {
            inner: Arc::new(Inner {
                engine: engine.build(),
                hints,
                feed,
                webhooks: self.webhooks,
                metrics: self.metrics,
                api_key: self.api_key,
                provider_secret: self.provider_secret,
                body_limit: self.body_limit,
                request_timeout: self.request_timeout,
                closing: tokio::sync::watch::Sender::new(false),
                websocket_subscribers: std::sync::atomic::AtomicUsize::new(0),
            }),
        };
        state.start_feed();
        state
    }
}

/// One open `/api/ws` socket, counted while it lives.
pub(crate) struct WebSocketCount(AppState);

impl Drop for WebSocketCount {
    fn drop(&mut self) {
        self.0.inner.websocket_subscribers.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The whole application: the API under `/api` (behind the key, when one
/// is set), the dashboard and history pages, `/healthz` and `/metrics`.
pub fn router(state: AppState) -> Router {
    state.start_feed();
    let api =
        routes::api().route_layer(middleware::from_fn_with_state(state.clone(), auth::require_key));
    Router::new()
        .nest("/api", api)
        .merge(routes::pages())
        .merge(routes::operations())
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(socketio::layer(&state))
        .layer(middleware::from_fn_with_state(state.clone(), time_limit))
        .layer(DefaultBodyLimit::max(state.body_limit()))
        .with_state(state)
}

/// Answers 503 when a request takes longer than the server allows. The
/// WebSocket is exempt: its upgrade answers at once, and the socket lives on.
async fn time_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.uri().path() == "/api/ws" || request.uri().path().starts_with("/socket.io/") {
        return next.run(request).await;
    }
    match tokio::time::timeout(state.inner.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::timeout().into_response(),
    }
}
