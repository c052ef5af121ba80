//! `/api/calls`: schedule, list, read, cancel, reschedule, and the audit log.

use axum::{
    Json,
    extract::{Path, RawQuery, State},
    http::StatusCode,
};
use call_core::{
    CallId, Media, NewCall, PhoneNumber, QueueId, StatusFilter,
    ports::{Cursor, ListQuery},
};
use call_wire::{CallJson, EventJson};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{
    AppState,
    error::{ApiError, ErrorBody},
    extract::{ApiJson, QueryParams},
};

/// A call to schedule.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"phone_number": "+1 (415) 555-0100", "scheduled_at": "2026-12-01T09:30:00Z", "customer_name": "Ada Lovelace", "workflow": "reminder"}))]
pub(crate) struct ScheduleRequest {
    /// The number to call, in any common international format; stored as E.164.
    phone_number: String,
    /// When to place it, RFC 3339; now when absent.
    #[serde(default)]
    scheduled_at: Option<String>,
    /// The customer's name.
    #[serde(default)]
    customer_name: Option<String>,
    /// Free text: support, sales, reminder…
    #[serde(default)]
    workflow: Option<String>,
    /// The queue; it must be registered.
    #[serde(default)]
    queue_id: Option<String>,
    /// `voice` (default) or `video`.
    #[serde(default)]
    media: Option<String>,
    /// The caller ID to call from; the provider's choice when absent.
    #[serde(default)]
    from: Option<String>,
    /// Your own data, kept with the call.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    metadata: Option<Map<String, Value>>,
}

impl ScheduleRequest {
    fn into_new_call(self) -> Result<NewCall, ApiError> {
        let mut call = NewCall::to(PhoneNumber::parse_field("phone_number", &self.phone_number)?);
        if let Some(at) = &self.scheduled_at {
            call = call.at(parse_time("scheduled_at", at)?);
        }
        if let Some(from) = &self.from {
            call = call.from(PhoneNumber::parse_field("from", from)?);
        }
        if let Some(name) = self.customer_name {
            call = call.customer_name(name);
        }
        if let Some(workflow) = self.workflow {
            call = call.workflow(workflow);
        }
        if let Some(queue) = self.queue_id {
            call = call.queue(QueueId::parse(queue).map_err(|e| e.for_field("queue_id"))?);
        }
        if let Some(media) = &self.media {
            call = call.media(Media::parse(media)?);
        }
        if let Some(metadata) = self.metadata {
            call = call.metadata(metadata);
        }
        Ok(call)
    }
}

/// A reschedule: the new due time.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RescheduleRequest {
    /// When to place it, RFC 3339.
    scheduled_at: String,
}

/// One page of calls, newest first.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CallPage {
    /// The calls.
    pub calls: Vec<CallJson>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// A call's audit log, in the order it was written.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventList {
    /// The events.
    pub events: Vec<EventJson>,
}

/// Reads an RFC 3339 time, naming `field` when it is not one.
pub(crate) fn parse_time(field: &'static str, text: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(text.trim()).map(|t| t.with_timezone(&Utc)).map_err(|_| {
        ApiError::invalid(
            field,
            format!("{text:?} is not an RFC 3339 time such as 2026-12-01T09:30:00Z"),
        )
    })
}

pub(crate) fn call_id(id: String) -> Result<CallId, ApiError> {
    CallId::parse(id).map_err(|e| e.for_field("id").into())
}

/// Schedule a call.
#[utoipa::path(post, path = "/api/calls", tag = "calls", request_body = ScheduleRequest,
    responses((status = 201, body = CallJson, description = "Scheduled"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "An invalid value, e.g. the number or an unknown queue")),
    security(("api_key" = [])))]
pub(crate) async fn schedule(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<ScheduleRequest>,
) -> Result<(StatusCode, Json<CallJson>), ApiError> {
    let call = state.engine().schedule(request.into_new_call()?).await?;
    Ok((StatusCode::CREATED, Json(CallJson::from(&call))))
}

/// List calls, newest first, a keyset page at a time.
#[utoipa::path(get, path = "/api/calls", tag = "calls",
    params(
        ("status" = Option<String>, Query, description = "Statuses or groups (pending, waiting, live, ended), comma-separated or repeated"),
        ("queue" = Option<String>, Query, description = "Only this queue"),
        ("phone" = Option<String>, Query, description = "Only calls this number took part in"),
        ("limit" = Option<usize>, Query, description = "1–500, default 50"),
        ("cursor" = Option<String>, Query, description = "The previous page's next_cursor")),
    responses((status = 200, body = CallPage), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub(crate) async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<CallPage>, ApiError> {
    let params = QueryParams::parse(query.as_deref());
    let query = ListQuery {
        statuses: params
            .all("status")
            .into_iter()
            .map(StatusFilter::parse)
            .collect::<Result<_, _>>()?,
        queue: params
            .one("queue")
            .map(|q| QueueId::parse(q).map_err(|e| e.for_field("queue")))
            .transpose()?,
        phone: params.one("phone").map(|p| PhoneNumber::parse_field("phone", p)).transpose()?,
        limit: params.number("limit", 1..=500, 50)?,
        cursor: params.one("cursor").map(Cursor::parse).transpose()?,
    };
    let page = state.engine().list(&query).await?;
    Ok(Json(CallPage {
        calls: page.items.iter().map(CallJson::from).collect(),
        next_cursor: page.next_cursor.map(|c| c.to_string()),
    }))
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
    let at = parse_time("scheduled_at", &request.scheduled_at)?;
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
    Ok(Json(EventList { events: events.iter().map(EventJson::from).collect() }))
}
