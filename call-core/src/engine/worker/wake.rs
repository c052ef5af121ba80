//! When the dispatch loop sleeps and what wakes it: the store's next due
//! moment, published to the engine before a last look (see
//! `Engine::plan_wake`), and the due moments other processes announce.

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::{Shared, delta, stopped};
use crate::{engine::outage::is_outage, ports::Announcements};

impl Shared {
    /// Hands the due moments other processes announce through the store to
    /// the engine, which wakes the dispatch loop when one is sooner than
    /// its plan (the same check as for calls scheduled in this process).
    pub(super) async fn relay(
        &self,
        mut announcements: Announcements,
        mut stop: watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                () = stopped(&mut stop) => return,
                due = announcements.next() => self.engine.wake_workers_if_due_before(Some(due)),
            }
        }
    }

    /// When the next full round is due: the store's next due moment, at
    /// most `recheck_interval` away. A due moment already passed after a
    /// round that got nowhere (no permit, no rate budget) is waited out
    /// rather than spun on.
    pub(super) async fn plan_next_round(
        &self,
        now: DateTime<Utc>,
        progressed: bool,
    ) -> DateTime<Utc> {
        let recheck = now + delta(self.config.recheck_interval);
        let seen_due = match self.engine.next_due().await {
            Ok(due) => due,
            Err(error) => {
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
            if let Ok(due) = self.engine.next_due().await
                && due != seen_due
                && let Some(due) = due.filter(|due| *due < plan)
            {
                plan = due.max(now);
                self.engine.plan_wake(plan);
            }
        }
        plan
    }
}
