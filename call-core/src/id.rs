//! Identifiers: calls, events, queues, agents, series, workers.

use std::fmt;

use crate::{ValidationError, limits::MAX_ID_CHARS};

/// Checks an identifier brought from outside: 1–128 characters of letters,
/// digits and `-_.:`.
fn check_external_id(field: &'static str, value: &str) -> Result<(), ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if value.len() > MAX_ID_CHARS {
        return Err(ValidationError::new(
            field,
            format!("must be at most {MAX_ID_CHARS} characters, got {}", value.len()),
        ));
    }
    if let Some(bad) =
        value.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')))
    {
        return Err(ValidationError::new(
            field,
            format!("{bad:?} is not allowed: use letters, digits and -_.:"),
        ));
    }
    Ok(())
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Parses an identifier: 1–128 characters of letters, digits and `-_.:`.
            ///
            /// # Errors
            ///
            #[doc = concat!("A [`ValidationError`] on field `", $field, "` when the value does not fit.")]
            pub fn parse(value: impl Into<String>) -> Result<$name, ValidationError> {
                let value = value.into();
                check_external_id($field, &value)?;
                Ok($name(value))
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = ValidationError;
            fn from_str(s: &str) -> Result<$name, ValidationError> {
                $name::parse(s)
            }
        }
    };
}

string_id!(
    /// The id of a call: a UUID v7 (time-ordered) for calls this system
    /// creates, or the event source's own id (`{"call_id": "123"}`).
    CallId,
    "call_id"
);

string_id!(
    /// The id of an audit-log event. An event source may bring its own
    /// (`event_id`), which makes its delivery idempotent.
    EventId,
    "event_id"
);

string_id!(
    /// The id of a queue in the queue registry, such as `medical_spanish`.
    QueueId,
    "queue_id"
);

string_id!(
    /// The id of a call-centre agent.
    AgentId,
    "agent_id"
);

string_id!(
    /// The id of a recurring series of calls: a UUID v7 (time-ordered).
    SeriesId,
    "series_id"
);

string_id!(
    /// The name a worker claims calls under, written into each claim's lease.
    WorkerId,
    "worker_id"
);

impl CallId {
    /// A fresh, time-ordered UUID v7 id.
    pub fn generate() -> CallId {
        CallId(uuid::Uuid::now_v7().to_string())
    }
}

impl EventId {
    /// A fresh, time-ordered UUID v7 id.
    pub fn generate() -> EventId {
        EventId(uuid::Uuid::now_v7().to_string())
    }
}

impl SeriesId {
    /// A fresh, time-ordered UUID v7 id.
    pub fn generate() -> SeriesId {
        SeriesId(uuid::Uuid::now_v7().to_string())
    }
}

impl WorkerId {
    /// A fresh worker name, unique to this process and moment.
    pub fn generate() -> WorkerId {
        WorkerId(format!("worker-{}", uuid::Uuid::now_v7()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, ok: bool) {
        assert_eq!(CallId::parse(input).is_ok(), ok, "{input:?}");
    }

    #[test]
    fn external_ids() {
        check("123", true);
        check("a-b_c.d:e", true);
        check(&"x".repeat(128), true);
        check(&"x".repeat(129), false);
        check("", false);
        check("a b", false);
        check("a/b", false);
        check("é", false);
    }

    #[test]
    fn generated_ids_are_valid_and_ordered() {
        let a = CallId::generate();
        let b = CallId::generate();
        assert!(CallId::parse(a.as_str()).is_ok());
        assert!(a < b, "{a} < {b}");
    }

    #[test]
    fn errors_name_the_field() {
        let e = QueueId::parse("").unwrap_err();
        assert_eq!(e.field(), "queue_id");
        assert_eq!(e.to_string(), "invalid queue_id: must not be empty");
    }
}
