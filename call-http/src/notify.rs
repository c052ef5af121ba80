//! Outbound notifications: every live message POSTed to webhooks.
//!
//! Every message of the [live stream](crate::live) but `hello` and
//! `reload` (call changes, alerts, survey requests) is POSTed as its JSON
//! to each configured URL, in order, with its `seq`. With a secret, the
//! body is signed: `X-Callwork-Signature: sha256=<hex HMAC-SHA256 of the
//! body>`. Each URL follows the stream on its own, so a slow or dead
//! endpoint delays only its own deliveries, and the engine never waits: an
//! endpoint that falls behind the broadcast is caught up from the audit
//! log (more than the replay window behind, it skips to the head, logged).
//! A failed POST (an error or a status other than 2xx) is retried with
//! exponential backoff, then dropped and logged.
//!
//! Deliveries start after the head of the log when the live stream first
//! reads it ([`AppState::live_start`](crate::AppState::live_start)): what was
//! committed before, while no server ran, is in the log, not posted.

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::{
    live::{Feed, LiveMessage, Missed, Published},
    metrics::{self, WebhookOutcome},
};

/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-callwork-signature";
/// The header with a delivery's unique id, the same on each retry.
pub const DELIVERY_HEADER: &str = "x-callwork-delivery";

/// How webhooks are delivered.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Where to POST; each gets every message.
    pub urls: Vec<reqwest::Url>,
    /// Signs each body with HMAC-SHA256 when set.
    pub secret: Option<String>,
    /// Retries after a failed POST, before it is dropped.
    pub retries: u32,
    /// The wait before the first retry; doubled each time, with jitter.
    pub backoff: Duration,
    /// How long one POST may take.
    pub timeout: Duration,
}

impl WebhookConfig {
    /// Delivery to `urls` with the defaults: 3 retries from 500 ms, 5 s per POST.
    pub fn new(urls: Vec<reqwest::Url>) -> WebhookConfig {
        WebhookConfig {
            urls,
            secret: None,
            retries: 3,
            backoff: Duration::from_millis(500),
            timeout: Duration::from_secs(5),
        }
    }
}

/// Posts the live stream to webhooks; see the [module docs](self). Given
/// to [`AppStateBuilder::webhooks`](crate::AppStateBuilder::webhooks), it
/// starts with the state.
#[derive(Debug, Clone)]
pub struct WebhookNotifier {
    client: reqwest::Client,
    config: WebhookConfig,
}

impl WebhookNotifier {
    /// Webhooks to `config.urls`, each POST counted in
    /// [`WEBHOOK_DELIVERIES`](crate::metrics::WEBHOOK_DELIVERIES).
    ///
    /// # Errors
    ///
    /// When the HTTP client cannot be built.
    pub fn new(config: WebhookConfig) -> Result<WebhookNotifier, reqwest::Error> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder().timeout(config.timeout).build()?;
        Ok(WebhookNotifier { client, config })
    }

    /// One delivery task per URL, each following `feed` until `closing`.
    pub(crate) fn start(
        &self,
        feed: &Feed,
        closing: impl Fn() -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
    ) {
        for url in &self.config.urls {
            let task = Deliverer {
                client: self.client.clone(),
                url: url.clone(),
                secret: self.config.secret.clone().map(String::into_bytes),
                retries: self.config.retries,
                backoff: self.config.backoff,
            };
            tokio::spawn(task.run(feed.clone(), closing()));
        }
    }
}

/// `sha256=` and the hex HMAC-SHA256 of `body` under `secret`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// One message, ready to send.
#[derive(Debug)]
struct Delivery {
    id: uuid::Uuid,
    kind: &'static str,
    body: axum::body::Bytes,
    signature: Option<String>,
}

/// Delivers the live stream to one URL, in order.
struct Deliverer {
    client: reqwest::Client,
    url: reqwest::Url,
    secret: Option<Vec<u8>>,
    retries: u32,
    backoff: Duration,
}

impl Deliverer {
    async fn run(self, feed: Feed, closing: impl Future<Output = ()>) {
        tokio::pin!(closing);
        // From where the feed started, however late this task runs.
        let mut after = loop {
            tokio::select! {
                () = &mut closing => return,
                origin = feed.origin() => match origin {
                    Ok(origin) => break Some(origin),
                    Err(error) => {
                        tracing::debug!(url = %self.url, %error, "webhooks: cannot read the log yet");
                        tokio::time::sleep(crate::live::POLL).await;
                    }
                },
            }
        };
        loop {
            let mut stream = tokio::select! {
                () = &mut closing => return,
                subscribed = feed.subscribe(after) => match subscribed {
                    Ok(stream) => stream,
                    Err(error) => {
                        tracing::debug!(url = %self.url, %error, "webhooks: cannot read the log yet");
                        tokio::time::sleep(crate::live::POLL).await;
                        continue;
                    }
                },
            };
            loop {
                let next = tokio::select! {
                    () = &mut closing => return,
                    next = stream.next() => next,
                };
                match next {
                    Ok(message) => self.post_message(&message).await,
                    Err(Missed::Closed) => return,
                    Err(missed) => {
                        tracing::info!(url = %self.url, %missed, after = stream.last(), "webhooks: resuming from the log");
                        after = Some(stream.last());
                        tokio::time::sleep(crate::live::POLL).await;
                        break;
                    }
                }
            }
        }
    }

    async fn post_message(&self, message: &Published) {
        match &message.message {
            LiveMessage::Hello { .. } => return,
            LiveMessage::Reload { reason, .. } => {
                metrics::webhook(WebhookOutcome::Dropped);
                tracing::warn!(url = %self.url, reason, "webhooks fell behind the replay window: messages skipped");
                return;
            }
            _ => {}
        }
        let body = axum::body::Bytes::from(message.json.clone());
        let signature = self.secret.as_deref().map(|secret| sign(secret, &body));
        let kind = message.message.kind();
        self.deliver(&Delivery { id: uuid::Uuid::now_v7(), kind, body, signature }).await;
    }

    async fn deliver(&self, delivery: &Delivery) {
        let mut attempt = 0;
        loop {
            let outcome = self.post(delivery).await;
            let why = match outcome {
                Ok(()) => {
                    metrics::webhook(WebhookOutcome::Delivered);
                    return;
                }
                Err(why) => why,
            };
            if attempt == self.retries {
                metrics::webhook(WebhookOutcome::Dropped);
                tracing::warn!(url = %self.url, delivery = %delivery.id, kind = delivery.kind,
                    attempts = attempt + 1, error = %why, "webhook failed: notification dropped");
                return;
            }
            attempt += 1;
            metrics::webhook(WebhookOutcome::Retried);
            let exponential = self.backoff.saturating_mul(1 << (attempt - 1).min(16));
            let jittered = exponential / 2 + exponential.mul_f64(fastrand::f64() / 2.0);
            tracing::debug!(url = %self.url, delivery = %delivery.id, attempt, error = %why, "webhook failed, retrying");
            tokio::time::sleep(jittered).await;
        }
    }

    async fn post(&self, delivery: &Delivery) -> Result<(), String> {
        let mut request = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(DELIVERY_HEADER, delivery.id.to_string())
            .header("x-callwork-event", delivery.kind)
            .body(delivery.body.clone());
        if let Some(signature) = &delivery.signature {
            request = request.header(SIGNATURE_HEADER, signature);
        }
        match request.send().await {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => Err(format!("answered {}", response.status())),
            Err(e) => Err(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_hex() {
        // RFC 4231, test case 2.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
