//! Redial by outcome: when a placed call ends busy, unanswered or failed
//! by the provider, dial the number again later, as a new call linked to
//! the one before it.
//!
//! A [`Redial`] policy says which outcomes are dialled again, how many
//! attempts a call has at most (the first dial counts: `max_attempts = 3`
//! is the first dial and two redials), and how long after the end of an
//! attempt the next one is due. [`Redial::next_due`] decides, purely, when
//! (and whether) a call that has just ended is dialled again; the engine
//! makes the next attempt in the same write that records the end, so one
//! is never written without the other.
//!
//! Each attempt is an ordinary call with its own outcome, audit log and
//! place in the number's history; it names the attempt before it
//! ([`Call::redial_of`]) and, once redialled, the one after it
//! ([`Call::redialed_as`]). A redial is not a retry of a placement: a
//! placement's transient provider errors are retried within the one
//! attempt, by the worker's [`RetryPolicy`](crate::RetryPolicy).

use std::{fmt, str::FromStr, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};

use crate::{Call, CallStatus, Direction, EndReason, Flag, ValidationError};

/// The most attempts a policy may ask for, the first dial included.
pub const MAX_ATTEMPTS: u32 = 20;

/// The longest delay a policy may ask for before an attempt.
pub const MAX_DELAY: Duration = Duration::from_secs(30 * 86_400);

/// The attempts of a policy given by its outcomes alone ([`Redial::from_flags`]).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

/// The delay of a policy given by its outcomes alone ([`Redial::from_flags`]).
pub const DEFAULT_DELAY: Duration = Duration::from_secs(600);

/// The outcomes a policy may dial again, in their canonical order.
const OUTCOMES: [EndReason; 3] = [EndReason::Busy, EndReason::NoAnswer, EndReason::Failed];

/// Which ended calls are dialled again, how often, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redial {
    /// Among [`OUTCOMES`], in their order, without repeats.
    on: Vec<EndReason>,
    max_attempts: u32,
    delay: Duration,
}

impl Redial {
    /// A policy dialling again on the outcomes `on` (`busy`, `no_answer`,
    /// `failed`), up to `max_attempts` attempts in all, each `delay` after
    /// the end of the one before.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `redial.on` for an empty list or another
    /// outcome, on `redial.max_attempts` outside 1 to [`MAX_ATTEMPTS`], on
    /// `redial.delay` for less than a second or more than [`MAX_DELAY`].
    pub fn new(
        on: impl IntoIterator<Item = EndReason>,
        max_attempts: u32,
        delay: Duration,
    ) -> Result<Redial, ValidationError> {
        let mut outcomes = Vec::new();
        for outcome in on {
            if !OUTCOMES.contains(&outcome) {
                return Err(ValidationError::new(
                    "redial.on",
                    format!("{outcome:?} is not redialled: use busy, no_answer or failed"),
                ));
            }
            outcomes.push(outcome);
        }
        outcomes.sort_by_key(|o| OUTCOMES.iter().position(|known| known == o));
        outcomes.dedup();
        if outcomes.is_empty() {
            return Err(ValidationError::new(
                "redial.on",
                "name at least one outcome to redial: busy, no_answer or failed",
            ));
        }
        if !(1..=MAX_ATTEMPTS).contains(&max_attempts) {
            return Err(ValidationError::new(
                "redial.max_attempts",
                format!(
                    "{max_attempts} is not between 1 and {MAX_ATTEMPTS} (the first dial counts)"
                ),
            ));
        }
        if delay < Duration::from_secs(1) || delay > MAX_DELAY {
            return Err(ValidationError::new(
                "redial.delay",
                format!("{} is not between 1s and 30d", show_duration(delay)),
            ));
        }
        Ok(Redial { on: outcomes, max_attempts, delay })
    }

