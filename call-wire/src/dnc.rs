//! The do-not-call list as the interfaces take and show it.

use call_core::{DoNotCall, PhoneNumber, Region, ValidationError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A number to put on the do-not-call list: the body of `POST /api/dnc`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "phone_number": "+1 415 555 0100", "reason": "asked not to be called"
})))]
pub struct DoNotCallRequest {
    /// The number, in any common international format; stored as E.164.
    pub phone_number: String,
    /// Why, kept with the entry (at most 500 characters).
    #[serde(default, deserialize_with = "crate::blank::absent")]
    pub reason: Option<String>,
}

impl DoNotCallRequest {
    /// The number, checked; read in `region` when written without a country code.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `phone_number`.
    pub fn phone(&self, region: Option<Region>) -> Result<PhoneNumber, ValidationError> {
        PhoneNumber::parse_in("phone_number", &self.phone_number, region)
    }
}

/// A number on the do-not-call list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DoNotCallJson {
    /// The number, E.164.
    pub phone_number: String,
    /// When it was listed.
    #[serde(serialize_with = "crate::time::plain")]
    pub added_at: DateTime<Utc>,
    /// Why, as given.
    pub reason: Option<String>,
}

impl From<&DoNotCall> for DoNotCallJson {
    fn from(entry: &DoNotCall) -> DoNotCallJson {
        DoNotCallJson {
            phone_number: entry.phone.as_str().to_owned(),
            added_at: entry.added_at,
            reason: entry.reason.clone(),
        }
    }
}

/// One page of the do-not-call list, in number order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DoNotCallPage {
    /// The entries.
    pub entries: Vec<DoNotCallJson>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

impl DoNotCallPage {
    /// The page `entries` of a request for at most `limit`: a full page has
    /// a next one, starting after its last number.
    pub fn new(entries: &[DoNotCall], limit: usize) -> DoNotCallPage {
        let next_cursor = (entries.len() >= limit.max(1))
            .then(|| entries.last().map(|e| e.phone.as_str().to_owned()))
            .flatten();
        DoNotCallPage { entries: entries.iter().map(DoNotCallJson::from).collect(), next_cursor }
    }
}
