//! The client: [`HttpProvider`], a [`CallProvider`] speaking the Mock Call API.

use std::time::Duration;

use async_trait::async_trait;
use call_core::ports::{CallProvider, PlaceCall, ProviderCall, ProviderError};
use reqwest::{StatusCode, header};

use crate::wire::Envelope;

/// The Mock Call API's address when none is given.
pub const DEFAULT_BASE_URL: &str = "http://localhost:5000";

/// How to reach the provider.
#[derive(Debug, Clone)]
pub struct HttpProviderConfig {
    /// The API's base URL, without a trailing `/api`.
    pub base_url: String,
    /// How long to wait for a connection.
    pub connect_timeout: Duration,
    /// How long a whole request may take.
    pub request_timeout: Duration,
    /// How long a status fetch may take: shorter, since a fetch is
    /// idempotent and the worker polls again anyway, so one hanging poll
    /// should not hold a poll slot for `request_timeout`.
    pub fetch_timeout: Duration,
    /// A header sent with every request, for providers that need
    /// authentication (`Authorization: Bearer …`); the Mock Call API needs none.
    pub auth_header: Option<(String, String)>,
}

impl Default for HttpProviderConfig {
    /// `http://localhost:5000`, 2 s to connect, 10 s per request and 3 s
    /// per status fetch, no auth.
    fn default() -> HttpProviderConfig {
        HttpProviderConfig {
            base_url: DEFAULT_BASE_URL.to_owned(),
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
            fetch_timeout: Duration::from_secs(3),
            auth_header: None,
        }
    }
}

/// A [`CallProvider`] for the Mock Call API (`POST /api/call`,
/// `GET /api/call/{id}`), on one pooled HTTP client.
#[derive(Debug, Clone)]
pub struct HttpProvider {
    client: reqwest::Client,
    base_url: String,
    fetch_timeout: Duration,
}

/// Why an [`HttpProvider`] could not be built.
#[derive(Debug, thiserror::Error)]
#[error("invalid provider configuration: {0}")]
pub struct ConfigError(String);

impl HttpProvider {
    /// A client for the API at `base_url`, with the default timeouts.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] when the URL is not an `http` or `https` URL.
    pub fn new(base_url: &str) -> Result<HttpProvider, ConfigError> {
        HttpProvider::with_config(HttpProviderConfig {
            base_url: base_url.to_owned(),
            ..HttpProviderConfig::default()
        })
    }

    /// A client with these settings.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] when the URL is not an `http` or `https` URL or the
    /// auth header is not a valid header.
    pub fn with_config(config: HttpProviderConfig) -> Result<HttpProvider, ConfigError> {
        // reqwest is built without a TLS crypto default; ring is ours. A
        // second install (another client, the host program) is refused, harmlessly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let url = url::Url::parse(&config.base_url)
            .map_err(|e| ConfigError(format!("base URL {:?}: {e}", config.base_url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ConfigError(format!("base URL {:?}: not http or https", config.base_url)));
        }
        let mut headers = header::HeaderMap::new();
        if let Some((name, value)) = &config.auth_header {
            let name = header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| ConfigError(format!("auth header name: {e}")))?;
            let mut value = header::HeaderValue::from_str(value)
                .map_err(|e| ConfigError(format!("auth header value: {e}")))?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .default_headers(headers)
            .build()
            .map_err(|e| ConfigError(e.to_string()))?;
        Ok(HttpProvider {
            client,
            base_url: config.base_url.trim_end_matches('/').to_owned(),
            fetch_timeout: config.fetch_timeout.min(config.request_timeout),
        })
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
}

/// A transport failure: no answer came back. Only a failure to connect
/// proves the request never reached the provider; after that (a timeout, a
/// cut connection, an answer broken off) it may have taken effect.
fn transport(error: &reqwest::Error) -> ProviderError {
    let detail = without_url(error);
    if error.is_connect() {
        return ProviderError::Transient {
            message: format!("could not connect: {detail}"),
            retry_after: None,
        };
    }
    let what = if error.is_timeout() { "timed out" } else { "request failed" };
    ProviderError::Unanswered { message: format!("{what}: {detail}") }
}

/// The error's text without the URL (which the caller knows, and which may carry credentials).
fn without_url(error: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(error);
    let mut text = String::new();
    while let Some(e) = source {
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&e.to_string());
        source = e.source();
    }
    if text.is_empty() { error.to_string() } else { text }
}

/// `Retry-After` in seconds, as 429 and 503 answers may carry it.
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Reads an answer: the call on 2xx; otherwise the error its status means.
async fn read_call(
    response: reqwest::Response,
    fetching: Option<&str>,
) -> Result<ProviderCall, ProviderError> {
    let status = response.status();
    let retry_after = retry_after(&response);
    let body = response.bytes().await.map_err(|e| transport(&e))?;
    let envelope: Option<Envelope> = serde_json::from_slice(&body).ok();
    let message = || {
        envelope.as_ref().and_then(|e| e.error.clone()).unwrap_or_else(|| {
            format!(
                "HTTP {}: {}",
                status.as_u16(),
                String::from_utf8_lossy(&body[..body.len().min(200)])
            )
        })
    };
    if status.is_success() {
        let call = envelope.and_then(|e| e.call).ok_or_else(|| ProviderError::Invalid {
            message: format!("HTTP {} without a call in the body", status.as_u16()),
        })?;
        return call.into_domain();
    }
    Err(match status {
        StatusCode::NOT_FOUND if fetching.is_some() => {
            ProviderError::NotFound { external_id: fetching.unwrap_or_default().to_owned() }
        }
        StatusCode::TOO_MANY_REQUESTS | StatusCode::REQUEST_TIMEOUT => {
            ProviderError::Transient { message: message(), retry_after }
        }
        s if s.is_server_error() => ProviderError::Transient { message: message(), retry_after },
        _ => ProviderError::Permanent { message: message() },
    })
}

#[async_trait]
impl CallProvider for HttpProvider {
    async fn place_call(&self, request: &PlaceCall) -> Result<ProviderCall, ProviderError> {
        let body = serde_json::json!({ "phone_number": request.to.as_str() });
        let response = self
            .client
            .post(format!("{}/api/call", self.base_url))
            .json(&body)
            .send()
            .await
            .map_err(|e| transport(&e))?;
        read_call(response, None).await
    }

    async fn fetch_call(&self, external_id: &str) -> Result<ProviderCall, ProviderError> {
        let id: String = url::form_urlencoded::byte_serialize(external_id.as_bytes()).collect();
        let response = self
            .client
            .get(format!("{}/api/call/{id}", self.base_url))
            .timeout(self.fetch_timeout)
            .send()
            .await
            .map_err(|e| transport(&e))?;
        read_call(response, Some(external_id)).await
    }
}
