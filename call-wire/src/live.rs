//! The live stream's messages: what `/api/ws`, `/socket.io/` and the
//! webhooks send, one per change of the audit log. `call-http` makes them
//! from the store's log (`call_http::live`); a client reads them here.

use serde::{Deserialize, Serialize};

use crate::{AlertJson, CallJson, EventJson};

/// One live message, tagged by `type`. Every message but `hello` and
/// `reload` is made of entries of the audit log, and its `seq` is the
/// position of its last: positions grow from message to message, but are
/// not contiguous.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveMessage {
    /// The first message of a connection: the stream goes on after `seq`
    /// (the `after` asked for, or the head of the log when none was).
    Hello {
        /// The position the stream goes on after.
        seq: u64,
    },
    /// The first message of a connection whose `after` is outside the
    /// replay window: what it missed cannot be sent, so reload the state
    /// (`GET /api/calls`, `GET /api/alerts`); the stream goes on after `seq`.
    Reload {
        /// The position the stream goes on after.
        seq: u64,
        /// Why.
        reason: String,
    },
    /// A call changed: the events of one change, and the call as it saved it
    /// (replayed, or made by another process, the call as it is now: at or
    /// after the event, so a client that applies messages in order ends up
    /// right).
    CallChanged {
        /// The position of the change's last event in the log.
        seq: u64,
        /// The call.
        call: CallJson,
        /// The change's audit-log entries, in order (but its alerts and
        /// survey requests, which are messages of their own).
        events: Vec<EventJson>,
    },
    /// A business rule raised an alert (its `alert_raised` event).
    Alert {
        /// The event's position in the log.
        seq: u64,
        /// The alert, as it is now.
        alert: AlertJson,
    },
    /// An answered call ended: time to send the customer a survey.
    SurveyRequested {
        /// The event's position in the log.
        seq: u64,
        /// The ended call.
        call: CallJson,
    },
}

impl LiveMessage {
    /// The message as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("live messages serialize")
    }

    /// Its position: that of its log entry, or where the stream goes on after.
    pub fn seq(&self) -> u64 {
        match self {
            LiveMessage::Hello { seq }
            | LiveMessage::Reload { seq, .. }
            | LiveMessage::CallChanged { seq, .. }
            | LiveMessage::Alert { seq, .. }
            | LiveMessage::SurveyRequested { seq, .. } => *seq,
        }
    }

    /// Its `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            LiveMessage::Hello { .. } => "hello",
            LiveMessage::Reload { .. } => "reload",
            LiveMessage::CallChanged { .. } => "call_changed",
            LiveMessage::Alert { .. } => "alert",
            LiveMessage::SurveyRequested { .. } => "survey_requested",
        }
    }
}
