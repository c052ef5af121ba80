//! Pausing dispatch: the request to pause or resume, and the state answered.

use call_core::{Pause, QueueId, ValidationError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::parse_time;

/// The body of `POST /api/dispatch/pause` and `/resume`, and what `calls
/// pause` and `calls resume` build from their options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "queue_id": "sales", "until": "2026-12-01T09:30:00Z"
})))]
pub struct PauseRequest {
    /// Only this queue's calls; every call when absent.
    #[serde(default, deserialize_with = "crate::blank::absent")]
    pub queue_id: Option<String>,
    /// When a pause lapses by itself, RFC 3339; held until resumed when
    /// absent. Not taken by resume.
    #[serde(default, deserialize_with = "crate::blank::absent")]
    pub until: Option<String>,
}

impl PauseRequest {
    /// The queue named, checked.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `queue_id` when it is not a queue id.
    pub fn queue(&self) -> Result<Option<QueueId>, ValidationError> {
        self.queue_id.as_deref().map(QueueId::parse).transpose()
    }

    /// The end asked for, checked.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `until` when it is not an RFC 3339 time.
    pub fn until(&self) -> Result<Option<DateTime<Utc>>, ValidationError> {
        self.until.as_deref().map(|t| parse_time("until", t)).transpose()
    }
}

/// One pause in force.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PauseJson {
    /// The queue whose calls are held; every call when null.
    pub queue_id: Option<String>,
    /// When it was asked for.
    #[serde(serialize_with = "crate::time::plain")]
    pub paused_at: DateTime<Utc>,
    /// When it lapses by itself; null until resumed.
    #[serde(serialize_with = "crate::time::option")]
    pub until: Option<DateTime<Utc>>,
}

impl From<&Pause> for PauseJson {
    fn from(pause: &Pause) -> PauseJson {
        PauseJson {
            queue_id: pause.queue.as_ref().map(ToString::to_string),
            paused_at: pause.paused_at,
            until: pause.until,
        }
    }
}

/// Whether calls are being placed: the answer of `GET /api/dispatch`, of
/// pause and of resume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DispatchJson {
    /// Every call is held (a pause of every call is in force).
    pub paused: bool,
    /// The pauses in force: the pause of every call first, then by queue.
    pub pauses: Vec<PauseJson>,
}

impl DispatchJson {
    /// The state under `pauses` (those in force).
    pub fn new(pauses: &[Pause]) -> DispatchJson {
        DispatchJson {
            paused: pauses.iter().any(|p| p.queue.is_none()),
            pauses: pauses.iter().map(PauseJson::from).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_name_their_field() {
        let request = |queue: Option<&str>, until: Option<&str>| PauseRequest {
            queue_id: queue.map(Into::into),
            until: until.map(Into::into),
        };
        assert_eq!(request(Some("a b"), None).queue().unwrap_err().field(), "queue_id");
        assert_eq!(request(None, Some("tomorrow")).until().unwrap_err().field(), "until");
        let ok = request(Some("sales"), Some("2026-12-01T09:30:00+01:00"));
        assert_eq!(ok.queue().unwrap().unwrap().as_str(), "sales");
        assert_eq!(ok.until().unwrap().unwrap().to_rfc3339(), "2026-12-01T08:30:00+00:00");
        assert_eq!(request(None, None).queue().unwrap(), None);
    }
}
