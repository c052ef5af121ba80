//! The call-centre business rules, as pure functions of (call, event, now,
//! [`RulesConfig`]).
//!
//! | on | rule |
//! |---|---|
//! | waiting since `initiated_at` | not answered within `sla` → `alert_raised{sla_breach}` once, flag `sla_breached` |
//! | `call_routed` | the agent has `agent_answer` to answer; past that the engine records `call_retransfer` |
//! | `call_answered` | waited longer than `sla` → `alert_raised{long_wait}`, flag `long_wait` |
//! | on hold since `held_at` | held longer than `hold_limit` → `alert_raised{hold_exceeded}` once, flag `hold_exceeded` |
//! | `call_ended` | answered and talked less than `short_call` → flag `short_call`; every answered call → `survey_requested` |
//!
//! The timers (SLA, agent answer, hold) are not scanned for: [`next_deadline`]
//! gives the moment the earliest of them fires, the engine stores it with
//! the call, and the worker sleeps until it and then asks [`due_timers`].

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::{Call, CallStatus, Flag, Lifecycle, names::named_enum};

/// The thresholds of the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesConfig {
    /// A call still waiting this long after it was initiated breaches the
    /// SLA; answered after waiting longer than this, it is a `long_wait`.
    /// Also the service-level threshold of the queue metrics.
    pub sla: Duration,
    /// A routed call whose agent has not answered this long after routing is re-routed.
    pub agent_answer: Duration,
    /// A hold that reaches this raises an alert.
    pub hold_limit: Duration,
    /// An answered call that lasted less than this is flagged for review.
    pub short_call: Duration,
}

impl Default for RulesConfig {
    /// 30 s SLA, 15 s to answer, 60 s of hold, 10 s short call.
    fn default() -> RulesConfig {
        RulesConfig {
            sla: Duration::from_secs(30),
            agent_answer: Duration::from_secs(15),
            hold_limit: Duration::from_secs(60),
            short_call: Duration::from_secs(10),
        }
    }
}

named_enum! {
    /// What an alert is about.
    pub enum AlertKind: "alert" {
        /// Not answered within the SLA.
        SlaBreach = "sla_breach",
        /// Answered after waiting longer than the SLA (for the supervisor).
        LongWait = "long_wait",
        /// On hold longer than the hold limit.
        HoldExceeded = "hold_exceeded",
    }
}

impl AlertKind {
    /// The flag the call gets with this alert.
    pub const fn flag(self) -> Flag {
        match self {
            AlertKind::SlaBreach => Flag::SlaBreached,
            AlertKind::LongWait => Flag::LongWait,
            AlertKind::HoldExceeded => Flag::HoldExceeded,
        }
    }
}

/// An alert a rule decided to raise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RaisedAlert {
    /// What about.
    pub kind: AlertKind,
    /// The measured figure: seconds waited or held.
    pub seconds: f64,
    /// The threshold it passed, in seconds.
    pub threshold_seconds: f64,
}

/// What the rules decided: the engine records each part as audit-log
/// events, and sends alerts and survey requests to the notifier.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleOutcome {
    /// Alerts to raise; each also sets its [`AlertKind::flag`].
    pub alerts: Vec<RaisedAlert>,
    /// Flags to set, besides those of the alerts.
    pub flags: Vec<Flag>,
    /// The agent did not answer in time: record `call_retransfer`.
    pub retransfer: bool,
    /// Request the post-call survey.
    pub survey: bool,
}

impl RuleOutcome {
    /// Whether the rules decided nothing.
    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty() && self.flags.is_empty() && !self.retransfer && !self.survey
    }

    fn merge(&mut self, other: RuleOutcome) {
        self.alerts.extend(other.alerts);
        self.flags.extend(other.flags);
        self.retransfer |= other.retransfer;
        self.survey |= other.survey;
    }
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

/// Seconds from `from` to `to`, never negative, to the millisecond.
pub(crate) fn seconds_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    ((to - from).num_milliseconds().max(0) as f64) / 1000.0
}

fn is_waiting(status: CallStatus) -> bool {
    matches!(status, CallStatus::Initiated | CallStatus::Ringing | CallStatus::Routed)
}

