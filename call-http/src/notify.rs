//! Outbound notifications: the `Notifier` port's HTTP adapter.
//!
//! Every call change, alert and survey request is POSTed as the JSON of
//! [`LiveMessage`] to each configured URL. With a secret, the body is
//! signed: `X-Callwork-Signature: sha256=<hex HMAC-SHA256 of the body>`.
//! Each URL has its own queue and delivery task, so a slow or dead endpoint
//! delays only its own deliveries, and the engine never waits: when a
//! queue is full the notification is dropped and logged. A failed POST
//! (an error or a status other than 2xx) is retried with exponential
//! backoff, then dropped and logged.

use std::{sync::Arc, time::Duration};

use call_core::ports::{Notification, Notifier};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use tokio::sync::mpsc;

use crate::{
    live::LiveMessage,
    metrics::{Metrics, WebhookOutcome},
};

/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-callwork-signature";
/// The header with a delivery's unique id, the same on each retry.
pub const DELIVERY_HEADER: &str = "x-callwork-delivery";

/// How webhooks are delivered.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Where to POST; each gets every notification.
    pub urls: Vec<reqwest::Url>,
    /// Signs each body with HMAC-SHA256 when set.
    pub secret: Option<String>,
    /// Retries after a failed POST, before it is dropped.
    pub retries: u32,
    /// The wait before the first retry; doubled each time, with jitter.
    pub backoff: Duration,
    /// How long one POST may take.
    pub timeout: Duration,
    /// Notifications waiting per URL, at most; more are dropped.
    pub queue_capacity: usize,
}

impl WebhookConfig {
    /// Delivery to `urls` with the defaults: 3 retries from 500 ms, 5 s per
    /// POST, 10,000 waiting per URL.
    pub fn new(urls: Vec<reqwest::Url>) -> WebhookConfig {
        WebhookConfig {
            urls,
            secret: None,
            retries: 3,
            backoff: Duration::from_millis(500),
            timeout: Duration::from_secs(5),
            queue_capacity: 10_000,
        }
    }
}

/// One notification, ready to send.
#[derive(Debug)]
struct Delivery {
    id: uuid::Uuid,
    kind: &'static str,
    body: axum::body::Bytes,
    signature: Option<String>,
}

/// Posts notifications to webhooks; see the [module docs](self).
#[derive(Debug)]
pub struct WebhookNotifier {
    queues: Vec<(reqwest::Url, mpsc::Sender<Arc<Delivery>>)>,
    secret: Option<Vec<u8>>,
    metrics: Arc<Metrics>,
}

impl WebhookNotifier {
    /// Starts one delivery task per URL on the current runtime.
    ///
    /// # Errors
    ///
    /// When the HTTP client cannot be built.
    pub fn start(
        config: WebhookConfig,
        metrics: Arc<Metrics>,
    ) -> Result<WebhookNotifier, reqwest::Error> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder().timeout(config.timeout).build()?;
        let queues = config
            .urls
            .iter()
            .map(|url| {
                let (sender, receiver) = mpsc::channel(config.queue_capacity.max(1));
                let task = Deliverer {
                    client: client.clone(),
                    url: url.clone(),
                    retries: config.retries,
                    backoff: config.backoff,
                    metrics: metrics.clone(),
                };
                tokio::spawn(task.run(receiver));
                (url.clone(), sender)
            })
            .collect();
        Ok(WebhookNotifier { queues, secret: config.secret.map(String::into_bytes), metrics })
    }
}

/// `sha256=` and the hex HMAC-SHA256 of `body` under `secret`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl Notifier for WebhookNotifier {
    fn notify(&self, notification: &Notification) {
        if self.queues.is_empty() {
            return;
        }
        let message = LiveMessage::from(notification);
        let kind = match message {
            LiveMessage::CallChanged { .. } => "call_changed",
            LiveMessage::Alert { .. } => "alert",
            LiveMessage::SurveyRequested { .. } => "survey_requested",
        };
        let body = axum::body::Bytes::from(message.to_json());
        let signature = self.secret.as_deref().map(|secret| sign(secret, &body));
        let delivery = Arc::new(Delivery { id: uuid::Uuid::now_v7(), kind, body, signature });
        for (url, queue) in &self.queues {
            if queue.try_send(delivery.clone()).is_err() {
                self.metrics.webhook(WebhookOutcome::Dropped);
                tracing::warn!(%url, delivery = %delivery.id, kind, "webhook queue full: notification dropped");
            }
        }
    }
}

/// Delivers one URL's queue, in order.
struct Deliverer {
    client: reqwest::Client,
    url: reqwest::Url,
    retries: u32,
    backoff: Duration,
    metrics: Arc<Metrics>,
}

impl Deliverer {
    async fn run(self, mut queue: mpsc::Receiver<Arc<Delivery>>) {
        while let Some(delivery) = queue.recv().await {
            self.deliver(&delivery).await;
        }
    }

    async fn deliver(&self, delivery: &Delivery) {
        let mut attempt = 0;
        loop {
            let outcome = self.post(delivery).await;
            let why = match outcome {
                Ok(()) => {
                    self.metrics.webhook(WebhookOutcome::Delivered);
                    return;
                }
                Err(why) => why,
            };
            if attempt == self.retries {
                self.metrics.webhook(WebhookOutcome::Dropped);
                tracing::warn!(url = %self.url, delivery = %delivery.id, kind = delivery.kind,
                    attempts = attempt + 1, error = %why, "webhook failed: notification dropped");
                return;
            }
            attempt += 1;
            self.metrics.webhook(WebhookOutcome::Retried);
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
