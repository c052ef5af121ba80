//! The audit log's events, and the lifecycle events an event source sends in.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::{
    AgentId, CallId, Direction, EndReason, EventId, Media, PhoneNumber, QueueId, ValidationError,
    limits, names::named_enum,
};

named_enum! {
    /// What happened to a call: the `type` of an audit-log event.
    pub enum EventType: "event_type" {
        /// The call was scheduled.
        CallScheduled = "call_scheduled",
        /// Its due time was moved.
        CallRescheduled = "call_rescheduled",
        /// It was canceled before being placed.
        CallCanceled = "call_canceled",
        /// A worker claimed it and is placing it.
        CallDispatched = "call_dispatched",
        /// The provider accepted it, or an event source reported it.
        CallInitiated = "call_initiated",
        /// It is ringing.
        CallRinging = "call_ringing",
        /// It was assigned to an agent.
        CallRouted = "call_routed",
        /// The agent did not answer; it went back to waiting.
        CallRetransfer = "call_retransfer",
        /// It was answered.
        CallAnswered = "call_answered",
        /// It was put on hold.
        CallHold = "call_hold",
        /// It came off hold.
        CallResumed = "call_resumed",
        /// It was transferred to another agent or queue.
        CallTransferred = "call_transferred",
        /// It ended.
        CallEnded = "call_ended",
        /// It failed.
        CallFailed = "call_failed",
        /// A rule raised an alert.
        AlertRaised = "alert_raised",
        /// A supervisor acknowledged an alert.
        AlertAcknowledged = "alert_acknowledged",
        /// A rule or the worker flagged it.
        CallFlagged = "call_flagged",
        /// A post-call survey was requested.
        SurveyRequested = "survey_requested",
    }
}

/// What an event type is, declared once, in [`EventType::facts`]: the
/// lists and checks that depend on it (which types a client may send,
/// which move a call, the fields each carries) are read from there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventFacts {
    /// Whether it moves a call from one status to another (a transition
    /// of the [machine](crate::machine), [`Trigger::event_type`](crate::machine::Trigger::event_type)
    /// names it), as opposed to creating the call or noting something.
    pub moves_status: bool,
    /// Whether an event source may send it (`POST /api/events`, `calls
    /// event`); the others callwork records itself.
    pub sendable: bool,
    /// The fields an event source sends with it, beside the envelope, as
    /// the wire names them (what [`Lifecycle::to_metadata`] writes).
    pub fields: &'static [&'static str],
}

impl EventType {
    /// The facts of this event type: the one place they are declared.
    pub const fn facts(self) -> EventFacts {
        use EventType as T;
        const fn system(moves_status: bool) -> EventFacts {
            EventFacts { moves_status, sendable: false, fields: &[] }
        }
        const fn sent(fields: &'static [&'static str]) -> EventFacts {
            EventFacts { moves_status: true, sendable: true, fields }
        }
        match self {
            T::CallScheduled => system(false),
            T::CallRescheduled | T::CallCanceled | T::CallDispatched => system(true),
            T::CallInitiated => {
                sent(&["type", "queue_id", "from", "to", "direction", "customer_name"])
            }
            T::CallRinging | T::CallResumed => sent(&[]),
            T::CallRouted => sent(&["agent_id", "routing_time"]),
            T::CallRetransfer => sent(&["agent_id", "reason"]),
            T::CallAnswered => sent(&["wait_time"]),
            T::CallHold => sent(&["hold_duration"]),
            T::CallTransferred => sent(&["agent_id", "queue_id"]),
            T::CallEnded => sent(&["end_reason", "duration"]),
            T::CallFailed => sent(&["error"]),
            T::AlertRaised | T::AlertAcknowledged | T::CallFlagged | T::SurveyRequested => {
                system(false)
            }
        }
    }

    /// Whether an event of this type moves a call from one status to
    /// another ([`EventFacts::moves_status`]).
    pub const fn moves_status(self) -> bool {
        self.facts().moves_status
    }

    /// The types an event source may send ([`EventFacts::sendable`]).
    pub fn sendable() -> impl Iterator<Item = EventType> {
        EventType::ALL.iter().copied().filter(|t| t.facts().sendable)
    }
}

named_enum! {
    /// Who recorded an event.
    pub enum EventSource: "source" {
        /// The HTTP API.
        Api = "api",
        /// The worker placing calls.
        Scheduler = "scheduler",
        /// The provider, by polling or callback.
        Provider = "provider",
        /// A business rule.
        Rules = "rules",
        /// The command-line tool.
        Cli = "cli",
    }
}

