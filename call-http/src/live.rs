//! What the WebSocket pushes and the webhooks POST: one JSON message per
//! engine notification.

use call_core::ports::Notification;
use call_wire::{AlertJson, CallJson, EventJson};
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
