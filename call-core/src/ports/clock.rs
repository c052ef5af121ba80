use std::{fmt, sync::Mutex};

use async_trait::async_trait;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use tokio::sync::watch;

/// The source of time, and of sleeping, for the engine and its worker.
///
/// Everything in `call-core` that depends on time asks a `Clock`, so tests
/// drive time by hand with [`ManualClock`].
#[async_trait]
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time. Implementations MUST return times truncated to
    /// whole microseconds (what stores keep) and MUST NOT go backwards.
    fn now(&self) -> DateTime<Utc>;

    /// Returns once [`now`](Self::now) is at or past `deadline`; at once if it already is.
    /// MUST be cancel-safe: dropping the future has no effect.
    async fn sleep_until(&self, deadline: DateTime<Utc>);
}

pub(crate) fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t)
}

/// The real clock: `Utc::now()` and tokio's timer.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        to_micros(Utc::now())
    }

    async fn sleep_until(&self, deadline: DateTime<Utc>) {
        // The wall clock may be stepped while we sleep; check again on waking.
        loop {
            let Ok(left) = (deadline - Utc::now()).to_std() else { return };
            if left.is_zero() {
                return;
            }
            tokio::time::sleep(left).await;
        }
    }
}

/// A clock that moves only when told to: for tests and simulations.
///
/// Sleepers wake as soon as [`advance`](Self::advance) or [`set`](Self::set)
/// moves the time past their deadline.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
    changed: watch::Sender<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock standing at `start` (truncated to microseconds).
    pub fn new(start: DateTime<Utc>) -> ManualClock {
        let start = to_micros(start);
        ManualClock { now: Mutex::new(start), changed: watch::Sender::new(start) }
    }

    /// Moves the time forward by `by`.
    pub fn advance(&self, by: std::time::Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now = to_micros(*now + TimeDelta::from_std(by).unwrap_or(TimeDelta::MAX));
        self.changed.send_replace(*now);
    }

    /// Moves the time to `to`; a time before the current one is ignored, as
    /// clocks do not go backwards.
    pub fn set(&self, to: DateTime<Utc>) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        if to > *now {
            *now = to_micros(to);
            self.changed.send_replace(*now);
        }
    }
}

#[async_trait]
impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn sleep_until(&self, deadline: DateTime<Utc>) {
        let mut changes = self.changed.subscribe();
        while *changes.borrow_and_update() < deadline {
            if changes.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{sync::Arc, time::Duration};

    use super::*;

    #[tokio::test]
    async fn manual_clock_wakes_sleepers_when_advanced_past_their_deadline() {
        let clock = Arc::new(ManualClock::new(DateTime::UNIX_EPOCH));
        let deadline = clock.now() + TimeDelta::seconds(10);
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep_until(deadline).await }
        });
        clock.advance(Duration::from_secs(9));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        clock.advance(Duration::from_secs(1));
        tokio::time::timeout(Duration::from_secs(5), sleeper).await.unwrap().unwrap();
        // A deadline already passed returns at once.
        clock.sleep_until(DateTime::UNIX_EPOCH).await;
        clock.set(DateTime::UNIX_EPOCH);
        assert_eq!(clock.now(), DateTime::UNIX_EPOCH + TimeDelta::seconds(10));
    }

    #[test]
    fn system_clock_has_microsecond_precision() {
        assert_eq!(SystemClock.now().timestamp_subsec_nanos() % 1000, 0);
    }
}
