//! Calling windows: the local hours and weekdays in which a call may ring.
//!
//! A window is read on the callee's wall clock. An instant is inside it
//! when, in every time zone the callee may be in, its local reading falls
//! on an allowed weekday at or after `start` and before `end`. The zones
//! are the window's own `time_zone` or, without one, those libphonenumber
//! lists for the number's prefix ([`PhoneNumber::time_zones`]): a number
//! that may ring in several zones is called only while the window is open
//! in all of them.
//!
//! Daylight saving time, as stated rules (each has a test):
//! - A due time is an instant, so it always has one local reading; in a
//!   repeated hour each pass is judged by its own reading.
//! - A window edge in a skipped hour opens at the first instant after the
//!   gap (a 02:30 start on the night the clocks jump from 02:00 to 03:00
//!   opens at 03:00).
//! - A window edge in a repeated hour opens at its first pass.
//!
//! What is decided here is pure: the engine asks [`CallingWindow::wait`]
//! when a call falls due and moves the call to the opening it answers.

use std::{collections::HashMap, fmt, str::FromStr, sync::OnceLock};

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc,
    Weekday,
};
use chrono_tz::Tz;
use serde_json::{Map, Value};

use crate::{Call, PhoneNumber, ValidationError};

/// How many days ahead an opening is looked for. A window opens at least
/// once a week; two weeks leave room for a week whose DST change shifts
/// the zones of a multi-zone number against each other.
const HORIZON_DAYS: i64 = 15;

/// The weekdays a window is open on.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Weekdays(u8);

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl Weekdays {
    /// Every day of the week.
    pub const ALL: Weekdays = Weekdays(0x7f);

    /// Whether `day` is one of them.
    pub fn contains(self, day: Weekday) -> bool {
        self.0 & (1 << day.num_days_from_monday()) != 0
    }

    /// The days, Monday first, by their three-letter names.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        DAY_NAMES.iter().enumerate().filter(move |(i, _)| self.0 & (1 << i) != 0).map(|(_, n)| *n)
    }

    /// Parses days written as people write them: names (`mon`, `Monday`),
    /// ranges (`mon-fri`, wrapping as `fri-mon`) and lists of either
    /// (`mon,wed,fri`, `mon-thu,sat`).
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `field` naming the part that is not a day.
    pub fn parse(field: &'static str, text: &str) -> Result<Weekdays, ValidationError> {
        Weekdays::from_names(field, text.split(','))
    }

    /// The days named by `items`, each a day or a range of days.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `field` naming the item that is not a day,
    /// or saying that no day was given.
    pub fn from_names<'a>(
        field: &'static str,
        items: impl IntoIterator<Item = &'a str>,
    ) -> Result<Weekdays, ValidationError> {
        let day = |text: &str| {
            let lower = text.trim().to_ascii_lowercase();
            DAY_NAMES
                .iter()
                .position(|name| lower.len() >= 3 && day_name(name).starts_with(&lower))
                .ok_or_else(|| {
                    ValidationError::new(
                        field,
                        format!(
                            "{:?} is not a weekday such as \"mon\" or a range such as \"mon-fri\"",
                            text.trim()
                        ),
                    )
                })
        };
        let mut bits = 0u8;
        for item in items {
            match item.split_once('-') {
                Some((first, last)) => {
                    let (first, last) = (day(first)?, day(last)?);
                    let mut i = first;
                    loop {
                        bits |= 1 << i;
                        if i == last {
                            break;
                        }
                        i = (i + 1) % 7;
                    }
                }
                None => bits |= 1 << day(item)?,
            }
        }
        if bits == 0 {
            return Err(ValidationError::new(field, "names no weekday"));
        }
        Ok(Weekdays(bits))
    }
}

/// The full English name of a three-letter day name, lower case.
fn day_name(short: &str) -> &'static str {
    match short {
        "mon" => "monday",
        "tue" => "tuesday",
        "wed" => "wednesday",
        "thu" => "thursday",
        "fri" => "friday",
        "sat" => "saturday",
        _ => "sunday",
    }
}