/// The timers of `call` that have fired by `now`. A timer fires at its
/// threshold: a call still waiting exactly `sla` after it was initiated has
/// breached it.
///
/// The engine asks this when the call's deadline has passed, and before
/// applying any event to it, so a timer fires the same way whether the
/// worker was awake at the deadline or the next event brings the news.
pub fn due_timers(call: &Call, now: DateTime<Utc>, config: &RulesConfig) -> RuleOutcome {
    let mut outcome = RuleOutcome::default();
    let flags = call.flags();
    if let Some(initiated_at) = call.initiated_at()
        && is_waiting(call.status())
        && !flags.contains(Flag::SlaBreached)
        && now >= initiated_at + delta(config.sla)
    {
        outcome.alerts.push(RaisedAlert {
            kind: AlertKind::SlaBreach,
            seconds: seconds_between(initiated_at, now),
            threshold_seconds: config.sla.as_secs_f64(),
        });
    }
    if let Some(routed_at) = call.routed_at()
        && call.status() == CallStatus::Routed
        && now >= routed_at + delta(config.agent_answer)
    {
        outcome.retransfer = true;
    }
    if let Some(held_at) = call.held_at()
        && call.status() == CallStatus::OnHold
        && !flags.contains(Flag::HoldExceeded)
        && now >= held_at + delta(config.hold_limit)
    {
        outcome.alerts.push(RaisedAlert {
            kind: AlertKind::HoldExceeded,
            seconds: seconds_between(held_at, now),
            threshold_seconds: config.hold_limit.as_secs_f64(),
        });
    }
    outcome
}

/// What the rules decide on `event`, given `call` as the event left it
/// (answered, held, ended…) at the event's time `at`. Includes any timer
/// that `at` has reached ([`due_timers`]).
pub fn on_event(
    call: &Call,
    event: &Lifecycle,
    at: DateTime<Utc>,
    config: &RulesConfig,
) -> RuleOutcome {
    let mut outcome = RuleOutcome::default();
    match event {
        Lifecycle::Answered { .. } => {
            if let Some(wait) = call.wait_seconds()
                && wait > config.sla.as_secs_f64()
                && !call.flags().contains(Flag::LongWait)
            {
                outcome.alerts.push(RaisedAlert {
                    kind: AlertKind::LongWait,
                    seconds: wait,
                    threshold_seconds: config.sla.as_secs_f64(),
                });
            }
        }
        Lifecycle::Ended { .. } if call.was_answered() => {
            if let Some(duration) = call.duration_seconds()
                && duration < config.short_call.as_secs_f64()
            {
                outcome.flags.push(Flag::ShortCall);
            }
            outcome.survey = true;
        }
        _ => {}
    }
    outcome.merge(due_timers(call, at, config));
    outcome
}

