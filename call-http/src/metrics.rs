//! `/metrics` in the Prometheus text format: calls by status, placement
//! latency, events ingested, provider requests and errors, WebSocket
//! subscribers, webhook deliveries.

use std::{
    fmt::Write,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering::Relaxed},
    },
};

use async_trait::async_trait;
use call_core::{
    CallStatus, Direction, EventType,
    ports::{CallProvider, Notification, Notifier, PlaceCall, ProviderCall, ProviderError},
};

/// Upper bounds of the placement-latency buckets, in seconds.
const LATENCY_BUCKETS: [f64; 13] =
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// Provider request outcomes, as labels.
const OUTCOMES: [&str; 6] = ["ok", "transient", "permanent", "not_found", "invalid", "unanswered"];

/// The server's counters. It is a [`Notifier`] (placement latency) and
/// wraps the provider ([`Metrics::metered`]) to count its answers.
#[derive(Debug, Default)]
pub struct Metrics {
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
    events_ingested: AtomicU64,
    /// [place, fetch] × OUTCOMES.
    provider: [[AtomicU64; OUTCOMES.len()]; 2],
    webhooks_delivered: AtomicU64,
    webhooks_retried: AtomicU64,
    webhooks_dropped: AtomicU64,
}

impl Metrics {
    /// Fresh counters.
    pub fn new() -> Arc<Metrics> {
        Arc::new(Metrics::default())
    }

    /// Counts `n` lifecycle events ingested through the API.
    pub fn events_ingested(&self, n: u64) {
        self.events_ingested.fetch_add(n, Relaxed);
    }

    /// Counts a webhook delivered, retried or dropped.
    pub(crate) fn webhook(&self, outcome: WebhookOutcome) {
        let counter = match outcome {
            WebhookOutcome::Delivered => &self.webhooks_delivered,
            WebhookOutcome::Retried => &self.webhooks_retried,
            WebhookOutcome::Dropped => &self.webhooks_dropped,
        };
        counter.fetch_add(1, Relaxed);
    }

    /// `provider`, with each request's outcome counted here.
    pub fn metered(self: &Arc<Metrics>, provider: Arc<dyn CallProvider>) -> Arc<dyn CallProvider> {
        Arc::new(MeteredProvider { inner: provider, metrics: self.clone() })
    }

