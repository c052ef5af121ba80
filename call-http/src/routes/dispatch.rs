//! `/api/dispatch`: pausing and resuming the placing of calls, everywhere
//! or for one queue. Paused calls stay `scheduled`; calls already placed
//! are followed as usual. The pauses live in the store, so every worker on
//! it obeys them and they survive restarts.

use axum::{Json, extract::State};
use call_wire::{DispatchJson, PauseRequest};

use crate::{
    AppState,
    error::{ApiError, ErrorBody},
    extract::OptionalJson,
};

/// Whether calls are being placed, and the pauses in force.
#[utoipa::path(get, path = "/api/dispatch", tag = "dispatch",
    responses((status = 200, body = DispatchJson), (status = 401, body = ErrorBody)),
    security(("api_key" = [])))]
pub(crate) async fn state(State(state): State<AppState>) -> Result<Json<DispatchJson>, ApiError> {
    let pauses = state.engine().pauses().await?;
    Ok(Json(DispatchJson::new(&pauses)))
}

/// Pause dispatch: of every call, or of `queue_id`'s calls; until resumed
/// or, given `until`, until then. A pause of the same scope is replaced.
/// No body pauses every call until resumed. A claim a worker had begun may
/// still place what it took; nothing is claimed after this answers.
#[utoipa::path(post, path = "/api/dispatch/pause", tag = "dispatch", request_body(content = Option<PauseRequest>),
    responses((status = 200, body = DispatchJson), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "An unknown queue, or an end that is not in the future")),
    security(("api_key" = [])))]
pub(crate) async fn pause(
    State(state): State<AppState>,
    OptionalJson(request): OptionalJson<PauseRequest>,
) -> Result<Json<DispatchJson>, ApiError> {
    let (queue, until) = (request.queue()?, request.until()?);
    let pauses = state.engine().pause(queue, until).await?;
    Ok(Json(DispatchJson::new(&pauses)))
}

/// Resume dispatch: lift the pause of `queue_id`, or the pause of every
/// call when absent (a queue's own pause stays). Held calls that are due
/// are placed at once. Lifting a pause that is not there changes nothing.
#[utoipa::path(post, path = "/api/dispatch/resume", tag = "dispatch", request_body(content = Option<PauseRequest>),
    responses((status = 200, body = DispatchJson), (status = 401, body = ErrorBody)),
    security(("api_key" = [])))]
pub(crate) async fn resume(
    State(state): State<AppState>,
    OptionalJson(request): OptionalJson<PauseRequest>,
) -> Result<Json<DispatchJson>, ApiError> {
    if request.until.is_some() {
        return Err(ApiError::invalid("until", "a resume takes no end; pause with one instead"));
    }
    let pauses = state.engine().resume(request.queue()?.as_ref()).await?;
    Ok(Json(DispatchJson::new(&pauses)))
}
