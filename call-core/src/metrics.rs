//! What the engine reports through the [`metrics`] facade.
//!
//! The engine records as it works; it never chooses an exporter. A program
//! that embeds it installs a recorder (the `call-http` server and
//! `calls run --metrics-listen` install `metrics-exporter-prometheus`) and
//! calls [`describe`] once, and every figure below appears there. With no
//! recorder installed the facade drops them at the cost of a branch.
//!
//! | name | kind | labels | what |
//! |---|---|---|---|
//! | `callwork_calls` | gauge | `status` | calls in the store, set by [`Engine::report_calls_by_status`](crate::Engine::report_calls_by_status) |
//! | `callwork_placement_latency_seconds` | histogram | | from a call's due time to the provider accepting it |
//! | `callwork_claims_total` | counter | | calls claimed by workers to be placed |
//! | `callwork_provider_requests_total` | counter | `operation`, `outcome` | provider requests by what they asked and how they went |
//! | `callwork_provider_errors_total` | counter | | provider requests that failed, any operation, any cause |
//! | `callwork_provider_retries_total` | counter | | placements asked again after a failure the retry policy retries |
//! | `callwork_redials_total` | counter | `outcome` | next attempts made by a redial policy, by the ending status they follow |
//! | `callwork_events_ingested_total` | counter | | lifecycle events applied from an event source (a duplicate is not counted) |
//! | `callwork_alerts_raised_total` | counter | `alert` | alerts raised by the rules, by kind |

use ::metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};

use crate::{
    Call, CallEvent, CallStatus, Direction, EventType,
    ports::{ProviderCall, ProviderError},
};

/// Calls in the store, by `status`.
pub const CALLS: &str = "callwork_calls";
/// From a call's due time to the provider accepting it, in seconds.
pub const PLACEMENT_LATENCY: &str = "callwork_placement_latency_seconds";
/// Calls claimed by workers to be placed.
pub const CLAIMS: &str = "callwork_claims_total";
/// Provider requests, by `operation` (`place`, `fetch`) and `outcome`
/// (`ok`, `transient`, `permanent`, `not_found`, `invalid`, `unanswered`).
pub const PROVIDER_REQUESTS: &str = "callwork_provider_requests_total";
/// Provider requests that failed, any operation, any cause.
pub const PROVIDER_ERRORS: &str = "callwork_provider_errors_total";
/// Placements asked again after a failure the retry policy retries.
pub const PROVIDER_RETRIES: &str = "callwork_provider_retries_total";
/// Next attempts made by a redial policy, by the `outcome` (the status the
/// call ended in) they follow.
pub const REDIALS: &str = "callwork_redials_total";
/// Lifecycle events applied from an event source.
pub const EVENTS_INGESTED: &str = "callwork_events_ingested_total";
/// Alerts raised by the rules, by `alert` (its kind).
pub const ALERTS_RAISED: &str = "callwork_alerts_raised_total";

/// Upper bounds, in seconds, that suit [`PLACEMENT_LATENCY`]: a worker
/// places a call within milliseconds of its due time, and a backlog or an
/// outage shows as seconds to a minute. An exporter that keeps buckets
/// should use these (`PrometheusBuilder::set_buckets_for_metric`).
pub const PLACEMENT_LATENCY_BUCKETS: [f64; 13] =
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// Gives the installed recorder each figure's kind, unit and meaning. Call
/// it once, after installing the recorder.
pub fn describe() {
    describe_gauge!(CALLS, Unit::Count, "Calls in the store, by status.");
    describe_histogram!(
        PLACEMENT_LATENCY,
        Unit::Seconds,
        "From a call's scheduled time to the provider accepting it."
    );
    describe_counter!(CLAIMS, Unit::Count, "Calls claimed by workers to be placed.");
    describe_counter!(
        PROVIDER_REQUESTS,
        Unit::Count,
        "Provider requests, by operation and outcome."
    );
    describe_counter!(
        PROVIDER_ERRORS,
        Unit::Count,
        "Provider requests that failed, any operation, any cause."
    );
    describe_counter!(
        PROVIDER_RETRIES,
        Unit::Count,
        "Placements asked again after a failure the retry policy retries."
    );
    describe_counter!(
        REDIALS,
        Unit::Count,
        "Next attempts made by a redial policy, by the outcome they follow."
    );
    describe_counter!(
        EVENTS_INGESTED,
        Unit::Count,
        "Lifecycle events applied from an event source."
    );
    describe_counter!(ALERTS_RAISED, Unit::Count, "Alerts raised by the rules, by kind.");
}

/// Sets [`CALLS`] from the store's counts; a status the store has no call
/// in reads 0, so every series is present from the first scrape.
pub(crate) fn calls_by_status(counts: &[(CallStatus, u64)]) {
    for status in CallStatus::ALL {
        let n = counts.iter().find(|(s, _)| s == status).map_or(0, |(_, n)| *n);
        gauge!(CALLS, "status" => status.as_str()).set(n as f64);
    }
}

pub(crate) fn claimed(n: usize) {
    counter!(CLAIMS).increment(n as u64);
}

/// The two things the engine asks a provider.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Operation {
    Place,
    Fetch,
}

pub(crate) fn provider_answered(
    operation: Operation,
    answer: &Result<ProviderCall, ProviderError>,
) {
    let operation = match operation {
        Operation::Place => "place",
        Operation::Fetch => "fetch",
    };
    let outcome = match answer {
        Ok(_) => "ok",
        Err(ProviderError::Transient { .. }) => "transient",
        Err(ProviderError::Permanent { .. }) => "permanent",
        Err(ProviderError::NotFound { .. }) => "not_found",
        Err(ProviderError::Unanswered { .. }) => "unanswered",
        Err(ProviderError::Invalid { .. }) => "invalid",
    };
    counter!(PROVIDER_REQUESTS, "operation" => operation, "outcome" => outcome).increment(1);
    if answer.is_err() {
        counter!(PROVIDER_ERRORS).increment(1);
    }
}

pub(crate) fn retried() {
    counter!(PROVIDER_RETRIES).increment(1);
}

pub(crate) fn ingested() {
    counter!(EVENTS_INGESTED).increment(1);
}

/// What a written change says: a placement's latency, the alerts it
/// raised, the redial it made.
pub(crate) fn changed(call: &Call, events: &[CallEvent], redialed: bool) {
    for event in events {
        match event.event_type() {
            // The provider accepting an outbound call the worker placed.
            EventType::CallInitiated if call.direction() == Direction::Outbound => {
                if let Some(due) = call.scheduled_at() {
                    let latency =
                        (event.recorded_at() - due).num_microseconds().unwrap_or(i64::MAX);
                    histogram!(PLACEMENT_LATENCY).record(latency.max(0) as f64 / 1e6);
                }
            }
            EventType::AlertRaised => {
                let raised = crate::audit::AlertRaised::read(event.metadata());
                let kind = raised.map_or("unknown", |raised| raised.kind.as_str());
                counter!(ALERTS_RAISED, "alert" => kind).increment(1);
            }
            _ => {}
        }
    }
    if redialed {
        counter!(REDIALS, "outcome" => call.status().as_str()).increment(1);
    }
}