impl fmt::Display for Weekdays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().collect::<Vec<_>>().join(","))
    }
}

impl fmt::Debug for Weekdays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Weekdays({self})")
    }
}

/// A calling window. Each part is optional: without a zone, the number's
/// zones are used; without a start, the day starts at midnight; without an
/// end, it runs to the next midnight; without days, every day is allowed.
/// An engine's default window fills in the parts a call leaves out
/// ([`CallingWindow::or`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallingWindow {
    time_zone: Option<Tz>,
    start: Option<NaiveTime>,
    end: Option<NaiveTime>,
    days: Option<Weekdays>,
}

/// Why a due call waits: the window is closed in at least one of `zones`
/// until `until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowWait {
    /// The next instant the window is open in every zone.
    pub until: DateTime<Utc>,
    /// The zones the window was read in.
    pub zones: Vec<Tz>,
    /// The window itself.
    pub window: CallingWindow,
}

impl WindowWait {
    /// What the audit log says of the wait: why (`waits_for`), the window
    /// and the zones it was read in, when the call was `due_at`, and the
    /// opening it waits `until`.
    pub fn metadata(&self, due_at: DateTime<Utc>) -> Map<String, Value> {
        crate::audit::window_wait(self, due_at)
    }
}

impl Call {
    /// Whether this call may ring at `at` by its own window
    /// ([`CallingWindow::wait`]); `None` when it has no window or no number.
    ///
    /// # Errors
    ///
    /// As [`CallingWindow::wait`].
    pub fn window_wait(&self, at: DateTime<Utc>) -> Result<Option<WindowWait>, ValidationError> {
        match (self.calling_window(), self.to()) {
            (Some(window), Some(to)) => window.wait(to, at),
            _ => Ok(None),
        }
    }
}

impl CallingWindow {
    /// A window from its parts as written: an IANA zone, `HH:MM` times
    /// (`24:00` as the end means midnight at the end of the day) and days.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `calling_window.time_zone`, `.start` or
    /// `.end` naming what is wrong; a window whose start is not before its
    /// end is refused on `calling_window.end`.
    pub fn new(
        time_zone: Option<&str>,
        start: Option<&str>,
        end: Option<&str>,
        days: Option<Weekdays>,
    ) -> Result<CallingWindow, ValidationError> {
        let time_zone = time_zone
            .map(|zone| {
                Tz::from_str(zone.trim()).map_err(|_| {
                    ValidationError::new(
                        "calling_window.time_zone",
                        format!("{zone:?} is not an IANA time zone such as \"America/New_York\""),
                    )
                })
            })
            .transpose()?;
        let start = start.map(|t| parse_time("calling_window.start", t)).transpose()?.flatten();
        let end = match end {
            Some(t) => match parse_time("calling_window.end", t)? {
                // 00:00 as an end is the start of the day: nothing is open.
                Some(midnight) if midnight == NaiveTime::MIN => {
                    return Err(ValidationError::new(
                        "calling_window.end",
                        "00:00 ends the window before it starts; use 24:00 for midnight at the end of the day",
                    ));
                }
                end => end,
            },
            None => None,
        };
        if let (Some(start), Some(end)) = (start, end)
            && start >= end
        {
            return Err(ValidationError::new(
                "calling_window.end",
                format!(
                    "the window must start before it ends, got {}-{}",
                    start.format("%H:%M"),
                    end.format("%H:%M")
                ),
            ));
        }
        Ok(CallingWindow { time_zone, start, end, days })
    }

    /// Parses hours written `HH:MM-HH:MM` (`08:00-21:00`), as the CLI and
    /// the server's `--default-window` take them.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `calling_window.start` or `.end`.
    pub fn hours(text: &str) -> Result<CallingWindow, ValidationError> {
        let (start, end) = text.split_once('-').ok_or_else(|| {
            ValidationError::new(
                "calling_window.start",
                format!("{text:?} is not hours such as \"08:00-21:00\""),
            )
        })?;
        CallingWindow::new(None, Some(start), Some(end), None)
    }