/// One entry of the append-only audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct CallEvent {
    id: EventId,
    call_id: CallId,
    event_type: EventType,
    timestamp: DateTime<Utc>,
    recorded_at: DateTime<Utc>,
    source: EventSource,
    metadata: Map<String, Value>,
}

impl CallEvent {
    /// An event with every field given; stores use this to rebuild what
    /// they saved, the engine to record what happened.
    pub fn new(
        id: EventId,
        call_id: CallId,
        event_type: EventType,
        timestamp: DateTime<Utc>,
        recorded_at: DateTime<Utc>,
        source: EventSource,
        metadata: Map<String, Value>,
    ) -> CallEvent {
        CallEvent { id, call_id, event_type, timestamp, recorded_at, source, metadata }
    }

    /// The event's id: the source's `event_id`, or a generated UUID v7.
    pub fn id(&self) -> &EventId {
        &self.id
    }
    /// The call it belongs to.
    pub fn call_id(&self) -> &CallId {
        &self.call_id
    }
    /// What happened.
    pub fn event_type(&self) -> EventType {
        self.event_type
    }
    /// When it happened.
    pub fn timestamp(&self) -> DateTime<Utc> {
        self.timestamp
    }
    /// When it was written to the log.
    pub fn recorded_at(&self) -> DateTime<Utc> {
        self.recorded_at
    }
    /// Who recorded it.
    pub fn source(&self) -> EventSource {
        self.source
    }
    /// Its details: the source's fields, the rule's alert, the provider's answer.
    pub fn metadata(&self) -> &Map<String, Value> {
        &self.metadata
    }

    /// Its details, to add to before it is written.
    pub(crate) fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.metadata
    }
}

/// A lifecycle event as an event source (a contact-centre platform, the
/// CLI, the provider follower) reports it, ready for
/// [`Engine::ingest`](crate::Engine::ingest).
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingEvent {
    /// The call it concerns; a `call_initiated` for an unknown id creates the call.
    pub call_id: CallId,
    /// The source's own id for this event: a second delivery with the same
    /// id is a no-op that answers as the first did.
    pub event_id: Option<EventId>,
    /// When it happened; now when absent.
    pub timestamp: Option<DateTime<Utc>>,
    /// Who reports it.
    pub source: EventSource,
    /// What happened, with its fields.
    pub lifecycle: Lifecycle,
}

/// The lifecycle events an event source may send, each with its fields.
#[derive(Debug, Clone, PartialEq)]
pub enum Lifecycle {
    /// `call_initiated`: the call exists and is waiting.
    Initiated(Initiated),
    /// `call_ringing`.
    Ringing,
    /// `call_routed`: assigned to an agent, who must answer in time.
    Routed {
        /// The agent it was routed to.
        agent_id: AgentId,
        /// How long routing took, in seconds.
        routing_time: Option<f64>,
    },
    /// `call_retransfer`: the agent did not take it; back to waiting.
    Retransfer {
        /// The agent who did not answer; the call's current agent when absent.
        agent_id: Option<AgentId>,
        /// Why.
        reason: Option<String>,
    },
    /// `call_answered`.
    Answered {
        /// Seconds the caller waited; derived from the timestamps when absent.
        wait_time: Option<f64>,
    },
    /// `call_hold`.
    Hold {
        /// Seconds the call has already been on hold.
        hold_duration: Option<f64>,
    },
    /// `call_resumed`: off hold.
    Resumed,
    /// `call_transferred`: to another agent or queue.
    Transferred {
        /// The new agent.
        agent_id: Option<AgentId>,
        /// The new queue.
        queue_id: Option<QueueId>,
    },
    /// `call_ended`.
    Ended {
        /// Why it ended; derived from the status when absent.
        end_reason: Option<EndReason>,
        /// The talk time in seconds; derived from the timestamps when absent.
        duration: Option<f64>,
    },
    /// `call_failed`.
    Failed {
        /// What went wrong.
        error: Option<String>,
    },
}

/// The fields of a `call_initiated`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Initiated {
    /// `type`: voice or video.
    pub media: Option<Media>,
    /// The queue it waits in; must be in the queue registry.
    pub queue_id: Option<QueueId>,
    /// The caller's number.
    pub from: Option<PhoneNumber>,
    /// The called number.
    pub to: Option<PhoneNumber>,
    /// Inbound unless said otherwise.
    pub direction: Option<Direction>,
    /// The caller's name.
    pub customer_name: Option<String>,
}

