//! What the server reports through the [`metrics`] facade,
//! beside the engine's figures ([`call_core::metrics`]): the live
//! subscribers and the webhook deliveries.
//!
//! The library records and never chooses an exporter. The `call-http`
//! binary installs `metrics-exporter-prometheus` and hands
//! [`AppStateBuilder::metrics`](crate::AppStateBuilder::metrics) its
//! renderer, which `GET /metrics` serves.
//!
//! | name | kind | labels | what |
//! |---|---|---|---|
//! | `callwork_websocket_subscribers` | gauge | | open `/api/ws` sockets, set on each scrape |
//! | `callwork_webhook_deliveries_total` | counter | `outcome` | webhook POSTs: `delivered`, `retried`, `dropped` |

use std::sync::Arc;

use ::metrics::{Unit, counter, describe_counter, describe_gauge};

/// Open `/api/ws` sockets.
pub const WEBSOCKET_SUBSCRIBERS: &str = "callwork_websocket_subscribers";
/// Webhook POSTs, by `outcome`.
pub const WEBHOOK_DELIVERIES: &str = "callwork_webhook_deliveries_total";

/// Renders what the installed recorder holds in the Prometheus text format
/// (`PrometheusHandle::render`, from metrics-exporter-prometheus).
pub type Render = Arc<dyn Fn() -> String + Send + Sync>;

/// Gives the installed recorder the kind, unit and meaning of every figure
/// the server reports, the engine's included. Call it once, after
/// installing the recorder.
pub fn describe() {
    call_core::metrics::describe();
    describe_gauge!(
        WEBSOCKET_SUBSCRIBERS,
        Unit::Count,
        "WebSocket clients receiving live updates."
    );
    describe_counter!(WEBHOOK_DELIVERIES, Unit::Count, "Webhook POSTs, by outcome.");
}

/// What became of one webhook POST.
#[derive(Debug, Clone, Copy)]
pub(crate) enum WebhookOutcome {
    Delivered,
    Retried,
    Dropped,
}

pub(crate) fn webhook(outcome: WebhookOutcome) {
    let outcome = match outcome {
        WebhookOutcome::Delivered => "delivered",
        WebhookOutcome::Retried => "retried",
        WebhookOutcome::Dropped => "dropped",
    };
    counter!(WEBHOOK_DELIVERIES, "outcome" => outcome).increment(1);
}
