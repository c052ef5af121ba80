//! `calls_per_second`: each provider request takes the next slot, and a
//! round claims no more than the next second's slots hold.

use chrono::{DateTime, TimeDelta, Utc};

use super::Shared;

impl Shared {
    /// How many calls may be claimed now: under `calls_per_second`, those
    /// whose request slots fall within the next second, so that no claim
    /// waits for its slot long enough to outlive its lease.
    pub(super) fn request_budget(&self, now: DateTime<Utc>) -> usize {
        let Some(cps) = self.config.calls_per_second.filter(|cps| *cps > 0.0) else {
            return usize::MAX;
        };
        let next = self.next_request_slot.lock().unwrap_or_else(|e| e.into_inner()).unwrap_or(now);
        let free = (now + TimeDelta::seconds(1) - next.max(now)).num_microseconds().unwrap_or(0);
        (free.max(0) as f64 / 1_000_000.0 * cps).ceil() as usize
    }

    /// Waits for this worker's next request slot under `calls_per_second`.
    pub(super) async fn wait_for_request_slot(&self) {
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
}
