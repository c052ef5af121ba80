//! What the WebSocket pushes and the webhooks POST: one JSON message per
//! engine notification.

use call_core::ports::{Alert, Notification};
use call_wire::{CallJson, EventJson};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One notification as JSON, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveMessage {
    /// A call changed: the call as saved, and the events that changed it, in order.
    CallChanged {
        /// The call after the change.
        call: CallJson,
        /// The audit-log entries written with it.
        events: Vec<EventJson>,
    },
    /// A business rule raised an alert.
    Alert {
        /// The alert.
        alert: AlertJson,
    },
    /// An answered call ended: time to send the customer a survey.
    SurveyRequested {
        /// The ended call.
        call: CallJson,
    },
}

/// An alert raised by a business rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AlertJson {
    /// `sla_breach`, `long_wait` or `hold_exceeded`.
    pub kind: String,
    /// The call it concerns.
    pub call_id: String,
    /// The call's queue.
    pub queue_id: Option<String>,
    /// The call's agent.
    pub agent_id: Option<String>,
    /// The measured figure: seconds waited or held.
    pub seconds: f64,
    /// The threshold it passed, in seconds.
    pub threshold_seconds: f64,
    /// When the rule fired.
    pub at: DateTime<Utc>,
}

impl From<&Alert> for AlertJson {
    fn from(alert: &Alert) -> AlertJson {
        AlertJson {
            kind: alert.kind.to_string(),
            call_id: alert.call_id.to_string(),
            queue_id: alert.queue_id.as_ref().map(|q| q.to_string()),
            agent_id: alert.agent_id.as_ref().map(|a| a.to_string()),
            seconds: alert.seconds,
            threshold_seconds: alert.threshold_seconds,
            at: alert.at,
        }
    }
}

impl From<&Notification> for LiveMessage {
    fn from(notification: &Notification) -> LiveMessage {
        match notification {
            Notification::CallChanged { call, events } => LiveMessage::CallChanged {
                call: CallJson::from(call),
                events: events.iter().map(EventJson::from).collect(),
            },
            Notification::Alert(alert) => LiveMessage::Alert { alert: AlertJson::from(alert) },
            Notification::SurveyRequested { call } => {
                LiveMessage::SurveyRequested { call: CallJson::from(call) }
            }
        }
    }
}

impl LiveMessage {
    /// The message as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("live messages serialize")
    }
}
