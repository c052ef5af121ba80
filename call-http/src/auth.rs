//! The API key: required on every `/api` route when one is configured.

use axum::{
    extract::{Request, State},
    http::{HeaderMap, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{AppState, error::ApiError, extract::QueryParams};

/// An API key, kept as its SHA-256 so that comparing takes the same time
/// whatever the presented key's length or content.
#[derive(Clone)]
pub struct ApiKey {
    digest: [u8; 32],
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(..)")
    }
}

impl ApiKey {
    /// A key; `None` when it is empty (an empty key would let anyone in).
    pub fn new(key: &str) -> Option<ApiKey> {
        (!key.is_empty()).then(|| ApiKey { digest: Sha256::digest(key.as_bytes()).into() })
    }

    /// Whether `presented` is this key, in constant time.
    pub fn matches(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        self.digest.ct_eq(&digest).into()
    }
}

/// The key in `X-API-Key` or `Authorization: Bearer`. (The WebSocket may
/// also bring it as `?api_key=`: a browser cannot set its headers.)
fn header_key(headers: &HeaderMap) -> Option<String> {
    if let Some(key) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(key.to_owned());
    }
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(|bearer| bearer.trim().to_owned())
}

/// Middleware: 401 unless the request carries the configured key.
pub(crate) async fn require_key(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    // Nested under /api, the path seen here may or may not carry the prefix.
    let path = request.uri().path();
    if state.provider_secret().is_some()
        && matches!(path, "/provider/webhook" | "/api/provider/webhook")
    {
        // A provider cannot send the key: the handler checks its signature instead.
        return next.run(request).await;
    }
    let websocket = matches!(path, "/ws" | "/api/ws");
    let key = websocket
        .then(|| QueryParams::parse(request.uri().query()).one("api_key").map(str::to_owned));
    let allowed = match state.api_key() {
        None => true,
        Some(expected) => header_key(request.headers())
            .or(key.flatten())
            .is_some_and(|presented| expected.matches(&presented)),
    };
    if !allowed {
        return ApiError::unauthorized().into_response();
    }
    next.run(request).await
}

/// Whether a request with these headers may read data: no key is set, or
/// it carries the key.
pub(crate) fn allows(state: &AppState, headers: &HeaderMap) -> bool {
    state.api_key().is_none_or(|expected| header_key(headers).is_some_and(|p| expected.matches(&p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_exactly() {
        let key = ApiKey::new("s3cret").unwrap();
        assert!(key.matches("s3cret"));
        for wrong in ["", "s3cre", "s3cret ", "S3CRET", "s3cret-and-more"] {
            assert!(!key.matches(wrong), "{wrong:?}");
        }
        assert!(ApiKey::new("").is_none());
        assert_eq!(format!("{key:?}"), "ApiKey(..)");
    }
}
