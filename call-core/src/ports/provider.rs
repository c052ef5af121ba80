use std::time::Duration;

use async_trait::async_trait;

use crate::{CallId, PhoneNumber, names::named_enum};

/// A request to place one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceCall {
    /// Our id of the call, for providers that take a reference or an idempotency key.
    pub call_id: CallId,
    /// The number to dial.
    pub to: PhoneNumber,
    /// The caller id to present; the provider's default when absent.
    pub from: Option<PhoneNumber>,
}

named_enum! {
    /// A call's status as a provider reports it, the Mock Call API's four
    /// and the Twilio-style ones mapped onto one set.
    pub enum ProviderStatus: "status" {
        /// Accepted, not yet dialling (Twilio `queued`).
        Queued = "queued",
        /// Accepted and being placed (Mock Call API `initiated`).
        Initiated = "initiated",
        /// Ringing at the callee.
        Ringing = "ringing",
        /// Answered (Mock `connected`, Twilio `in-progress`).
        Connected = "connected",
        /// Ended after being answered.
        Completed = "completed",
        /// The callee was busy.
        Busy = "busy",
        /// The callee did not answer.
        NoAnswer = "no_answer",
        /// The provider could not place it.
        Failed = "failed",
        /// Canceled at the provider before it was answered.
        Canceled = "canceled",
    }
}

impl ProviderStatus {
    /// Whether the provider will report nothing further.
    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            ProviderStatus::Completed
                | ProviderStatus::Busy
                | ProviderStatus::NoAnswer
                | ProviderStatus::Failed
                | ProviderStatus::Canceled
        )
    }
}

/// A call as the provider reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderCall {
    /// The provider's id of the call.
    pub external_id: String,
    /// Its status.
    pub status: ProviderStatus,
    /// The talk time in seconds, once the provider knows it.
    pub duration_seconds: Option<f64>,
}

/// Why a provider request failed, classified by what the caller should do.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// Worth retrying: the request never reached the provider (a connect
    /// error), or the provider refused it for now (429, 5xx).
    #[error("provider unavailable: {message}")]
    Transient {
        /// What happened.
        message: String,
        /// How long the provider asked us to wait (`Retry-After`).
        retry_after: Option<Duration>,
    },
    /// Retrying will not help (a 4xx): the provider's own message.
    #[error("provider refused the call: {message}")]
    Permanent {
        /// The provider's message.
        message: String,
    },
    /// The request was sent and no answer came back: it timed out, or the
    /// connection was cut. The provider may have acted on it, so a
    /// placement that ends this way may have dialled the callee.
    #[error("no answer from the provider: {message}")]
    Unanswered {
        /// What happened.
        message: String,
    },
    /// The provider does not know the call (it may have forgotten it).
    #[error("provider does not know call {external_id}")]
    NotFound {
        /// The id asked for.
        external_id: String,
    },
    /// The provider answered something this client cannot read: an unknown
    /// status, a malformed body. Whether a placement request took effect is
    /// unknown.
    #[error("unexpected answer from the provider: {message}")]
    Invalid {
        /// What was wrong with it.
        message: String,
    },
}

/// A telephony provider that places calls and reports their status.
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait CallProvider: Send + Sync {
    /// Asks the provider to dial `request.to`.
    ///
    /// Placing a call is not idempotent: the engine calls this at most once
    /// per attempt and never again for a call whose earlier attempt may have
    /// taken effect, unless its policy says otherwise.
    ///
    /// # Errors
    ///
    /// Implementations MUST classify every failure by whether the provider
    /// may have acted on it: [`ProviderError::Transient`] when it surely did
    /// not (a connect error, 429, 5xx: the engine retries with backoff);
    /// [`ProviderError::Unanswered`] when the request was sent and no answer
    /// was read (a timeout, a cut connection: the engine does not dial again
    /// unless its policy is at least once); [`ProviderError::Permanent`] for
    /// other refusals, carrying the provider's message (the call fails at
    /// once); [`ProviderError::Invalid`] for an answer that cannot be read.
    async fn place_call(&self, request: &PlaceCall) -> Result<ProviderCall, ProviderError>;

    /// Fetches the provider's view of the call it knows as `external_id`.
    ///
    /// # Errors
    ///
    /// [`ProviderError::NotFound`] when the provider does not know the id;
    /// otherwise as for [`place_call`](Self::place_call). An unknown status
    /// string MUST be [`ProviderError::Invalid`], never a panic.
    async fn fetch_call(&self, external_id: &str) -> Result<ProviderCall, ProviderError>;
}