    /// A window from the parts as command-line flags take them: hours
    /// `HH:MM-HH:MM`, days such as `mon-fri`, and an IANA zone; each optional.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on the part that is wrong.
    pub fn from_flags(
        hours: Option<&str>,
        days: Option<&str>,
        time_zone: Option<&str>,
    ) -> Result<CallingWindow, ValidationError> {
        let mut window = match hours {
            Some(hours) => CallingWindow::hours(hours)?,
            None => CallingWindow::default(),
        };
        if let Some(days) = days {
            window.days = Some(Weekdays::parse("calling_window.days", days)?);
        }
        let zone = CallingWindow::new(time_zone, None, None, None)?;
        Ok(CallingWindow { time_zone: zone.time_zone, ..window })
    }

    /// This window with `time_zone`.
    #[must_use]
    pub fn in_zone(mut self, time_zone: Tz) -> CallingWindow {
        self.time_zone = Some(time_zone);
        self
    }

    /// This window with `days`.
    #[must_use]
    pub fn on(mut self, days: Weekdays) -> CallingWindow {
        self.days = Some(days);
        self
    }

    /// This window with the parts it leaves out taken from `default`.
    #[must_use]
    pub fn or(self, default: &CallingWindow) -> CallingWindow {
        CallingWindow {
            time_zone: self.time_zone.or(default.time_zone),
            start: self.start.or(default.start),
            end: self.end.or(default.end),
            days: self.days.or(default.days),
        }
    }

    /// The zone it is read in, when it names one.
    pub fn time_zone(&self) -> Option<Tz> {
        self.time_zone
    }

    /// When it opens each day (midnight when `None`).
    pub fn start(&self) -> Option<NaiveTime> {
        self.start
    }

    /// When it closes each day (the next midnight when `None`).
    pub fn end(&self) -> Option<NaiveTime> {
        self.end
    }

    /// The days it is open on (every day when `None`).
    pub fn days(&self) -> Option<Weekdays> {
        self.days
    }

    /// Whether it allows every instant (at most a zone is set).
    pub fn is_unrestricted(&self) -> bool {
        self.start.is_none() && self.end.is_none() && self.days.is_none_or(|d| d == Weekdays::ALL)
    }

    /// The zones a call to `to` is read in: the window's own, else the
    /// number's.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `calling_window.time_zone` when the window
    /// names none and none is known for the number.
    pub fn zones(&self, to: &PhoneNumber) -> Result<Vec<Tz>, ValidationError> {
        if let Some(zone) = self.time_zone {
            return Ok(vec![zone]);
        }
        let zones = to.time_zones();
        if zones.is_empty() {
            return Err(ValidationError::new(
                "calling_window.time_zone",
                format!("no time zone is known for {to}; give the window a time_zone"),
            ));
        }
        Ok(zones.to_vec())
    }

    /// Whether a call to `to` may ring at `at`: `None` when it may (or the
    /// window allows every instant), else until when it waits and why.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `calling_window` when no zone is known
    /// for the number, or the window never opens in all of its zones at
    /// once (09:00-09:30 in both Boise and Los Angeles).
    pub fn wait(
        &self,
        to: &PhoneNumber,
        at: DateTime<Utc>,
    ) -> Result<Option<WindowWait>, ValidationError> {
        if self.is_unrestricted() {
            return Ok(None);
        }
        let zones = self.zones(to)?;
        match self.opening(&zones, at) {
            Some(until) if until == at => Ok(None),
            Some(until) => Ok(Some(WindowWait { until, zones, window: self.clone() })),
            None => Err(ValidationError::new(
                "calling_window",
                format!(
                    "{self} is never open in all of {}'s time zones at once ({}); give the window a time_zone",
                    to,
                    zone_names(&zones).join(", ")
                ),
            )),
        }
    }

