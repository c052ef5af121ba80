//! Idempotent scheduling: one key, one call.
//!
//! A client that times out and retries `schedule` must not make a second
//! call, because a second call is a second dial. It sends the same
//! [`IdempotencyKey`] with each try; the store keeps the key beside the call
//! it made, with a [fingerprint](NewCall::fingerprint) of the request, for
//! at least [`KEY_RETENTION`]. The same key with the same request answers
//! the first call again; with another request it is refused. The store
//! takes the key in the same transaction as the call, so two requests racing
//! with one key still make one call.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{CallId, NewCall, ValidationError, limits::MAX_IDEMPOTENCY_KEY_CHARS};

/// How long a key is kept by default: a day, as Stripe and the IETF
/// `Idempotency-Key` draft suggest.
pub const KEY_RETENTION: Duration = Duration::hours(24);

/// A client's key for one scheduling request: 1–255 visible ASCII
/// characters (a UUID is the usual choice).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Checks a key.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `idempotency_key` when it is empty, longer
    /// than 255 characters, or holds a space or a character outside ASCII.
    pub fn parse(value: impl Into<String>) -> Result<IdempotencyKey, ValidationError> {
        let value = value.into();
        let invalid = |why: String| ValidationError::new("idempotency_key", why);
        if value.is_empty() {
            return Err(invalid("must not be empty".into()));
        }
        if value.len() > MAX_IDEMPOTENCY_KEY_CHARS {
            return Err(invalid(format!(
                "must be at most {MAX_IDEMPOTENCY_KEY_CHARS} characters, got {}",
                value.len()
            )));
        }
        if let Some(bad) = value.chars().find(|c| !c.is_ascii_graphic()) {
            return Err(invalid(format!(
                "{bad:?} is not allowed: use visible ASCII characters, no spaces"
            )));
        }
        Ok(IdempotencyKey(value))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A key as a store keeps it, taken by the call it made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldKey {
    /// The client's key.
    pub key: IdempotencyKey,
    /// The request's [fingerprint](NewCall::fingerprint).
    pub fingerprint: String,
    /// The call the key made.
    pub call_id: CallId,
    /// From when the key may be used again for another request.
    pub expires_at: DateTime<Utc>,
}

impl NewCall {
    /// A digest of the request as the client gave it: every field, and the
    /// due time as asked (absent when "now", so a retry a second later is
    /// the same request). Two requests with one key are the same request
    /// exactly when their fingerprints are equal.
    pub fn fingerprint(&self) -> String {
        let canonical = json!({
            "to": self.to.as_str(),
            "from": self.from.as_ref().map(|f| f.as_str()),
            "scheduled_at": self.scheduled_at.map(|t| t.timestamp_micros()),
            "customer_name": self.customer_name,
            "workflow": self.workflow,
            "media": self.media.as_str(),
            "queue_id": self.queue_id.as_ref().map(|q| q.as_str()),
            "metadata": Value::Object(self.metadata.clone()),
            "recurrence": self.recurrence.as_ref().map(|r| json!({
                "cron": r.cron(),
                "time_zone": r.time_zone().name(),
                "count": r.count(),
                "until": r.until().map(|t| t.timestamp_micros()),
            })),
        });
        // Added only when set, so the fingerprints of requests without a
        // window or a redial policy stay what they were before those
        // existed (a retry across an upgrade still matches its key).
        let mut canonical = canonical;
        if let Some(window) = &self.calling_window {
            canonical["calling_window"] = json!(window.to_string());
        }
        if let Some(redial) = &self.redial {
            canonical["redial"] = json!(redial.to_string());
        }
        hex::encode(Sha256::digest(sorted(canonical).to_string().as_bytes()))
    }
}

/// `value` with every object's keys in order, so that its text is one for
/// one meaning even where serde_json keeps insertion order (its
/// `preserve_order` feature, which any crate in a build may turn on).
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::Map;

    use super::*;
    use crate::{Media, PhoneNumber, QueueId};

    #[test]
    fn keys_are_visible_ascii_up_to_255_characters() {
        for good in
            ["a", "0b6f6f0e-6a53-4a5e-9d3e-1c3f6f7d2e11", &"k".repeat(255), "order#42/retry"]
        {
            assert_eq!(IdempotencyKey::parse(good).unwrap().as_str(), good);
        }
        for (bad, why) in [
            ("", "must not be empty"),
            (&"k".repeat(256), "must be at most 255 characters, got 256"),
            ("two words", "' ' is not allowed: use visible ASCII characters, no spaces"),
            ("clé", "'é' is not allowed: use visible ASCII characters, no spaces"),
        ] {
            let error = IdempotencyKey::parse(bad).unwrap_err();
            assert_eq!((error.field(), error.message()), ("idempotency_key", why), "{bad:?}");
        }
    }

    fn request() -> NewCall {
        NewCall::to(PhoneNumber::parse("+14155550100").unwrap())
    }

    #[test]
    fn the_fingerprint_is_the_request_as_given() {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        let base = request().at(at).customer_name("Ada");
        assert_eq!(base.fingerprint(), base.clone().fingerprint());
        assert_eq!(base.fingerprint().len(), 64);
        let mut metadata = Map::new();
        metadata.insert("order".into(), json!(42));
        let others = [
            request().customer_name("Ada"),
            request().at(at + Duration::microseconds(1)).customer_name("Ada"),
            request().at(at).customer_name("Ada "),
            request().at(at).customer_name("Ada").workflow("sales"),
            request().at(at).customer_name("Ada").media(Media::Video),
            request().at(at).customer_name("Ada").queue(QueueId::parse("q").unwrap()),
            request().at(at).customer_name("Ada").metadata(metadata),
            request().at(at).customer_name("Ada").from(PhoneNumber::parse("+14155550101").unwrap()),
            NewCall::to(PhoneNumber::parse("+14155550101").unwrap()).at(at).customer_name("Ada"),
            request().at(at).customer_name("Ada").recurrence(daily(None)),
        ];
        for other in others {
            assert_ne!(base.fingerprint(), other.fingerprint(), "{other:?}");
        }
        let repeating = request().at(at).recurrence(daily(None));
        assert_eq!(repeating.fingerprint(), request().at(at).recurrence(daily(None)).fingerprint());
        assert_ne!(
            repeating.fingerprint(),
            request().at(at).recurrence(daily(Some(3))).fingerprint()
        );
    }

    fn daily(count: Option<u32>) -> crate::Recurrence {
        crate::Recurrence::new("0 9 * * *", "Europe/Paris", count, None).unwrap()
    }

    #[test]
    fn metadata_key_order_does_not_change_the_fingerprint() {
        let mut ab = Map::new();
        ab.insert("a".into(), json!(1));
        ab.insert("b".into(), json!(2));
        let mut ba = Map::new();
        ba.insert("b".into(), json!(2));
        ba.insert("a".into(), json!(1));
        assert_eq!(request().metadata(ab).fingerprint(), request().metadata(ba).fingerprint());
    }
}
