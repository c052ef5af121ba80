//! The call: one phone call, outbound or inbound, and what it takes to schedule one.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::{
    AgentId, CallId, CallStatus, CallingWindow, Direction, EndReason, Flags, IdempotencyKey, Media,
    PhoneNumber, QueueId, Recurrence, Redial, SeriesId, WorkerId,
};

/// A worker's claim on a call it is placing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The worker holding the claim.
    pub worker: WorkerId,
    /// When the claim lapses if the worker does not finish or renew it.
    pub expires_at: DateTime<Utc>,
}

/// Which occurrence of a recurring [series](crate::Series) a call is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    /// The series.
    pub series_id: SeriesId,
    /// Its number in the series, from 1.
    pub number: u32,
}

/// Every field of a [`Call`], public, for stores to rebuild a call they
/// saved ([`Call::from_parts`]) and to read one whole ([`Call::parts`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CallParts {
    /// See [`Call::id`].
    pub id: CallId,
    /// See [`Call::direction`].
    pub direction: Direction,
    /// See [`Call::to`].
    pub to: Option<PhoneNumber>,
    /// See [`Call::from`].
    pub from: Option<PhoneNumber>,
    /// See [`Call::customer_name`].
    pub customer_name: Option<String>,
    /// See [`Call::workflow`].
    pub workflow: Option<String>,
    /// See [`Call::media`].
    pub media: Media,
    /// See [`Call::queue_id`].
    pub queue_id: Option<QueueId>,
    /// See [`Call::agent_id`].
    pub agent_id: Option<AgentId>,
    /// See [`Call::metadata`].
    pub metadata: Map<String, Value>,
    /// See [`Call::status`].
    pub status: CallStatus,
    /// See [`Call::scheduled_at`].
    pub scheduled_at: Option<DateTime<Utc>>,
    /// See [`Call::external_id`].
    pub external_id: Option<String>,
    /// See [`Call::attempts`].
    pub attempts: u32,
    /// See [`Call::last_error`].
    pub last_error: Option<String>,
    /// See [`Call::created_at`].
    pub created_at: DateTime<Utc>,
    /// See [`Call::updated_at`].
    pub updated_at: DateTime<Utc>,
    /// See [`Call::initiated_at`].
    pub initiated_at: Option<DateTime<Utc>>,
    /// See [`Call::routed_at`].
    pub routed_at: Option<DateTime<Utc>>,
    /// See [`Call::answered_at`].
    pub answered_at: Option<DateTime<Utc>>,
    /// See [`Call::held_at`].
    pub held_at: Option<DateTime<Utc>>,
    /// See [`Call::ended_at`].
    pub ended_at: Option<DateTime<Utc>>,
    /// See [`Call::wait_seconds`].
    pub wait_seconds: Option<f64>,
    /// See [`Call::hold_seconds`].
    pub hold_seconds: Option<f64>,
    /// See [`Call::duration_seconds`].
    pub duration_seconds: Option<f64>,
    /// See [`Call::end_reason`].
    pub end_reason: Option<EndReason>,
    /// See [`Call::flags`].
    pub flags: Flags,
    /// See [`Call::deadline_at`].
    pub deadline_at: Option<DateTime<Utc>>,
    /// See [`Call::lease`].
    pub lease: Option<Lease>,
    /// See [`Call::occurrence`].
    pub occurrence: Option<Occurrence>,
    /// See [`Call::calling_window`].
    pub calling_window: Option<CallingWindow>,
    /// See [`Call::redial`].
    pub redial: Option<Redial>,
    /// See [`Call::redial_attempt`].
    pub redial_attempt: u32,
    /// See [`Call::redial_of`].
    pub redial_of: Option<CallId>,
    /// See [`Call::redialed_as`].
    pub redialed_as: Option<CallId>,
    /// See [`Call::version`].
    pub version: u64,
}

