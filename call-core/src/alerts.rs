//! Alerts as records a supervisor can find after the fact.
//!
//! A rule's `alert_raised` event is kept as an [`AlertRecord`] under the
//! event's id. A supervisor acknowledges it (an `alert_acknowledged` event in
//! the call's audit log), and it closes by itself when its cause ends:
//!
//! | alert | closed by |
//! |---|---|
//! | `sla_breach` (still waiting) | `call_answered`, or the call's end |
//! | `hold_exceeded` (still on hold) | `call_resumed`, or the call's end |
//! | `long_wait` (answered late) | the call's end |
//!
//! The stores write these records with the events that cause them, in the
//! same transaction: [`AlertWrites::of`] reads what a batch of a call's
//! events does to its alerts, so every path that saves a call (the API, an
//! event source, the worker, a timer) keeps them without knowing of them.

use std::{collections::HashMap, fmt};

use chrono::{DateTime, Utc};

use crate::{
    AgentId, Call, CallEvent, CallId, EventId, EventType, QueueId, ValidationError,
    audit::{AlertAcknowledged, AlertRaised},
    rules::AlertKind,
};

/// One alert, as raised, acknowledged and closed.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRecord {
    /// The id of the `alert_raised` event that raised it.
    pub id: EventId,
    /// The call it concerns.
    pub call_id: CallId,
    /// What about.
    pub kind: AlertKind,
    /// When the rule fired.
    pub raised_at: DateTime<Utc>,
    /// The call's queue then.
    pub queue_id: Option<QueueId>,
    /// The call's agent then.
    pub agent_id: Option<AgentId>,
    /// The measured figure: seconds waited or held.
    pub seconds: f64,
    /// The threshold it passed, in seconds.
    pub threshold_seconds: f64,
    /// When a supervisor acknowledged it.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// Who acknowledged it.
    pub acknowledged_by: Option<String>,
    /// When its cause ended.
    pub closed_at: Option<DateTime<Utc>>,
    /// The event that ended its cause (`call_answered`, `call_resumed`,
    /// `call_ended`…).
    pub closed_by: Option<EventType>,
}

impl From<&crate::ports::Alert> for AlertRecord {
    /// An alert as it is raised: open, not acknowledged.
    fn from(alert: &crate::ports::Alert) -> AlertRecord {
        AlertRecord {
            id: alert.id.clone(),
            call_id: alert.call_id.clone(),
            kind: alert.kind,
            raised_at: alert.at,
            queue_id: alert.queue_id.clone(),
            agent_id: alert.agent_id.clone(),
            seconds: alert.seconds,
            threshold_seconds: alert.threshold_seconds,
            acknowledged_at: None,
            acknowledged_by: None,
            closed_at: None,
            closed_by: None,
        }
    }
}

impl AlertRecord {
    /// Whether its cause has not ended yet.
    pub fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }
}

impl AlertKind {
    /// Whether an event of `event_type` ends this alert's cause, for a call
    /// left in a terminal status or not (`terminal`).
    pub fn closed_by(self, event_type: EventType, terminal: bool) -> bool {
        terminal
            || matches!(
                (self, event_type),
                (AlertKind::SlaBreach, EventType::CallAnswered)
                    | (AlertKind::HoldExceeded, EventType::CallResumed)
            )
    }
}

/// The longest `by` of an acknowledgement, in characters.
pub const MAX_ACKNOWLEDGED_BY_CHARS: usize = crate::limits::MAX_NAME_CHARS;

/// What one batch of a call's events does to its alerts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlertWrites {
    /// New records, from `alert_raised` events.
    pub raised: Vec<AlertRecord>,
    /// Acknowledgements, from `alert_acknowledged` events: (alert, by, at).
    pub acknowledged: Vec<(EventId, String, DateTime<Utc>)>,
    /// Closings, in order: the call's open alerts of these kinds close at
    /// the event's time, by its type.
    pub closed: Vec<Closing>,
}

/// The open alerts of a call, of some kinds, closing.
#[derive(Debug, Clone, PartialEq)]
pub struct Closing {
    /// The call.
    pub call_id: CallId,
    /// The kinds that close.
    pub kinds: Vec<AlertKind>,
    /// When.
    pub at: DateTime<Utc>,
    /// The event that ended their cause.
    pub by: EventType,
}

impl Closing {
    /// Whether `alert` is one this closes.
    pub fn closes(&self, alert: &AlertRecord) -> bool {
        alert.is_open() && alert.call_id == self.call_id && self.kinds.contains(&alert.kind)
    }
}

impl AlertWrites {
    /// Applies these writes to records held in memory, as a store does in SQL.
    pub fn apply_to(&self, alerts: &mut std::collections::BTreeMap<EventId, AlertRecord>) {
        for raised in &self.raised {
            alerts.entry(raised.id.clone()).or_insert_with(|| raised.clone());
        }
        for (id, by, at) in &self.acknowledged {
            if let Some(alert) = alerts.get_mut(id).filter(|a| a.acknowledged_at.is_none()) {
                alert.acknowledged_at = Some(*at);
                alert.acknowledged_by = Some(by.clone());
            }
        }
        for closing in &self.closed {
            for alert in alerts.values_mut().filter(|a| closing.closes(a)) {
                alert.closed_at = Some(closing.at);
                alert.closed_by = Some(closing.by);
            }
        }
    }