    /// Whether the window is open at `at` in every one of `zones`.
    pub fn is_open(&self, zones: &[Tz], at: DateTime<Utc>) -> bool {
        zones.iter().all(|zone| {
            let local = at.with_timezone(zone).naive_local();
            self.days.is_none_or(|d| d.contains(local.weekday()))
                && self.start.is_none_or(|start| local.time() >= start)
                && self.end.is_none_or(|end| local.time() < end)
        })
    }

    /// The first instant at or after `at` when the window is open in every
    /// one of `zones`; `None` when there is none within two weeks, which
    /// for a weekly window means never.
    pub fn opening(&self, zones: &[Tz], at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.is_open(zones, at) {
            return Some(at);
        }
        // Where every zone is open at once, the last of them to open has
        // just opened: the answer is one of the zones' daily openings.
        let start = self.start.unwrap_or(NaiveTime::MIN);
        let mut openings: Vec<DateTime<Utc>> = zones
            .iter()
            .flat_map(|zone| {
                let today = at.with_timezone(zone).date_naive();
                (-1..=HORIZON_DAYS)
                    .map(move |offset| today + TimeDelta::days(offset))
                    .filter(|date| self.days.is_none_or(|d| d.contains(date.weekday())))
                    .map(move |date| local_instant(zone, date, start))
            })
            .filter(|opening| *opening > at)
            .collect();
        openings.sort_unstable();
        openings.dedup();
        openings.into_iter().find(|opening| self.is_open(zones, *opening))
    }
}

/// The instant `time` on `date` in `zone`: the first pass of a repeated
/// hour, and for a time in a skipped hour the first instant after the gap.
fn local_instant(zone: &Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let naive = NaiveDateTime::new(date, time);
    let resolve = |naive: NaiveDateTime| match zone.from_local_datetime(&naive) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.with_timezone(&Utc)),
        LocalResult::None => None,
    };
    resolve(naive)
        .or_else(|| {
            // Transitions fall on whole minutes and no gap is longer than
            // a day, so the gap's end is found a minute at a time.
            (1..=24 * 60).find_map(|minutes| resolve(naive + TimeDelta::minutes(minutes)))
        })
        .unwrap_or_else(|| naive.and_utc())
}

pub(crate) fn zone_names(zones: &[Tz]) -> Vec<&'static str> {
    zones.iter().map(|zone| zone.name()).collect()
}

/// `HH:MM`, with `24:00` read as the end of the day (`None`).
fn parse_time(field: &'static str, text: &str) -> Result<Option<NaiveTime>, ValidationError> {
    let text = text.trim();
    if text == "24:00" {
        return Ok(None);
    }
    NaiveTime::parse_from_str(text, "%H:%M").map(Some).map_err(|_| {
        ValidationError::new(field, format!("{text:?} is not a time of day such as \"09:00\""))
    })
}

/// The stored form: `key=value` parts joined by `;`, only those set
/// (`tz=America/New_York;start=09:00;end=20:00;days=mon,tue,wed,thu,fri`).
/// The same text reads back with [`FromStr`].
impl fmt::Display for CallingWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(zone) = self.time_zone {
            parts.push(format!("tz={}", zone.name()));
        }
        if let Some(start) = self.start {
            parts.push(format!("start={}", start.format("%H:%M")));
        }
        if let Some(end) = self.end {
            parts.push(format!("end={}", end.format("%H:%M")));
        }
        if let Some(days) = self.days {
            parts.push(format!("days={days}"));
        }
        f.write_str(&parts.join(";"))
    }
}

impl FromStr for CallingWindow {
    type Err = ValidationError;

    fn from_str(text: &str) -> Result<CallingWindow, ValidationError> {
        let (mut zone, mut start, mut end, mut days) = (None, None, None, None);
        for part in text.split(';').filter(|p| !p.is_empty()) {
            match part.split_once('=') {
                Some(("tz", value)) => zone = Some(value),
                Some(("start", value)) => start = Some(value),
                Some(("end", value)) => end = Some(value),
                Some(("days", value)) => {
                    days = Some(Weekdays::parse("calling_window.days", value)?)
                }
                _ => {
                    return Err(ValidationError::new(
                        "calling_window",
                        format!("{part:?} is not a part of a calling window"),
                    ));
                }
            }
        }
        CallingWindow::new(zone, start, end, days)
    }
}

