//! `/api/alerts`: the alerts the rules raised, kept as records a supervisor
//! can list and acknowledge; each closes by itself when its cause ends.

use axum::{
    Json,
    extract::{Path, RawQuery, State},
};
use call_core::{
    EventId, QueueId,
    alerts::{AlertCursor, AlertQuery},
};
use call_wire::{AcknowledgeRequest, AlertJson, AlertsPage};

use crate::{
    AppState,
    error::{ApiError, ErrorBody},
    extract::{OptionalJson, QueryParams},
};

/// List alerts, newest first: the open ones (their cause still going on)
/// with `open=true`, one queue's with `queue`.
#[utoipa::path(get, path = "/api/alerts", tag = "alerts",
    params(
        ("open" = Option<bool>, Query, description = "Only the open alerts (true) or every alert (false, the default)"),
        ("queue" = Option<String>, Query, description = "Only the alerts of calls in this queue"),
        ("limit" = Option<usize>, Query, description = "1–500, default 50"),
        ("cursor" = Option<String>, Query, description = "The previous page's next_cursor")),
    responses((status = 200, body = AlertsPage), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub(crate) async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<AlertsPage>, ApiError> {
    let params = QueryParams::parse(query.as_deref());
    let open = match params.one("open").map(str::trim) {
        None | Some("false" | "0") => false,
        Some("true" | "1") => true,
        Some(other) => {
            return Err(ApiError::invalid("open", format!("{other:?} is not true or false")));
        }
    };
    let query = AlertQuery {
        open,
        queue: params.one("queue").map(|q| QueueId::parse(q.trim())).transpose()?,
        limit: params.page_limit()?,
        cursor: params.one("cursor").map(AlertCursor::parse).transpose()?,
    };
    let page = state.engine().alerts(&query).await?;
    Ok(Json(AlertsPage::from(&page)))
}

/// Acknowledge an alert: who did is kept with it and recorded in its call's
/// audit log (`alert_acknowledged`). The first acknowledgement stands; a
/// second answers the alert as it is.
#[utoipa::path(post, path = "/api/alerts/{id}/ack", tag = "alerts",
    params(("id" = String, Path, description = "The alert's id")),
    request_body(content = Option<AcknowledgeRequest>),
    responses((status = 200, body = AlertJson), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub(crate) async fn acknowledge(
    State(state): State<AppState>,
    Path(id): Path<String>,
    OptionalJson(request): OptionalJson<AcknowledgeRequest>,
) -> Result<Json<AlertJson>, ApiError> {
    let id = EventId::parse(id).map_err(|e| e.for_field("id"))?;
    let by = request.by.unwrap_or_else(|| "api".to_owned());
    let alert = state.engine().acknowledge_alert(&id, &by).await?;
    Ok(Json(AlertJson::from(&alert)))
}
