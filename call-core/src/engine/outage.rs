//! A worker's view of its store's health: one log line when the store stops
//! answering, one when it answers again, and the backoff in between.

use std::{sync::Mutex, time::Duration};

use chrono::{DateTime, Utc};

use crate::{Error, ports::StoreError};

/// The first wait after a failed store operation; doubled for each failure
/// after it, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// The longest wait between tries while the store does not answer: short
/// enough that work resumes within seconds of the store coming back.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Whether `error` says the store itself failed (it is down, restarting,
/// out of space), rather than refusing one operation.
pub(super) fn is_outage(error: &Error) -> bool {
    matches!(error, Error::Store(StoreError::Backend(_)))
}

/// How long the store must keep answering before an outage is over. A
/// store going down answers now and then on its way (PostgreSQL's shutdown
/// ends its connections one by one, and a pooled one still answers for a
/// moment): without this, one outage was logged as two.
const SETTLE: Duration = Duration::from_secs(1);

/// An outage under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Down {
    /// When the first failure was.
    since: DateTime<Utc>,
    failures: u32,
    /// Since when the store has answered every time, if it has.
    answering_since: Option<DateTime<Utc>>,
}

/// Since when, and how often, the store has failed.
#[derive(Debug, Default)]
pub(super) struct Outage {
    state: Mutex<Option<Down>>,
}

impl Outage {
    /// Records that `what` failed at `now` with `error`, an outage: logs it
    /// once per outage, and answers how long to wait before trying again.
    pub(super) fn failed(&self, now: DateTime<Utc>, what: &str, error: &Error) -> Duration {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let failures = match &mut *state {
            Some(down) => {
                down.failures += 1;
                down.answering_since = None;
                tracing::debug!(%error, what, "the store is still not answering");
                down.failures
            }
            None => {
                tracing::error!(%error, what, "the store is not answering; the worker tries again with backoff until it does");
                *state = Some(Down { since: now, failures: 1, answering_since: None });
                1
            }
        };
        backoff(failures)
    }

    /// Records that the store answered at `now`: once it has answered every
    /// time for [`SETTLE`], logs the end of an outage.
    pub(super) fn answered(&self, now: DateTime<Utc>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let Some(down) = &mut *state else { return };
        let answering_since = *down.answering_since.get_or_insert(now);
        if (now - answering_since).to_std().unwrap_or_default() < SETTLE {
            return;
        }
        let seconds = (answering_since - down.since).num_milliseconds() as f64 / 1000.0;
        tracing::warn!(
            seconds,
            failures = down.failures,
            "the store answers again; the worker goes on"
        );
        *state = None;
    }
}

/// The wait after `failures` failures in a row: exponential, capped, with
/// half of it random, so that many workers do not retry together.
fn backoff(failures: u32) -> Duration {
    let exponential = FIRST_BACKOFF.saturating_mul(2u32.saturating_pow(failures.saturating_sub(1)));
    let capped = exponential.min(MAX_BACKOFF);
    capped / 2 + capped.mul_f64(fastrand::f64() / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_grows_to_a_cap_and_an_outage_ends_once_the_store_keeps_answering() {
        for (failures, low, high) in
            [(1, 125, 250), (2, 250, 500), (3, 500, 1000), (10, 2500, 5000)]
        {
            let wait = backoff(failures);
            let range = Duration::from_millis(low)..=Duration::from_millis(high);
            assert!(range.contains(&wait), "{failures} failures: {wait:?}");
        }
        let outage = Outage::default();
        let now = Utc::now();
        let down = Error::Store(StoreError::Backend("connection refused".into()));
        assert!(is_outage(&down));
        assert!(!is_outage(&Error::Store(StoreError::NotFound(
            crate::CallId::parse("x").unwrap()
        ))));
        outage.failed(now, "a claim", &down);
        outage.failed(now, "a claim", &down);
        let failing = Down { since: now, failures: 2, answering_since: None };
        assert_eq!(*outage.state.lock().unwrap(), Some(failing));
        // It answers once and fails again: the same outage goes on.
        let later = |ms: i64| now + chrono::TimeDelta::milliseconds(ms);
        outage.answered(later(10));
        outage.failed(later(20), "a claim", &down);
        let still = Down { since: now, failures: 3, answering_since: None };
        assert_eq!(*outage.state.lock().unwrap(), Some(still));
        // It answers every time for a second: the outage is over.
        outage.answered(later(500));
        outage.answered(later(1_000));
        assert!(outage.state.lock().unwrap().is_some(), "answering for 0.5 s only");
        outage.answered(later(1_500));
        assert_eq!(*outage.state.lock().unwrap(), None);
    }
}
