//! Recurring series: the recurrence a schedule request carries, and a
//! series as both interfaces show it.

use call_core::{Recurrence, Series, ValidationError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::parse_time;

/// When a series' occurrences fall: the `recurrence` of a schedule
/// request, and of a series as shown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "cron": "0 9 * * MON-FRI", "time_zone": "Europe/Paris", "count": 10
})))]
pub struct RecurrenceJson {
    /// Five cron fields (minute hour day month weekday, names such as
    /// `MON-FRI` allowed) or a nickname such as `@daily`, read in `time_zone`.
    pub cron: String,
    /// The IANA zone the expression is read in, such as `Europe/Paris`;
    /// 09:00 stays 09:00 there across clock changes.
    pub time_zone: String,
    /// At most this many occurrences (1–100000).
    #[serde(default)]
    pub count: Option<u32>,
    /// No occurrence after this moment, RFC 3339.
    #[serde(default, deserialize_with = "crate::blank::absent")]
    pub until: Option<String>,
}

impl RecurrenceJson {
    /// Checks every value and builds the core recurrence.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `recurrence.cron`, `recurrence.time_zone`,
    /// `recurrence.count` or `recurrence.until`.
    pub fn to_recurrence(&self) -> Result<Recurrence, ValidationError> {
        let until = self.until.as_deref().map(|t| parse_time("recurrence.until", t)).transpose()?;
        Recurrence::new(&self.cron, &self.time_zone, self.count, until)
    }
}

impl From<&Recurrence> for RecurrenceJson {
    fn from(recurrence: &Recurrence) -> RecurrenceJson {
        RecurrenceJson {
            cron: recurrence.cron().to_owned(),
            time_zone: recurrence.time_zone().name().to_owned(),
            count: recurrence.count(),
            until: recurrence.until().map(call_core::time::rfc3339),
        }
    }
}

/// A recurring series of calls. Its occurrences are ordinary calls
/// carrying its `series_id` (`GET /api/calls?series_id=…`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeriesJson {
    /// Its id.
    pub id: String,
    /// When its occurrences fall.
    pub recurrence: RecurrenceJson,
    /// When it was scheduled.
    #[serde(serialize_with = "crate::time::plain")]
    pub created_at: DateTime<Utc>,
    /// When it was canceled; null while it runs.
    #[serde(serialize_with = "crate::time::option")]
    pub canceled_at: Option<DateTime<Utc>>,
    /// How many occurrences were made so far. The next is made when the
    /// latest is placed (or canceled), so at most one waits at a time.
    pub occurrences: u32,
}

impl From<&Series> for SeriesJson {
    fn from(series: &Series) -> SeriesJson {
        SeriesJson {
            id: series.id.to_string(),
            recurrence: RecurrenceJson::from(&series.recurrence),
            created_at: series.created_at,
            canceled_at: series.canceled_at,
            occurrences: series.occurrences,
        }
    }
}

/// A page of series, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeriesPage {
    /// The series.
    pub series: Vec<SeriesJson>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

impl SeriesPage {
    /// The page of `series` a listing of at most `limit` answered: a full
    /// page names its last id as where the next starts.
    pub fn new(series: &[Series], limit: usize) -> SeriesPage {
        let next_cursor =
            (series.len() == limit).then(|| series.last().map(|s| s.id.to_string())).flatten();
        SeriesPage { series: series.iter().map(SeriesJson::from).collect(), next_cursor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recurrence_reads_and_shows_the_same() {
        let json = RecurrenceJson {
            cron: "0 9 * * MON-FRI".into(),
            time_zone: "Europe/Paris".into(),
            count: Some(10),
            until: Some("2027-01-01T00:00:00.000000Z".into()),
        };
        assert_eq!(RecurrenceJson::from(&json.to_recurrence().unwrap()), json);
    }

    #[test]
    fn every_bad_value_names_its_field() {
        let check = |edit: fn(&mut RecurrenceJson)| {
            let mut r = RecurrenceJson {
                cron: "0 9 * * *".into(),
                time_zone: "UTC".into(),
                ..RecurrenceJson::default()
            };
            edit(&mut r);
            r.to_recurrence().map(|_| ()).map_err(|e| e.field())
        };
        assert_eq!(check(|_| {}), Ok(()));
        assert_eq!(check(|r| r.cron = "every day".into()), Err("recurrence.cron"));
        assert_eq!(check(|r| r.time_zone = "Mars/Olympus".into()), Err("recurrence.time_zone"));
        assert_eq!(check(|r| r.count = Some(0)), Err("recurrence.count"));
        assert_eq!(check(|r| r.until = Some("soon".into())), Err("recurrence.until"));
    }
}