/// libphonenumber's map from number prefixes (country code first) to the
/// time zones a number with that prefix may ring in. No kept Rust crate
/// carries this data (`rlibphonenumber` has no time zones), so the
/// file is embedded as published, licence header included, and read once.
static PREFIX_ZONES: &str = include_str!("../data/phone_time_zones.txt");

/// The longest prefix in [`PREFIX_ZONES`].
const MAX_PREFIX_DIGITS: usize = 9;

fn prefix_zones() -> &'static HashMap<&'static str, Box<[Tz]>> {
    static TABLE: OnceLock<HashMap<&'static str, Box<[Tz]>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        PREFIX_ZONES
            .lines()
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .filter_map(|line| line.split_once('|'))
            .map(|(prefix, zones)| {
                // A name chrono-tz lacks is left out; a test checks there are none.
                let zones = zones.split('&').filter_map(|z| Tz::from_str(z).ok()).collect();
                (prefix, zones)
            })
            .collect()
    })
}

/// The zones a number with these E.164 digits may ring in: those of its
/// longest listed prefix, which at worst is its country code's (every zone
/// of the country). Empty when the country code is not listed.
pub(crate) fn zones_for_digits(digits: &str) -> &'static [Tz] {
    let table = prefix_zones();
    (1..=digits.len().min(MAX_PREFIX_DIGITS))
        .rev()
        .find_map(|len| table.get(&digits[..len]))
        .map_or(&[], |zones| zones)
}

#[cfg(test)]
mod tests {
    use chrono::Timelike;

    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn window(zone: Option<&str>, start: &str, end: &str, days: Option<&str>) -> CallingWindow {
        let days = days.map(|d| Weekdays::parse("days", d).unwrap());
        CallingWindow::new(zone, Some(start), Some(end), days).unwrap()
    }

    fn number(text: &str) -> PhoneNumber {
        PhoneNumber::parse(text).unwrap()
    }

    /// When a call to `to` due at `at` may ring, as RFC 3339.
    fn rings(window: &CallingWindow, to: &str, at: &str) -> String {
        let at = utc(at);
        match window.wait(&number(to), at).unwrap() {
            None => at.to_rfc3339(),
            Some(wait) => wait.until.to_rfc3339(),
        }
    }

