//! What the engine reports through the `metrics` facade, rendered by the
//! Prometheus exporter as a scrape would see it. Each test installs its own
//! recorder on its thread (the tests run on current-thread runtimes, so the
//! engine's and the worker's tasks record there too), and no test sees
//! another's figures.

use call_core::{
    CallStatus, EventId, IncomingEvent, Lifecycle, NewCall, Redial, WorkerConfig, WorkerId,
    metrics::{PLACEMENT_LATENCY, PLACEMENT_LATENCY_BUCKETS, describe},
    ports::{ProviderError, ProviderStatus},
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusRecorder};

use crate::helpers::{id, phone, secs, spawn_app};

fn recorder() -> PrometheusRecorder {
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(PLACEMENT_LATENCY.into()), &PLACEMENT_LATENCY_BUCKETS)
        .unwrap()
        .build_recorder()
}

/// The value of the series `series` (name and labels, as rendered).
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(start_paused = true)]
async fn a_placement_reports_its_claim_requests_retry_latency_and_redial() {
    let recorder = recorder();
    let handle = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);
    describe();

    let app = spawn_app();
    app.provider.set_outcome(ProviderStatus::Busy);
    app.provider.fail_next_placements([ProviderError::Transient {
        message: "503 Service Unavailable".into(),
        retry_after: None,
    }]);
    let worker = app.start_worker(WorkerConfig {
        worker_id: WorkerId::parse("w1").unwrap(),
        ..WorkerConfig::default()
    });
    let due = app.at(10.0);
    let redial = Redial::parse(["busy"], 2, "10m").unwrap();
    let call = app.engine.schedule(NewCall::to(phone(1)).at(due).redial(redial)).await.unwrap();
    app.advance_until("the call ended", secs(1), secs(120), || async {
        app.engine.get(call.id()).await.unwrap().status().is_terminal()
    })
    .await;
    worker.stop().await;
    let call = app.engine.get(call.id()).await.unwrap();
    assert_eq!(call.status(), CallStatus::Busy);
    app.engine.report_calls_by_status().await.unwrap();

    let text = handle.render();
    let at =
        |series: &str| value(&text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"));
    assert_eq!(at("callwork_claims_total"), 1.0);
    assert_eq!(
        at(r#"callwork_provider_requests_total{operation="place",outcome="transient"}"#),
        1.0
    );
    assert_eq!(at(r#"callwork_provider_requests_total{operation="place",outcome="ok"}"#), 1.0);
    assert!(at(r#"callwork_provider_requests_total{operation="fetch",outcome="ok"}"#) >= 1.0);
    assert_eq!(at("callwork_provider_errors_total"), 1.0);
    assert_eq!(at("callwork_provider_retries_total"), 1.0);
    assert_eq!(at(r#"callwork_redials_total{outcome="busy"}"#), 1.0);
    // Accepted on the retry, a backoff after its due time.
    let latency = (call.initiated_at().unwrap() - due).as_seconds_f64();
    assert!(latency > 0.0, "the retry waited");
    assert_eq!(at("callwork_placement_latency_seconds_count"), 1.0);
    assert!((at("callwork_placement_latency_seconds_sum") - latency).abs() < 1e-6, "{text}");
    assert_eq!(at(r#"callwork_placement_latency_seconds_bucket{le="+Inf"}"#), 1.0);
    // Every status is a series, the ones with no call included.
    assert_eq!(at(r#"callwork_calls{status="busy"}"#), 1.0);
    assert_eq!(at(r#"callwork_calls{status="scheduled"}"#), 1.0, "the redial");
    assert_eq!(at(r#"callwork_calls{status="completed"}"#), 0.0);
    assert!(text.contains("# HELP callwork_claims_total Calls claimed by workers to be placed."));
    assert!(text.contains("# TYPE callwork_placement_latency_seconds histogram"));
}

#[tokio::test(start_paused = true)]
async fn ingested_events_and_the_alerts_they_raise_are_counted_once() {
    let recorder = recorder();
    let handle = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);

    let app = spawn_app();
    let event = |event_id: &str, lifecycle| IncomingEvent {
        call_id: id("in-1"),
        event_id: Some(EventId::parse(event_id).unwrap()),
        timestamp: None,
        source: call_core::EventSource::Api,
        lifecycle,
    };
    let initiated = Lifecycle::Initiated(Default::default());
    app.engine.ingest(event("e1", initiated.clone())).await.unwrap();
    // The same delivery again is a duplicate, not a second event.
    assert!(app.engine.ingest(event("e1", initiated)).await.unwrap().duplicate);
    // A wait over 30 s raises long_wait.
    let answered = Lifecycle::Answered { wait_time: Some(45.0) };
    app.engine.ingest(event("e2", answered)).await.unwrap();

    let text = handle.render();
    assert_eq!(value(&text, "callwork_events_ingested_total"), Some(2.0), "{text}");
    assert_eq!(value(&text, r#"callwork_alerts_raised_total{alert="long_wait"}"#), Some(1.0));
    // Nothing was placed: no placement figures.
    assert_eq!(value(&text, "callwork_claims_total"), None, "{text}");
}
