//! Every refusal as JSON: `{"error": {"code", "message", "field"?}}`.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use call_core::{Error, ValidationError, ports::StoreError};
use call_wire::ErrorCode;
use serde::{Deserialize, Serialize};

/// An API error: its status, a stable code, a message for people, and the
/// field it concerns when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    message: String,
    field: Option<String>,
}

/// The body of every error answer.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// A stable code to branch on.
    pub code: ErrorCode,
    /// A message for people.
    pub message: String,
    /// The request field it concerns, when one does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), field: None }
    }

    /// 400: the request cannot be read (not JSON, a bad query string).
    pub fn malformed(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::Malformed, message)
    }

    /// 401: no API key, or a wrong one.
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "a valid API key is required in X-API-Key or Authorization: Bearer",
        )
    }

    /// 401 for a provider callback without a valid signature.
    pub fn bad_signature() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "a provider callback must be signed with the provider secret \
             (X-Twilio-Signature or X-Callwork-Signature)",
        )
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, message)
    }

    /// 405.
    pub fn method_not_allowed() -> ApiError {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::MethodNotAllowed,
            "this method is not allowed on this path",
        )
    }

    /// 413: the body is larger than the limit.
    pub fn too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::TooLarge,
            format!("the body is larger than {limit} bytes"),
        )
    }

    /// 415: the body is not declared as JSON.
    pub fn unsupported_media_type() -> ApiError {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            "send the body as JSON, with Content-Type: application/json",
        )
    }

    /// 422: a value that is not valid, naming its field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError {
            field: Some(field.into()),
            ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::Invalid, message)
        }
    }

    /// 503: the request took longer than the server allows.
    pub fn timeout() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Timeout,
            "the request took too long; try again",
        )
    }

    /// 500, with nothing of the cause in the answer (it is logged).
    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "internal error; it was logged",
        )
    }

    /// The same error, about the element `index` of a batch.
    #[must_use]
    pub fn in_batch(mut self, index: usize) -> ApiError {
        self.message = format!("item {index}: {}", self.message);
        self.field = Some(match self.field {
            Some(field) => format!("[{index}].{field}"),
            None => format!("[{index}]"),
        });
        self
    }

    /// Its status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Its status and body detail, for answers that carry several errors.
    pub(crate) fn into_parts(self) -> (StatusCode, ErrorDetail) {
        (self.status, ErrorDetail { code: self.code, message: self.message, field: self.field })
    }
}

impl From<ValidationError> for ApiError {
    fn from(error: ValidationError) -> ApiError {
        ApiError {
            code: error.refusal().into(),
            ..ApiError::invalid(error.field(), error.message())
        }
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> ApiError {
        match error {
            Error::NotFound(id) => ApiError::not_found(format!("call {id} not found")),
            Error::SeriesNotFound(id) => ApiError::not_found(format!("series {id} not found")),
            Error::AlertNotFound(id) => ApiError::not_found(format!("alert {id} not found")),
            Error::Validation(e) => e.into(),
            Error::Batch { index, error } => ApiError::from(error).in_batch(index),
            Error::InvalidTransition(e) => {
                ApiError::new(StatusCode::CONFLICT, ErrorCode::Conflict, e.to_string())
            }
            Error::Contended(id) => ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::Conflict,
                format!("call {id} is changing concurrently; try again"),
            ),
            Error::Store(
                e @ (StoreError::DuplicateCall(_)
                | StoreError::DuplicateQueue(_)
                | StoreError::DuplicateEvent(_)),
            ) => ApiError::new(StatusCode::CONFLICT, ErrorCode::Conflict, e.to_string()),
            Error::Store(StoreError::NotFound(id)) => {
                ApiError::not_found(format!("call {id} not found"))
            }
            Error::Store(StoreError::Backend(cause)) => {
                // Down, restarting, read-only or full: nothing was written,
                // and trying later may work. The cause stays in the log.
                tracing::error!(error = %cause, "the store failed a request");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::Unavailable,
                    "the database cannot take this request now; nothing was changed; try again",
                )
            }
            other => {
                // The cause may hold SQL or file names: logs only.
                tracing::error!(error = %other, "request failed");
                ApiError::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error) = self.into_parts();
        (status, Json(ErrorBody { error })).into_response()
    }
}
