//! The worker: see [`Worker`]. It speaks only to the engine
//! (`engine/dispatch.rs`): the store and the notifier are the engine's.
//!
//! - `dispatch.rs`: the dispatch loop, claims, holds and recovery;
//! - `place.rs`: one placement, its lease kept, its outcome recorded;
//! - `pacing.rs`: `calls_per_second`;
//! - `follow.rs`: polling the provider for placed calls;
//! - `wake.rs`: when the dispatch loop sleeps, and what wakes it.

mod dispatch;
mod follow;
mod pacing;
mod place;
mod wake;

use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::watch;

use super::{
    Engine,
    outage::{Outage, is_outage},
};
use crate::{CallId, Error, ValidationError, WorkerId, ports::CallProvider};

/// How a transient provider failure is retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Provider requests per call, the first included.
    pub attempts: u32,
    /// The wait before the second attempt; doubled for each after it.
    pub base_delay: Duration,
    /// The longest wait between attempts.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 3 attempts, 200 ms then 400 ms (each with jitter), at most 5 s.
    fn default() -> RetryPolicy {
        RetryPolicy {
            attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt `attempt` (1-based): exponential, with
    /// "equal jitter" (half fixed, half random) so that many calls failing
    /// together do not retry together.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exponential =
            self.base_delay.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
        let capped = exponential.min(self.max_delay);
        capped / 2 + capped.mul_f64(fastrand::f64() / 2.0)
    }
}

/// What to do with a call whose worker lost its claim while placing it
/// (the worker died, or stalled past its lease).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LostDispatch {
    /// At most once: fail it with flag `outcome_unknown`, never dial blindly again.
    #[default]
    FailOutcomeUnknown,
    /// At least once: dial it again, accepting that the callee may be called twice.
    Redial,
}

/// A worker's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerConfig {
    /// The name this worker claims calls under.
    pub worker_id: WorkerId,
    /// Calls being placed at once, at most.
    pub max_in_flight: usize,
    /// Provider requests per second, at most (real providers allow 1–30); no limit when `None`.
    pub calls_per_second: Option<f64>,
    /// How transient provider failures are retried.
    pub retry: RetryPolicy,
    /// How long a claim lasts unless renewed. A worker renews the lease of
    /// each call it is still placing every [`heartbeat`](Self::heartbeat),
    /// so a slow provider does not outlast it; a worker that dies stops
    /// renewing, and its calls are recovered once their leases lapse. At
    /// least three heartbeats ([`WorkerConfig::check`]).
    pub lease: Duration,
    /// How often a worker renews the leases of the calls it is placing. A
    /// placement whose lease cannot be renewed (the store is unreachable,
    /// or the claim was lost) is stopped one heartbeat before the lease
    /// lapses: never still running when another worker may take the call.
    pub heartbeat: Duration,
    /// What to do with calls whose claim was lost.
    pub lost_dispatch: LostDispatch,
    /// How often each placed call's provider status is fetched.
    pub poll_interval: Duration,
    /// Provider status requests in flight at once, at most.
    pub poll_concurrency: usize,
    /// The longest the worker sleeps without looking at the store. Calls
    /// scheduled through this engine wake it at once, and so do those other
    /// processes schedule on a store that announces them
    /// ([`CallStore::announcements`](crate::ports::CallStore::announcements));
    /// this catches any announcement lost on the way.
    pub recheck_interval: Duration,
    /// Calls claimed, deadlines fired or claims recovered per store query, at most.
    pub batch_size: usize,
}

impl WorkerConfig {
    /// Refuses settings a worker cannot keep: a heartbeat of zero, or a
    /// lease shorter than three heartbeats (a claim must outlive two missed
    /// renewals and the margin a placement stops within).
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `heartbeat` or `lease` saying why.
    pub fn check(&self) -> Result<(), ValidationError> {
        if self.heartbeat.is_zero() {
            return Err(ValidationError::new("heartbeat", "must be more than 0"));
        }
        let least = self.heartbeat.saturating_mul(3);
        if self.lease < least {
            return Err(ValidationError::new(
                "lease",
                format!(
                    "a lease of {:?} is shorter than three heartbeats of {:?} ({least:?}): \
                     a claim must outlive two missed renewals",
                    self.lease, self.heartbeat
                ),
            ));
        }
        Ok(())
    }
}

