//! `/socket.io/`: the live stream for clients written against
//! `socket.io-client`, beside the plain WebSocket of `/api/ws`.
//!
//! Every call change is emitted as `call_update` with the call's JSON, and
//! every alert as `alert` with the alert's JSON, to every connected socket
//! of the default namespace, once each, in commit order (one task forwards
//! the engine's notifications in the order it gets them, so a call's
//! updates keep their order). The API key, when the server has one, is
//! taken from the handshake's `auth.api_key`, the `api_key` query
//! parameter or the `X-API-Key` header, as `/api/ws` takes it.
//!
//! Served by `socketioxide`, a kept, tower-native implementation of the
//! protocol (engine.io v4, long-polling and WebSocket transports).

use std::sync::Arc;

use call_core::ports::Notification;
use call_wire::{AlertJson, CallJson};
use serde_json::Value;
use socketioxide::{
    SocketIo,
    extract::{SocketRef, TryData},
    handler::ConnectHandler,
    layer::SocketIoLayer,
};
use tokio::sync::broadcast::{self, error::RecvError};

use crate::{AppState, extract::QueryParams};

/// The layer that serves `/socket.io/`, and the task that feeds it.
pub(crate) fn layer(state: &AppState) -> SocketIoLayer {
    let (layer, io) = SocketIo::new_layer();
    let keys = state.clone();
    let authorize = move |socket: SocketRef, TryData(auth): TryData<Value>| {
        let state = keys.clone();
        async move { authorize(&state, &socket, auth.ok()) }
    };
    io.ns("/", (async |_: SocketRef| {}).with(authorize));
    // Subscribed now, before any socket can connect, so nothing is missed.
    tokio::spawn(forward(io, state.live().subscribe(), state.clone()));
    layer
}

/// Why a connection is refused; the client's `connect_error` carries it.
#[derive(Debug)]
struct Unauthorized;

impl std::fmt::Display for Unauthorized {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("unauthorized: a missing or wrong API key (auth.api_key or ?api_key=)")
    }
}

fn authorize(
    state: &AppState,
    socket: &SocketRef,
    auth: Option<Value>,
) -> Result<(), Unauthorized> {
    let Some(expected) = state.api_key() else { return Ok(()) };
    let parts = socket.req_parts();
    let from_auth = auth.as_ref().and_then(|a| a.get("api_key")).and_then(Value::as_str);
    let from_query = QueryParams::parse(parts.uri.query()).one("api_key").map(str::to_owned);
    let from_header = parts.headers.get("x-api-key").and_then(|v| v.to_str().ok());
    let presented = from_auth.map(str::to_owned).or(from_query).or(from_header.map(str::to_owned));
    if presented.is_some_and(|key| expected.matches(&key)) { Ok(()) } else { Err(Unauthorized) }
}

/// Emits each notification to every socket, in the order they come.
async fn forward(
    io: SocketIo,
    mut updates: broadcast::Receiver<Arc<Notification>>,
    state: AppState,
) {
    let closing = state.closing();
    tokio::pin!(closing);
    loop {
        let notification = tokio::select! {
            () = &mut closing => return,
            update = updates.recv() => match update {
                Ok(notification) => notification,
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "socket.io stream fell behind the engine: updates missed");
                    continue;
                }
                Err(RecvError::Closed) => return,
            },
        };
        let sent = match notification.as_ref() {
            Notification::CallChanged { call, .. } => {
                io.emit("call_update", &CallJson::from(call)).await
            }
            Notification::Alert(alert) => io.emit("alert", &AlertJson::from(alert)).await,
            Notification::SurveyRequested { .. } => Ok(()),
        };
        if let Err(error) = sent {
            tracing::debug!(%error, "socket.io: a socket did not take an update");
        }
    }
}