/// When the earliest timer of `call` that has not fired yet will fire, if any.
pub fn next_deadline(call: &Call, config: &RulesConfig) -> Option<DateTime<Utc>> {
    let flags = call.flags();
    let sla = call
        .initiated_at()
        .filter(|_| is_waiting(call.status()) && !flags.contains(Flag::SlaBreached))
        .map(|t| t + delta(config.sla));
    let agent = call
        .routed_at()
        .filter(|_| call.status() == CallStatus::Routed)
        .map(|t| t + delta(config.agent_answer));
    let hold = call
        .held_at()
        .filter(|_| call.status() == CallStatus::OnHold && !flags.contains(Flag::HoldExceeded))
        .map(|t| t + delta(config.hold_limit));
    [sla, agent, hold].into_iter().flatten().min()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::{CallId, CallParts, Direction};

    fn t(seconds: f64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000, 0).unwrap()
            + TimeDelta::milliseconds((seconds * 1000.0) as i64)
    }

    /// An inbound call in `status`, initiated at 0 s; `edit` sets the rest.
    fn call(status: CallStatus, edit: impl FnOnce(&mut CallParts)) -> Call {
        let mut parts = CallParts {
            initiated_at: Some(t(0.0)),
            version: 1,
            ..CallParts::new(CallId::parse("c1").unwrap(), Direction::Inbound, status, t(0.0))
        };
        edit(&mut parts);
        Call::from_parts(parts)
    }

    fn alerts(outcome: &RuleOutcome) -> Vec<AlertKind> {
        outcome.alerts.iter().map(|a| a.kind).collect()
    }

    #[test]
    fn sla_breach_on_both_sides_of_30s() {
        let cfg = RulesConfig::default();
        let check = |status, now: f64, expected: &[AlertKind]| {
            let c = call(status, |_| {});
            assert_eq!(alerts(&due_timers(&c, t(now), &cfg)), expected, "{status} at {now}s");
        };
        check(CallStatus::Initiated, 29.999, &[]);
        check(CallStatus::Initiated, 30.0, &[AlertKind::SlaBreach]);
        check(CallStatus::Ringing, 31.0, &[AlertKind::SlaBreach]);
        check(CallStatus::Active, 45.0, &[]);
        check(CallStatus::Completed, 45.0, &[]);
        // Once: a flagged call does not breach again.
        let flagged = call(CallStatus::Initiated, |p| {
            p.flags.insert(Flag::SlaBreached);
        });
        assert!(due_timers(&flagged, t(90.0), &cfg).is_empty());
        assert_eq!(next_deadline(&flagged, &cfg), None);
        assert_eq!(next_deadline(&call(CallStatus::Initiated, |_| {}), &cfg), Some(t(30.0)));
    }

    #[test]
    fn agent_has_15s_to_answer() {
        let cfg = RulesConfig::default();
        let routed = call(CallStatus::Routed, |p| p.routed_at = Some(t(20.0)));
        assert!(!due_timers(&routed, t(34.999), &cfg).retransfer);
        assert!(due_timers(&routed, t(35.0), &cfg).retransfer);
        // The SLA timer (30 s) comes first, then the agent's (35 s).
        assert_eq!(next_deadline(&routed, &cfg), Some(t(30.0)));
        let breached = call(CallStatus::Routed, |p| {
            p.routed_at = Some(t(20.0));
            p.flags.insert(Flag::SlaBreached);
        });
        assert_eq!(next_deadline(&breached, &cfg), Some(t(35.0)));
    }

    #[test]
    fn long_wait_on_both_sides_of_30s() {
        let cfg = RulesConfig::default();
        let check = |wait: f64, expected: &[AlertKind]| {
            let c = call(CallStatus::Active, |p| {
                p.answered_at = Some(t(wait));
                p.wait_seconds = Some(wait);
            });
            let outcome =
                on_event(&c, &Lifecycle::Answered { wait_time: Some(wait) }, t(wait), &cfg);
            assert_eq!(alerts(&outcome), expected, "wait {wait}");
        };
        check(30.0, &[]);
        check(30.5, &[AlertKind::LongWait]);
        check(5.0, &[]);
    }

    #[test]
    fn hold_exceeded_by_clock_and_by_reported_duration() {
        let cfg = RulesConfig::default();
        let held = call(CallStatus::OnHold, |p| {
            p.answered_at = Some(t(5.0));
            p.held_at = Some(t(10.0));
        });
        assert!(due_timers(&held, t(69.999), &cfg).is_empty());
        assert_eq!(alerts(&due_timers(&held, t(70.0), &cfg)), [AlertKind::HoldExceeded]);
        assert_eq!(next_deadline(&held, &cfg), Some(t(70.0)));
        // A hold reported as already 61 s long (held_at set 61 s back) alerts at once.
        let reported = call(CallStatus::OnHold, |p| p.held_at = Some(t(39.0)));
        let event = Lifecycle::Hold { hold_duration: Some(61.0) };
        assert_eq!(alerts(&on_event(&reported, &event, t(100.0), &cfg)), [AlertKind::HoldExceeded]);
        let short = call(CallStatus::OnHold, |p| p.held_at = Some(t(41.0)));
        let event = Lifecycle::Hold { hold_duration: Some(59.0) };
        assert!(on_event(&short, &event, t(100.0), &cfg).is_empty());
    }

    #[test]
    fn short_call_and_survey_on_end() {
        let cfg = RulesConfig::default();
        let ended = |duration: f64| {
            let c = call(CallStatus::Completed, |p| {
                p.answered_at = Some(t(1.0));
                p.duration_seconds = Some(duration);
            });
            on_event(
                &c,
                &Lifecycle::Ended { end_reason: None, duration: Some(duration) },
                t(1.0 + duration),
                &cfg,
            )
        };
        assert_eq!(
            ended(9.9),
            RuleOutcome { flags: vec![Flag::ShortCall], survey: true, ..Default::default() }
        );
        assert_eq!(ended(10.0), RuleOutcome { survey: true, ..Default::default() });
        // A call never answered gets neither.
        let missed = call(CallStatus::Abandoned, |_| {});
        let outcome =
            on_event(&missed, &Lifecycle::Ended { end_reason: None, duration: None }, t(3.0), &cfg);
        assert!(outcome.is_empty());
    }

    #[test]
    fn thresholds_are_configuration() {
        let cfg = RulesConfig { sla: Duration::from_secs(5), ..RulesConfig::default() };
        let c = call(CallStatus::Initiated, |_| {});
        assert_eq!(alerts(&due_timers(&c, t(5.0), &cfg)), [AlertKind::SlaBreach]);
        assert_eq!(next_deadline(&c, &cfg), Some(t(5.0)));
    }
}
