//! Liveness, metrics, stats and the OpenAPI document.

use axum::{Json, extract::State, http::header, response::IntoResponse};
use call_wire::StatsJson;
use serde::Serialize;

use crate::{
    AppState,
    error::{ApiError, ErrorBody},
};

/// The liveness answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Health {
    /// `ok`.
    status: &'static str,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
pub(crate) async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Prometheus metrics, in the text format.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, content_type = "text/plain; version=0.0.4", body = String)))]
pub(crate) async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let by_status = state.engine().count_by_status().await?;
    let text = state.metrics().render(&by_status, state.websocket_subscribers());
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text))
}

/// Queue and agent metrics.
#[utoipa::path(get, path = "/api/stats", tag = "stats",
    responses((status = 200, body = StatsJson), (status = 401, body = ErrorBody)),
    security(("api_key" = [])))]
pub(crate) async fn stats(State(state): State<AppState>) -> Result<Json<StatsJson>, ApiError> {
    Ok(Json(StatsJson::from(&state.engine().stats().await?)))
}

/// This API's OpenAPI document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations",
    responses((status = 200, content_type = "application/json", body = Object)))]
pub(crate) async fn openapi_json() -> impl IntoResponse {
    Json(crate::openapi())
}
