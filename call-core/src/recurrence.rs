//! Recurring calls: when each occurrence of a series falls, decided purely.
//!
//! A series is a cron expression read in a time zone (`0 9 * * MON-FRI` in
//! `Europe/Paris` is 09:00 Paris time on weekdays, whatever the offset
//! that day), ended by a count of occurrences or a last moment. The cron
//! expression is parsed and walked by `croner`, which follows the Open Cron
//! Pattern Specification across clock changes:
//!
//! - **a skipped hour** (clocks go forward): an occurrence whose local time
//!   does not exist that day fires once, at the first instant after the
//!   gap (`30 2 * * *` fires at 03:00 on the day Paris skips 02:00–03:00);
//! - **a repeated hour** (clocks go back): a fixed-time occurrence fires
//!   once, at the first of the two instants (`30 2 * * *` fires at 02:30
//!   CEST, not again at 02:30 CET); a pattern that fires every so many
//!   minutes fires at both, as they are distinct moments.
//!
//! An occurrence is made when the one before it is claimed (see the
//! engine), at the first firing after the one before it. When that firing
//! is more than [`MISFIRE_GRACE`] in the past (nothing ran for a while),
//! the missed firings are coalesced into one at the latest of them, placed
//! at once, as Quartz's "fire once now" misfire rule does: a callee is not
//! rung three times in a row for three missed days.

use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Timelike, Utc};
use chrono_tz::Tz;
use croner::Cron;

use crate::ValidationError;

/// How late the next firing may be before missed firings are coalesced.
pub const MISFIRE_GRACE: TimeDelta = TimeDelta::hours(1);

/// The most occurrences a series may ask for.
pub const MAX_COUNT: u32 = 100_000;

/// When a series' occurrences fall.
#[derive(Debug, Clone)]
pub struct Recurrence {
    cron: Cron,
    pattern: String,
    time_zone: Tz,
    count: Option<u32>,
    until: Option<DateTime<Utc>>,
}

impl PartialEq for Recurrence {
    fn eq(&self, other: &Recurrence) -> bool {
        (&self.pattern, self.time_zone, self.count, self.until)
            == (&other.pattern, other.time_zone, other.count, other.until)
    }
}

impl Recurrence {
    /// A recurrence: a five-field cron expression (minute hour day month
    /// weekday, with names such as `MON-FRI` and nicknames such as
    /// `@daily`), an IANA time zone, and at most `count` occurrences or
    /// none after `until` (both may be given; the first to end wins; with
    /// neither, it goes on until canceled).
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `recurrence.cron`, `recurrence.time_zone`
    /// or `recurrence.count` naming what is wrong.
    pub fn new(
        cron: &str,
        time_zone: &str,
        count: Option<u32>,
        until: Option<DateTime<Utc>>,
    ) -> Result<Recurrence, ValidationError> {
        let pattern = cron.trim().to_owned();
        if pattern.split_whitespace().count() > 5 && !pattern.starts_with('@') {
            return Err(ValidationError::new(
                "recurrence.cron",
                format!(
                    "{pattern:?} has more than five fields; use minute hour day month weekday, \
                     such as \"0 9 * * MON-FRI\""
                ),
            ));
        }
        let parsed = Cron::from_str(&pattern).map_err(|e| {
            ValidationError::new(
                "recurrence.cron",
                format!("{pattern:?} is not a cron expression such as \"0 9 * * MON-FRI\": {e}"),
            )
        })?;
        let time_zone = Tz::from_str(time_zone.trim()).map_err(|_| {
            ValidationError::new(
                "recurrence.time_zone",
                format!("{time_zone:?} is not an IANA time zone such as \"Europe/Paris\""),
            )
        })?;
        if let Some(count) = count
            && !(1..=MAX_COUNT).contains(&count)
        {
            return Err(ValidationError::new(
                "recurrence.count",
                format!("must be between 1 and {MAX_COUNT}, got {count}"),
            ));
        }
        let recurrence = Recurrence {
            cron: parsed,
            pattern,
            time_zone,
            count,
            until: until.map(crate::ports::to_micros),
        };
        // A pattern that never fires (`0 0 30 2 *`) is refused now, not at
        // the first claim.
        if recurrence.firing_after(DateTime::<Utc>::UNIX_EPOCH, true).is_none() {
            return Err(ValidationError::new(
                "recurrence.cron",
                format!("{:?} never fires", recurrence.pattern),
            ));
        }
        Ok(recurrence)
    }