    fn observe_latency(&self, seconds: f64) {
        let seconds = seconds.max(0.0);
        for (bucket, bound) in self.latency_buckets.iter().zip(LATENCY_BUCKETS) {
            if seconds <= bound {
                bucket.fetch_add(1, Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Relaxed);
        self.latency_sum_micros.fetch_add((seconds * 1e6) as u64, Relaxed);
    }

    fn provider_answer(&self, operation: usize, result: &Result<ProviderCall, ProviderError>) {
        let outcome = match result {
            Ok(_) => 0,
            Err(ProviderError::Transient { .. }) => 1,
            Err(ProviderError::Permanent { .. }) => 2,
            Err(ProviderError::NotFound { .. }) => 3,
            Err(ProviderError::Unanswered { .. }) => 5,
            Err(_) => 4,
        };
        self.provider[operation][outcome].fetch_add(1, Relaxed);
    }

    /// The text exposition, with the store's counts and the live subscribers.
    pub fn render(&self, by_status: &[(CallStatus, u64)], ws_subscribers: usize) -> String {
        let mut out = String::new();
        header(&mut out, "callwork_calls", "gauge", "Calls in the store, by status.");
        for status in CallStatus::ALL {
            let n = by_status.iter().find(|(s, _)| s == status).map_or(0, |(_, n)| *n);
            let _ = writeln!(out, "callwork_calls{{status=\"{status}\"}} {n}");
        }

        header(
            &mut out,
            "callwork_placement_latency_seconds",
            "histogram",
            "From a call's scheduled time to the provider accepting it.",
        );
        for (bucket, bound) in self.latency_buckets.iter().zip(LATENCY_BUCKETS) {
            let _ = writeln!(
                out,
                "callwork_placement_latency_seconds_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Relaxed)
            );
        }
        let count = self.latency_count.load(Relaxed);
        let _ = writeln!(out, "callwork_placement_latency_seconds_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.latency_sum_micros.load(Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "callwork_placement_latency_seconds_sum {sum}");
        let _ = writeln!(out, "callwork_placement_latency_seconds_count {count}");

        header(
            &mut out,
            "callwork_events_ingested_total",
            "counter",
            "Lifecycle events accepted by POST /api/events.",
        );
        let _ =
            writeln!(out, "callwork_events_ingested_total {}", self.events_ingested.load(Relaxed));

        header(
            &mut out,
            "callwork_provider_requests_total",
            "counter",
            "Provider requests, by operation and outcome.",
        );
        for (operation, counters) in ["place", "fetch"].iter().zip(&self.provider) {
            for (outcome, counter) in OUTCOMES.iter().zip(counters) {
                let _ = writeln!(
                    out,
                    "callwork_provider_requests_total{{operation=\"{operation}\",outcome=\"{outcome}\"}} {}",
                    counter.load(Relaxed)
                );
            }
        }
        header(
            &mut out,
            "callwork_provider_errors_total",
            "counter",
            "Provider requests that failed, any operation, any cause.",
        );
        let errors: u64 = self.provider.iter().flat_map(|c| &c[1..]).map(|c| c.load(Relaxed)).sum();
        let _ = writeln!(out, "callwork_provider_errors_total {errors}");

        header(
            &mut out,
            "callwork_websocket_subscribers",
            "gauge",
            "WebSocket clients receiving live updates.",
        );
        let _ = writeln!(out, "callwork_websocket_subscribers {ws_subscribers}");

        header(
            &mut out,
            "callwork_webhook_deliveries_total",
            "counter",
            "Webhook POSTs, by outcome.",
        );
        for (outcome, counter) in [
            ("delivered", &self.webhooks_delivered),
            ("retried", &self.webhooks_retried),
            ("dropped", &self.webhooks_dropped),
        ] {
            let _ = writeln!(
                out,
                "callwork_webhook_deliveries_total{{outcome=\"{outcome}\"}} {}",
                counter.load(Relaxed)
            );
        }
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// What became of one webhook POST.
#[derive(Debug, Clone, Copy)]
pub(crate) enum WebhookOutcome {
    Delivered,
    Retried,
    Dropped,
}

impl Notifier for Metrics {
    fn notify(&self, notification: &Notification) {
        // The provider accepting an outbound call: its placement latency.
        if let Notification::CallChanged { call, events } = notification
            && call.direction() == Direction::Outbound
            && let Some(scheduled_at) = call.scheduled_at()
            && let Some(accepted) =
                events.iter().find(|e| e.event_type() == EventType::CallInitiated)
        {
            let latency = accepted.recorded_at() - scheduled_at;
            self.observe_latency(latency.num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6);
        }
    }
}

/// A provider whose answers are counted.
struct MeteredProvider {
    inner: Arc<dyn CallProvider>,
    metrics: Arc<Metrics>,
}

#[async_trait]
impl CallProvider for MeteredProvider {
    async fn place_call(&self, request: &PlaceCall) -> Result<ProviderCall, ProviderError> {
        let result = self.inner.place_call(request).await;
        self.metrics.provider_answer(0, &result);
        result
    }

    async fn fetch_call(&self, external_id: &str) -> Result<ProviderCall, ProviderError> {
        let result = self.inner.fetch_call(external_id).await;
        self.metrics.provider_answer(1, &result);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_has_every_family() {
        let metrics = Metrics::new();
        metrics.observe_latency(0.02);
        metrics.observe_latency(3.0);
        metrics.events_ingested(5);
        let text = metrics.render(&[(CallStatus::Scheduled, 7)], 2);
        for line in [
            "callwork_calls{status=\"scheduled\"} 7",
            "callwork_calls{status=\"completed\"} 0",
            "callwork_placement_latency_seconds_bucket{le=\"0.01\"} 0",
            "callwork_placement_latency_seconds_bucket{le=\"0.025\"} 1",
            "callwork_placement_latency_seconds_bucket{le=\"5\"} 2",
            "callwork_placement_latency_seconds_bucket{le=\"+Inf\"} 2",
            "callwork_placement_latency_seconds_count 2",
            "callwork_events_ingested_total 5",
            "callwork_provider_requests_total{operation=\"place\",outcome=\"ok\"} 0",
            "callwork_websocket_subscribers 2",
            "# TYPE callwork_placement_latency_seconds histogram",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }
}
