//! The one way a time is written as text, on every wire and in every
//! audit log: RFC 3339 in UTC, with `Z` and exactly six fractional digits,
//! the microseconds the stores keep (`2026-12-01T09:30:00.000000Z`). Fixed
//! width, so texts sort as the times do.

use chrono::{DateTime, SecondsFormat, Utc};

/// `t` as text, in the one format: truncated to microseconds, UTC, `Z`.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    crate::ports::to_micros(t).to_rfc3339_opts(SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn one_fixed_width_form() {
        let whole = Utc.with_ymd_and_hms(2026, 12, 1, 9, 30, 0).unwrap();
        assert_eq!(rfc3339(whole), "2026-12-01T09:30:00.000000Z");
        let nanos = whole + chrono::TimeDelta::nanoseconds(123_456_789);
        assert_eq!(rfc3339(nanos), "2026-12-01T09:30:00.123456Z", "truncated as stored");
    }
}
