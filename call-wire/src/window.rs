//! Calling windows: the `calling_window` of a schedule request, and of a
//! call as shown.

use call_core::{CallingWindow, ValidationError, Weekdays};
use serde::{Deserialize, Serialize};

/// The local hours and days a call may ring in. Every part is optional:
/// without `time_zone` the number's zones are used (all of them, where the
/// number may be in several); without `start` or `end` the day is open
/// from or to midnight; without `days` every day is allowed. The server's
/// default window fills the parts left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "time_zone": "America/New_York", "start": "09:00", "end": "20:00",
    "days": ["mon", "tue", "wed", "thu", "fri"]
})))]
pub struct CallingWindowJson {
    /// The IANA zone the hours are read in, such as `America/New_York`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::blank::absent"
    )]
    pub time_zone: Option<String>,
    /// When it opens each allowed day, `HH:MM` local time.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::blank::absent"
    )]
    pub start: Option<String>,
    /// When it closes each allowed day, `HH:MM` local time (`24:00`: midnight).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::blank::absent"
    )]
    pub end: Option<String>,
    /// The allowed weekdays (`mon` … `sun`); ranges such as `mon-fri` are read too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<Vec<String>>,
}

impl CallingWindowJson {
    /// Checks every part and builds the core window.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `calling_window.time_zone`, `.start`,
    /// `.end` or `.days`.
    pub fn to_window(&self) -> Result<CallingWindow, ValidationError> {
        let days = self
            .days
            .as_ref()
            .map(|days| {
                Weekdays::from_names("calling_window.days", days.iter().map(String::as_str))
            })
            .transpose()?;
        CallingWindow::new(
            self.time_zone.as_deref(),
            self.start.as_deref(),
            self.end.as_deref(),
            days,
        )
    }
}

impl From<&CallingWindow> for CallingWindowJson {
    fn from(window: &CallingWindow) -> CallingWindowJson {
        CallingWindowJson {
            time_zone: window.time_zone().map(|zone| zone.name().to_owned()),
            start: window.start().map(|t| t.format("%H:%M").to_string()),
            end: window.end().map(|t| t.format("%H:%M").to_string()),
            days: window.days().map(|days| days.names().map(str::to_owned).collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_reads_and_shows_the_same() {
        let json = CallingWindowJson {
            time_zone: Some("America/New_York".into()),
            start: Some("09:00".into()),
            end: Some("20:00".into()),
            days: Some(vec!["mon".into(), "tue".into()]),
        };
        assert_eq!(CallingWindowJson::from(&json.to_window().unwrap()), json);
        let ranged = CallingWindowJson { days: Some(vec!["mon-fri".into()]), ..Default::default() };
        assert_eq!(ranged.to_window().unwrap().days().unwrap().to_string(), "mon,tue,wed,thu,fri");
    }

    #[test]
    fn every_bad_part_names_its_field() {
        let check = |edit: fn(&mut CallingWindowJson)| {
            let mut w = CallingWindowJson::default();
            edit(&mut w);
            w.to_window().map(|_| ()).map_err(|e| e.field())
        };
        assert_eq!(check(|_| {}), Ok(()));
        assert_eq!(
            check(|w| w.time_zone = Some("Eastern".into())),
            Err("calling_window.time_zone")
        );
        assert_eq!(check(|w| w.start = Some("9am".into())), Err("calling_window.start"));
        assert_eq!(check(|w| w.end = Some("25:00".into())), Err("calling_window.end"));
        assert_eq!(check(|w| w.days = Some(vec!["someday".into()])), Err("calling_window.days"));
        assert_eq!(check(|w| w.days = Some(vec![])), Err("calling_window.days"));
    }
}