    /// The cron expression, as given (trimmed).
    pub fn cron(&self) -> &str {
        &self.pattern
    }

    /// The zone the expression is read in.
    pub fn time_zone(&self) -> Tz {
        self.time_zone
    }

    /// At most this many occurrences.
    pub fn count(&self) -> Option<u32> {
        self.count
    }

    /// No occurrence after this moment.
    pub fn until(&self) -> Option<DateTime<Utc>> {
        self.until
    }

    /// When the first occurrence falls: the first firing at or after
    /// `start`. `None` when there is none before `until`.
    pub fn first(&self, start: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.within_until(self.firing_after(start, true)?)
    }

    /// When occurrence `number + 1` falls, occurrence `number` having been
    /// due at `previous`, asked at `now`: the first firing after
    /// `previous`, or, when that is more than [`MISFIRE_GRACE`] before
    /// `now`, the latest firing at or before `now` (the missed ones
    /// coalesced into it). `None` when the series is over: `count`
    /// occurrences made, or the next firing after `until`.
    pub fn next(
        &self,
        previous: DateTime<Utc>,
        number: u32,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        if self.count.is_some_and(|count| number >= count) {
            return None;
        }
        let mut next = self.firing_after(previous, false)?;
        if next + MISFIRE_GRACE < now {
            let local = now.with_timezone(&self.time_zone);
            let latest = self.cron.find_previous_occurrence(&local, true).ok()?;
            next = latest.with_timezone(&Utc).max(next);
        }
        self.within_until(next)
    }

    fn within_until(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.until.is_none_or(|until| at <= until).then_some(at)
    }

