//! `/api/events`: lifecycle events from an event source; and
//! `/api/provider/webhook`: the provider's status callbacks.

use axum::{
    Json,
    extract::{OriginalUri, State},
    http::{HeaderMap, header},
    response::{IntoResponse, Response},
};
use call_core::EventSource;
use call_wire::{CallJson, EventRequest};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    AppState,
    error::{ApiError, ErrorBody, ErrorDetail},
    extract::{AnyJson, RawBody, from_value},
};

/// The most events one request may carry.
const MAX_BATCH: usize = 1_000;

/// What became of one ingested event.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Ingested {
    /// The call after the event.
    pub call: CallJson,
    /// The event's `event_id` was recorded before: nothing changed.
    pub duplicate: bool,
}

/// What became of each event of a batch, in order.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BatchIngested {
    /// One result per event.
    pub results: Vec<BatchItem>,
}

/// One event of a batch: its status, and the call or the error.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BatchItem {
    /// The status a request with this event alone would have had.
    pub status: u16,
    /// The call after the event, when it was applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call: Option<CallJson>,
    /// Whether it was a repeated delivery, when it was applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<bool>,
    /// Why it was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetail>,
}

/// What `POST /api/events` takes: one event, or an array of them (for the document).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub(crate) enum IngestBody {
    /// One event.
    One(Box<EventRequest>),
    /// Up to 1,000 events, applied in order.
    Many(Vec<EventRequest>),
}

/// What `POST /api/events` answers: for one event, the call after it; for
/// an array, one result per event (for the document).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub(crate) enum IngestAnswer {
    /// The answer to one event.
    One(Box<Ingested>),
    /// The answer to an array.
    Many(BatchIngested),
}

/// Ingest a lifecycle event, or an array of them.
///
/// One event answers 200 with the call, or the error of the event. An
/// array is applied in order, each event on its own (events of different
/// calls do not wait on each other's fate), and answers 200 with one
/// result per event, each with the status it would have had alone.
#[utoipa::path(post, path = "/api/events", tag = "events",
    request_body(content = IngestBody, description = "One flat event, or an array of up to 1,000"),
    responses(
        (status = 200, description = "One event: the call after it; an array: one result per event", body = IngestAnswer),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "Unknown call (other than by call_initiated)"),
        (status = 409, body = ErrorBody, description = "The event does not fit the call's status"),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "An invalid value, or an unknown queue")),
    security(("api_key" = [])))]
pub(crate) async fn ingest(
    State(state): State<AppState>,
    AnyJson(body): AnyJson,
) -> Result<Response, ApiError> {
    match body {
        Value::Array(items) => {
            if items.len() > MAX_BATCH {
                return Err(ApiError::invalid(
                    "body",
                    format!("at most {MAX_BATCH} events per request, got {}", items.len()),
                ));
            }
            // An array that is not of events is refused whole, before any is applied.
            if let Some(index) = items.iter().position(|item| !item.is_object()) {
                return Err(ApiError::invalid("body", "an event is a JSON object").in_batch(index));
            }
            let mut results = Vec::with_capacity(items.len());
            for item in &items {
                results.push(match ingest_one(&state, item).await {
                    Ok(ingested) => BatchItem {
                        status: 200,
                        call: Some(ingested.call),
                        duplicate: Some(ingested.duplicate),
                        error: None,
                    },
                    Err(error) => {
                        let (status, detail) = error.into_parts();
                        BatchItem {
                            status: status.as_u16(),
                            call: None,
                            duplicate: None,
                            error: Some(detail),
                        }
                    }
                });
            }
            Ok(Json(BatchIngested { results }).into_response())
        }
        one => Ok(Json(ingest_one(&state, &one).await?).into_response()),
    }
}

async fn ingest_one(state: &AppState, value: &Value) -> Result<Ingested, ApiError> {
    if !value.is_object() {
        return Err(ApiError::invalid("body", "an event is a JSON object"));
    }
    let request: EventRequest = from_value(value)?;
    let event = request.into_incoming(EventSource::Api, state.region())?;
    let ingested = state.engine().ingest(event).await?;
    Ok(Ingested { call: CallJson::from(&ingested.call), duplicate: ingested.duplicate })
}

/// A provider's status callback: its call object as JSON, or Twilio-style form fields.
#[utoipa::path(post, path = "/api/provider/webhook", tag = "events",
    request_body(content = Object, description = "The provider's call object (`{\"id\", \"status\", …}`), or form fields `CallSid`, `CallStatus`, `CallDuration`"),
    description = "With a provider secret configured (`--provider-secret`), a callback is taken only when signed \
        with it, in place of the API key: Twilio's `X-Twilio-Signature` (base64 HMAC-SHA1 of the called URL and the \
        sorted form parameters) or `X-Callwork-Signature: sha256=<hex HMAC-SHA256 of the body>`. A report older \
        than what is known of the call (a `ringing` after `completed`), or one repeated, changes nothing and \
        answers the call as it is.",
    responses((status = 200, body = CallJson, description = "The call after the report"),
        (status = 401, body = ErrorBody, description = "No or a wrong API key, or, with a provider secret, no or a bad signature"),
        (status = 422, body = ErrorBody, description = "Unreadable, or no call was placed under that provider id")),
    security(("api_key" = [])))]
pub(crate) async fn provider_webhook(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<CallJson>, ApiError> {
    if let Some(secret) = state.provider_secret() {
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        if !secret.verifies(&crate::signature::called_url(&headers, path), &headers, &body) {
            tracing::warn!("refused a provider callback without a valid signature");
            return Err(ApiError::bad_signature());
        }
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let update = call_provider_http::parse_callback(content_type, &body)
        .map_err(|e| ApiError::invalid("body", e.to_string()))?;
    let call = state.engine().provider_update(&update).await?;
    Ok(Json(CallJson::from(&call)))
}
