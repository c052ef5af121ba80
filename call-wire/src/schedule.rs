//! A call to schedule, as the interfaces take it, and RFC 3339 times.

use call_core::{IdempotencyKey, Media, NewCall, PhoneNumber, QueueId, Region, ValidationError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A call to schedule: the body of `POST /api/calls`, and what `calls
/// schedule` builds from its options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "phone_number": "+1 (415) 555-0100", "scheduled_at": "2026-12-01T09:30:00Z",
    "customer_name": "Ada Lovelace", "workflow": "reminder"
})))]
pub struct ScheduleRequest {
    /// The number to call, in any common international format; stored as E.164.
    pub phone_number: String,
    /// When to place it, RFC 3339; now when absent.
    #[serde(default, deserialize_with = "crate::blank::absent")]
    pub scheduled_at: Option<String>,
    /// The customer's name.
    #[serde(default, deserialize_with = "crate::blank::absent")]
    pub customer_name: Option<String>,
    /// Free text: support, sales, reminder…
    #[serde(default, deserialize_with = "crate::blank::absent")]
    pub workflow: Option<String>,
    /// The queue; it must be registered.
    #[serde(default, deserialize_with = "crate::blank::absent")]
    pub queue_id: Option<String>,
    /// `voice` (default) or `video`.
    #[serde(default, deserialize_with = "crate::blank::absent")]
    pub media: Option<String>,
    /// The caller ID to call from; the provider's choice when absent.
    #[serde(default, deserialize_with = "crate::blank::absent")]
    pub from: Option<String>,
    /// The caller's own data, kept with the call.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub metadata: Option<Map<String, Value>>,
    /// Makes a retry safe: the same key with the same request answers the
    /// call the first one made, for at least 24 hours (on HTTP, the
    /// `Idempotency-Key` header says the same).
    #[serde(default, deserialize_with = "crate::blank::absent")]
    pub idempotency_key: Option<String>,
    /// Makes it the first of a recurring series: it falls at the first
    /// firing at or after `scheduled_at`, and each next occurrence is made,
    /// with the same details, when the one before it is placed.
    #[serde(default)]
    pub recurrence: Option<crate::RecurrenceJson>,
    /// The local hours and days it may ring in; a due time outside them
    /// moves to the next opening. The server's default fills the parts
    /// left out.
    #[serde(default)]
    pub calling_window: Option<crate::CallingWindowJson>,
    /// Dials it again when it ends busy, unanswered or failed, per this
    /// policy; the server's default policy when absent.
    #[serde(default)]
    pub redial: Option<crate::RedialJson>,
}

impl ScheduleRequest {
    /// Checks every value and builds the core request; numbers written
    /// without a country code are read in `region`, when one is given
    /// (the engine's [`default_region`](call_core::Config::default_region)).
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] naming the first invalid field. Whether the
    /// queue exists and the time is not too far past is the engine's to say.
    pub fn into_new_call(self, region: Option<Region>) -> Result<NewCall, ValidationError> {
        let phone = PhoneNumber::parse_in("phone_number", &self.phone_number, region)?;
        let mut call = NewCall::to(phone);
        if let Some(at) = &self.scheduled_at {
            call = call.at(parse_time("scheduled_at", at)?);
        }
        if let Some(from) = &self.from {
            call = call.from(PhoneNumber::parse_in("from", from, region)?);
        }
        if let Some(name) = self.customer_name {
            call = call.customer_name(name);
        }
        if let Some(workflow) = self.workflow {
            call = call.workflow(workflow);
        }
        if let Some(queue) = self.queue_id {
            call = call.queue(QueueId::parse(queue).map_err(|e| e.for_field("queue_id"))?);
        }
        if let Some(media) = &self.media {
            call = call.media(Media::parse(media)?);
        }
        if let Some(metadata) = self.metadata {
            call = call.metadata(metadata);
        }
        if let Some(key) = self.idempotency_key {
            call = call.idempotency_key(IdempotencyKey::parse(key)?);
        }
        if let Some(recurrence) = &self.recurrence {
            call = call.recurrence(recurrence.to_recurrence()?);
        }
        if let Some(window) = &self.calling_window {
            call = call.calling_window(window.to_window()?);
        }
        if let Some(redial) = &self.redial {
            call = call.redial(redial.to_redial()?);
        }
        Ok(call)
    }
}

/// Reads an RFC 3339 time (any offset), naming `field` when it is not one.
///
/// # Errors
///
/// A [`ValidationError`] on `field` with an example of the form.
pub fn parse_time(field: &'static str, text: &str) -> Result<DateTime<Utc>, ValidationError> {
    DateTime::parse_from_rfc3339(text.trim()).map(|t| t.with_timezone(&Utc)).map_err(|e| {
        ValidationError::new(
            field,
            format!("{text:?} is not an RFC 3339 time such as 2026-12-01T09:30:00Z: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_value_names_its_field() {
        let request = |edit: fn(&mut ScheduleRequest)| {
            let mut r =
                ScheduleRequest { phone_number: "+14155550100".into(), ..Default::default() };
            edit(&mut r);
            r.into_new_call(None).map(|_| ()).map_err(|e| e.field())
        };
        assert_eq!(request(|_| {}), Ok(()));
        assert_eq!(request(|r| r.phone_number = "12345".into()), Err("phone_number"));
        assert_eq!(request(|r| r.scheduled_at = Some("soon".into())), Err("scheduled_at"));
        assert_eq!(request(|r| r.from = Some("+1".into())), Err("from"));
        assert_eq!(request(|r| r.queue_id = Some("a b".into())), Err("queue_id"));
        assert_eq!(request(|r| r.media = Some("fax".into())), Err("media"));
        assert_eq!(request(|r| r.idempotency_key = Some("a key".into())), Err("idempotency_key"));
        assert_eq!(
            request(|r| {
                r.recurrence = Some(crate::RecurrenceJson {
                    cron: "0 9 * * *".into(),
                    time_zone: "Paris".into(),
                    ..Default::default()
                });
            }),
            Err("recurrence.time_zone")
        );
        assert_eq!(
            request(|r| {
                r.calling_window = Some(crate::CallingWindowJson {
                    start: Some("20:00".into()),
                    end: Some("09:00".into()),
                    ..Default::default()
                });
            }),
            Err("calling_window.end")
        );
    }

    #[test]
    fn times_with_any_offset_read_as_utc() {
        let t = parse_time("at", " 2026-12-01T09:30:00+01:00 ").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-12-01T08:30:00+00:00");
        assert_eq!(parse_time("at", "noon").unwrap_err().field(), "at");
    }
}
