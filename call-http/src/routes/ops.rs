//! Liveness, metrics, stats and the OpenAPI document.

use axum::{
    Json,
    extract::{RawQuery, State},
    http::header,
    response::IntoResponse,
};
use call_wire::{ActivityJson, StatsJson};
use serde::Serialize;

use crate::{
    AppState,
    error::{ApiError, ErrorBody},
    extract::QueryParams,
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

/// Prometheus metrics, in the text format: the engine's and the server's
/// (see `call_core::metrics` and `call_http::metrics`), with the calls by
/// status read from the store for this scrape.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, content_type = "text/plain; version=0.0.4", body = String),
        (status = 404, description = "The embedding installed no metrics recorder", body = ErrorBody)))]
pub(crate) async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let Some(render) = state.metrics() else {
        return Err(ApiError::not_found(
            "this server reports no metrics: no recorder is installed",
        ));
    };
    state.engine().report_calls_by_status().await?;
    ::metrics::gauge!(crate::metrics::WEBSOCKET_SUBSCRIBERS)
        .set(state.websocket_subscribers() as f64);
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], render()))
}

/// Queue and agent metrics.
#[utoipa::path(get, path = "/api/stats", tag = "stats",
    responses((status = 200, body = StatsJson), (status = 401, body = ErrorBody)),
    security(("api_key" = [])))]
pub(crate) async fn stats(State(state): State<AppState>) -> Result<Json<StatsJson>, ApiError> {
    Ok(Json(StatsJson::from(&state.engine().stats().await?)))
}

/// The last `minutes` minutes (60 unless given), one entry each, oldest
/// first: calls that ended by outcome, and scheduled outbound calls placed
/// with their lateness. The dashboard's charts.
#[utoipa::path(get, path = "/api/stats/activity", tag = "stats",
    params(("minutes" = Option<u32>, Query, description = "1–1440, default 60")),
    responses((status = 200, body = ActivityJson), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub(crate) async fn activity(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<ActivityJson>, ApiError> {
    let params = QueryParams::parse(query.as_deref());
    let max = call_core::ACTIVITY_MINUTES_MAX as usize;
    let minutes = params.number("minutes", 1..=max, 60)?;
    let activity = state.engine().activity(u32::try_from(minutes).unwrap_or(60)).await?;
    Ok(Json(ActivityJson::from(&activity)))
}

/// This API's OpenAPI document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations",
    responses((status = 200, content_type = "application/json", body = Object)))]
pub(crate) async fn openapi_json() -> impl IntoResponse {
    Json(crate::openapi())
}
