//! The Mock Call API's JSON, and its statuses and timestamps as this client reads them.

use call_core::ports::{ProviderCall, ProviderError, ProviderStatus};
use chrono::{DateTime, FixedOffset, NaiveDateTime};
use serde::{Deserialize, Serialize};

/// A call as the provider answers it: `{"id", "phone_number", "status",
/// "created_at", "updated_at", "duration"}`. Unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallDto {
    /// The provider's id of the call.
    pub id: String,
    /// The number dialled.
    #[serde(default)]
    pub phone_number: Option<String>,
    /// `initiated`, `ringing`, `connected`, `completed`, or a Twilio-style status.
    pub status: String,
    /// When the call was created: ISO 8601, with or without an offset.
    #[serde(default)]
    pub created_at: Option<String>,
    /// When the call last changed.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Talk time in seconds, once completed; `null` before.
    #[serde(default)]
    pub duration: Option<serde_json::Number>,
}

/// The envelope of every answer: `{"success": true, "call": {…}}` or `{"error": "…"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// `true` on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    /// The call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<CallDto>,
    /// What went wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Maps a provider's status string onto [`ProviderStatus`]: the Mock Call
/// API's four and the Twilio-style ones, case-insensitively, `-` or `_`.
///
/// # Errors
///
/// [`ProviderError::Invalid`] naming an unknown status.
pub fn parse_status(status: &str) -> Result<ProviderStatus, ProviderError> {
    let normalised = status.trim().to_ascii_lowercase().replace('_', "-");
    Ok(match normalised.as_str() {
        "queued" | "scheduled" => ProviderStatus::Queued,
        "initiated" => ProviderStatus::Initiated,
        "ringing" => ProviderStatus::Ringing,
        "connected" | "in-progress" | "answered" => ProviderStatus::Connected,
        "completed" => ProviderStatus::Completed,
        "busy" => ProviderStatus::Busy,
        "no-answer" => ProviderStatus::NoAnswer,
        "failed" => ProviderStatus::Failed,
        "canceled" | "cancelled" => ProviderStatus::Canceled,
        _ => {
            return Err(ProviderError::Invalid {
                message: format!("unknown call status {status:?}"),
            });
        }
    })
}

/// Reads a provider timestamp: RFC 3339 with an offset, or a naive ISO 8601
/// date-time (the Mock Call API's, in its server's local time, with or without
/// fractional seconds), taken as UTC since the offset is unknown.
pub fn parse_timestamp(text: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(text).ok().or_else(|| {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
            .ok()
            .map(|naive| naive.and_utc().fixed_offset())
    })
}

impl CallDto {
    /// The call in core terms.
    ///
    /// # Errors
    ///
    /// [`ProviderError::Invalid`] for an unknown status or a duration that is not a number of seconds.
    pub fn into_domain(self) -> Result<ProviderCall, ProviderError> {
        let status = parse_status(&self.status)?;
        let duration_seconds = match self.duration.map(|n| n.as_f64()) {
            None => None,
            Some(Some(seconds)) if seconds >= 0.0 && seconds.is_finite() => Some(seconds),
            Some(_) => {
                return Err(ProviderError::Invalid {
                    message: "duration is not a number of seconds".into(),
                });
            }
        };
        for stamp in [&self.created_at, &self.updated_at].into_iter().flatten() {
            if parse_timestamp(stamp).is_none() {
                // Not needed by the engine: tolerated, as real providers vary.
                tracing::debug!(timestamp = %stamp, "unreadable provider timestamp ignored");
            }
        }
        Ok(ProviderCall { external_id: self.id, status, duration_seconds })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        let check = |text: &str, expected: Option<ProviderStatus>| {
            assert_eq!(parse_status(text).ok(), expected, "{text:?}");
        };
        use ProviderStatus as P;
        check("initiated", Some(P::Initiated));
        check("ringing", Some(P::Ringing));
        check("connected", Some(P::Connected));
        check("completed", Some(P::Completed));
        check("queued", Some(P::Queued));
        check("in-progress", Some(P::Connected));
        check("busy", Some(P::Busy));
        check("no-answer", Some(P::NoAnswer));
        check("no_answer", Some(P::NoAnswer));
        check("failed", Some(P::Failed));
        check("canceled", Some(P::Canceled));
        check("COMPLETED", Some(P::Completed));
        check("exploded", None);
        check("", None);
        assert_eq!(
            parse_status("exploded").unwrap_err().to_string(),
            "unexpected answer from the provider: unknown call status \"exploded\""
        );
    }

    #[test]
    fn timestamps_with_and_without_offsets() {
        let check = |text: &str, expected: Option<&str>| {
            assert_eq!(
                parse_timestamp(text).map(|t| t.to_rfc3339()),
                expected.map(str::to_owned),
                "{text:?}"
            );
        };
        check("2025-11-01T14:00:00.123456", Some("2025-11-01T14:00:00.123456+00:00"));
        check("2025-11-01T14:00:00", Some("2025-11-01T14:00:00+00:00"));
        check("2025-11-01T14:00:00.5+02:00", Some("2025-11-01T14:00:00.500+02:00"));
        check("2025-11-01T14:00:00Z", Some("2025-11-01T14:00:00+00:00"));
        check("yesterday", None);
    }

    #[test]
    fn a_call_in_core_terms() {
        let dto: CallDto = serde_json::from_str(
            r#"{"id": "c1", "phone_number": "+14155550100", "status": "completed",
                "created_at": "2025-11-01T14:00:00.123456", "updated_at": "whenever",
                "duration": 10, "price": "0.01"}"#,
        )
        .unwrap();
        let call = dto.into_domain().unwrap();
        assert_eq!(
            call,
            ProviderCall {
                external_id: "c1".into(),
                status: ProviderStatus::Completed,
                duration_seconds: Some(10.0)
            }
        );
    }
}