    /// The first firing after `t` (or at it, when `inclusive`), in UTC,
    /// to the microsecond as stores keep times.
    fn firing_after(&self, t: DateTime<Utc>, inclusive: bool) -> Option<DateTime<Utc>> {
        // croner counts in whole seconds: a fraction would let an inclusive
        // search answer the second `t` is in, which is before `t`.
        let t = if inclusive && t.timestamp_subsec_nanos() > 0 {
            t.with_nanosecond(0)? + TimeDelta::seconds(1)
        } else {
            t
        };
        let local = t.with_timezone(&self.time_zone);
        let next = self.cron.find_next_occurrence(&local, inclusive).ok()?;
        Some(crate::ports::to_micros(next.with_timezone(&Utc)))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn paris(cron: &str) -> Recurrence {
        Recurrence::new(cron, "Europe/Paris", None, None).unwrap()
    }

    /// Every occurrence from `start`, each asked for when it falls due.
    fn occurrences(recurrence: &Recurrence, start: &str, n: usize) -> Vec<String> {
        let mut at = recurrence.first(utc(start)).unwrap();
        let mut seen = vec![at];
        while seen.len() < n {
            let Some(next) = recurrence.next(at, seen.len() as u32, at) else { break };
            at = next;
            seen.push(at);
        }
        seen.iter().map(|t| t.to_rfc3339()).collect()
    }

    #[test]
    fn weekdays_at_nine_in_paris_keep_nine_across_the_clock_change() {
        // Paris goes from CEST (+2) to CET (+1) on Sunday 2026-10-25.
        let weekdays = paris("0 9 * * MON-FRI");
        assert_eq!(
            occurrences(&weekdays, "2026-10-22T00:00:00Z", 4),
            [
                "2026-10-22T07:00:00+00:00", // Thursday, 09:00 CEST
                "2026-10-23T07:00:00+00:00", // Friday
                "2026-10-26T08:00:00+00:00", // Monday, 09:00 CET: no weekend
                "2026-10-27T08:00:00+00:00",
            ]
        );
    }

    #[test]
    fn an_occurrence_in_a_skipped_hour_fires_once_after_the_gap() {
        // 2027-03-28: Paris skips 02:00–03:00.
        let nightly = paris("30 2 * * *");
        assert_eq!(
            occurrences(&nightly, "2027-03-27T00:00:00Z", 3),
            [
                "2027-03-27T01:30:00+00:00", // 02:30 CET
                "2027-03-28T01:00:00+00:00", // 03:00 CEST, the first instant after the gap
                "2027-03-29T00:30:00+00:00", // 02:30 CEST
            ]
        );
    }

    #[test]
    fn an_occurrence_in_a_repeated_hour_fires_once() {
        // 2026-10-25: Paris lives 02:00–03:00 twice.
        let nightly = paris("30 2 * * *");
        assert_eq!(
            occurrences(&nightly, "2026-10-24T00:00:00Z", 3),
            [
                "2026-10-24T00:30:00+00:00", // 02:30 CEST
                "2026-10-25T00:30:00+00:00", // 02:30 CEST, the first of the two
                "2026-10-26T01:30:00+00:00", // 02:30 CET, the next day: not 01:30Z on the 25th
            ]
        );
    }

    #[test]
    fn count_and_until_end_a_series() {
        let three = Recurrence::new("0 9 * * *", "UTC", Some(3), None).unwrap();
        assert_eq!(occurrences(&three, "2026-01-01T00:00:00Z", 10).len(), 3);
        let at = utc("2026-01-01T09:00:00Z");
        assert_eq!(three.next(at, 2, at), Some(utc("2026-01-02T09:00:00Z")), "the third is made");
        assert_eq!(three.next(at, 3, at), None, "no fourth");

        let until = utc("2026-01-03T09:00:00Z");
        let dated = Recurrence::new("0 9 * * *", "UTC", None, Some(until)).unwrap();
        assert_eq!(occurrences(&dated, "2026-01-01T00:00:00Z", 10).len(), 3, "until is included");
        let after = Recurrence::new("0 9 * * *", "UTC", None, Some(until - TimeDelta::seconds(1)));
        assert_eq!(occurrences(&after.unwrap(), "2026-01-01T00:00:00Z", 10).len(), 2);
        assert_eq!(dated.first(utc("2026-01-03T09:00:01Z")), None, "nothing left to make");
    }

    #[test]
    fn missed_firings_are_coalesced_into_one_beyond_the_grace() {
        let daily = Recurrence::new("0 9 * * *", "UTC", None, None).unwrap();
        let monday = utc("2026-01-05T09:00:00Z");
        let cases = [
            // (asked at, next occurrence)
            ("2026-01-05T09:00:00Z", "2026-01-06T09:00:00Z"), // on time
            ("2026-01-06T10:00:00Z", "2026-01-06T09:00:00Z"), // the next is late by the grace exactly: kept
            ("2026-01-06T10:00:01Z", "2026-01-06T09:00:00Z"), // latest firing is that same one
            ("2026-01-08T12:00:00Z", "2026-01-08T09:00:00Z"), // Tue and Wed skipped, Thu placed now
            ("2026-01-08T08:00:00Z", "2026-01-07T09:00:00Z"), // Tue skipped, Wed placed now
        ];
        for (now, expected) in cases {
            assert_eq!(daily.next(monday, 1, utc(now)), Some(utc(expected)), "asked at {now}");
        }
    }

    #[test]
    fn bad_values_name_their_field() {
        let field = |cron: &str, zone: &str, count: Option<u32>| {
            Recurrence::new(cron, zone, count, None).map(|_| ()).map_err(|e| e.field())
        };
        assert_eq!(field("0 9 * * MON-FRI", "Europe/Paris", Some(10)), Ok(()));
        assert_eq!(field("@daily", "America/New_York", None), Ok(()));
        assert_eq!(field("every day", "UTC", None), Err("recurrence.cron"));
        assert_eq!(field("0 0 9 * * MON", "UTC", None), Err("recurrence.cron"), "no seconds");
        assert_eq!(field("0 0 30 2 *", "UTC", None), Err("recurrence.cron"), "never fires");
        assert_eq!(field("0 9 * * *", "Mars/Olympus", None), Err("recurrence.time_zone"));
        assert_eq!(field("0 9 * * *", "UTC", Some(0)), Err("recurrence.count"));
        assert_eq!(field("0 9 * * *", "UTC", Some(MAX_COUNT + 1)), Err("recurrence.count"));
    }

    #[test]
    fn times_are_kept_to_the_microsecond() {
        let every_minute = Recurrence::new("* * * * *", "UTC", None, None).unwrap();
        let start = Utc.timestamp_opt(1_800_000_000, 123_456_789).unwrap();
        let first = every_minute.first(start).unwrap();
        assert_eq!(first.timestamp_subsec_nanos(), 0);
        assert!(first > start);
    }
}