impl Default for WorkerConfig {
    fn default() -> WorkerConfig {
        WorkerConfig {
            worker_id: WorkerId::generate(),
            max_in_flight: 64,
            calls_per_second: None,
            retry: RetryPolicy::default(),
            lease: Duration::from_secs(60),
            heartbeat: Duration::from_secs(10),
            lost_dispatch: LostDispatch::default(),
            poll_interval: Duration::from_secs(1),
            poll_concurrency: 16,
            recheck_interval: Duration::from_secs(1),
            batch_size: 256,
        }
    }
}

/// Places due calls, fires rule deadlines, recovers lost claims, and
/// follows placed calls until they end. Get one from [`Engine::worker`] and
/// start it with [`Worker::run`].
///
/// Two loops run side by side until shutdown:
///
/// - the dispatch loop sleeps until the store's earliest due moment (a due
///   call, a rule deadline, a lease expiry) or until the engine says
///   something sooner was scheduled; then it recovers expired claims, fires
///   deadlines and claims due calls, placing each in a task of its own under
///   [`WorkerConfig::max_in_flight`] and [`WorkerConfig::calls_per_second`];
/// - the follow loop fetches every placed, live call's provider status each
///   [`WorkerConfig::poll_interval`] and records what changed.
///
/// Any number of workers, in one process or several, may share a store:
/// claims are atomic, so each call is placed by one of them.
pub struct Worker {
    shared: Arc<Shared>,
}

/// What the worker's loops and tasks share.
struct Shared {
    engine: Engine,
    provider: Arc<dyn CallProvider>,
    config: WorkerConfig,
    /// The earliest moment the next provider request may go out, under the CPS limit.
    next_request_slot: Mutex<Option<DateTime<Utc>>>,
    /// Whether the store is answering, for one log line per outage.
    outage: Outage,
}

/// `d` as a chrono span, saturating.
fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

impl Worker {
    pub(super) fn new(
        engine: Engine,
        provider: Arc<dyn CallProvider>,
        config: WorkerConfig,
    ) -> Worker {
        Worker {
            shared: Arc::new(Shared {
                engine,
                provider,
                config,
                next_request_slot: Mutex::new(None),
                outage: Outage::default(),
            }),
        }
    }

    /// Runs until `shutdown` completes, then stops claiming, lets every
    /// placement in flight finish and record its outcome, and returns.
    ///
    /// Store failures do not stop the worker: they are logged and the work
    /// is tried again a moment later.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        let (stop_tx, stop_rx) = watch::channel(false);
        let stop = async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        };
        let shared = &self.shared;
        // Subscribed before the first look at the store, so nothing
        // another process commits after that look goes unannounced.
        let announcements = shared.engine.announcements();
        tracing::info!(worker = %shared.config.worker_id, "worker started");
        tokio::join!(
            stop,
            shared.clone().dispatch_loop(stop_rx.clone()),
            shared.clone().follow_loop(stop_rx.clone()),
            shared.relay(announcements, stop_rx)
        );
        tracing::info!(worker = %shared.config.worker_id, "worker stopped");
    }
}

/// Resolves once the stop flag is raised (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

impl Shared {
    /// Logs a store operation on call `id` that failed: once per outage
    /// when the store is down, every time otherwise.
    fn failed(&self, id: &CallId, what: &str, error: &Error) {
        if is_outage(error) {
            self.outage.failed(self.engine.clock().now(), what, error);
        } else {
            tracing::error!(call_id = %id, %error, what, "a store operation failed");
        }
    }
}

fn log_panic(done: Result<(), tokio::task::JoinError>) {
    if let Err(error) = done {
        tracing::error!(%error, "a worker task panicked");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let policy = RetryPolicy {
            attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
        };
        for _ in 0..100 {
            let first = policy.delay(1);
            assert!(
                (Duration::from_millis(50)..=Duration::from_millis(100)).contains(&first),
                "{first:?}"
            );
            let second = policy.delay(2);
            assert!(
                (Duration::from_millis(100)..=Duration::from_millis(200)).contains(&second),
                "{second:?}"
            );
            let capped = policy.delay(10);
            assert!(
                (Duration::from_millis(150)..=Duration::from_millis(300)).contains(&capped),
                "{capped:?}"
            );
        }
    }
}
