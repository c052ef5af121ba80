//! What the worker asks of the engine: the store's due moments, claims,
//! lease renewals, and the changes its work makes to a call (a placement's
//! outcome, a hold for a calling window, a lost claim recovered). Each
//! change is decided in `change.rs` and written and published here like
//! every other change the engine makes, so the worker never reaches the
//! store or the notifier itself.

use chrono::{DateTime, Utc};

use super::{
    Engine, LostDispatch,
    change::{Change, Placement},
};
use crate::{
    Call, CallId, Error, ValidationError, WindowWait, WorkerId, metrics,
    ports::{Announcements, Claim, Claimed, LeaseRenewal, Notification},
};

impl Engine {
    /// The earliest moment something falls due in the store: a scheduled
    /// call, a rule deadline, a lease expiry; `None` when nothing is waiting.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the store fails.
    pub async fn next_due(&self) -> Result<Option<DateTime<Utc>>, Error> {
        Ok(self.inner.store.next_due().await?)
    }

    /// The due moments other processes announce through the store.
    pub(crate) fn announcements(&self) -> Announcements {
        self.inner.store.announcements()
    }

    /// Claims due calls under `claim`, and publishes each: its
    /// `call_dispatched` (or, for a listed number, its cancellation) and
    /// the next occurrence of its series, when the claim made one.
    pub(crate) async fn claim(&self, claim: &Claim) -> Result<Vec<Claimed>, Error> {
        let claimed = self.inner.store.claim_due(claim).await?;
        metrics::claimed(claimed.len());
        for Claimed { call, event, successor } in &claimed {
            let events = vec![event.clone()];
            self.inner.notifier.notify(&Notification::CallChanged { call: call.clone(), events });
            if let Some((next, event)) = successor {
                self.announce_new(next, event.clone());
            }
        }
        Ok(claimed)
    }

    /// Calls whose claim lapsed by `now`, at most `limit`.
    pub(crate) async fn expired_leases(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Call>, Error> {
        Ok(self.inner.store.expired_leases(now, limit).await?)
    }

    /// Calls with a rule deadline passed by `now`, at most `limit`.
    pub(crate) async fn deadlines_due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Call>, Error> {
        Ok(self.inner.store.deadlines_due(now, limit).await?)
    }

    /// Placed calls still live at the provider, in id order after `after`,
    /// at most `limit`: what the worker follows.
    pub(crate) async fn following(
        &self,
        after: Option<&CallId>,
        limit: usize,
    ) -> Result<Vec<Call>, Error> {
        Ok(self.inner.store.following(after, limit).await?)
    }

    /// Renews `renewal.worker`'s leases of `ids`: those it still held.
    pub(crate) async fn renew_leases(
        &self,
        renewal: &LeaseRenewal,
        ids: &[CallId],
    ) -> Result<Vec<CallId>, Error> {
        Ok(self.inner.store.renew_leases(renewal, ids).await?)
    }

    /// Records how `worker`'s placement of call `id` went, if the call is
    /// still its to place; `None` when it is not (the claim was lost).
    pub(crate) async fn record_placement(
        &self,
        id: &CallId,
        worker: &WorkerId,
        placement: &Placement,
    ) -> Result<Option<Call>, Error> {
        let rules = &self.inner.config.rules;
        let mut recorded = false;
        let call = self
            .update(id, |call, now| {
                if !Change::held_by(&call, worker) {
                    if let Ok(placed) = &placement.outcome {
                        tracing::error!(call_id = %call.id(), external_id = %placed.external_id,
                            "the provider accepted a call whose claim this worker had lost");
                    }
                    return Ok(None);
                }
                recorded = true;
                Ok(Some(Change::placed(call, now, placement, rules)?))
            })
            .await?;
        Ok(recorded.then_some(call))
    }

    /// Holds claimed call `id` for its calling window (`wait` is the
    /// window's answer for now), if it is still dispatching.
    pub(crate) async fn hold_for_window(
        &self,
        id: &CallId,
        wait: &Result<Option<WindowWait>, ValidationError>,
    ) -> Result<Call, Error> {
        self.update(id, |call, now| {
            if call.status() != crate::CallStatus::Dispatching {
                return Ok(None);
            }
            Ok(Some(Change::held_for_window(call, now, wait)?))
        })
        .await
    }

    /// Recovers call `id` if its claim lapsed, by `policy`: the call as it
    /// is then, or `None` when another worker got to it first or its claim
    /// is live again.
    pub(crate) async fn recover_lost(
        &self,
        id: &CallId,
        policy: LostDispatch,
        worker: &WorkerId,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<Call>, Error> {
        let mut changed = false;
        let call = self
            .update(id, |call, now| {
                let lost_by = match (call.status(), call.lease()) {
                    (crate::CallStatus::Dispatching, Some(lease)) if lease.expires_at <= now => {
                        lease.worker.clone()
                    }
                    _ => return Ok(None),
                };
                changed = true;
                Ok(Some(Change::recovered(call, now, &lost_by, policy, worker, lease_until)?))
            })
            .await?;
        Ok(changed.then_some(call))
    }
}
