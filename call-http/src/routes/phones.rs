//! `/api/phones/{phone}/history`: every call a number took part in.

use axum::{
    Json,
    extract::{Path, RawQuery, State},
};
use call_core::ports::{Cursor, HistoryQuery};
use call_wire::HistoryPage;
use chrono::{DateTime, NaiveDate, Utc};

use crate::{
    AppState,
    error::{ApiError, ErrorBody},
    extract::QueryParams,
};

/// Which end of a range a `since` / `until` value bounds.
#[derive(Clone, Copy)]
enum Bound {
    Start,
    End,
}

/// A date (`2026-12-01`, the whole UTC day) or an RFC 3339 time, as the
/// `[since, until)` bound the store takes: `until` is inclusive for people.
fn bound(field: &'static str, text: &str, which: Bound) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(date) = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        let day = match which {
            Bound::Start => Some(date),
            Bound::End => date.succ_opt(),
        };
        return day
            .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc())
            .ok_or_else(|| ApiError::invalid(field, "date out of range"));
    }
    let t = call_wire::parse_time(field, text).map_err(|_| {
        ApiError::invalid(field, format!("{text:?} is not a date (2026-12-01) or an RFC 3339 time"))
    })?;
    Ok(match which {
        Bound::Start => t,
        Bound::End => t + chrono::TimeDelta::microseconds(1),
    })
}

/// The history query of `since`, `until`, `limit` and `cursor`.
pub(crate) fn history_query(params: &QueryParams) -> Result<HistoryQuery, ApiError> {
    let since = params.one("since").map(|s| bound("since", s, Bound::Start)).transpose()?;
    let until = params.one("until").map(|s| bound("until", s, Bound::End)).transpose()?;
    if let (Some(since), Some(until)) = (since, until)
        && since >= until
    {
        return Err(ApiError::invalid("until", "must not be before since"));
    }
    Ok(HistoryQuery {
        since,
        until,
        limit: params.page_limit()?,
        cursor: params.one("cursor").map(Cursor::parse).transpose()?,
    })
}

/// A number's call history: Completed or Missed, Inbound or Outbound, from its side,
/// newest first by when each call took place (placed, or reported initiated;
/// not when it was scheduled), which `created_at`, `since` and `until` are about.
#[utoipa::path(get, path = "/api/phones/{phone}/history", tag = "history",
    params(
        ("phone" = String, Path, description = "The number, in any common international format (URL-encoded)"),
        ("since" = Option<String>, Query, description = "Calls that took place from this date (whole UTC day) or RFC 3339 time"),
        ("until" = Option<String>, Query, description = "Calls that took place up to this date (whole UTC day, included) or RFC 3339 time"),
        ("limit" = Option<usize>, Query, description = "1–500, default 50"),
        ("cursor" = Option<String>, Query, description = "The previous page's next_cursor")),
    responses((status = 200, body = HistoryPage), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub(crate) async fn history(
    State(state): State<AppState>,
    Path(phone): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<HistoryPage>, ApiError> {
    let number = state.phone("phone", &phone)?;
    let query = history_query(&QueryParams::parse(query.as_deref()))?;
    let page = state.engine().history(&number, &query).await?;
    Ok(Json(HistoryPage::new(&number, &page)))
}
