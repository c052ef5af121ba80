//! The pages for browsers: the dashboard, its assets, and a number's history.
//! Plain HTML, CSS and JS compiled into the binary: no build step, no CDN.

use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, header},
    response::{Html, IntoResponse, Response},
};
use call_wire::HistoryJson;

use crate::{AppState, auth, error::ApiError, routes::phones};

const DASHBOARD: &str = include_str!("../../assets/index.html");
const HISTORY: &str = include_str!("../../assets/history.html");
const APP_JS: &str = include_str!("../../assets/app.js");
const HISTORY_JS: &str = include_str!("../../assets/history.js");
const COMMON_JS: &str = include_str!("../../assets/common.js");
const CHARTS_JS: &str = include_str!("../../assets/charts.js");
const STYLE_CSS: &str = include_str!("../../assets/style.css");

/// The most records the bare JSON history answers with.
const HISTORY_JSON_LIMIT: usize = 10_000;

pub(crate) async fn dashboard() -> Html<&'static str> {
    Html(DASHBOARD)
}

pub(crate) async fn asset(Path(file): Path<String>) -> Response {
    let (content_type, body) = match file.as_str() {
        "app.js" => ("text/javascript; charset=utf-8", APP_JS),
        "history.js" => ("text/javascript; charset=utf-8", HISTORY_JS),
        "common.js" => ("text/javascript; charset=utf-8", COMMON_JS),
        "charts.js" => ("text/javascript; charset=utf-8", CHARTS_JS),
        "style.css" => ("text/css; charset=utf-8", STYLE_CSS),
        _ => return ApiError::not_found("no such asset").into_response(),
    };
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body)
        .into_response()
}

/// The history of one number: the page for a browser, or, asked for
/// `application/json`, the bare list of its records (newest first), as
/// the original calls-history endpoint answered.
pub(crate) async fn phone_history(
    State(state): State<AppState>,
    Path(phone): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/json") && !accept.contains("text/html"));
    if !wants_json {
        return Ok(Html(HISTORY).into_response());
    }
    if !auth::allows(&state, &headers) {
        return Err(ApiError::unauthorized());
    }
    let number = state.phone("phone", &phone)?;
    let mut query = phones::history_query(&Default::default())?;
    query.limit = 500;
    let mut records = Vec::new();
    loop {
        let page = state.engine().history(&number, &query).await?;
        records.extend(page.items.iter().map(HistoryJson::from));
        match page.next_cursor {
            Some(cursor) if records.len() < HISTORY_JSON_LIMIT => query.cursor = Some(cursor),
            _ => break,
        }
    }
    Ok(Json(records).into_response())
}
