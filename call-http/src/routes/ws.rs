//! `/api/ws`: every call change and alert, as JSON, once each, in commit
//! order (so in order per call).
//!
//! A subscriber that falls more than the live stream's capacity behind, or
//! whose socket does not take a message within [`SEND_TIMEOUT`], is
//! disconnected with a close reason; the engine never waits for one.

use std::time::Duration;

use axum::{
    extract::{
        State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket, close_code, rejection::WebSocketUpgradeRejection},
    },
    response::{IntoResponse, Response},
};
use call_core::ports::Notification;
use std::sync::Arc;
use tokio::sync::broadcast::{self, error::RecvError};

use crate::{
    AppState,
    error::{ApiError, ErrorBody},
    live::LiveMessage,
};

/// The longest one message may take to be taken by a subscriber's socket.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Live updates: upgrade to a WebSocket, then receive a `LiveMessage` per notification.
#[utoipa::path(get, path = "/api/ws", tag = "live",
    params(("api_key" = Option<String>, Query, description = "The API key, for browsers, which cannot set headers on a WebSocket")),
    responses((status = 101, description = "Switching to WebSocket; each text message is a LiveMessage", body = LiveMessage),
        (status = 400, body = ErrorBody, description = "Not a WebSocket upgrade request"),
        (status = 401, body = ErrorBody)),
    security(("api_key" = [])))]
pub(crate) async fn subscribe(
    State(state): State<AppState>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(_) => {
            return ApiError::malformed("this route speaks WebSocket: send an upgrade request")
                .into_response();
        }
    };
    // Subscribed before the answer, so nothing committed after it is missed.
    let updates = state.live().subscribe();
    upgrade.on_upgrade(move |socket| serve(socket, updates, state))
}

async fn serve(
    mut socket: WebSocket,
    mut updates: broadcast::Receiver<Arc<Notification>>,
    state: AppState,
) {
    let _counted = state.count_websocket();
    let closing = state.closing();
    tokio::pin!(closing);
    loop {
        tokio::select! {
            () = &mut closing => {
                close(socket, close_code::AWAY, "the server is shutting down".to_owned()).await;
                return;
            }
            update = updates.recv() => match update {
                Ok(notification) => {
                    let text = LiveMessage::from(notification.as_ref()).to_json();
                    match tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text.into()))).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => return,
                        Err(_) => {
                            tracing::warn!("websocket subscriber too slow: disconnected");
                            return;
                        }
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "websocket subscriber fell behind: disconnected");
                    close(socket, close_code::AGAIN, format!("too slow: missed {missed} updates; reconnect and reload")).await;
                    return;
                }
                Err(RecvError::Closed) => {
                    close(socket, close_code::AWAY, "the server is shutting down".to_owned()).await;
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