impl Lifecycle {
    /// The audit-log type of this event.
    pub fn event_type(&self) -> EventType {
        match self {
            Lifecycle::Initiated(_) => EventType::CallInitiated,
            Lifecycle::Ringing => EventType::CallRinging,
            Lifecycle::Routed { .. } => EventType::CallRouted,
            Lifecycle::Retransfer { .. } => EventType::CallRetransfer,
            Lifecycle::Answered { .. } => EventType::CallAnswered,
            Lifecycle::Hold { .. } => EventType::CallHold,
            Lifecycle::Resumed => EventType::CallResumed,
            Lifecycle::Transferred { .. } => EventType::CallTransferred,
            Lifecycle::Ended { .. } => EventType::CallEnded,
            Lifecycle::Failed { .. } => EventType::CallFailed,
        }
    }

    /// Checks the values a type cannot: seconds are finite and not
    /// negative, text is within its [limit](crate::limits), and an end
    /// reason is one a call that rang can have.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] naming the field.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let seconds = |field: &'static str, value: Option<f64>| match value {
            Some(v) if !v.is_finite() || v < 0.0 => Err(ValidationError::new(
                field,
                format!("must be a number of seconds >= 0, got {v}"),
            )),
            _ => Ok(()),
        };
        match self {
            Lifecycle::Initiated(fields) => limits::optional_text(
                "customer_name",
                fields.customer_name.as_deref(),
                limits::MAX_NAME_CHARS,
            ),
            Lifecycle::Retransfer { reason, .. } => {
                limits::optional_text("reason", reason.as_deref(), limits::MAX_REASON_CHARS)
            }
            Lifecycle::Failed { error } => {
                limits::optional_text("error", error.as_deref(), limits::MAX_REASON_CHARS)
            }
            Lifecycle::Routed { routing_time, .. } => seconds("routing_time", *routing_time),
            Lifecycle::Answered { wait_time } => seconds("wait_time", *wait_time),
            Lifecycle::Hold { hold_duration } => seconds("hold_duration", *hold_duration),
            Lifecycle::Ended { end_reason: Some(crate::EndReason::DoNotCall), .. } => {
                Err(ValidationError::new(
                    "end_reason",
                    "do_not_call is the scheduler's, for calls it never placed: a call that ended says completed, abandoned, failed, busy or no_answer",
                ))
            }
            Lifecycle::Ended { duration, .. } => seconds("duration", *duration),
            _ => Ok(()),
        }
    }

    /// The event's fields as audit-log metadata, absent fields left out.
    pub fn to_metadata(&self) -> Map<String, Value> {
        let mut map = Map::new();
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                map.insert(key.to_owned(), value);
            }
        };
        let text = |s: &str| Value::String(s.to_owned());
        let number = |n: f64| serde_json::Number::from_f64(n).map(Value::Number);
        match self {
            Lifecycle::Initiated(init) => {
                put("type", init.media.map(|m| text(m.as_str())));
                put("queue_id", init.queue_id.as_ref().map(|q| text(q.as_str())));
                put("from", init.from.as_ref().map(|p| text(p.as_str())));
                put("to", init.to.as_ref().map(|p| text(p.as_str())));
                put("direction", init.direction.map(|d| text(d.as_str())));
                put("customer_name", init.customer_name.as_deref().map(text));
            }
            Lifecycle::Ringing | Lifecycle::Resumed => {}
            Lifecycle::Routed { agent_id, routing_time } => {
                put("agent_id", Some(text(agent_id.as_str())));
                put("routing_time", routing_time.and_then(number));
            }
            Lifecycle::Retransfer { agent_id, reason } => {
                put("agent_id", agent_id.as_ref().map(|a| text(a.as_str())));
                put("reason", reason.as_deref().map(text));
            }
            Lifecycle::Answered { wait_time } => put("wait_time", wait_time.and_then(number)),
            Lifecycle::Hold { hold_duration } => {
                put("hold_duration", hold_duration.and_then(number))
            }
            Lifecycle::Transferred { agent_id, queue_id } => {
                put("agent_id", agent_id.as_ref().map(|a| text(a.as_str())));
                put("queue_id", queue_id.as_ref().map(|q| text(q.as_str())));
            }
            Lifecycle::Ended { end_reason, duration } => {
                put("end_reason", end_reason.map(|r| text(r.as_str())));
                put("duration", duration.and_then(number));
            }
            Lifecycle::Failed { error } => put("error", error.as_deref().map(text)),
        }
        map
    }
}
