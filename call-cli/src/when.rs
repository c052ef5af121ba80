//! Times and durations as people type them, and times as people read them.
//!
//! A TIME is RFC 3339 (`2026-12-01T09:30:00Z`, `2026-12-01T09:30:00+01:00`)
//! or a local date-time (`2026-12-01 09:30`, seconds optional, `T` or a
//! space between), read in the zone of `--tz` or else the machine's. A
//! DATE is `2026-12-01`, or a TIME. A DURATION is one or more amounts with
//! a unit: `90s`, `5m`, `2h`, `1d`, `1h30m`, `250ms`.

use std::time::Duration;

use chrono::{DateTime, Local, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::error::CliError;

/// The zone local date-times are read and shown in.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Zone {
    /// The machine's zone.
    Local,
    /// A zone named with `--tz`.
    Named(Tz),
}

impl Zone {
    /// The zone `--tz` names, or the machine's.
    pub(crate) fn new(tz: Option<&str>) -> Result<Zone, CliError> {
        match tz {
            None => Ok(Zone::Local),
            Some(name) => name.parse::<Tz>().map(Zone::Named).map_err(|_| {
                CliError::usage(format!(
                    "invalid --tz: unknown time zone {name:?}, expected an IANA name such as Europe/Paris or UTC"
                ))
            }),
        }
    }

    /// Reads a local date-time in this zone.
    fn resolve(self, naive: NaiveDateTime, input: &str) -> Result<DateTime<Utc>, String> {
        let resolved = match self {
            Zone::Local => Local.from_local_datetime(&naive).map(|t| t.with_timezone(&Utc)),
            Zone::Named(tz) => tz.from_local_datetime(&naive).map(|t| t.with_timezone(&Utc)),
        };
        match resolved {
            LocalResult::Single(t) => Ok(t),
            // Clocks went back: the time happened twice; the first is meant
            // more often than not ("09:30 before the change"). Say so in docs.
            LocalResult::Ambiguous(first, _) => Ok(first),
            LocalResult::None => Err(format!(
                "{input:?} does not exist in this time zone (the clocks skip it); give an offset, as in 2026-03-29T02:30:00+01:00"
            )),
        }
    }

    /// A time for a table: `2026-12-01 09:30:00` in this zone.
    pub(crate) fn show(self, t: DateTime<Utc>) -> String {
        const FORMAT: &str = "%Y-%m-%d %H:%M:%S";
        match self {
            Zone::Local => t.with_timezone(&Local).format(FORMAT).to_string(),
            Zone::Named(tz) => t.with_timezone(&tz).format(FORMAT).to_string(),
        }
    }

    /// A time for a timeline: `09:30:00.123` in this zone.
    pub(crate) fn show_precise(self, t: DateTime<Utc>) -> String {
        const FORMAT: &str = "%Y-%m-%d %H:%M:%S%.3f";
        match self {
            Zone::Local => t.with_timezone(&Local).format(FORMAT).to_string(),
            Zone::Named(tz) => t.with_timezone(&tz).format(FORMAT).to_string(),
        }
    }
}

const LOCAL_FORMATS: [&str; 4] =
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"];

/// Parses a TIME: RFC 3339, or a local date-time in `zone`.
///
/// `flag` names the option in the error (`--at`).
pub(crate) fn parse_time(flag: &str, input: &str, zone: Zone) -> Result<DateTime<Utc>, CliError> {
    let input = input.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(input) {
        return Ok(t.with_timezone(&Utc));
    }
    for format in LOCAL_FORMATS {
        if let Ok(naive) = NaiveDateTime::parse_from_str(input, format) {
            return zone.resolve(naive, input).map_err(|why| invalid(flag, why));
        }
    }
    Err(invalid(
        flag,
        format!(
            "{input:?} is not a time: use RFC 3339 (2026-12-01T09:30:00Z) or a local date-time (2026-12-01 09:30)"
        ),
    ))
}

/// Which end of a date range a DATE bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bound {
    /// `--since`: from the start of that day, or that instant.
    Start,
    /// `--until`: to the end of that day, or that instant, included.
    End,
}

/// Parses a DATE or TIME into the exclusive/inclusive bound a history
/// query wants: `[since, until)`. A bare date covers its whole local day,
/// so `--since 2026-12-01 --until 2026-12-01` is that one day.
pub(crate) fn parse_bound(
    flag: &str,
    input: &str,
    zone: Zone,
    bound: Bound,
) -> Result<DateTime<Utc>, CliError> {
    let trimmed = input.trim();
    if let Ok(date) = NaiveDate::parse_from_str(trimmed, "%Y-%m-%d") {
        let day = match bound {
            Bound::Start => date,
            Bound::End => date.succ_opt().ok_or_else(|| invalid(flag, "date out of range"))?,
        };
        return zone
            .resolve(day.and_time(NaiveTime::MIN), trimmed)
            .map_err(|why| invalid(flag, why));
    }
    let t = parse_time(flag, input, zone)?;
    Ok(match bound {
        Bound::Start => t,
        // Inclusive: the first instant after it the store can hold.
        Bound::End => t + chrono::Duration::microseconds(1),
    })
}

