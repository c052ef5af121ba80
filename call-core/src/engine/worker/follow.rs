//! The follow loop: every `poll_interval`, each placed, live call's status
//! fetched from the provider and recorded through the engine.

use std::sync::Arc;

use tokio::{
    sync::{Semaphore, watch},
    task::JoinSet,
};

use super::{Shared, delta, log_panic, stopped};
use crate::{
    Call, CallId, Error,
    engine::outage::is_outage,
    metrics::{self, Operation},
    ports::ProviderError,
};

impl Shared {
    pub(super) async fn follow_loop(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
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
            let page = self.engine.following(after.as_ref(), page_size).await?;
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