    #[test]
    fn every_listed_zone_is_known_to_chrono_tz() {
        let unknown: Vec<&str> = PREFIX_ZONES
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.split_once('|'))
            .flat_map(|(_, zones)| zones.split('&'))
            .filter(|zone| Tz::from_str(zone).is_err())
            .collect();
        assert_eq!(unknown, Vec::<&str>::new());
        let longest = prefix_zones().keys().map(|p| p.len()).max();
        assert_eq!(longest, Some(MAX_PREFIX_DIGITS));
    }

    #[test]
    fn a_number_rings_in_the_zones_of_its_longest_listed_prefix() {
        let zones = |n: &str| zone_names(number(n).time_zones());
        assert_eq!(zones("+1 212 555 0100"), ["America/New_York"]);
        assert_eq!(zones("+1 415 555 0100"), ["America/Los_Angeles"]);
        assert_eq!(zones("+33 6 12 34 56 78"), ["Europe/Paris"]);
        // libphonenumber lists a mobile by its operator's home zone.
        assert_eq!(zones("+7 912 345 67 89"), ["Europe/Moscow"]);
        // Where a prefix spans a zone line, both zones.
        assert_eq!(zones("+1 208 200 1234"), ["America/Boise", "America/Los_Angeles"]);
        // A prefix with no place (toll-free) has every zone of its country code.
        let toll_free = zones("+1 800 555 0100");
        assert!(toll_free.len() > 30 && toll_free.contains(&"Pacific/Guam"), "{toll_free:?}");
    }

    #[test]
    fn windows_are_checked_on_both_sides_of_each_edge() {
        // 09:00-20:00 New York on weekdays; 2026-11-23 is a Monday (EST, -05:00).
        let w = window(Some("America/New_York"), "09:00", "20:00", Some("mon-fri"));
        let to = "+1 212 555 0100";
        for (at, expected) in [
            // One second before the opening waits for it; the opening itself rings.
            ("2026-11-23T13:59:59Z", "2026-11-23T14:00:00+00:00"),
            ("2026-11-23T14:00:00Z", "2026-11-23T14:00:00+00:00"),
            // The last second before the end rings; the end itself waits for tomorrow.
            ("2026-11-24T00:59:59Z", "2026-11-24T00:59:59+00:00"),
            ("2026-11-24T01:00:00Z", "2026-11-24T14:00:00+00:00"),
            // Friday evening waits for Monday morning.
            ("2026-11-28T01:30:00Z", "2026-11-30T14:00:00+00:00"),
            // Saturday noon waits for Monday morning.
            ("2026-11-28T17:00:00Z", "2026-11-30T14:00:00+00:00"),
        ] {
            assert_eq!(rings(&w, to, at), expected, "due at {at}");
        }
    }

    #[test]
    fn without_a_zone_the_numbers_zone_is_used() {
        let w = window(None, "09:00", "20:00", None);
        // 07:00 in Paris (CET) waits for 09:00 there.
        assert_eq!(
            rings(&w, "+33 6 12 34 56 78", "2026-11-23T06:00:00Z"),
            "2026-11-23T08:00:00+00:00"
        );
        // The same instant is 22:00 in Los Angeles: it waits for tomorrow's 09:00 PST.
        assert_eq!(
            rings(&w, "+1 415 555 0100", "2026-11-23T06:00:00Z"),
            "2026-11-23T17:00:00+00:00"
        );
    }

    #[test]
    fn a_number_of_several_zones_rings_only_while_all_are_open() {
        // Southern Idaho's +1 208 2… may ring in Boise (MST, -07:00) or in
        // Los Angeles (PST, -08:00): 09:00-20:00 is open in both from 09:00
        // PST (17:00 UTC) to 20:00 MST (03:00 UTC).
        let w = window(None, "09:00", "20:00", None);
        let to = "+1 208 200 1234";
        for (at, expected) in [
            // 09:30 in Boise, but 08:30 in Los Angeles: it waits.
            ("2026-11-23T16:30:00Z", "2026-11-23T17:00:00+00:00"),
            ("2026-11-23T17:00:00Z", "2026-11-23T17:00:00+00:00"),
            // 19:59:59 in Boise rings; 20:00 waits for tomorrow.
            ("2026-11-24T02:59:59Z", "2026-11-24T02:59:59+00:00"),
            ("2026-11-24T03:00:00Z", "2026-11-24T17:00:00+00:00"),
        ] {
            assert_eq!(rings(&w, to, at), expected, "due at {at}");
        }
        let wait = w.wait(&number(to), utc("2026-11-23T16:30:00Z")).unwrap().unwrap();
        assert_eq!(zone_names(&wait.zones), ["America/Boise", "America/Los_Angeles"]);

        // Half an hour a day in each never overlaps: refused, naming the zones.
        let narrow = window(None, "09:00", "09:30", None);
        let error = narrow.wait(&number(to), utc("2026-11-23T12:00:00Z")).unwrap_err();
        assert_eq!(error.field(), "calling_window");
        assert!(
            error.message().contains("America/Boise, America/Los_Angeles"),
            "{}",
            error.message()
        );
        // A toll-free number is read in every zone of +1, from Guam round
        // to Samoa; 08:00-21:00 overlaps in all of them only at night in
        // New York, and there it rings.
        let law = CallingWindow::hours("08:00-21:00").unwrap();
        let toll_free = number("+1 800 555 0100");
        let wait = law.wait(&toll_free, utc("2026-11-23T12:00:00Z")).unwrap().unwrap();
        for zone in toll_free.time_zones() {
            let local = wait.until.with_timezone(zone).time();
            assert!((8..21).contains(&local.hour()), "{zone} reads {local}");
        }
        // With a zone of its own, the window is read there alone.
        let eastern = law.in_zone(chrono_tz::America::New_York);
        assert_eq!(
            rings(&eastern, "+1 800 555 0100", "2026-11-23T12:00:00Z"),
            "2026-11-23T13:00:00+00:00"
        );
    }

    #[test]
    fn a_window_edge_in_a_skipped_hour_opens_after_the_gap() {
        // 2027-03-14, New York: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
        let w = window(Some("America/New_York"), "02:30", "20:00", None);
        let to = "+1 212 555 0100";
        assert_eq!(rings(&w, to, "2027-03-14T06:00:00Z"), "2027-03-14T07:00:00+00:00");
        // The day before, 02:30 EST is 07:30 UTC; the day after, 02:30 EDT is 06:30 UTC.
        assert_eq!(rings(&w, to, "2027-03-13T06:00:00Z"), "2027-03-13T07:30:00+00:00");
        assert_eq!(rings(&w, to, "2027-03-15T06:00:00Z"), "2027-03-15T06:30:00+00:00");
    }

    #[test]
    fn a_window_edge_in_a_repeated_hour_opens_at_its_first_pass() {
        // 2026-11-01, New York: 01:00-02:00 is lived twice, first in EDT
        // (05:00-06:00 UTC) then in EST (06:00-07:00 UTC).
        let w = window(Some("America/New_York"), "01:30", "20:00", None);
        let to = "+1 212 555 0100";
        assert_eq!(rings(&w, to, "2026-11-01T05:00:00Z"), "2026-11-01T05:30:00+00:00");
    }

    #[test]
    fn a_due_time_in_a_repeated_hour_is_judged_by_its_own_reading() {
        // Open until 01:30: the first pass of 01:45 (EDT) is closed, the
        // second pass of 01:15 (EST) is open again.
        let w = window(Some("America/New_York"), "00:00", "01:30", None);
        let to = "+1 212 555 0100";
        assert_eq!(rings(&w, to, "2026-11-01T05:15:00Z"), "2026-11-01T05:15:00+00:00");
        assert_eq!(rings(&w, to, "2026-11-01T06:15:00Z"), "2026-11-01T06:15:00+00:00");
        // 01:45 EDT waits: the reopening at 01:00 EST is not an opening of
        // the day's hours, so the rule waits for the next day's start
        // (it never rings early, only possibly later).
        let next = rings(&w, to, "2026-11-01T05:45:00Z");
        assert!(next.as_str() >= "2026-11-01T06:00:00+00:00", "{next}");
    }

    #[test]
    fn a_due_time_in_a_skipped_hour_is_read_after_the_jump() {
        // 07:30 UTC on 2027-03-14 reads 03:30 EDT: inside a 03:00 start,
        // outside a 04:00 one.
        let to = "+1 212 555 0100";
        let at = "2027-03-14T07:30:00Z";
        assert_eq!(
            rings(&window(Some("America/New_York"), "03:00", "20:00", None), to, at),
            "2027-03-14T07:30:00+00:00"
        );
        assert_eq!(
            rings(&window(Some("America/New_York"), "04:00", "20:00", None), to, at),
            "2027-03-14T08:00:00+00:00"
        );
    }

    #[test]
    fn a_window_across_the_spring_change_keeps_its_local_hours() {
        let w = window(Some("Europe/Paris"), "09:00", "20:00", None);
        let to = "+33 6 12 34 56 78";
        // Saturday 2027-03-27 (CET): 09:00 is 08:00 UTC; Sunday (CEST): 07:00 UTC.
        assert_eq!(rings(&w, to, "2027-03-27T05:00:00Z"), "2027-03-27T08:00:00+00:00");
        assert_eq!(rings(&w, to, "2027-03-28T05:00:00Z"), "2027-03-28T07:00:00+00:00");
        // 20:00 CEST is 18:00 UTC: at 18:00 it closes.
        assert_eq!(rings(&w, to, "2027-03-28T18:00:00Z"), "2027-03-29T07:00:00+00:00");
    }

    #[test]
    fn parts_left_out_are_open_and_defaults_fill_them() {
        let only_days =
            CallingWindow::new(None, None, None, Some(Weekdays::parse("d", "sat,sun").unwrap()))
                .unwrap();
        // Monday 12:00 Paris waits for Saturday 00:00 Paris.
        assert_eq!(
            rings(&only_days, "+33 6 12 34 56 78", "2026-11-23T11:00:00Z"),
            "2026-11-27T23:00:00+00:00"
        );
        assert!(CallingWindow::default().is_unrestricted());
        let default = CallingWindow::hours("08:00-21:00").unwrap();
        let merged = CallingWindow::new(Some("Asia/Tokyo"), None, None, None).unwrap().or(&default);
        assert_eq!(merged.to_string(), "tz=Asia/Tokyo;start=08:00;end=21:00");
        assert_eq!(merged.to_string().parse::<CallingWindow>().unwrap(), merged);
        let full = window(Some("America/New_York"), "09:00", "24:00", Some("mon-fri"));
        assert_eq!(full.to_string(), "tz=America/New_York;start=09:00;days=mon,tue,wed,thu,fri");
        assert_eq!(full.to_string().parse::<CallingWindow>().unwrap(), full);
    }

    #[test]
    fn bad_windows_are_refused_naming_the_part() {
        let field = |r: Result<CallingWindow, ValidationError>| r.unwrap_err().field();
        assert_eq!(
            field(CallingWindow::new(Some("Mars/Olympus"), None, None, None)),
            "calling_window.time_zone"
        );
        assert_eq!(
            field(CallingWindow::new(None, Some("9am"), None, None)),
            "calling_window.start"
        );
        assert_eq!(
            field(CallingWindow::new(None, None, Some("25:00"), None)),
            "calling_window.end"
        );
        assert_eq!(
            field(CallingWindow::new(None, Some("20:00"), Some("09:00"), None)),
            "calling_window.end"
        );
        assert_eq!(
            field(CallingWindow::new(None, Some("09:00"), Some("09:00"), None)),
            "calling_window.end"
        );
        assert_eq!(
            field(CallingWindow::new(None, None, Some("00:00"), None)),
            "calling_window.end"
        );
        assert_eq!(field(CallingWindow::hours("9 to 5")), "calling_window.start");
        assert_eq!(
            field(CallingWindow::from_flags(None, Some("weekdays"), None)),
            "calling_window.days"
        );
        assert_eq!(
            field(CallingWindow::from_flags(None, None, Some("EST5"))),
            "calling_window.time_zone"
        );
        let flags =
            CallingWindow::from_flags(Some("09:00-17:30"), Some("mon-fri"), Some("Europe/Paris"));
        assert_eq!(
            flags.unwrap().to_string(),
            "tz=Europe/Paris;start=09:00;end=17:30;days=mon,tue,wed,thu,fri"
        );
        assert_eq!(
            Weekdays::parse("calling_window.days", "mon,funday").unwrap_err().field(),
            "calling_window.days"
        );
        assert!(Weekdays::parse("d", "").is_err());
    }

    #[test]
    fn weekdays_read_as_people_write_them() {
        let days = |t: &str| Weekdays::parse("d", t).unwrap().to_string();
        assert_eq!(days("mon-fri"), "mon,tue,wed,thu,fri");
        assert_eq!(days("Saturday,sun"), "sat,sun");
        assert_eq!(days("fri-mon"), "mon,fri,sat,sun");
        assert_eq!(days("mon-thu, sat"), "mon,tue,wed,thu,sat");
        assert_eq!(days("sun-sun"), "sun");
    }
}