impl CallParts {
    /// A call with only its id, direction, status and creation time; every
    /// other field empty (no numbers, voice, no flags, a first attempt,
    /// version 0). Set the
    /// rest with struct update syntax: `CallParts { to: Some(n), ..CallParts::new(…) }`.
    pub fn new(
        id: CallId,
        direction: Direction,
        status: CallStatus,
        created_at: DateTime<Utc>,
    ) -> CallParts {
        CallParts {
            id,
            direction,
            to: None,
            from: None,
            customer_name: None,
            workflow: None,
            media: Media::Voice,
            queue_id: None,
            agent_id: None,
            metadata: Map::new(),
            status,
            scheduled_at: None,
            external_id: None,
            attempts: 0,
            last_error: None,
            created_at,
            updated_at: created_at,
            initiated_at: None,
            routed_at: None,
            answered_at: None,
            held_at: None,
            ended_at: None,
            wait_seconds: None,
            hold_seconds: None,
            duration_seconds: None,
            end_reason: None,
            flags: Flags::EMPTY,
            deadline_at: None,
            lease: None,
            occurrence: None,
            calling_window: None,
            redial: None,
            redial_attempt: 1,
            redial_of: None,
            redialed_as: None,
            version: 0,
        }
    }
}

/// One phone call.
///
/// Calls are made by the [`Engine`](crate::Engine) (which keeps their
/// invariants) and read through getters; a store rebuilds one with
/// [`Call::from_parts`].
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub(crate) parts: CallParts,
}

impl Call {
    /// Rebuilds a call from the fields a store saved. The parts are trusted:
    /// give back exactly what [`Call::parts`] returned.
    pub fn from_parts(parts: CallParts) -> Call {
        Call { parts }
    }

    /// Every field at once.
    pub fn parts(&self) -> &CallParts {
        &self.parts
    }

