//! `/api/ws`: the live stream ([`crate::live`]) as JSON text messages:
//! `hello`, then every entry of the audit log, once each, in commit order.
//!
//! `?after=N` resumes after position `N` (the `seq` of the last message a
//! client saw): what it missed is sent first, in order, when `N` is within
//! the replay window of the head; otherwise the first message is `reload`.
//!
//! A subscriber that falls more than the live stream's capacity behind is
//! caught up from the log; one whose socket does not take a message within
//! [`SEND_TIMEOUT`] is disconnected, and one the server cannot serve (the
//! database down) is closed with a reason that names the position to
//! resume after. The engine never waits for any.

use std::time::Duration;

use axum::{
    extract::{
        RawQuery, State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket, close_code, rejection::WebSocketUpgradeRejection},
    },
    response::{IntoResponse, Response},
};

use crate::{
    AppState,
    error::{ApiError, ErrorBody},
    extract::QueryParams,
    live::{LiveMessage, Missed, Subscription},
};

/// The longest one message may take to be taken by a subscriber's socket.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Live updates: upgrade to a WebSocket, then receive a `LiveMessage` per entry of the audit log.
#[utoipa::path(get, path = "/api/ws", tag = "live",
    params(("api_key" = Option<String>, Query, description = "The API key, for browsers, which cannot set headers on a WebSocket"),
        ("after" = Option<u64>, Query, description = "Resume after this position: the `seq` of the last message seen. \
            Every message after it is sent first, in order, once, when it is within the replay window (10,000 positions by default) of the head of the log; \
            further behind (or ahead of the log) the first message is `reload`. Without it the stream starts at the head, with `hello`.")),
    responses((status = 101, description = "Switching to WebSocket; each text message is a LiveMessage, the first `hello` or `reload`", body = LiveMessage),
        (status = 400, body = ErrorBody, description = "Not a WebSocket upgrade request"),
        (status = 422, body = ErrorBody, description = "`after` is not a position"),
        (status = 401, body = ErrorBody),
        (status = 503, body = ErrorBody, description = "The database is unavailable")),
    security(("api_key" = [])))]
pub(crate) async fn subscribe(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(_) => {
            return ApiError::malformed("this route speaks WebSocket: send an upgrade request")
                .into_response();
        }
    };
    let after = match QueryParams::parse(query.as_deref()).one("after").map(str::parse::<u64>) {
        None => None,
        Some(Ok(after)) => Some(after),
        Some(Err(_)) => {
            return ApiError::invalid("after", "must be a position: a whole number, 0 or more")
                .into_response();
        }
    };
    // Subscribed before the answer, so nothing committed after it is missed.
    let stream = match state.feed().subscribe(after).await {
        Ok(stream) => stream,
        Err(error) => return ApiError::from(call_core::Error::Store(error)).into_response(),
    };
    upgrade.on_upgrade(move |socket| serve(socket, stream, state))
}

async fn serve(mut socket: WebSocket, mut stream: Subscription, state: AppState) {
    let _counted = state.count_websocket();
    let closing = state.closing();
    tokio::pin!(closing);
    loop {
        tokio::select! {
            () = &mut closing => {
                close(socket, close_code::AWAY, "the server is shutting down".to_owned()).await;
                return;
            }
            next = stream.next() => match next {
                Ok(message) => {
                    let text = message.json.clone();
                    match tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text.into()))).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => return,
                        Err(_) => {
                            tracing::warn!("websocket subscriber too slow: disconnected");
                            return;
                        }
                    }
                }
                Err(Missed::Closed) => {
                    close(socket, close_code::AWAY, "the server is shutting down".to_owned()).await;
                    return;
                }
                Err(missed) => {
                    if let Missed::Store(error) = &missed {
                        tracing::warn!(%error, "websocket subscriber: cannot read the log: disconnected");
                    }
                    let after = stream.last();
                    close(socket, close_code::AGAIN, format!("{missed}; reconnect with ?after={after}")).await;
                    return;
                }
            },
            incoming = socket.recv() => match incoming {
                // The client closed, or the connection broke. Pings are answered by axum.
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

async fn close(mut socket: WebSocket, code: u16, reason: String) {
    let frame = CloseFrame { code, reason: reason.into() };
    let _ = tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
}
