//! Provider status callbacks (webhooks), read into a core status update.

use call_core::ports::{ProviderCall, ProviderError};

use crate::wire::{CallDto, Envelope, parse_status};

/// Reads a status callback's body: this provider's call object (bare or in
/// its `{"success", "call"}` envelope) as JSON, or Twilio-style form fields
/// (`CallSid`, `CallStatus`, `CallDuration`), by the request's content type.
///
/// # Errors
///
/// [`ProviderError::Invalid`] when the body is neither, lacks the call's id
/// or status, or names an unknown status.
pub fn parse_callback(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<ProviderCall, ProviderError> {
    let invalid = |message: String| ProviderError::Invalid { message };
    let is_form = content_type.is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        let mut sid = None;
        let mut status = None;
        let mut duration = None;
        for (key, value) in url::form_urlencoded::parse(body) {
            match key.as_ref() {
                "CallSid" => sid = Some(value.into_owned()),
                "CallStatus" => status = Some(value.into_owned()),
                "CallDuration" => duration = Some(value.into_owned()),
                _ => {}
            }
        }
        let external_id = sid.ok_or_else(|| invalid("the callback has no CallSid".into()))?;
        let status =
            parse_status(&status.ok_or_else(|| invalid("the callback has no CallStatus".into()))?)?;
        let duration_seconds = match duration {
            None => None,
            Some(d) => Some(
                d.trim()
                    .parse::<f64>()
                    .map_err(|_| invalid(format!("CallDuration {d:?} is not a number")))?,
            ),
        };
        return Ok(ProviderCall { external_id, status, duration_seconds });
    }
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| invalid(format!("the callback is not JSON: {e}")))?;
    let call: CallDto = if value.get("call").is_some() {
        let envelope: Envelope =
            serde_json::from_value(value).map_err(|e| invalid(e.to_string()))?;
        envelope.call.ok_or_else(|| invalid("the callback has no call".into()))?
    } else {
        serde_json::from_value(value)
            .map_err(|e| invalid(format!("the callback is not a call: {e}")))?
    };
    call.into_domain()
}

#[cfg(test)]
mod tests {
    use call_core::ports::ProviderStatus;

    use super::*;

    #[test]
    fn callbacks_in_every_shape() {
        let check =
            |content_type: Option<&str>,
             body: &str,
             expected: Result<(&str, ProviderStatus, Option<f64>), &str>| {
                let actual = parse_callback(content_type, body.as_bytes());
                match (actual, expected) {
                    (Ok(call), Ok((id, status, duration))) => {
                        assert_eq!(
                            (call.external_id.as_str(), call.status, call.duration_seconds),
                            (id, status, duration),
                            "{body}"
                        )
                    }
                    (Err(error), Err(message)) => {
                        assert!(error.to_string().contains(message), "{body}: {error}")
                    }
                    (actual, expected) => panic!("{body}: got {actual:?}, expected {expected:?}"),
                }
            };
        let json = Some("application/json");
        let form = Some("application/x-www-form-urlencoded; charset=utf-8");
        check(
            json,
            r#"{"id": "c1", "status": "ringing"}"#,
            Ok(("c1", ProviderStatus::Ringing, None)),
        );
        check(
            json,
            r#"{"success": true, "call": {"id": "c1", "status": "completed", "duration": 10}}"#,
            Ok(("c1", ProviderStatus::Completed, Some(10.0))),
        );
        check(
            form,
            "CallSid=CA1&CallStatus=no-answer",
            Ok(("CA1", ProviderStatus::NoAnswer, None)),
        );
        check(
            form,
            "CallSid=CA1&CallStatus=completed&CallDuration=42",
            Ok(("CA1", ProviderStatus::Completed, Some(42.0))),
        );
        check(form, "CallStatus=completed", Err("no CallSid"));
        check(form, "CallSid=CA1&CallStatus=exploded", Err("unknown call status"));
        check(json, "not json", Err("not JSON"));
        check(json, r#"{"id": "c1"}"#, Err("not a call"));
        check(None, r#"{"id": "c1", "status": "busy"}"#, Ok(("c1", ProviderStatus::Busy, None)));
    }
}
