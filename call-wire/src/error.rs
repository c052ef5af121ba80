//! The codes of refusals on the wire: `{"error": {"code": …}}`.

use call_core::Refusal;
use serde::{Deserialize, Serialize};

/// What went wrong, as a stable code a client branches on; the message
/// beside it is for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub enum ErrorCode {
    /// 400: the request cannot be read (not JSON, a bad query string).
    Malformed,
    /// 401: no API key or signature, or a wrong one.
    Unauthorized,
    /// 404: no such call, series, alert or route.
    NotFound,
    /// 405: the path does not take this method.
    MethodNotAllowed,
    /// 409: the call's status does not take the event, or it changed
    /// concurrently, or the id is taken.
    Conflict,
    /// 413: the body is larger than the server takes.
    TooLarge,
    /// 415: the body is not declared as JSON.
    UnsupportedMediaType,
    /// 422: a value to correct; `field` names it.
    Invalid,
    /// 422: the number is on the do-not-call list.
    DoNotCall,
    /// 503: the database cannot take the request now; nothing was changed.
    Unavailable,
    /// 503: the request took longer than the server allows.
    Timeout,
    /// 500: a defect; the cause is in the server's log.
    Internal,
}

impl ErrorCode {
    /// Its name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Malformed => "malformed",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Conflict => "conflict",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::Invalid => "invalid",
            ErrorCode::DoNotCall => "do_not_call",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Timeout => "timeout",
            ErrorCode::Internal => "internal",
        }
    }
}

impl From<Refusal> for ErrorCode {
    fn from(refusal: Refusal) -> ErrorCode {
        match refusal {
            Refusal::DoNotCall => ErrorCode::DoNotCall,
            _ => ErrorCode::Invalid,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code_serializes_as_its_name() {
        for code in [
            ErrorCode::Malformed,
            ErrorCode::Unauthorized,
            ErrorCode::NotFound,
            ErrorCode::MethodNotAllowed,
            ErrorCode::Conflict,
            ErrorCode::TooLarge,
            ErrorCode::UnsupportedMediaType,
            ErrorCode::Invalid,
            ErrorCode::DoNotCall,
            ErrorCode::Unavailable,
            ErrorCode::Timeout,
            ErrorCode::Internal,
        ] {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, code.as_str());
            assert_eq!(serde_json::from_value::<ErrorCode>(json).unwrap(), code);
        }
        assert_eq!(ErrorCode::from(Refusal::DoNotCall).as_str(), Refusal::DoNotCall.as_str());
        assert_eq!(ErrorCode::from(Refusal::Invalid).as_str(), Refusal::Invalid.as_str());
    }
}
