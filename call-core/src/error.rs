//! The errors of the engine's operations.

use std::fmt;

use crate::{CallId, CallStatus, EventType, SeriesId, ports::StoreError};

/// A value that failed validation: which field, and why.
///
/// The message is lower case, names the offending value where that helps,
/// and is fit to show to the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    field: &'static str,
    message: String,
    refusal: Refusal,
}

/// What kind of refusal a [`ValidationError`] is: a client acts on a bad
/// value by correcting it, and on the others as what they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// A value to correct.
    Invalid,
    /// The number is on the do-not-call list: no call is placed to it.
    DoNotCall,
}

impl Refusal {
    /// Its name on the wire: `invalid`, `do_not_call`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Refusal::Invalid => "invalid",
            Refusal::DoNotCall => "do_not_call",
        }
    }
}

impl ValidationError {
    /// A validation failure of `field`.
    pub fn new(field: &'static str, message: impl Into<String>) -> ValidationError {
        ValidationError { field, message: message.into(), refusal: Refusal::Invalid }
    }

    /// The same error as a refusal of another kind, one a client acts on as
    /// such ([`Refusal::DoNotCall`]) rather than as a value to correct.
    #[must_use]
    pub fn with_refusal(mut self, refusal: Refusal) -> ValidationError {
        self.refusal = refusal;
        self
    }

    /// What kind of refusal it is: [`Refusal::Invalid`] for a bad value, or
    /// the kind given by [`with_refusal`](Self::with_refusal).
    pub fn refusal(&self) -> Refusal {
        self.refusal
    }

    /// The name of the invalid field, as it is spelled on the wire (`phone_number`, `scheduled_at`).
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// Why the value is invalid.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The same error reported under another field name, for edges whose
    /// field is spelled differently (`to` is `phone_number` on the HTTP API).
    #[must_use]
    pub fn for_field(mut self, field: &'static str) -> ValidationError {
        self.field = field;
        self
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: {}", self.field, self.message)
    }
}

impl std::error::Error for ValidationError {}

/// An event that the state machine refuses in the call's current status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("event {event} is not allowed in status {from}")]
pub struct TransitionError {
    /// The status the call was in.
    pub from: CallStatus,
    /// The event that does not fit it.
    pub event: EventType,
}

/// What can go wrong in an [`Engine`](crate::Engine) operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No call has this id.
    #[error("call {0} not found")]
    NotFound(CallId),
    /// No recurring series has this id.
    #[error("series {0} not found")]
    SeriesNotFound(SeriesId),
    /// No alert has this id.
    #[error("alert {0} not found")]
    AlertNotFound(crate::EventId),
    /// An input value is invalid; nothing was written.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// One call of a batch is invalid; nothing of the batch was written.
    #[error("call {} of the batch: {error}", index + 1)]
    Batch {
        /// The invalid call's position in the batch, from 0.
        index: usize,
        /// Why it is invalid.
        error: ValidationError,
    },
    /// The event does not fit the call's status; nothing was written.
    #[error(transparent)]
    InvalidTransition(#[from] TransitionError),
    /// The call kept changing under this operation; it was retried and
    /// gave up. Safe to retry.
    #[error("call {0} was changed concurrently too many times, try again")]
    Contended(CallId),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Error {
    /// The validation error, for edges mapping it onto a field.
    pub fn validation(&self) -> Option<&ValidationError> {
        match self {
            Error::Validation(e) => Some(e),
            _ => None,
        }
    }
}
