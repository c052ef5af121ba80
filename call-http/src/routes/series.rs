//! `/api/series`: recurring series, scheduled with a `recurrence` on
//! `POST /api/calls`. Each occurrence is an ordinary call carrying the
//! series' id; the next is made when the one before it is placed.

use axum::{
    Json,
    extract::{Path, RawQuery, State},
};
use call_core::SeriesId;
use call_wire::{SeriesJson, SeriesPage};

use crate::{
    AppState,
    error::{ApiError, ErrorBody},
    extract::QueryParams,
};

fn series_id(id: &str, field: &'static str) -> Result<SeriesId, ApiError> {
    SeriesId::parse(id).map_err(|e| e.for_field(field).into())
}

/// List recurring series, newest first, a keyset page at a time.
#[utoipa::path(get, path = "/api/series", tag = "series",
    params(
        ("limit" = Option<usize>, Query, description = "1–500, default 50"),
        ("cursor" = Option<String>, Query, description = "The previous page's next_cursor")),
    responses((status = 200, body = SeriesPage), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub(crate) async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<SeriesPage>, ApiError> {
    let params = QueryParams::parse(query.as_deref());
    let limit = params.page_limit()?;
    let before = params.one("cursor").map(|c| series_id(c, "cursor")).transpose()?;
    let series = state.engine().list_series(before.as_ref(), limit).await?;
    Ok(Json(SeriesPage::new(&series, limit)))
}

/// One recurring series. Its occurrences: `GET /api/calls?series_id={id}`.
#[utoipa::path(get, path = "/api/series/{id}", tag = "series",
    params(("id" = String, Path, description = "The series' id")),
    responses((status = 200, body = SeriesJson), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<SeriesJson>, ApiError> {
    let series = state.engine().series(&series_id(&id, "id")?).await?;
    Ok(Json(SeriesJson::from(&series)))
}

/// Cancel a recurring series: no occurrence is made after this, and the
/// occurrence waiting to be placed is canceled (one being placed already
/// goes on). Canceling a canceled series answers it again.
#[utoipa::path(post, path = "/api/series/{id}/cancel", tag = "series",
    params(("id" = String, Path, description = "The series' id")),
    responses((status = 200, body = SeriesJson), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<SeriesJson>, ApiError> {
    let series = state.engine().cancel_series(&series_id(&id, "id")?).await?;
    Ok(Json(SeriesJson::from(&series)))
}
