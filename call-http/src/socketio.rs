//! `/socket.io/`: the live stream for clients written against
//! `socket.io-client`, beside the plain WebSocket of `/api/ws`.
//!
//! Each socket of the default namespace follows the live stream
//! ([`crate::live`]) on its own: first `hello` (`{"seq"}`) or `reload`
//! (`{"seq", "reason"}`), then every call change as `call_update` (the
//! call's JSON with the entry's `seq`) and every alert as `alert` (the
//! alert's JSON with its `seq`), once each, in commit order. A client that
//! reconnects with the last `seq` it saw (`auth.after`, or `?after=`) gets
//! what it missed first, as `/api/ws?after=` does. The API key, when the
//! server has one, is taken from the handshake's `auth.api_key`, the
//! `api_key` query parameter or the `X-API-Key` header, as `/api/ws` takes it.
//!
//! Served by `socketioxide`, a kept, tower-native implementation of the
//! protocol (engine.io v4, long-polling and WebSocket transports).

use std::time::Duration;

use serde_json::Value;
use socketioxide::{
    SocketIo,
    extract::{SocketRef, TryData},
    handler::ConnectHandler,
    layer::SocketIoLayer,
    socket::DisconnectReason,
};

use crate::{
    AppState,
    extract::QueryParams,
    live::{LiveMessage, Missed, Published},
};

/// The longest one message may wait for room in a socket's buffer.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// The layer that serves `/socket.io/`.
pub(crate) fn layer(state: &AppState) -> SocketIoLayer {
    let (layer, io) = SocketIo::new_layer();
    let keys = state.clone();
    let middleware = move |socket: SocketRef, TryData(auth): TryData<Value>| {
        let state = keys.clone();
        async move { admit(&state, &socket, auth.ok().as_ref()).map(drop) }
    };
    let state = state.clone();
    let connected = move |socket: SocketRef, TryData(auth): TryData<Value>| {
        let state = state.clone();
        async move {
            let Ok(after) = admit(&state, &socket, auth.ok().as_ref()) else { return };
            tokio::spawn(follow(state, socket, after));
        }
    };
    io.ns("/", connected.with(middleware));
    layer
}

/// Why a connection is refused; the client's `connect_error` carries it.
#[derive(Debug)]
enum Refused {
    Unauthorized,
    NotAPosition,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refused::Unauthorized => {
                "unauthorized: a missing or wrong API key (auth.api_key or ?api_key=)"
            }
            Refused::NotAPosition => "after: must be a position: a whole number, 0 or more",
        })
    }
}

/// Checks the key, and answers the position to resume after, if any.
fn admit(
    state: &AppState,
    socket: &SocketRef,
    auth: Option<&Value>,
) -> Result<Option<u64>, Refused> {
    let parts = socket.req_parts();
    let query = QueryParams::parse(parts.uri.query());
    let text = |key: &str| auth.and_then(|a| a.get(key)).and_then(Value::as_str).map(str::to_owned);
    if let Some(expected) = state.api_key() {
        let from_header = parts.headers.get("x-api-key").and_then(|v| v.to_str().ok());
        let presented = text("api_key")
            .or(query.one("api_key").map(str::to_owned))
            .or(from_header.map(str::to_owned));
        if !presented.is_some_and(|key| expected.matches(&key)) {
            return Err(Refused::Unauthorized);
        }
    }
    match auth.and_then(|a| a.get("after")).filter(|v| !v.is_null()) {
        Some(after) => after.as_u64().map(Some).ok_or(Refused::NotAPosition),
        None => match query.one("after") {
            Some(after) => after.parse().map(Some).map_err(|_| Refused::NotAPosition),
            None => Ok(None),
        },
    }
}

/// Sends `socket` the live stream after `after` until it disconnects.
async fn follow(state: AppState, socket: SocketRef, after: Option<u64>) {
    let (gone, mut disconnected) = tokio::sync::watch::channel(false);
    let gone = std::sync::Arc::new(gone);
    socket.on_disconnect(move |_: SocketRef, _: DisconnectReason| {
        let gone = gone.clone();
        async move {
            gone.send_replace(true);
        }
    });
    let mut stream = match state.feed().subscribe(after).await {
        Ok(stream) => stream,
        Err(error) => {
            tracing::warn!(%error, "socket.io: cannot read the log: disconnected");
            let _ = socket.disconnect();
            return;
        }
    };
    let closing = state.closing();
    tokio::pin!(closing);
    loop {
        let next = tokio::select! {
            () = &mut closing => return,
            _ = disconnected.wait_for(|&gone| gone) => return,
            next = stream.next() => next,
        };
        match next {
            Ok(message) => {
                if !emit(&socket, &message).await {
                    let _ = socket.disconnect();
                    return;
                }
            }
            Err(Missed::Closed) => return,
            Err(missed) => {
                let error = match &missed {
                    Missed::Store(error) => Some(error.to_string()),
                    _ => None,
                };
                tracing::warn!(%missed, error, after = stream.last(), "socket.io subscriber disconnected; it may resume");
                let _ = socket.disconnect();
                return;
            }
        }
    }
}

/// Emits one message; false when the socket is gone or stayed full for [`SEND_TIMEOUT`].
async fn emit(socket: &SocketRef, message: &Published) -> bool {
    let seq = message.seq();
    let (event, mut data) = match &message.message {
        LiveMessage::Hello { .. } | LiveMessage::Reload { .. } => {
            let mut data = serde_json::to_value(&message.message).expect("live messages serialize");
            data.as_object_mut().map(|o| o.remove("type"));
            (message.message.kind(), data)
        }
        LiveMessage::CallChanged { call, .. } => ("call_update", json_of(call)),
        LiveMessage::Alert { alert, .. } => ("alert", json_of(alert)),
        LiveMessage::SurveyRequested { .. } => return true,
    };
    if let Some(object) = data.as_object_mut() {
        object.insert("seq".into(), seq.into());
    }
    let deadline = tokio::time::Instant::now() + SEND_TIMEOUT;
    loop {
        match socket.emit(event, &data) {
            Ok(()) => return true,
            Err(socketioxide::SendError::Socket(
                socketioxide::SocketError::InternalChannelFull,
            )) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(error) => {
                tracing::debug!(%error, "socket.io: a socket did not take an update");
                return false;
            }
        }
    }
}

fn json_of(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).expect("the wire shapes serialize")
}