/// Parses a DURATION such as `90s`, `5m`, `2h`, `1d`, `1h30m` or `250ms`
/// ([`call_core::parse_duration`]).
pub(crate) fn parse_duration(flag: &str, input: &str) -> Result<Duration, CliError> {
    call_core::parse_duration("duration", input).map_err(|error| invalid(flag, error.message()))
}

/// Seconds for a table: `10s`, `2.5s`, `1m05s`.
pub(crate) fn show_seconds(seconds: f64) -> String {
    if seconds < 60.0 {
        let rounded = (seconds * 10.0).round() / 10.0;
        if rounded.fract() == 0.0 { format!("{rounded:.0}s") } else { format!("{rounded:.1}s") }
    } else {
        let whole = seconds.round() as u64;
        if whole < 3_600 {
            format!("{}m{:02}s", whole / 60, whole % 60)
        } else {
            format!("{}h{:02}m{:02}s", whole / 3_600, whole % 3_600 / 60, whole % 60)
        }
    }
}

fn invalid(flag: &str, why: impl std::fmt::Display) -> CliError {
    CliError::usage(format!("invalid {flag}: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paris() -> Zone {
        Zone::new(Some("Europe/Paris")).unwrap()
    }

    #[test]
    fn times_in_every_accepted_form() {
        let at = |s| parse_time("--at", s, paris()).unwrap().to_rfc3339();
        assert_eq!(at("2026-12-01T09:30:00Z"), "2026-12-01T09:30:00+00:00");
        assert_eq!(at("2026-12-01T09:30:00-05:00"), "2026-12-01T14:30:00+00:00");
        assert_eq!(at("2026-12-01 09:30"), "2026-12-01T08:30:00+00:00");
        assert_eq!(at("2026-12-01T09:30:15"), "2026-12-01T08:30:15+00:00");
        assert_eq!(at(" 2026-07-01 09:30:00.5 "), "2026-07-01T07:30:00.500+00:00");
    }

    #[test]
    fn local_times_across_daylight_saving() {
        // 2026-03-29 02:30 does not exist in Paris; 2026-10-25 02:30 happens twice.
        let gap = parse_time("--at", "2026-03-29 02:30", paris()).unwrap_err();
        assert!(gap.to_string().contains("does not exist"), "{gap}");
        let twice = parse_time("--at", "2026-10-25 02:30", paris()).unwrap();
        assert_eq!(twice.to_rfc3339(), "2026-10-25T00:30:00+00:00");
    }

    #[test]
    fn bad_times_say_what_is_accepted() {
        for input in ["", "tomorrow", "2026-13-01 09:30", "2026-12-01", "09:30"] {
            let error = parse_time("--at", input, paris()).unwrap_err().to_string();
            assert!(error.starts_with("invalid --at: "), "{error}");
        }
        assert!(Zone::new(Some("Mars/Olympus")).is_err());
    }

    #[test]
    fn date_bounds_cover_whole_local_days() {
        let start = parse_bound("--since", "2026-12-01", paris(), Bound::Start).unwrap();
        let end = parse_bound("--until", "2026-12-01", paris(), Bound::End).unwrap();
        assert_eq!(start.to_rfc3339(), "2026-11-30T23:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2026-12-01T23:00:00+00:00");
        let instant = parse_bound("--until", "2026-12-01T10:00:00Z", paris(), Bound::End).unwrap();
        assert_eq!(instant.to_rfc3339(), "2026-12-01T10:00:00.000001+00:00");
    }

    #[test]
    fn durations() {
        let secs = |s| parse_duration("--in", s).unwrap().as_secs();
        assert_eq!(secs("90s"), 90);
        assert_eq!(secs("5m"), 300);
        assert_eq!(secs("2h"), 7_200);
        assert_eq!(secs("1d"), 86_400);
        assert_eq!(secs("1h30m"), 5_400);
        assert_eq!(secs("0s"), 0);
        assert_eq!(parse_duration("--in", "1s250ms").unwrap(), Duration::from_millis(1_250));
        assert_eq!(secs("5 m"), 300);
        for bad in ["", "5", "m", "5x", "-5m", "99999999999999999999s", "1.5ms"] {
            assert!(parse_duration("--in", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn seconds_for_people() {
        assert_eq!(show_seconds(10.0), "10s");
        assert_eq!(show_seconds(2.54), "2.5s");
        assert_eq!(show_seconds(65.0), "1m05s");
        assert_eq!(show_seconds(3_725.0), "1h02m05s");
    }
}
