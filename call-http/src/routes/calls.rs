//! `/api/calls`: schedule, list, read, cancel, reschedule, and the audit log.

use axum::{
    Json,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode},
};
use call_core::{CallId, ValidationError};
use call_wire::{AttemptsJson, CallJson, CallPage, EventList, ListRequest, ScheduleRequest};
use serde::Deserialize;

use crate::{
    AppState,
    error::{ApiError, ErrorBody},
    extract::{ApiJson, QueryParams},
};

/// A reschedule: the new due time.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RescheduleRequest {
    /// When to place it, RFC 3339.
    scheduled_at: String,
}

pub(crate) fn call_id(id: String) -> Result<CallId, ApiError> {
    CallId::parse(id).map_err(|e| e.for_field("id").into())
}

/// Schedule a call.
///
/// With an `Idempotency-Key` header (or `idempotency_key` in the body), a
/// retry of the same request answers the call the first one made, with 200
/// and `Idempotent-Replayed: true`, for at least 24 hours; the same key with
/// a different request is refused with 422.
#[utoipa::path(post, path = "/api/calls", tag = "calls", request_body = ScheduleRequest,
    params(("Idempotency-Key" = Option<String>, Header,
        description = "1–255 visible ASCII characters, such as a UUID: a retry with the same key and request makes no second call")),
    description = "With a `calling_window` (or the server's --default-window), a due time outside the window moves to its next opening, read in the callee's time zone (every zone the number may be in, when it has no `time_zone`); the call's first event says so. With a `redial` policy (or the server's --default-redial), a placed call that ends with an outcome the policy names is dialled again after its delay, as a new call linked by `redial_of` / `redialed_as`, until `max_attempts`; `GET /api/calls/{id}/attempts` lists them.",
    responses((status = 201, body = CallJson, description = "Scheduled"),
        (status = 200, body = CallJson, description = "A retry of an earlier request with the same Idempotency-Key: the call it made, as it is now"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "An invalid value, e.g. the number, an unknown queue, a calling window that never opens in all the number's zones (field `calling_window`), a redial policy out of bounds (fields `redial.on`, `redial.max_attempts`, `redial.delay`), or an Idempotency-Key used before for a different request")),
    security(("api_key" = [])))]
pub(crate) async fn schedule(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(mut request): ApiJson<ScheduleRequest>,
) -> Result<(StatusCode, HeaderMap, Json<CallJson>), ApiError> {
    if let Some(value) = headers.get(IDEMPOTENCY_KEY) {
        let key = header_key(value)?;
        match &request.idempotency_key {
            Some(body) if *body != key => {
                return Err(ValidationError::new(
                    "idempotency_key",
                    "the Idempotency-Key header and the body's idempotency_key differ",
                )
                .into());
            }
            _ => request.idempotency_key = Some(key),
        }
    }
    let scheduled = state.engine().schedule_once(request.into_new_call(state.region())?).await?;
    let mut answer_headers = HeaderMap::new();
    let status = if scheduled.is_new() {
        StatusCode::CREATED
    } else {
        answer_headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
        StatusCode::OK
    };
    Ok((status, answer_headers, Json(CallJson::from(scheduled.call()))))
}

/// The header a client names its request with, to retry it safely.
const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The key in an `Idempotency-Key` header: as sent, or unquoted when sent
/// as a structured-field string (`"…"`), as the IETF draft writes it.
fn header_key(value: &HeaderValue) -> Result<String, ApiError> {
    let text = value.to_str().map_err(|_| {
        ValidationError::new("idempotency_key", "the Idempotency-Key header must be visible ASCII")
    })?;
    let text = text.trim();
    let unquoted = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text);
    Ok(unquoted.to_owned())
}

/// List calls, newest first, a keyset page at a time.
#[utoipa::path(get, path = "/api/calls", tag = "calls",
    params(
        ("status" = Option<String>, Query, description = "Statuses or groups (pending, waiting, live, ended), comma-separated or repeated"),
        ("queue" = Option<String>, Query, description = "Only this queue"),
        ("phone" = Option<String>, Query, description = "Only calls this number took part in"),
        ("series_id" = Option<String>, Query, description = "Only the occurrences of this recurring series"),
        ("limit" = Option<usize>, Query, description = "1–500, default 50"),
        ("cursor" = Option<String>, Query, description = "The previous page's next_cursor")),
    responses((status = 200, body = CallPage), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub(crate) async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<CallPage>, ApiError> {
    let params = QueryParams::parse(query.as_deref());
    let owned = |name| params.one(name).map(str::to_owned);
    let request = ListRequest {
        status: params.all("status").into_iter().map(str::to_owned).collect(),
        queue: owned("queue"),
        phone: owned("phone"),
        series_id: owned("series_id"),
        limit: Some(params.page_limit()?),
        cursor: owned("cursor"),
    };
    let page = state.engine().list(&request.into_query(state.region())?).await?;
    Ok(Json(CallPage::from(&page)))
}

/// One call.
#[utoipa::path(get, path = "/api/calls/{id}", tag = "calls",
    params(("id" = String, Path, description = "The call's id")),
    responses((status = 200, body = CallJson), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CallJson>, ApiError> {
    let call = state.engine().get(&call_id(id)?).await?;
    Ok(Json(CallJson::from(&call)))
}

/// Cancel a scheduled call.
#[utoipa::path(post, path = "/api/calls/{id}/cancel", tag = "calls",
    params(("id" = String, Path, description = "The call's id")),
    responses((status = 200, body = CallJson), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The call is no longer scheduled")),
    security(("api_key" = [])))]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CallJson>, ApiError> {
    let call = state.engine().cancel(&call_id(id)?).await?;
    Ok(Json(CallJson::from(&call)))
}

/// Move a scheduled call to another time.
#[utoipa::path(patch, path = "/api/calls/{id}", tag = "calls", request_body = RescheduleRequest,
    params(("id" = String, Path, description = "The call's id")),
    responses((status = 200, body = CallJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "The call is no longer scheduled"),
        (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub(crate) async fn reschedule(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<RescheduleRequest>,
) -> Result<Json<CallJson>, ApiError> {
    let id = call_id(id)?;
    let at = call_wire::parse_time("scheduled_at", &request.scheduled_at)?;
    let call = state.engine().reschedule(&id, at).await?;
    Ok(Json(CallJson::from(&call)))
}

/// A call's audit log.
#[utoipa::path(get, path = "/api/calls/{id}/events", tag = "calls",
    params(("id" = String, Path, description = "The call's id")),
    responses((status = 200, body = EventList), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub(crate) async fn events(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<EventList>, ApiError> {
    let events = state.engine().events(&call_id(id)?).await?;
    Ok(Json(EventList::from(events.as_slice())))
}

/// The attempts at a number that redials link to a call.
#[utoipa::path(get, path = "/api/calls/{id}/attempts", tag = "calls",
    params(("id" = String, Path, description = "The id of any of the attempts")),
    description = "First to last, with the final outcome once the last attempt has ended: one call when it was never redialled.",
    responses((status = 200, body = AttemptsJson), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub(crate) async fn attempts(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<AttemptsJson>, ApiError> {
    let attempts = state.engine().attempts(&call_id(id)?).await?;
    Ok(Json(AttemptsJson::new(&attempts)))
}
