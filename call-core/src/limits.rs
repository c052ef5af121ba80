//! The bounds on what comes in from outside, set in one place.
//!
//! Every identifier and every free-text field a client may send has a
//! bound here, checked where the core first sees the value (parsing an id,
//! scheduling a call, ingesting an event, listing a number), so the API,
//! the CLI, `calls import` and an embedding program refuse the same value
//! with the same words: the field, its size and the limit.

use serde_json::{Map, Value};

use crate::ValidationError;

/// Identifiers brought from outside (call, event, queue, agent ids), in characters.
pub const MAX_ID_CHARS: usize = 128;
/// An idempotency key, in characters (Stripe's bound).
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;
/// A customer's name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// A workflow's name (support, sales, reminder…), in characters.
pub const MAX_WORKFLOW_CHARS: usize = 200;
/// A reason or an error given in words (a do-not-call entry's reason, a
/// retransfer's reason, a failure's error), in characters.
pub const MAX_REASON_CHARS: usize = 500;
/// A call's `metadata`, as compact JSON, in bytes.
pub const MAX_METADATA_BYTES: usize = 8 * 1024;

/// Checks that `value` has at most `max` characters.
///
/// # Errors
///
/// A [`ValidationError`] on `field` naming its length and the limit.
pub fn text(field: &'static str, value: &str, max: usize) -> Result<(), ValidationError> {
    // Counting stops past the limit: a huge value costs no more than a long one.
    let chars = value.chars().take(max + 1).count();
    if chars > max {
        return Err(ValidationError::new(
            field,
            format!("is {} characters long; at most {max} are allowed", value.chars().count()),
        ));
    }
    Ok(())
}

/// Checks `value` with [`text`] when there is one.
///
/// # Errors
///
/// As [`text`].
pub fn optional_text(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> Result<(), ValidationError> {
    value.map_or(Ok(()), |v| text(field, v, max))
}

/// Checks that `metadata`, as compact JSON, has at most [`MAX_METADATA_BYTES`].
///
/// # Errors
///
/// A [`ValidationError`] on `metadata` naming its size and the limit.
pub fn metadata(metadata: &Map<String, Value>) -> Result<(), ValidationError> {
    // Counted as written, not collected: this runs for every call scheduled.
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    let bytes = serde_json::to_writer(&mut count, metadata).map_or(usize::MAX, |()| count.0);
    if bytes > MAX_METADATA_BYTES {
        return Err(ValidationError::new(
            "metadata",
            format!("is {bytes} bytes as JSON; at most {MAX_METADATA_BYTES} are allowed"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_at_the_limit_passes_and_one_past_it_names_field_size_and_limit() {
        assert!(text("customer_name", &"é".repeat(MAX_NAME_CHARS), MAX_NAME_CHARS).is_ok());
        let error = text("customer_name", &"é".repeat(100_000), MAX_NAME_CHARS).unwrap_err();
        assert_eq!(error.field(), "customer_name");
        assert_eq!(error.message(), "is 100000 characters long; at most 200 are allowed");
        assert!(optional_text("workflow", None, 1).is_ok());
    }

    #[test]
    fn metadata_is_measured_as_json() {
        let sized = |n: usize| {
            let mut map = Map::new();
            map.insert("k".into(), Value::String("x".repeat(n)));
            map
        };
        // {"k":"…"} is 8 bytes around the value.
        assert!(metadata(&sized(MAX_METADATA_BYTES - 8)).is_ok());
        let error = metadata(&sized(MAX_METADATA_BYTES - 7)).unwrap_err();
        assert_eq!(error.field(), "metadata");
        assert!(error.message().contains("8193 bytes"), "{}", error.message());
        assert!(error.message().contains("at most 8192"), "{}", error.message());
    }
}