    /// A policy from its parts as written: outcome names, a count and a
    /// duration such as `10m` ([`parse_duration`]).
    ///
    /// # Errors
    ///
    /// As [`Redial::new`]; also on `redial.on` for an unknown name and on
    /// `redial.delay` for text that is not a duration.
    pub fn parse<'a>(
        on: impl IntoIterator<Item = &'a str>,
        max_attempts: u32,
        delay: &str,
    ) -> Result<Redial, ValidationError> {
        let on = on.into_iter().map(outcome).collect::<Result<Vec<_>, _>>()?;
        Redial::new(on, max_attempts, parse_duration("redial.delay", delay)?)
    }

    /// A policy from the options of a command line or the columns of an
    /// import: the outcomes as one list (`busy,no_answer`; commas, spaces
    /// or `|` between them), the attempts ([`DEFAULT_MAX_ATTEMPTS`] when
    /// absent) and the delay ([`DEFAULT_DELAY`] when absent). `None` when
    /// none of the three is given.
    ///
    /// # Errors
    ///
    /// As [`Redial::parse`]; attempts or a delay without outcomes are
    /// refused on `redial.on`.
    pub fn from_flags(
        on: Option<&str>,
        max_attempts: Option<u32>,
        delay: Option<&str>,
    ) -> Result<Option<Redial>, ValidationError> {
        let on = on.map(str::trim).filter(|on| !on.is_empty());
        let Some(on) = on else {
            if max_attempts.is_some() || delay.is_some() {
                return Err(ValidationError::new(
                    "redial.on",
                    "say which outcomes to redial (busy, no_answer, failed) with the attempts or delay",
                ));
            }
            return Ok(None);
        };
        let names = on.split([',', ' ', '|']).filter(|name| !name.is_empty());
        let max_attempts = max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS);
        let delay = match delay {
            Some(delay) => parse_duration("redial.delay", delay)?,
            None => DEFAULT_DELAY,
        };
        let on = names.map(outcome).collect::<Result<Vec<_>, _>>()?;
        Redial::new(on, max_attempts, delay).map(Some)
    }

    /// The outcomes dialled again.
    pub fn on(&self) -> &[EndReason] {
        &self.on
    }

    /// The most attempts, the first dial included.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// How long after an attempt ends the next is due.
    pub fn delay(&self) -> Duration {
        self.delay
    }

    /// When `call`, which has ended, is to be dialled again; `None` when it
    /// is not:
    /// - its outcome is `busy`, `no_answer`, or `failed` *by the provider*
    ///   (the provider was asked and the outcome is known: not a call the
    ///   scheduler failed, nor one flagged `outcome_unknown`, which may have
    ///   rung), and the policy names that outcome;
    /// - it is attempt *n* of at most `max_attempts`, with *n* below it;
    /// - it has not been redialled already.
    ///
    /// The answer is the end plus the delay; the engine then moves it into
    /// the call's calling window.
    pub fn next_due(&self, call: &Call) -> Option<DateTime<Utc>> {
        let outcome = Outcome::of(call)?;
        let attempt_left = call.redial_attempt() < self.max_attempts;
        let named = self.on.contains(&outcome.0);
        let ended_at = call.ended_at()?;
        (named && attempt_left && call.redialed_as().is_none())
            .then(|| ended_at + TimeDelta::from_std(self.delay).unwrap_or(TimeDelta::MAX))
    }
}

/// An outcome by its name.
fn outcome(name: &str) -> Result<EndReason, ValidationError> {
    name.trim().parse::<EndReason>().map_err(|_| {
        ValidationError::new(
            "redial.on",
            format!("{name:?} is not an outcome: use busy, no_answer or failed"),
        )
    })
}

/// The redialable outcome of an ended call.
struct Outcome(EndReason);

impl Outcome {
    fn of(call: &Call) -> Option<Outcome> {
        if call.direction() != Direction::Outbound {
            return None;
        }
        let reason = match call.status() {
            CallStatus::Busy => EndReason::Busy,
            CallStatus::NoAnswer => EndReason::NoAnswer,
            CallStatus::Failed
                if call.attempts() > 0 && !call.flags().contains(Flag::OutcomeUnknown) =>
            {
                EndReason::Failed
            }
            _ => return None,
        };
        Some(Outcome(reason))
    }
}

/// The stored form, `on=busy,no_answer;max=3;delay=10m`, read back by [`FromStr`].
impl fmt::Display for Redial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let on: Vec<&str> = self.on.iter().map(|o| o.as_str()).collect();
        write!(
            f,
            "on={};max={};delay={}",
            on.join(","),
            self.max_attempts,
            show_duration(self.delay)
        )
    }
}

impl FromStr for Redial {
    type Err = ValidationError;

    fn from_str(text: &str) -> Result<Redial, ValidationError> {
        let (mut on, mut max, mut delay) = (None, None, None);
        for part in text.split(';').filter(|p| !p.is_empty()) {
            match part.split_once('=') {
                Some(("on", value)) => on = Some(value),
                Some(("max", value)) => max = Some(value),
                Some(("delay", value)) => delay = Some(value),
                _ => {
                    return Err(ValidationError::new(
                        "redial",
                        format!("{part:?} is not a part of a redial policy"),
                    ));
                }
            }
        }
        let missing = |part| ValidationError::new("redial", format!("{text:?} has no {part}"));
        let max = max.ok_or_else(|| missing("max"))?;
        let max = max.parse().map_err(|_| {
            ValidationError::new("redial.max_attempts", format!("{max:?} is not a count"))
        })?;
        let delay = delay.ok_or_else(|| missing("delay"))?;
        Redial::parse(on.ok_or_else(|| missing("on"))?.split(','), max, delay)
    }
}

