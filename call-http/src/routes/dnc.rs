//! `/api/dnc`: the do-not-call list. No call is scheduled to a listed
//! number (422 `do_not_call`), and none scheduled before is placed: it ends
//! `canceled` with end reason `do_not_call` when it falls due.

use axum::{
    Json,
    extract::{Path, RawQuery, State},
    http::StatusCode,
};
use call_wire::{DoNotCallJson, DoNotCallPage, DoNotCallRequest};

use crate::{
    AppState,
    error::{ApiError, ErrorBody},
    extract::{ApiJson, QueryParams},
};

/// The do-not-call list, in number order.
#[utoipa::path(get, path = "/api/dnc", tag = "dnc",
    params(
        ("limit" = Option<usize>, Query, description = "1–1000, default 100"),
        ("cursor" = Option<String>, Query, description = "The previous page's next_cursor")),
    responses((status = 200, body = DoNotCallPage), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub(crate) async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<DoNotCallPage>, ApiError> {
    let params = QueryParams::parse(query.as_deref());
    let limit = params.number(
        "limit",
        1..=call_wire::DO_NOT_CALL_LIMIT_MAX,
        call_wire::DO_NOT_CALL_LIMIT_DEFAULT,
    )?;
    let after = params.one("cursor").map(|c| state.phone("cursor", c)).transpose()?;
    let entries = state.engine().list_do_not_call(after.as_ref(), limit).await?;
    Ok(Json(DoNotCallPage::new(&entries, limit)))
}

/// Put a number on the do-not-call list.
#[utoipa::path(post, path = "/api/dnc", tag = "dnc", request_body = DoNotCallRequest,
    description = "From now on a call to it is refused (422 `do_not_call`), and a call scheduled before ends `canceled` (end reason `do_not_call`) when it falls due, without being dialled.",
    responses((status = 201, body = DoNotCallJson, description = "Listed"),
        (status = 200, body = DoNotCallJson, description = "Listed already: the entry as it stands"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "An invalid number or a reason over 500 characters")),
    security(("api_key" = [])))]
pub(crate) async fn add(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<DoNotCallRequest>,
) -> Result<(StatusCode, Json<DoNotCallJson>), ApiError> {
    let number = request.phone(state.region())?;
    let (entry, new) = state.engine().add_do_not_call(number, request.reason.as_deref()).await?;
    let status = if new { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(DoNotCallJson::from(&entry))))
}

/// Whether a number is on the do-not-call list: its entry.
#[utoipa::path(get, path = "/api/dnc/{phone}", tag = "dnc",
    params(("phone" = String, Path, description = "The number, URL-encoded (%2B for +)")),
    responses((status = 200, body = DoNotCallJson), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "Not listed"), (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(number): Path<String>,
) -> Result<Json<DoNotCallJson>, ApiError> {
    let number = state.phone("phone", &number)?;
    let entry = state.engine().do_not_call(&number).await?;
    let entry = entry.ok_or_else(|| ApiError::not_found(format!("{number} is not listed")))?;
    Ok(Json(DoNotCallJson::from(&entry)))
}

/// Take a number off the do-not-call list.
#[utoipa::path(delete, path = "/api/dnc/{phone}", tag = "dnc",
    params(("phone" = String, Path, description = "The number, URL-encoded (%2B for +)")),
    responses((status = 204, description = "Removed"), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "Not listed"), (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub(crate) async fn remove(
    State(state): State<AppState>,
    Path(number): Path<String>,
) -> Result<StatusCode, ApiError> {
    let number = state.phone("phone", &number)?;
    if state.engine().remove_do_not_call(&number).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("{number} is not listed")))
    }
}
