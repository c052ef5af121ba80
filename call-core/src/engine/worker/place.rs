//! One placement: the provider asked, with retries, while the claim's
//! lease is kept; then its outcome recorded through the engine.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::OwnedSemaphorePermit;

use super::{LostDispatch, Shared, delta};
use crate::{
    Call, CallId, Error,
    engine::{change::Placement, outage::is_outage},
    metrics::{self, Operation},
    ports::{LeaseRenewal, PlaceCall, ProviderError},
};

impl Shared {
    /// Places one claimed call: attempts with backoff, then records the outcome.
    pub(super) async fn place(self: Arc<Self>, call: Call, _permit: OwnedSemaphorePermit) {
        let Some(to) = call.to().cloned() else {
            let error =
                ProviderError::Permanent { message: "the call has no number to dial".into() };
            let placement = Placement { attempts: 0, errors: Vec::new(), outcome: Err(error) };
            return self.record_placement(call.id(), placement).await;
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
        let placement = tokio::select! {
            placement = self.attempt(&request) => placement,
            () = self.keep_lease(call.id(), expires_at) => {
                tracing::error!(call_id = %call.id(),
                    "stopped placing a call whose lease could not be renewed; it is recovered when the lease lapses");
                return;
            }
        };
        self.record_placement(call.id(), placement).await;
    }

    /// Renews this worker's lease of call `id` from `now`: its new expiry,
    /// or `None` when the claim is gone.
    async fn renew(&self, id: &CallId, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, Error> {
        let renewal = LeaseRenewal {
            worker: self.config.worker_id.clone(),
            until: now + delta(self.config.lease),
        };
        let renewed = self.engine.renew_leases(&renewal, std::slice::from_ref(id)).await?;
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
    async fn attempt(&self, request: &PlaceCall) -> Placement {
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
        Placement { attempts: attempt, errors, outcome }
    }

    /// Records how a placement went. While the store does not answer it
    /// tries again with backoff, for as long as a lease lasts: a call the
    /// provider accepted should not end `outcome_unknown` for an outage of
    /// a few seconds. Past that, recovery decides, as for a dead worker.
    async fn record_placement(&self, id: &CallId, placement: Placement) {
        let clock = self.engine.clock();
        let give_up = clock.now() + delta(self.config.lease);
        let worker = &self.config.worker_id;
        loop {
            match self.engine.record_placement(id, worker, &placement).await {
                Ok(Some(call)) => {
                    let (status, attempts) = (call.status(), placement.attempts);
                    tracing::info!(call_id = %id, %status, attempts, "placement recorded");
                    return;
                }
                Ok(None) => return,
                Err(error) if is_outage(&error) && clock.now() < give_up => {
                    let wait = self.outage.failed(clock.now(), "recording a placement", &error);
                    clock.sleep_until(clock.now() + delta(wait)).await;
                }
                Err(error) => return self.failed(id, "recording a placement", &error),
            }
        }
    }
}
