//! The worker: see [`Worker`].

use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, json};
use tokio::{
    sync::{OwnedSemaphorePermit, Semaphore, watch},
    task::JoinSet,
};

use super::{
    Engine,
    change::{Change, object},
    outage::{Outage, is_outage},
};
use crate::{
    Call, CallId, CallStatus, Error, EventSource, Flag, Initiated, Lease, Lifecycle,
    ValidationError, WorkerId,
    machine::Trigger,
    metrics::{self, Operation},
    ports::{
        Announcements, CallProvider, Claim, Claimed, LeaseRenewal, Notification, PlaceCall,
        ProviderCall, ProviderError,
    },
};

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

struct Shared {
    engine: Engine,
    provider: Arc<dyn CallProvider>,
    config: WorkerConfig,
    /// The earliest moment the next provider request may go out, under the CPS limit.
    next_request_slot: Mutex<Option<DateTime<Utc>>>,
    /// Whether the store is answering, for one log line per outage.
    outage: Outage,
}

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
        let announcements = shared.engine.store().announcements();
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

/// What a round of the dispatch loop did.
struct Round {
    progressed: bool,
    more: bool,
}

impl Shared {
    /// Hands the due moments other processes announce through the store to
    /// the engine, which wakes the dispatch loop when one is sooner than
    /// its plan (the same check as for calls scheduled in this process).
    async fn relay(&self, mut announcements: Announcements, mut stop: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                () = stopped(&mut stop) => return,
                due = announcements.next() => self.engine.wake_workers_if_due_before(Some(due)),
            }
        }
    }

    async fn dispatch_loop(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let permits = Arc::new(Semaphore::new(self.config.max_in_flight.max(1)));
        let mut placements = JoinSet::new();
        let mut wake = self.engine.subscribe_wake();
        let clock = self.engine.clock().clone();
        // A round woken only because placements finished just claims more
        // (permits are free); timers, wake-ups and the first round do all.
        let mut full = true;
        // When the last full round planned the next one.
        let mut plan = clock.now();
        while !*stop.borrow() {
            while let Some(done) = placements.try_join_next() {
                log_panic(done);
            }
            let now = clock.now();
            full |= plan <= now;
            if full {
                wake.mark_unchanged();
            }
            // Claiming is a store write: refill in batches, not one freed permit at a time.
            let refill = (self.config.max_in_flight / 4).max(1);
            let round = if full {
                self.dispatch_round(now, &permits, &mut placements).await
            } else if permits.available_permits() >= refill || placements.is_empty() {
                self.claim_round(now, &permits, &mut placements).await
            } else {
                Ok(Round { progressed: false, more: false })
            };
            if round.is_ok() {
                self.outage.answered(now);
            }
            match round {
                // More is waiting and can be taken: a round of the same kind, at once.
                Ok(round) if round.more && round.progressed && permits.available_permits() > 0 => {
                    tokio::task::yield_now().await;
                    continue;
                }
                Ok(round) if full => plan = self.plan_next_round(now, round.progressed).await,
                Ok(_) => {}
                Err(error) => {
                    let wait = if is_outage(&error) {
                        self.outage.failed(now, "a dispatch round", &error)
                    } else {
                        tracing::error!(%error, "worker round failed; trying again shortly");
                        self.config.recheck_interval
                    };
                    plan = now + delta(wait);
                }
            }
            if plan <= now {
                tokio::task::yield_now().await;
                continue;
            }
            full = tokio::select! {
                () = stopped(&mut stop) => break,
                () = clock.sleep_until(plan) => true,
                _ = wake.changed() => true,
                Some(done) = placements.join_next(), if !placements.is_empty() => {
                    log_panic(done);
                    false
                }
            };
        }
        // Graceful shutdown: claim nothing more, let every placement finish.
        while let Some(done) = placements.join_next().await {
            log_panic(done);
        }
    }

    /// When the next full round is due: the store's next due moment, at
    /// most `recheck_interval` away. A due moment already passed after a
    /// round that got nowhere (no permit, no rate budget) is waited out
    /// rather than spun on.
    async fn plan_next_round(&self, now: DateTime<Utc>, progressed: bool) -> DateTime<Utc> {
        let recheck = now + delta(self.config.recheck_interval);
        let seen_due = match self.engine.store().next_due().await {
            Ok(due) => due,
            Err(error) => {
                let error = Error::from(error);
                if is_outage(&error) {
                    return now
                        + delta(self.outage.failed(now, "reading the next due time", &error));
                }
                tracing::error!(%error, "worker could not read the next due time");
                return recheck;
            }
        };
        let mut plan = match seen_due {
            Some(due) if due > now || progressed => due.min(recheck),
            _ => recheck,
        };
        if plan > now {
            // Publish the plan, then look once more for what was committed
            // since: see `Engine::plan_wake`.
            self.engine.plan_wake(plan);
            if let Ok(due) = self.engine.store().next_due().await
                && due != seen_due
                && let Some(due) = due.filter(|due| *due < plan)
            {
                plan = due.max(now);
                self.engine.plan_wake(plan);
            }
        }
        plan
    }

    async fn dispatch_round(
        self: &Arc<Self>,
        now: DateTime<Utc>,
        permits: &Arc<Semaphore>,
        placements: &mut JoinSet<()>,
    ) -> Result<Round, Error> {
        let batch = self.config.batch_size.max(1);
        let store = self.engine.store();
        let mut progressed = false;
        let mut more = false;

        let lost = store.expired_leases(now, batch).await?;
        more |= lost.len() == batch;
        for call in lost {
            let permit = match self.config.lost_dispatch {
                LostDispatch::Redial => match permits.clone().try_acquire_owned() {
                    Ok(permit) => Some(permit),
                    Err(_) => continue,
                },
                LostDispatch::FailOutcomeUnknown => None,
            };
            match self.recover_lost(call.id(), now).await {
                Ok(Some(call)) if call.status() == CallStatus::Dispatching => {
                    progressed = true;
                    if let Some(permit) = permit
                        && !self.held_for_window(&call, now).await
                    {
                        placements.spawn(self.clone().place(call, permit));
                    }
                }
                Ok(Some(_)) => progressed = true,
                Ok(None) => {}
                Err(error) => self.failed(call.id(), "recovering a lost claim", &error),
            }
        }

        let due = store.deadlines_due(now, batch).await?;
        more |= due.len() == batch;
        for call in due {
            match self.engine.fire_deadline(call.id()).await {
                Ok(_) => progressed = true,
                Err(error) => self.failed(call.id(), "firing a deadline", &error),
            }
        }

        let claimed = self.claim_round(now, permits, placements).await?;
        Ok(Round { progressed: progressed || claimed.progressed, more: more || claimed.more })
    }

    /// Claims what the free permits and the rate limit allow, and starts placing it.
    async fn claim_round(
        self: &Arc<Self>,
        now: DateTime<Utc>,
        permits: &Arc<Semaphore>,
        placements: &mut JoinSet<()>,
    ) -> Result<Round, Error> {
        let batch = self.config.batch_size.max(1);
        let mut progressed = false;
        let mut more = false;
        let limit = permits.available_permits().min(batch).min(self.request_budget(now));
        if limit > 0 {
            let claim = Claim {
                now,
                worker: self.config.worker_id.clone(),
                lease_until: now + delta(self.config.lease),
                limit,
            };
            let claimed = self.engine.store().claim_due(&claim).await?;
            metrics::claimed(claimed.len());
            more |= claimed.len() == limit;
            progressed |= !claimed.is_empty();
            for Claimed { call, event, successor } in claimed {
                self.engine
                    .inner
                    .notifier
                    .notify(&Notification::CallChanged { call: call.clone(), events: vec![event] });
                if let Some((next, event)) = successor {
                    self.engine.announce_new(&next, event);
                }
                // Canceled for the do-not-call list: nothing to place.
                if call.status() != CallStatus::Dispatching {
                    continue;
                }
                if self.held_for_window(&call, now).await {
                    continue;
                }
                let permit = permits
                    .clone()
                    .try_acquire_owned()
                    .expect("permits were counted before claiming");
                placements.spawn(self.clone().place(call, permit));
            }
        }
        Ok(Round { progressed, more })
    }

    /// Whether a claimed call must not ring now: a call claimed late (the
    /// workers were down, or a pause was lifted) may fall due outside its
    /// calling window, and a call scheduled with none falls under this
    /// engine's default. Such a call goes back to `scheduled`, due at the
    /// window's next opening, with one event saying why; one whose window
    /// can no longer open (the zone data changed since it was scheduled)
    /// fails, saying so. A call that could not be held is not placed
    /// either: its lease lapses and recovery decides.
    async fn held_for_window(&self, call: &Call, now: DateTime<Utc>) -> bool {
        // A call scheduled without a window (by a process with no default)
        // takes this engine's default.
        let window = call.calling_window().cloned().or_else(|| self.engine.window_for(None));
        let (Some(window), Some(to)) = (window, call.to()) else { return false };
        let wait = window.wait(to, now);
        if matches!(wait, Ok(None)) {
            return false;
        }
        let held = self
            .engine
            .update(call.id(), |call, now| {
                if call.status() != CallStatus::Dispatching {
                    return Ok(None);
                }
                let mut change = Change::new(call, now);
                match &wait {
                    Ok(Some(wait)) => {
                        let metadata = wait.metadata(now);
                        change.transition(
                            Trigger::Rescheduled,
                            now,
                            EventSource::Scheduler,
                            metadata,
                        )?;
                        change.call.parts.scheduled_at = Some(wait.until);
                        change.call.parts.lease = None;
                    }
                    _ => {
                        let error = wait.as_ref().err().map(|e| e.message().to_owned());
                        change.apply(
                            &Lifecycle::Failed { error },
                            now,
                            EventSource::Scheduler,
                            None,
                            Map::new(),
                        )?;
                    }
                }
                Ok(Some(change))
            })
            .await;
        if let Err(error) = held {
            self.failed(call.id(), "holding a call for its calling window", &error);
        }
        true
    }

    /// Handles a call whose claim expired, by policy. `None` when another
    /// worker got to it first or its claim is live again.
    async fn recover_lost(&self, id: &CallId, now: DateTime<Utc>) -> Result<Option<Call>, Error> {
        let mut changed = false;
        let policy = self.config.lost_dispatch;
        let worker = self.config.worker_id.clone();
        let lease_until = now + delta(self.config.lease);
        let call = self
            .engine
            .update(id, |call, now| {
                let lost_by = match (call.status(), call.lease()) {
                    (CallStatus::Dispatching, Some(lease)) if lease.expires_at <= now => lease.worker.clone(),
                    _ => return Ok(None),
                };
                changed = true;
                let mut change = Change::new(call, now);
                match policy {
                    LostDispatch::FailOutcomeUnknown => {
                        change.flag(Flag::OutcomeUnknown, now, EventSource::Scheduler);
                        let error = format!(
                            "worker {lost_by} lost its claim while placing the call; whether it was dialled is unknown"
                        );
                        change.apply(&Lifecycle::Failed { error: Some(error) }, now, EventSource::Scheduler, None, Map::new())?;
                    }
                    LostDispatch::Redial => {
                        let metadata = object(json!({ "worker": worker.as_str(), "redial": true, "lost_by": lost_by.as_str() }));
                        change.transition(Trigger::Dispatched, now, EventSource::Scheduler, metadata)?;
                        change.call.parts.lease = Some(Lease { worker: worker.clone(), expires_at: lease_until });
                    }
                }
                Ok(Some(change))
            })
            .await?;
        Ok(changed.then_some(call))
    }

    /// Places one claimed call: attempts with backoff, then records the outcome.
    async fn place(self: Arc<Self>, call: Call, _permit: OwnedSemaphorePermit) {
        let Some(to) = call.to().cloned() else {
            let error =
                ProviderError::Permanent { message: "the call has no number to dial".into() };
            return self.record_placement(call.id(), 0, Vec::new(), Err(error)).await;
        };
        let request = PlaceCall { call_id: call.id().clone(), to, from: call.from().cloned() };
        let clock = self.engine.clock();
        let mut expires_at =
            call.lease().map_or_else(|| clock.now() + delta(self.config.lease), |l| l.expires_at);
        // A claim that came back late (the store was slow to answer it) may
        // hold too little of its lease to dial under: renew it first.
        let now = clock.now();
        if expires_at - now < delta(self.config.heartbeat) * 2 {
            match self.renew(call.id(), now).await {
                Ok(Some(until)) => expires_at = until,
                Ok(None) => {
                    tracing::warn!(call_id = %call.id(), "the claim was lost before the call was placed");
                    return;
                }
                Err(error) => {
                    self.failed(call.id(), "renewing a late claim", &error);
                    return;
                }
            }
        }
        // The attempts run only while the lease is kept: dropping them
        // abandons a request in flight, and recovery decides, by policy,
        // what becomes of a call that may have been dialled.
        let (attempts, errors, outcome) = tokio::select! {
            placed = self.attempt(&request) => placed,
            () = self.keep_lease(call.id(), expires_at) => {
                tracing::error!(call_id = %call.id(),
                    "stopped placing a call whose lease could not be renewed; it is recovered when the lease lapses");
                return;
            }
        };
        self.record_placement(call.id(), attempts, errors, outcome).await;
    }

    /// Renews this worker's lease of call `id` from `now`: its new expiry,
    /// or `None` when the claim is gone.
    async fn renew(&self, id: &CallId, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, Error> {
        let renewal = LeaseRenewal {
            worker: self.config.worker_id.clone(),
            until: now + delta(self.config.lease),
        };
        let renewed = self.engine.store().renew_leases(&renewal, std::slice::from_ref(id)).await?;
        Ok(renewed.contains(id).then_some(renewal.until))
    }

    /// Renews the lease of call `id`, which lapses at `expires_at`, every
    /// heartbeat; returns once it can no longer be kept: the store said the
    /// claim is gone, or one heartbeat before the lease lapses without a
    /// renewal (a store that does not answer is retried until then).
    async fn keep_lease(&self, id: &CallId, mut expires_at: DateTime<Utc>) {
        let clock = self.engine.clock();
        let heartbeat = delta(self.config.heartbeat);
        let mut next = clock.now() + heartbeat;
        loop {
            let give_up = expires_at - heartbeat;
            clock.sleep_until(next.min(give_up)).await;
            let now = clock.now();
            if now >= give_up {
                tracing::warn!(call_id = %id, %expires_at, "the lease could not be renewed in time");
                return;
            }
            match self.renew(id, now).await {
                Ok(Some(until)) => {
                    expires_at = until;
                    next = now + heartbeat;
                }
                Ok(None) => {
                    tracing::warn!(call_id = %id, "the claim was lost while placing the call");
                    return;
                }
                Err(error) => {
                    self.failed(id, "renewing a lease", &error);
                    next = now + heartbeat / 4;
                }
            }
        }
    }

    /// Asks the provider to place the call, retrying what the policy
    /// allows: the attempts made, the errors retried, and the outcome.
    async fn attempt(
        &self,
        request: &PlaceCall,
    ) -> (u32, Vec<String>, Result<ProviderCall, ProviderError>) {
        let clock = self.engine.clock();
        let mut errors = Vec::new();
        let mut attempt = 0;
        let outcome = loop {
            attempt += 1;
            self.wait_for_request_slot().await;
            let answer = self.provider.place_call(request).await;
            metrics::provider_answered(Operation::Place, &answer);
            let error = match answer {
                Ok(placed) => break Ok(placed),
                Err(error) => error,
            };
            let (message, retry_after) = match &error {
                ProviderError::Transient { message, retry_after } => (message, *retry_after),
                // The provider may have dialled: only at least once sends it again.
                ProviderError::Unanswered { message }
                    if self.config.lost_dispatch == LostDispatch::Redial =>
                {
                    (message, None)
                }
                _ => break Err(error),
            };
            if attempt >= self.config.retry.attempts {
                break Err(error);
            }
            tracing::debug!(call_id = %request.call_id, attempt, %message, "provider request failed; retrying");
            // The provider's Retry-After is honoured up to max_delay, so the wait stays within the lease.
            let delay = retry_after.map_or_else(
                || self.config.retry.delay(attempt),
                |asked| asked.min(self.config.retry.max_delay),
            );
            errors.push(message.clone());
            metrics::retried();
            clock.sleep_until(clock.now() + delta(delay)).await;
        };
        (attempt, errors, outcome)
    }

    /// How many calls may be claimed now: under `calls_per_second`, those
    /// whose request slots fall within the next second, so that no claim
    /// waits for its slot long enough to outlive its lease.
    fn request_budget(&self, now: DateTime<Utc>) -> usize {
        let Some(cps) = self.config.calls_per_second.filter(|cps| *cps > 0.0) else {
            return usize::MAX;
        };
        let next = self.next_request_slot.lock().unwrap_or_else(|e| e.into_inner()).unwrap_or(now);
        let free = (now + TimeDelta::seconds(1) - next.max(now)).num_microseconds().unwrap_or(0);
        (free.max(0) as f64 / 1_000_000.0 * cps).ceil() as usize
    }

    /// Waits for this worker's next request slot under `calls_per_second`.
    async fn wait_for_request_slot(&self) {
        let Some(cps) = self.config.calls_per_second.filter(|cps| *cps > 0.0) else { return };
        let clock = self.engine.clock();
        let interval = TimeDelta::microseconds((1_000_000.0 / cps) as i64);
        let slot = {
            let mut next = self.next_request_slot.lock().unwrap_or_else(|e| e.into_inner());
            let now = clock.now();
            let slot = next.map_or(now, |next| next.max(now));
            *next = Some(slot + interval);
            slot
        };
        clock.sleep_until(slot).await;
    }

    /// Logs a store operation on call `id` that failed: once per outage
    /// when the store is down, every time otherwise.
    fn failed(&self, id: &CallId, what: &str, error: &Error) {
        if is_outage(error) {
            self.outage.failed(self.engine.clock().now(), what, error);
        } else {
            tracing::error!(call_id = %id, %error, what, "a store operation failed");
        }
    }

    /// Records how a placement went. While the store does not answer it
    /// tries again with backoff, for as long as a lease lasts: a call the
    /// provider accepted should not end `outcome_unknown` for an outage of
    /// a few seconds. Past that, recovery decides, as for a dead worker.
    async fn record_placement(
        &self,
        id: &CallId,
        attempts: u32,
        errors: Vec<String>,
        outcome: Result<ProviderCall, ProviderError>,
    ) {
        let clock = self.engine.clock();
        let give_up = clock.now() + delta(self.config.lease);
        loop {
            match self.try_record_placement(id, attempts, &errors, &outcome).await {
                Ok(()) => return,
                Err(error) if is_outage(&error) && clock.now() < give_up => {
                    let wait = self.outage.failed(clock.now(), "recording a placement", &error);
                    clock.sleep_until(clock.now() + delta(wait)).await;
                }
                Err(error) => return self.failed(id, "recording a placement", &error),
            }
        }
    }

    async fn try_record_placement(
        &self,
        id: &CallId,
        attempts: u32,
        errors: &[String],
        outcome: &Result<ProviderCall, ProviderError>,
    ) -> Result<(), Error> {
        let worker = &self.config.worker_id;
        let rules = &self.engine.config().rules;
        let result = self
            .engine
            .update(id, |call, now| {
                let ours = call.status() == CallStatus::Dispatching
                    && call.lease().is_some_and(|lease| &lease.worker == worker);
                if !ours {
                    if let Ok(placed) = outcome {
                        tracing::error!(call_id = %call.id(), external_id = %placed.external_id,
                            "the provider accepted a call whose claim this worker had lost");
                    }
                    return Ok(None);
                }
                let mut change = Change::new(call, now);
                change.call.parts.attempts += attempts;
                let mut extra = object(json!({ "attempts": attempts }));
                if !errors.is_empty() {
                    extra.insert("retried_errors".into(), json!(errors));
                    change.call.parts.last_error = errors.last().cloned();
                }
                match outcome {
                    Ok(placed) => {
                        change.call.parts.external_id = Some(placed.external_id.clone());
                        extra.insert("external_id".into(), json!(placed.external_id));
                        let initiated = Lifecycle::Initiated(Initiated::default());
                        change.apply_with_rules(
                            &initiated,
                            now,
                            EventSource::Scheduler,
                            None,
                            extra,
                            rules,
                        )?;
                        for step in super::provider_steps(
                            change.call.status(),
                            placed.status,
                            placed.duration_seconds,
                        ) {
                            change.apply_with_rules(
                                &step,
                                now,
                                EventSource::Provider,
                                None,
                                Map::new(),
                                rules,
                            )?;
                        }
                    }
                    Err(error) => {
                        let message = match error {
                            ProviderError::Transient { message, .. } => {
                                format!("provider unavailable after {attempts} attempts: {message}")
                            }
                            ProviderError::Unanswered { message } => {
                                let tries = match attempts {
                                    1 => "one attempt".to_owned(),
                                    n => format!("{n} attempts"),
                                };
                                format!(
                                    "no answer from the provider after {tries} ({message}): \
                                     it may have placed the call, so it is not dialled again"
                                )
                            }
                            ProviderError::Permanent { message } => message.clone(),
                            other => other.to_string(),
                        };
                        if matches!(
                            error,
                            ProviderError::Invalid { .. } | ProviderError::Unanswered { .. }
                        ) {
                            change.flag(Flag::OutcomeUnknown, now, EventSource::Scheduler);
                        }
                        let failed = Lifecycle::Failed { error: Some(message) };
                        change.apply(&failed, now, EventSource::Scheduler, None, extra)?;
                    }
                }
                Ok(Some(change))
            })
            .await;
        let call = result?;
        tracing::info!(call_id = %call.id(), status = %call.status(), attempts, "placement recorded");
        Ok(())
    }

    async fn follow_loop(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let clock = self.engine.clock().clone();
        while !*stop.borrow() {
            let started = clock.now();
            match self.follow_round().await {
                Ok(()) => self.outage.answered(clock.now()),
                Err(error) if is_outage(&error) => {
                    self.outage.failed(clock.now(), "following placed calls", &error);
                }
                Err(error) => tracing::error!(%error, "could not poll the provider"),
            }
            tokio::select! {
                () = stopped(&mut stop) => break,
                () = clock.sleep_until(started + delta(self.config.poll_interval)) => {}
            }
        }
    }

    /// Fetches every followed call's provider status once, with bounded
    /// concurrency, page by page, and records what changed.
    async fn follow_round(self: &Arc<Self>) -> Result<(), Error> {
        let page_size = self.config.batch_size.max(1) * 4;
        let mut after: Option<CallId> = None;
        loop {
            let page = self.engine.store().following(after.as_ref(), page_size).await?;
            after = page.last().map(|call| call.id().clone());
            let full = page.len() == page_size;
            self.poll(page).await;
            if !full {
                return Ok(());
            }
        }
    }

    /// Fetches the provider status of each of `calls`, `poll_concurrency` at a time.
    async fn poll(self: &Arc<Self>, calls: Vec<Call>) {
        let permits = Arc::new(Semaphore::new(self.config.poll_concurrency.max(1)));
        let mut polls = JoinSet::new();
        for call in calls {
            let Some(external_id) = call.external_id().map(str::to_owned) else { continue };
            let permit =
                permits.clone().acquire_owned().await.expect("the semaphore is never closed");
            let shared = self.clone();
            polls.spawn(async move {
                let _permit = permit;
                let report = shared.provider.fetch_call(&external_id).await;
                metrics::provider_answered(Operation::Fetch, &report);
                match &report {
                    Err(error @ ProviderError::NotFound { .. }) => {
                        tracing::warn!(call_id = %call.id(), %error, "the provider forgot the call");
                    }
                    Err(error) => {
                        tracing::warn!(call_id = %call.id(), %error, "could not fetch the call's status; will poll again");
                        return;
                    }
                    Ok(_) => {}
                }
                if let Err(error) = shared.engine.apply_provider_report(call.id(), report.as_ref()).await {
                    shared.failed(call.id(), "recording the provider's status", &error);
                }
            });
        }
        while let Some(done) = polls.join_next().await {
            log_panic(done);
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