/// Parses a duration as people type it: a number and a unit, or several
/// (`90s`, `10m`, `2h`, `1d`, `1h30m`, `1h 30m`, `250ms`, `1.5h`, `2 days`),
/// with `humantime`'s units; to the millisecond at the finest.
///
/// # Errors
///
/// A [`ValidationError`] on `field` for anything else, a negative duration
/// or one finer than a millisecond.
pub fn parse_duration(field: &'static str, input: &str) -> Result<Duration, ValidationError> {
    let refuse = |why: String| ValidationError::new(field, format!("{input:?} {why}"));
    let text = input.trim();
    if let Some(forward) = text.strip_prefix('-') {
        return Err(refuse(format!("is negative: a duration counts forward, as in {forward}")));
    }
    let duration = humantime::parse_duration(text).map_err(|_| {
        refuse("is not a duration: use a number and a unit, as in 90s, 5m, 2h, 1d or 1h30m".into())
    })?;
    if duration.subsec_nanos() % 1_000_000 != 0 {
        return Err(refuse("is finer than a millisecond".into()));
    }
    Ok(duration)
}

/// A duration as [`parse_duration`] reads it, in its largest whole units:
/// `10m`, `1h30m`, `1d`, `45s`, `250ms`, `0s`.
pub fn show_duration(duration: Duration) -> String {
    let mut millis = duration.as_millis();
    if millis == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)] {
        if millis >= size {
            out.push_str(&format!("{}{unit}", millis / size));
            millis %= size;
        }
    }
    if millis > 0 {
        out.push_str(&format!("{millis}ms"));
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::{CallId, CallParts, Flags, PhoneNumber};

    fn policy(on: &[&str], max: u32, delay: &str) -> Redial {
        Redial::parse(on.iter().copied(), max, delay).unwrap()
    }

    fn ended(status: CallStatus, attempt: u32) -> Call {
        let t = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
        Call::from_parts(CallParts {
            to: Some(PhoneNumber::parse("+33612345678").unwrap()),
            attempts: 1,
            ended_at: Some(t),
            redial_attempt: attempt,
            ..CallParts::new(CallId::generate(), Direction::Outbound, status, t)
        })
    }

    #[test]
    fn a_policy_reads_and_shows_the_same() {
        let redial = policy(&["no_answer", "busy", "busy"], 3, "10m");
        assert_eq!(redial.on(), &[EndReason::Busy, EndReason::NoAnswer]);
        assert_eq!(redial.to_string(), "on=busy,no_answer;max=3;delay=10m");
        assert_eq!(redial.to_string().parse::<Redial>().unwrap(), redial);
        let long = policy(&["failed"], 20, "1d1h30m");
        assert_eq!(long.to_string().parse::<Redial>().unwrap(), long);
    }

    #[test]
    fn a_policy_is_refused_on_each_side_of_its_bounds() {
        let field = |on: &[&str], max, delay| Redial::parse(on.iter().copied(), max, delay);
        assert_eq!(field(&[], 3, "10m").unwrap_err().field(), "redial.on");
        assert_eq!(field(&["completed"], 3, "10m").unwrap_err().field(), "redial.on");
        assert_eq!(field(&["fax"], 3, "10m").unwrap_err().field(), "redial.on");
        assert_eq!(field(&["busy"], 0, "10m").unwrap_err().field(), "redial.max_attempts");
        assert!(field(&["busy"], 1, "10m").is_ok());
        assert!(field(&["busy"], MAX_ATTEMPTS, "10m").is_ok());
        let over = field(&["busy"], MAX_ATTEMPTS + 1, "10m").unwrap_err();
        assert_eq!(over.field(), "redial.max_attempts");
        assert_eq!(field(&["busy"], 3, "999ms").unwrap_err().field(), "redial.delay");
        assert!(field(&["busy"], 3, "1s").is_ok());
        assert!(field(&["busy"], 3, "30d").is_ok());
        assert_eq!(field(&["busy"], 3, "30d1s").unwrap_err().field(), "redial.delay");
        assert_eq!(field(&["busy"], 3, "ten minutes").unwrap_err().field(), "redial.delay");
    }

    #[test]
    fn an_ended_call_is_redialled_when_its_outcome_is_named_and_attempts_are_left() {
        let redial = policy(&["busy", "no_answer"], 3, "10m");
        let busy = ended(CallStatus::Busy, 1);
        let due = busy.ended_at().unwrap() + TimeDelta::minutes(10);
        assert_eq!(redial.next_due(&busy), Some(due));
        assert_eq!(redial.next_due(&ended(CallStatus::NoAnswer, 2)), Some(due));
        // The last attempt allowed is not redialled.
        assert_eq!(redial.next_due(&ended(CallStatus::Busy, 3)), None);
        // Outcomes the policy does not name, and those never redialled.
        assert_eq!(redial.next_due(&ended(CallStatus::Failed, 1)), None);
        for status in [CallStatus::Completed, CallStatus::Canceled, CallStatus::Abandoned] {
            assert_eq!(
                policy(&["busy", "no_answer", "failed"], 3, "1m").next_due(&ended(status, 1)),
                None
            );
        }
    }

    #[test]
    fn only_a_failure_the_provider_reported_is_redialled() {
        let redial = policy(&["failed"], 2, "1m");
        let failed = ended(CallStatus::Failed, 1);
        assert!(redial.next_due(&failed).is_some());
        // The scheduler failed it before asking the provider (its window
        // can no longer open): dialling again would fail the same way.
        let mut parts = failed.parts().clone();
        parts.attempts = 0;
        assert_eq!(redial.next_due(&Call::from_parts(parts)), None);
        // It may have rung: dialling again could ring twice.
        let mut parts = failed.parts().clone();
        parts.flags = Flags::EMPTY;
        parts.flags.insert(Flag::OutcomeUnknown);
        assert_eq!(redial.next_due(&Call::from_parts(parts)), None);
    }

    #[test]
    fn a_call_is_redialled_once() {
        let redial = policy(&["busy"], 3, "1m");
        let mut parts = ended(CallStatus::Busy, 1).parts().clone();
        parts.redialed_as = Some(CallId::generate());
        assert_eq!(redial.next_due(&Call::from_parts(parts)), None);
    }

    #[test]
    fn flags_default_the_attempts_and_delay_and_need_outcomes() {
        assert_eq!(Redial::from_flags(None, None, None).unwrap(), None);
        let given = Redial::from_flags(Some("no_answer, busy"), None, None).unwrap().unwrap();
        assert_eq!(
            given,
            Redial::new([EndReason::Busy, EndReason::NoAnswer], 3, DEFAULT_DELAY).unwrap()
        );
        let full = Redial::from_flags(Some("failed|busy"), Some(5), Some("1h")).unwrap().unwrap();
        assert_eq!(full.to_string(), "on=busy,failed;max=5;delay=1h");
        let orphan = Redial::from_flags(None, Some(3), None).unwrap_err();
        assert_eq!(orphan.field(), "redial.on");
        assert_eq!(
            Redial::from_flags(Some("  "), None, Some("1m")).unwrap_err().field(),
            "redial.on"
        );
        assert_eq!(
            Redial::from_flags(Some("busy"), Some(0), None).unwrap_err().field(),
            "redial.max_attempts"
        );
    }

    #[test]
    fn durations_read_and_show() {
        let secs = |s| parse_duration("d", s).unwrap().as_secs();
        assert_eq!(secs("90s"), 90);
        assert_eq!(secs("10m"), 600);
        assert_eq!(secs("1h30m"), 5_400);
        assert_eq!(secs("1d"), 86_400);
        assert_eq!(parse_duration("d", "1s250ms").unwrap(), Duration::from_millis(1_250));
        assert_eq!(secs("1.5h"), 5_400);
        assert_eq!(secs("1h 30m"), 5_400);
        assert_eq!(secs("2 days"), 172_800);
        for bad in ["", "10", "m", "10x", "-1s", "1.5ms", "99999999999999999999s"] {
            assert!(parse_duration("d", bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_duration("delay", " 10x ").unwrap_err().message(),
            "\" 10x \" is not a duration: use a number and a unit, as in 90s, 5m, 2h, 1d or 1h30m"
        );
        assert_eq!(
            parse_duration("delay", "-5m").unwrap_err().message(),
            "\"-5m\" is negative: a duration counts forward, as in 5m"
        );
        for text in ["10m", "1h30m", "1d", "1m30s", "45s", "250ms", "0s"] {
            assert_eq!(show_duration(parse_duration("d", text).unwrap()), text);
        }
        assert_eq!(show_duration(Duration::from_secs(90)), "1m30s");
    }
}
