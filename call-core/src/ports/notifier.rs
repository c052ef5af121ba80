use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::broadcast;

use crate::{AgentId, Call, CallEvent, CallId, EventId, QueueId, rules::AlertKind};

/// An alert raised by a business rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// The id of its `alert_raised` event, and of its [record](crate::alerts::AlertRecord).
    pub id: EventId,
    /// What about.
    pub kind: AlertKind,
    /// The call it concerns.
    pub call_id: CallId,
    /// The call's queue, for routing the alert to its supervisor.
    pub queue_id: Option<QueueId>,
    /// The call's agent.
    pub agent_id: Option<AgentId>,
    /// The measured figure: seconds waited or held.
    pub seconds: f64,
    /// The threshold it passed, in seconds.
    pub threshold_seconds: f64,
    /// When the rule fired.
    pub at: DateTime<Utc>,
}

/// Something the engine tells the outside world, after it is committed.
#[derive(Debug, Clone, PartialEq)]
pub enum Notification {
    /// A call changed: its new state and the events that changed it.
    CallChanged {
        /// The call as saved.
        call: Call,
        /// The events written with it, in order.
        events: Vec<CallEvent>,
    },
    /// A rule raised an alert.
    Alert(Alert),
    /// An answered call ended: time to send the customer a survey.
    SurveyRequested {
        /// The ended call.
        call: Call,
    },
}

/// Where notifications go: logs, the live update stream, a webhook.
///
/// The engine calls `notify` once for each notification, after the change
/// behind it is committed, in commit order for any one call.
#[cfg_attr(feature = "testing", mockall::automock)]
pub trait Notifier: Send + Sync {
    /// Takes one notification.
    ///
    /// Implementations MUST NOT block or fail: a slow destination is
    /// handed the notification through a queue of its own (and drops it,
    /// logged, when that queue is full), so the engine never waits on it.
    fn notify(&self, notification: &Notification);
}

/// Logs every notification through `tracing`: changes at `debug`, alerts at `warn`.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogNotifier;

impl Notifier for LogNotifier {
    fn notify(&self, notification: &Notification) {
        match notification {
            Notification::CallChanged { call, events } => {
                for event in events {
                    tracing::debug!(call_id = %call.id(), event = %event.event_type(), status = %call.status(), "call changed");
                }
            }
            Notification::Alert(alert) => tracing::warn!(
                call_id = %alert.call_id, alert = %alert.kind, seconds = alert.seconds,
                threshold = alert.threshold_seconds, "alert raised"
            ),
            Notification::SurveyRequested { call } => {
                tracing::info!(call_id = %call.id(), "survey requested")
            }
        }
    }
}

/// The live update stream: every notification goes to each subscriber.
///
/// A subscriber that falls more than `capacity` notifications behind misses
/// the oldest ones and learns so (`RecvError::Lagged`); the engine never waits.
#[derive(Debug, Clone)]
pub struct BroadcastNotifier {
    sender: broadcast::Sender<Arc<Notification>>,
}

impl BroadcastNotifier {
    /// A stream keeping up to `capacity` notifications for slow subscribers.
    pub fn new(capacity: usize) -> BroadcastNotifier {
        BroadcastNotifier { sender: broadcast::Sender::new(capacity.max(1)) }
    }

    /// A new subscriber, seeing every notification from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Notification>> {
        self.sender.subscribe()
    }

    /// How many subscribers there are now.
    pub fn subscriber_count(&self) -> usize {
        self.sender.receiver_count()
    }
}

impl Notifier for BroadcastNotifier {
    fn notify(&self, notification: &Notification) {
        // No subscribers is not an error: nobody is watching.
        let _ = self.sender.send(Arc::new(notification.clone()));
    }
}

/// Sends each notification to several notifiers, in order.
#[derive(Clone, Default)]
pub struct Fanout(pub Vec<Arc<dyn Notifier>>);

impl std::fmt::Debug for Fanout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fanout({} notifiers)", self.0.len())
    }
}

impl Notifier for Fanout {
    fn notify(&self, notification: &Notification) {
        for notifier in &self.0 {
            notifier.notify(notification);
        }
    }
}