    /// Its id.
    pub fn id(&self) -> &CallId {
        &self.parts.id
    }
    /// Outbound (placed by us) or inbound (reported by an event source).
    pub fn direction(&self) -> Direction {
        self.parts.direction
    }
    /// The called number; always present on outbound calls.
    pub fn to(&self) -> Option<&PhoneNumber> {
        self.parts.to.as_ref()
    }
    /// The caller's number; absent when the provider picks the caller id.
    pub fn from(&self) -> Option<&PhoneNumber> {
        self.parts.from.as_ref()
    }
    /// The customer's name.
    pub fn customer_name(&self) -> Option<&str> {
        self.parts.customer_name.as_deref()
    }
    /// Free text: support, sales, reminder…
    pub fn workflow(&self) -> Option<&str> {
        self.parts.workflow.as_deref()
    }
    /// Voice or video.
    pub fn media(&self) -> Media {
        self.parts.media
    }
    /// The queue it waits in.
    pub fn queue_id(&self) -> Option<&QueueId> {
        self.parts.queue_id.as_ref()
    }
    /// The agent it is routed to or answered by.
    pub fn agent_id(&self) -> Option<&AgentId> {
        self.parts.agent_id.as_ref()
    }
    /// The caller's own data, a JSON object.
    pub fn metadata(&self) -> &Map<String, Value> {
        &self.parts.metadata
    }
    /// Where it is in its life.
    pub fn status(&self) -> CallStatus {
        self.parts.status
    }
    /// When it is due to be placed (outbound calls).
    pub fn scheduled_at(&self) -> Option<DateTime<Utc>> {
        self.parts.scheduled_at
    }
    /// The provider's id for it, once the provider accepted it.
    pub fn external_id(&self) -> Option<&str> {
        self.parts.external_id.as_deref()
    }
    /// How many provider requests were made to place it.
    pub fn attempts(&self) -> u32 {
        self.parts.attempts
    }
    /// The last error met placing or following it.
    pub fn last_error(&self) -> Option<&str> {
        self.parts.last_error.as_deref()
    }
    /// When it was created.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.parts.created_at
    }
    /// When it last changed.
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.parts.updated_at
    }
    /// When the provider accepted it or `call_initiated` reported it: the
    /// start of its wait, and of the SLA timer.
    pub fn initiated_at(&self) -> Option<DateTime<Utc>> {
        self.parts.initiated_at
    }
    /// When it was routed to its current agent, while that agent has not answered.
    pub fn routed_at(&self) -> Option<DateTime<Utc>> {
        self.parts.routed_at
    }
    /// When it was answered.
    pub fn answered_at(&self) -> Option<DateTime<Utc>> {
        self.parts.answered_at
    }
    /// When its current hold began, while on hold.
    pub fn held_at(&self) -> Option<DateTime<Utc>> {
        self.parts.held_at
    }
    /// When it ended.
    pub fn ended_at(&self) -> Option<DateTime<Utc>> {
        self.parts.ended_at
    }
    /// When it took place, the moment a history shows and is ordered by:
    /// when it was placed or reported initiated; for a call that ended
    /// without being placed (refused by the provider, its calling window
    /// never open), when it ended; otherwise when it was created.
    ///
    /// The stores keep this as a generated column, `happened_at`, with the
    /// same rule in SQL; the conformance suite holds them to it.
    pub fn happened_at(&self) -> DateTime<Utc> {
        self.parts.initiated_at.or(self.parts.ended_at).unwrap_or(self.parts.created_at)
    }
    /// Seconds from initiated to answered.
    pub fn wait_seconds(&self) -> Option<f64> {
        self.parts.wait_seconds
    }
    /// Seconds spent on hold, all holds added up.
    pub fn hold_seconds(&self) -> Option<f64> {
        self.parts.hold_seconds
    }
    /// Seconds from answered to ended.
    pub fn duration_seconds(&self) -> Option<f64> {
        self.parts.duration_seconds
    }
    /// Why it ended.
    pub fn end_reason(&self) -> Option<EndReason> {
        self.parts.end_reason
    }
    /// The marks rules and the worker left on it.
    pub fn flags(&self) -> Flags {
        self.parts.flags
    }
    /// When the next business-rule timer of this live call fires (SLA,
    /// agent answer, hold); stored and indexed so the worker can sleep until it.
    pub fn deadline_at(&self) -> Option<DateTime<Utc>> {
        self.parts.deadline_at
    }
    /// The claim of the worker placing it, while `dispatching`.
    pub fn lease(&self) -> Option<&Lease> {
        self.parts.lease.as_ref()
    }
    /// The series it belongs to and its number there, for an occurrence
    /// of a recurring series.
    pub fn occurrence(&self) -> Option<&Occurrence> {
        self.parts.occurrence.as_ref()
    }

    /// The window it may ring in (its own parts over the engine's default,
    /// as they were when it was scheduled); `None` when it may ring at any hour.
    pub fn calling_window(&self) -> Option<&CallingWindow> {
        self.parts.calling_window.as_ref()
    }
    /// Its [redial policy](crate::redial) (its own, or the engine's
    /// default when it was scheduled); `None` when it is never redialled.
    pub fn redial(&self) -> Option<&Redial> {
        self.parts.redial.as_ref()
    }
    /// Which attempt at its number it is: 1 for a first dial, *n* for the
    /// (*n* − 1)th redial.
    pub fn redial_attempt(&self) -> u32 {
        self.parts.redial_attempt
    }
    /// The attempt it redials, for a redial.
    pub fn redial_of(&self) -> Option<&CallId> {
        self.parts.redial_of.as_ref()
    }
    /// The attempt that redials it, once it ended with an outcome its
    /// policy dials again.
    pub fn redialed_as(&self) -> Option<&CallId> {
        self.parts.redialed_as.as_ref()
    }
    /// Its version, raised by one at every change; saves with a stale
    /// version are refused.
    pub fn version(&self) -> u64 {
        self.parts.version
    }
    /// Whether it was answered.
    pub fn was_answered(&self) -> bool {
        self.parts.answered_at.is_some()
    }
    /// A new call to the same number with the same details (caller id,
    /// name, workflow, media, queue, metadata, calling window and redial
    /// policy), `scheduled` for `due`, made at `now`: the call a series'
    /// next occurrence and a redial are made from.
    pub(crate) fn again(&self, due: DateTime<Utc>, now: DateTime<Utc>) -> CallParts {
        let p = &self.parts;
        CallParts {
            to: p.to.clone(),
            from: p.from.clone(),
            customer_name: p.customer_name.clone(),
            workflow: p.workflow.clone(),
            media: p.media,
            queue_id: p.queue_id.clone(),
            metadata: p.metadata.clone(),
            scheduled_at: Some(due),
            calling_window: p.calling_window.clone(),
            redial: p.redial.clone(),
            version: 1,
            ..CallParts::new(CallId::generate(), Direction::Outbound, CallStatus::Scheduled, now)
        }
    }
    /// Whether `number` is its caller or callee.
    pub fn involves(&self, number: &PhoneNumber) -> bool {
        self.parts.to.as_ref() == Some(number) || self.parts.from.as_ref() == Some(number)
    }
}

