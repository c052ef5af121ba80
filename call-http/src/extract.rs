//! Reading requests so that every refusal is an [`ApiError`]: JSON bodies
//! (415 when not declared JSON, 413 when too large, 400 when not JSON, 422
//! naming the field whose value does not fit) and query strings.

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::{HeaderMap, StatusCode, header},
};
use serde::de::DeserializeOwned;

use crate::{AppState, error::ApiError};

/// A JSON object body, read into `T`.
#[derive(Debug)]
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let AnyJson(value) = AnyJson::from_request(req, state).await?;
        from_object(&value).map(ApiJson)
    }
}

/// Reads a JSON object into `T`; 422 when it is not an object.
fn from_object<T: DeserializeOwned>(value: &serde_json::Value) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(ApiError::invalid("body", "expected a JSON object"));
    }
    from_value(value)
}

/// Parses a body; 400 when it is not JSON.
fn parse_json(bytes: &[u8]) -> Result<serde_json::Value, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::malformed(format!("the body is not valid JSON: {e}")))
}

/// A JSON object body read into `T`, or `T::default()` when there is no
/// body at all: for operations whose every field is optional, so that a
/// bare `curl -X POST` works.
#[derive(Debug)]
pub(crate) struct OptionalJson<T>(pub(crate) T);

impl<T: DeserializeOwned + Default> FromRequest<AppState> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let json = declares_json(req.headers());
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        if bytes.is_empty() {
            return Ok(OptionalJson(T::default()));
        }
        if !json {
            return Err(ApiError::unsupported_media_type());
        }
        from_object(&parse_json(&bytes)?).map(OptionalJson)
    }
}

/// A JSON body of any shape (an object or an array of them).
#[derive(Debug)]
pub(crate) struct AnyJson(pub(crate) serde_json::Value);

impl FromRequest<AppState> for AnyJson {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        if !declares_json(req.headers()) {
            return Err(ApiError::unsupported_media_type());
        }
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        parse_json(&bytes).map(AnyJson)
    }
}

/// A body of any type, within the size limit.
#[derive(Debug)]
pub(crate) struct RawBody(pub(crate) Bytes);

impl FromRequest<AppState> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        Bytes::from_request(req, state).await.map(RawBody).map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::too_large(state.body_limit())
            } else {
                ApiError::malformed("the body could not be read")
            }
        })
    }
}

/// `application/json`, or any `+json` type, with any parameters.
fn declares_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Reads a JSON value (an element of a batch) into `T`, 422 naming the
/// path of the value that does not fit.
pub(crate) fn from_value<T: DeserializeOwned>(value: &serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(data_error)
}

/// A value of the wrong type or a missing field: 422 naming its path.
fn data_error(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = error.path().to_string();
    let message = strip_position(&error.into_inner().to_string());
    let missing = message.strip_prefix("missing field `").and_then(|m| m.split('`').next());
    let field = match (missing, path.as_str()) {
        (Some(name), ".") => name.to_owned(),
        (Some(name), parent) => format!("{parent}.{name}"),
        (None, ".") => "body".to_owned(),
        (None, _) => path,
    };
    ApiError::invalid(field, message)
}

/// serde_json's data errors end in ` at line 1 column 20`, which says
/// nothing once the field is named.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// A query string's parameters, in order; a name may repeat.
#[derive(Debug, Default)]
pub(crate) struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub(crate) fn parse(raw: Option<&str>) -> QueryParams {
        QueryParams(
            raw.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
                .unwrap_or_default(),
        )
    }

    /// The last value of `name`, if given and not blank.
    pub(crate) fn one(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, repeated (`status=a&status=b`) or comma-separated (`status=a,b`).
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// `limit`: the size of a page of calls, history, alerts or series
    /// ([`call_wire::PAGE_LIMIT_MAX`] at most), as the CLI takes it too.
    pub(crate) fn page_limit(&self) -> Result<usize, ApiError> {
        self.number("limit", 1..=call_wire::PAGE_LIMIT_MAX, call_wire::PAGE_LIMIT_DEFAULT)
    }

    /// `name` as a whole number in `range`, or `default`.
    pub(crate) fn number(
        &self,
        name: &'static str,
        range: std::ops::RangeInclusive<usize>,
        default: usize,
    ) -> Result<usize, ApiError> {
        match self.one(name) {
            None => Ok(default),
            Some(text) => {
                text.parse::<usize>().ok().filter(|n| range.contains(n)).ok_or_else(|| {
                    ApiError::invalid(
                        name,
                        format!(
                            "must be a whole number from {} to {}, got {text:?}",
                            range.start(),
                            range.end()
                        ),
                    )
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, value.parse().unwrap());
            declares_json(&headers)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(with("application/merge-patch+json"));
        assert!(!with("text/plain"));
        assert!(!with("application/x-www-form-urlencoded"));
        assert!(!declares_json(&HeaderMap::new()));
    }

    #[test]
    fn json_errors_name_the_field() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Body {
            name: String,
            inner: Option<Inner>,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Inner {
            count: u32,
        }
        let error =
            |body: &str| from_value::<Body>(&serde_json::from_str(body).unwrap()).unwrap_err();
        let wrong = error(r#"{"name": "a", "inner": {"count": "many"}}"#);
        assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            wrong,
            ApiError::invalid("inner.count", "invalid type: string \"many\", expected u32")
        );
        assert_eq!(error("{}"), ApiError::invalid("name", "missing field `name`"));
        assert_eq!(
            error(r#"{"name": "a", "inner": {}}"#),
            ApiError::invalid("inner.count", "missing field `count`")
        );
        assert_eq!(
            error(r#"{"name": 5}"#),
            ApiError::invalid("name", "invalid type: integer `5`, expected a string")
        );
    }

    #[test]
    fn query_parameters() {
        let q =
            QueryParams::parse(Some("status=live,ended&status=pending&limit=5&phone=%2B1415&x="));
        assert_eq!(q.all("status"), ["live", "ended", "pending"]);
        assert_eq!(q.one("phone"), Some("+1415"));
        assert_eq!(q.one("x"), None);
        assert_eq!(q.number("limit", 1..=100, 50).unwrap(), 5);
        assert!(QueryParams::parse(Some("limit=0")).number("limit", 1..=100, 50).is_err());
        assert!(QueryParams::parse(Some("limit=ten")).number("limit", 1..=100, 50).is_err());
    }
}
