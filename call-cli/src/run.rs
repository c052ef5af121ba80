//! `calls run`: the worker, with a log line per call transition, graceful
//! shutdown on Ctrl-C / SIGTERM, and `--until-idle`.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use call_core::{
    CallStatus, Direction, Engine, StatusFilter, StatusGroup, WorkerConfig,
    ports::{ListQuery, Notification, Notifier},
};
use call_provider_http::HttpProvider;
use chrono::Utc;

use crate::{RunArgs, error::CliError, when};

/// How far ahead `--until-idle` looks for calls falling due.
const IDLE_HORIZON: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// How often `--until-idle` looks.
const IDLE_CHECK_EVERY: Duration = Duration::from_millis(250);

/// How often `--metrics-listen` reads the calls by status from the store:
/// a scrape interval's worth (Prometheus defaults to 15 s), so that many
/// workers on one database do not count it much more often than it is read.
const COUNT_EVERY: Duration = Duration::from_secs(15);

/// `calls run`'s checked arguments.
pub(crate) struct RunConfig {
    provider: HttpProvider,
    provider_url: String,
    until_idle: bool,
    metrics_listen: Option<SocketAddr>,
    worker: WorkerConfig,
}

impl RunConfig {
    pub(crate) fn new(args: RunArgs) -> Result<RunConfig, CliError> {
        let provider = HttpProvider::new(&args.provider_url)
            .map_err(|e| CliError::usage(format!("invalid --provider-url: {e}")))?;
        if let Some(cps) = args.calls_per_second
            && !(cps.is_finite() && cps > 0.0)
        {
            return Err(CliError::usage(format!(
                "invalid --calls-per-second: {cps} is not a positive number"
            )));
        }
        let poll_interval = when::parse_duration("--poll-interval", &args.poll_interval)?;
        if poll_interval.is_zero() {
            return Err(CliError::usage("invalid --poll-interval: must be more than 0"));
        }
        let lease = when::parse_duration("--lease", &args.lease)?;
        if lease < Duration::from_secs(1) {
            return Err(CliError::usage("invalid --lease: must be at least 1s"));
        }
        let heartbeat = when::parse_duration("--heartbeat", &args.heartbeat)?;
        let worker = WorkerConfig {
            calls_per_second: args.calls_per_second,
            poll_interval,
            lease,
            heartbeat,
            ..WorkerConfig::default()
        };
        worker
            .check()
            .map_err(|e| CliError::usage(format!("invalid --{}: {}", e.field(), e.message())))?;
        Ok(RunConfig {
            provider,
            provider_url: args.provider_url,
            until_idle: args.until_idle,
            metrics_listen: args.metrics_listen,
            worker,
        })
    }
}

/// Runs the worker until Ctrl-C, SIGTERM, or (with `--until-idle`) idleness.
pub(crate) async fn run(engine: Engine, config: RunConfig) -> Result<(), CliError> {
    let signal = call_signal::shutdown_signal();
    if let Some(address) = config.metrics_listen {
        serve_metrics(&engine, address)?;
    }
    tracing::info!(
        provider = %config.provider_url,
        worker = %config.worker.worker_id,
        "worker started; Ctrl-C stops it"
    );
    let worker = engine
        .worker(Arc::new(config.provider), config.worker)
        .map_err(|e| CliError::usage(format!("invalid --{}: {}", e.field(), e.message())))?;
    let until_idle = config.until_idle;
    let probe = engine.clone();
    let stop = async move {
        tokio::select! {
            () = signal => tracing::info!("shutting down: finishing calls in flight"),
            result = idle(&probe), if until_idle => match result {
                Ok(()) => tracing::info!("idle: every placed call has ended and none is due within 60 s"),
                Err(e) => tracing::error!("stopping: {e}"),
            },
        }
    };
    worker.run(stop).await;
    tracing::info!("worker stopped");
    Ok(())
}

/// Installs the Prometheus exporter, serving `/metrics` at `address`, and
/// keeps its calls-by-status gauge fresh.
fn serve_metrics(engine: &Engine, address: SocketAddr) -> Result<(), CliError> {
    use call_core::metrics::{PLACEMENT_LATENCY, PLACEMENT_LATENCY_BUCKETS};
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    PrometheusBuilder::new()
        .with_http_listener(address)
        .set_buckets_for_metric(Matcher::Full(PLACEMENT_LATENCY.into()), &PLACEMENT_LATENCY_BUCKETS)
        .and_then(PrometheusBuilder::install)
        .map_err(|e| CliError::failure(format!("cannot serve metrics on {address}: {e}")))?;
    call_core::metrics::describe();
    let engine = engine.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(COUNT_EVERY);
        loop {
            every.tick().await;
            if let Err(error) = engine.report_calls_by_status().await {
                tracing::debug!(%error, "could not count the calls by status for the metrics");
            }
        }
    });
    tracing::info!("metrics at http://{address}/metrics");
    Ok(())
}

/// Returns once no outbound call is being placed or followed and none is
/// due within [`IDLE_HORIZON`]. Inbound calls are the event source's to
/// end, so they do not keep the worker up. A store that does not answer
/// (restarting, say) is asked again: the worker logs the outage itself.
async fn idle(engine: &Engine) -> Result<(), call_core::Error> {
    loop {
        match is_idle(engine).await {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(call_core::Error::Store(call_core::ports::StoreError::Backend(error))) => {
                tracing::debug!(%error, "the idle check could not read the store; asking again");
            }
            Err(error) => return Err(error),
        }
        tokio::time::sleep(IDLE_CHECK_EVERY).await;
    }
}

async fn is_idle(engine: &Engine) -> Result<bool, call_core::Error> {
    let horizon = Utc::now() + IDLE_HORIZON;
    if engine.next_due().await?.is_some_and(|due| due <= horizon) {
        return Ok(false);
    }
    let mut query = ListQuery {
        statuses: vec![
            StatusFilter::Status(CallStatus::Dispatching),
            StatusFilter::Group(StatusGroup::Live),
        ],
        limit: 500,
        ..ListQuery::default()
    };
    loop {
        let page = engine.list(&query).await?;
        if page.items.iter().any(|call| call.direction() == Direction::Outbound) {
            return Ok(false);
        }
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return Ok(true),
        }
    }
}

/// Logs one line per call transition (at `info`) and each alert (at `warn`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TransitionLog;

impl Notifier for TransitionLog {
    fn notify(&self, notification: &Notification) {
        match notification {
            Notification::CallChanged { call, events } => {
                let number = match call.direction() {
                    Direction::Outbound => call.to(),
                    Direction::Inbound => call.from().or(call.to()),
                };
                let number = number.map_or("-", |n| n.as_str());
                for event in events {
                    tracing::info!(
                        "call {} {number}: {} -> {}",
                        call.id(),
                        event.event_type(),
                        call.status()
                    );
                }
            }
            Notification::Alert(alert) => tracing::warn!(
                "call {}: {} ({:.0}s, threshold {:.0}s)",
                alert.call_id,
                alert.kind,
                alert.seconds,
                alert.threshold_seconds
            ),
            // Its `survey_requested` event was logged with the change.
            Notification::SurveyRequested { .. } => {}
        }
    }
}