    /// What `events` do to the alerts of each of `calls`, for those whose
    /// alerts they change: the events are sorted by call once, so a batch of
    /// many calls costs one pass (a batch of new scheduled calls, whose
    /// events neither raise nor end anything, costs no more than that).
    pub fn for_calls<'a>(
        calls: impl IntoIterator<Item = &'a Call>,
        events: impl IntoIterator<Item = &'a CallEvent>,
    ) -> Vec<AlertWrites> {
        let mut by_call: HashMap<&CallId, Vec<&CallEvent>> = HashMap::new();
        for event in events {
            let t = event.event_type();
            if t.moves_status()
                || matches!(t, EventType::AlertRaised | EventType::AlertAcknowledged)
            {
                by_call.entry(event.call_id()).or_default().push(event);
            }
        }
        if by_call.is_empty() {
            return Vec::new();
        }
        calls
            .into_iter()
            .filter_map(|call| {
                by_call.get(call.id()).map(|events| AlertWrites::of(call, events.iter().copied()))
            })
            .filter(|writes| !writes.is_empty())
            .collect()
    }

    /// What `events`, written with `call` as it is saved, do to its alerts
    /// (the events of other calls among them are passed over).
    pub fn of<'a>(call: &Call, events: impl IntoIterator<Item = &'a CallEvent>) -> AlertWrites {
        let events: Vec<&CallEvent> =
            events.into_iter().filter(|e| e.call_id() == call.id()).collect();
        let mut writes = AlertWrites::default();
        let terminal = call.status().is_terminal();
        for event in events.iter().copied() {
            let metadata = event.metadata();
            match event.event_type() {
                EventType::AlertRaised => {
                    let Some(raised) = AlertRaised::read(metadata) else { continue };
                    writes.raised.push(AlertRecord {
                        id: event.id().clone(),
                        call_id: call.id().clone(),
                        kind: raised.kind,
                        raised_at: event.timestamp(),
                        queue_id: call.queue_id().cloned(),
                        agent_id: call.agent_id().cloned(),
                        seconds: raised.seconds,
                        threshold_seconds: raised.threshold_seconds,
                        acknowledged_at: None,
                        acknowledged_by: None,
                        closed_at: None,
                        closed_by: None,
                    });
                }
                EventType::AlertAcknowledged => {
                    if let Some((id, by)) = AlertAcknowledged::read(metadata) {
                        writes.acknowledged.push((id, by, event.timestamp()));
                    }
                }
                other => {
                    // Only the last event of the batch leaves the call terminal.
                    let ends = terminal && is_last_transition(&events, event);
                    let kinds: Vec<AlertKind> = AlertKind::ALL
                        .iter()
                        .copied()
                        .filter(|k| k.closed_by(other, ends))
                        .collect();
                    if !kinds.is_empty() && other.moves_status() {
                        writes.closed.push(Closing {
                            call_id: call.id().clone(),
                            kinds,
                            at: event.timestamp(),
                            by: other,
                        });
                    }
                }
            }
        }
        writes
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.raised.is_empty() && self.acknowledged.is_empty() && self.closed.is_empty()
    }
}

/// Whether `event` is the last event of `events` that moves the call's status.
fn is_last_transition(events: &[&CallEvent], event: &CallEvent) -> bool {
    events
        .iter()
        .rev()
        .find(|e| e.event_type().moves_status())
        .is_some_and(|e| e.id() == event.id())
}

/// Which alerts a page lists.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertQuery {
    /// Only the open ones (whose cause has not ended).
    pub open: bool,
    /// Only those of calls in this queue.
    pub queue: Option<QueueId>,
    /// At most this many (at least 1).
    pub limit: usize,
    /// Those after this position, newest first.
    pub cursor: Option<AlertCursor>,
}

impl Default for AlertQuery {
    /// Every alert, 50 a page.
    fn default() -> AlertQuery {
        AlertQuery { open: false, queue: None, limit: 50, cursor: None }
    }
}

impl AlertQuery {
    /// Whether `alert` passes the filters (not the cursor or the limit).
    pub fn matches(&self, alert: &AlertRecord) -> bool {
        (!self.open || alert.is_open())
            && self.queue.as_ref().is_none_or(|q| alert.queue_id.as_ref() == Some(q))
    }
}

/// A position in a page of alerts, newest first: the (`raised_at`, `id`)
/// of the last alert of a page. Opaque to clients as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertCursor {
    /// When the last alert seen was raised.
    pub at: DateTime<Utc>,
    /// Its id.
    pub id: EventId,
}

impl AlertCursor {
    /// The cursor after `alert`.
    pub fn after(alert: &AlertRecord) -> AlertCursor {
        AlertCursor { at: alert.raised_at, id: alert.id.clone() }
    }

    /// Whether `alert` comes after this cursor, newest first.
    pub fn is_before(&self, alert: &AlertRecord) -> bool {
        (alert.raised_at, &alert.id) < (self.at, &self.id)
    }

    /// Reads a cursor written by [`Display`](fmt::Display).
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `cursor` when the text is not one.
    pub fn parse(text: &str) -> Result<AlertCursor, ValidationError> {
        let (at, id) = crate::ports::position(text)?;
        let id = EventId::parse(id).map_err(|_| crate::ports::not_a_cursor())?;
        Ok(AlertCursor { at, id })
    }
}

impl fmt::Display for AlertCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}~{}", self.at.timestamp_micros(), self.id)
    }
}

/// One page of alerts, newest first, and where the next one starts.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertPage {
    /// The alerts.
    pub items: Vec<AlertRecord>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<AlertCursor>,
}

impl AlertPage {
    /// A page of `items` (at most `limit`, in order) as a store read them.
    pub fn of(items: Vec<AlertRecord>, limit: usize) -> AlertPage {
        let next_cursor =
            (items.len() >= limit.max(1)).then(|| items.last().map(AlertCursor::after)).flatten();
        AlertPage { items, next_cursor }
    }
}
