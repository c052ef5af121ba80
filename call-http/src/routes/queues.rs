//! `/api/queues`: the queue registry. Calls and events may only name registered queues.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use call_core::QueueId;
use call_wire::{QueueJson, QueueList};
use serde::Deserialize;

use crate::{
    AppState,
    error::{ApiError, ErrorBody},
    extract::ApiJson,
};

/// A queue to register.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddQueue {
    /// Its id: 1–128 letters, digits and `-_.:`.
    id: String,
}

fn queue_id(id: String) -> Result<QueueId, ApiError> {
    QueueId::parse(id).map_err(|e| e.for_field("id").into())
}

/// Every registered queue.
#[utoipa::path(get, path = "/api/queues", tag = "queues",
    responses((status = 200, body = QueueList), (status = 401, body = ErrorBody)),
    security(("api_key" = [])))]
pub(crate) async fn list(State(state): State<AppState>) -> Result<Json<QueueList>, ApiError> {
    let queues = state.engine().queues().await?;
    Ok(Json(QueueList::from(queues.as_slice())))
}

/// Register a queue.
#[utoipa::path(post, path = "/api/queues", tag = "queues", request_body = AddQueue,
    responses((status = 201, body = QueueJson), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "Already registered"), (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub(crate) async fn add(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<AddQueue>,
) -> Result<(StatusCode, Json<QueueJson>), ApiError> {
    let queue = state.engine().add_queue(queue_id(request.id)?).await?;
    Ok((StatusCode::CREATED, Json(QueueJson::from(&queue))))
}

/// One queue.
#[utoipa::path(get, path = "/api/queues/{id}", tag = "queues",
    params(("id" = String, Path, description = "The queue's id")),
    responses((status = 200, body = QueueJson), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<QueueJson>, ApiError> {
    let id = queue_id(id)?;
    let queues = state.engine().queues().await?;
    let queue = queues
        .iter()
        .find(|q| q.id == id)
        .ok_or_else(|| ApiError::not_found(format!("queue {id} not found")))?;
    Ok(Json(QueueJson::from(queue)))
}

/// Remove a queue; its calls keep their queue_id.
#[utoipa::path(delete, path = "/api/queues/{id}", tag = "queues",
    params(("id" = String, Path, description = "The queue's id")),
    responses((status = 204, description = "Removed"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub(crate) async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = queue_id(id)?;
    if state.engine().remove_queue(&id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("queue {id} not found")))
    }
}
