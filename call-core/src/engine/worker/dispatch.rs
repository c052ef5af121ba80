//! The dispatch loop: recover lapsed claims, fire rule deadlines, claim
//! due calls and start placing them, then sleep until the next due moment.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::{
    sync::{Semaphore, watch},
    task::JoinSet,
};

use super::{LostDispatch, Shared, delta, log_panic, stopped};
use crate::{
    Call, CallId, CallStatus, Error,
    engine::outage::is_outage,
    ports::{Claim, Claimed},
};

/// What a round of the dispatch loop did.
struct Round {
    progressed: bool,
    more: bool,
}

impl Shared {
    pub(super) async fn dispatch_loop(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
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

    async fn dispatch_round(
        self: &Arc<Self>,
        now: DateTime<Utc>,
        permits: &Arc<Semaphore>,
        placements: &mut JoinSet<()>,
    ) -> Result<Round, Error> {
        let batch = self.config.batch_size.max(1);
        let mut progressed = false;
        let mut more = false;

        let lost = self.engine.expired_leases(now, batch).await?;
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

        let due = self.engine.deadlines_due(now, batch).await?;
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
            let claimed = self.engine.claim(&claim).await?;
            more |= claimed.len() == limit;
            progressed |= !claimed.is_empty();
            for Claimed { call, .. } in claimed {
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
        if let Err(error) = self.engine.hold_for_window(call.id(), &wait).await {
            self.failed(call.id(), "holding a call for its calling window", &error);
        }
        true
    }

    /// Handles a call whose claim expired, by policy. `None` when another
    /// worker got to it first or its claim is live again.
    async fn recover_lost(&self, id: &CallId, now: DateTime<Utc>) -> Result<Option<Call>, Error> {
        let config = &self.config;
        let lease_until = now + delta(config.lease);
        self.engine.recover_lost(id, config.lost_dispatch, &config.worker_id, lease_until).await
    }
}