/// What it takes to schedule an outbound call: the number, and optionally
/// the time and the call's details. Build it with [`NewCall::to`] and the
/// chained setters, then hand it to [`Engine::schedule`](crate::Engine::schedule).
#[derive(Debug, Clone, PartialEq)]
pub struct NewCall {
    pub(crate) to: PhoneNumber,
    pub(crate) from: Option<PhoneNumber>,
    pub(crate) scheduled_at: Option<DateTime<Utc>>,
    pub(crate) customer_name: Option<String>,
    pub(crate) workflow: Option<String>,
    pub(crate) media: Media,
    pub(crate) queue_id: Option<QueueId>,
    pub(crate) metadata: Map<String, Value>,
    pub(crate) idempotency_key: Option<IdempotencyKey>,
    pub(crate) recurrence: Option<Recurrence>,
    pub(crate) calling_window: Option<CallingWindow>,
    pub(crate) redial: Option<Redial>,
}

impl NewCall {
    /// Checks the free text against the [limits](crate::limits): the
    /// customer's name, the workflow and the metadata.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`](crate::ValidationError) on the first field over its limit.
    pub fn check_limits(&self) -> Result<(), crate::ValidationError> {
        use crate::limits;
        let name = self.customer_name.as_deref();
        limits::optional_text("customer_name", name, limits::MAX_NAME_CHARS)?;
        let workflow = self.workflow.as_deref();
        limits::optional_text("workflow", workflow, limits::MAX_WORKFLOW_CHARS)?;
        limits::metadata(&self.metadata)
    }

    /// The queue it is for, if any: a caller that checks the registry
    /// before scheduling many reads it here.
    pub fn queue_id(&self) -> Option<&QueueId> {
        self.queue_id.as_ref()
    }

    /// A voice call to `to`, due now.
    pub fn to(to: PhoneNumber) -> NewCall {
        NewCall {
            to,
            from: None,
            scheduled_at: None,
            customer_name: None,
            workflow: None,
            media: Media::Voice,
            queue_id: None,
            metadata: Map::new(),
            idempotency_key: None,
            recurrence: None,
            calling_window: None,
            redial: None,
        }
    }

    /// Due at `at` instead of now.
    #[must_use]
    pub fn at(mut self, at: DateTime<Utc>) -> NewCall {
        self.scheduled_at = Some(at);
        self
    }

    /// The caller id to present; the provider picks one when absent.
    #[must_use]
    pub fn from(mut self, from: PhoneNumber) -> NewCall {
        self.from = Some(from);
        self
    }

    /// The customer's name.
    #[must_use]
    pub fn customer_name(mut self, name: impl Into<String>) -> NewCall {
        self.customer_name = Some(name.into());
        self
    }

    /// The workflow: support, sales, reminder…
    #[must_use]
    pub fn workflow(mut self, workflow: impl Into<String>) -> NewCall {
        self.workflow = Some(workflow.into());
        self
    }

    /// Voice or video.
    #[must_use]
    pub fn media(mut self, media: Media) -> NewCall {
        self.media = media;
        self
    }

    /// The queue it belongs to; must be in the queue registry.
    #[must_use]
    pub fn queue(mut self, queue_id: QueueId) -> NewCall {
        self.queue_id = Some(queue_id);
        self
    }

    /// The caller's own data, kept with the call.
    #[must_use]
    pub fn metadata(mut self, metadata: Map<String, Value>) -> NewCall {
        self.metadata = metadata;
        self
    }

    /// Makes the request idempotent: scheduling it again with the same key
    /// (a client's retry) answers the call the first request made instead of
    /// making another, for at least [`KEY_RETENTION`](crate::KEY_RETENTION).
    /// The same key with a different request is refused.
    #[must_use]
    pub fn idempotency_key(mut self, key: IdempotencyKey) -> NewCall {
        self.idempotency_key = Some(key);
        self
    }

    /// Makes it the first occurrence of a recurring series: it falls at
    /// the recurrence's first firing at or after its due time, and each
    /// next occurrence is made, with the same details, when the one before
    /// it is claimed (see [`Series`](crate::Series)).
    #[must_use]
    pub fn recurrence(mut self, recurrence: Recurrence) -> NewCall {
        self.recurrence = Some(recurrence);
        self
    }

    /// The local hours and days it may ring in. The parts it leaves out are
    /// the engine's [default window](crate::Config::default_window)'s; a
    /// due time outside the window moves to its next opening.
    #[must_use]
    pub fn calling_window(mut self, window: CallingWindow) -> NewCall {
        self.calling_window = Some(window);
        self
    }

    /// Dials it again when it ends with an outcome the policy names; the
    /// engine's [default policy](crate::Config::default_redial) otherwise.
    #[must_use]
    pub fn redial(mut self, redial: Redial) -> NewCall {
        self.redial = Some(redial);
        self
    }
}
