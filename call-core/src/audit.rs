//! The metadata of the audit-log events the engine writes: one constructor
//! per kind of event, here and nowhere else, and the typed reading of those
//! that are read back (the alert records are made from `alert_raised` and
//! `alert_acknowledged`). The keys are part of the log's contract: every
//! interface shows them as written.
//!
//! A lifecycle event's own fields (`agent_id`, `wait_time`…) are
//! [`Lifecycle::to_metadata`](crate::Lifecycle::to_metadata)'s; what the
//! engine adds to them is here.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::{
    AgentId, Call, CallStatus, EventId, Flag, WindowWait, WorkerId, dnc::DO_NOT_CALL,
    rules::AlertKind, time::rfc3339,
};

/// `serde_json::json!({…})` as the map it is.
fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => unreachable!("an object literal"),
    }
}

/// `call_scheduled`: the due time; for an occurrence its series and
/// number; for a redial the attempt it redials and its number; and for a
/// call that was `due_at` a time outside its calling window, the wait.
pub(crate) fn scheduled(
    call: &Call,
    wait: Option<&WindowWait>,
    due_at: DateTime<Utc>,
) -> Map<String, Value> {
    let mut metadata = wait.map(|wait| window_wait(wait, due_at)).unwrap_or_default();
    metadata.insert("scheduled_at".into(), json!(call.scheduled_at().map(rfc3339)));
    if let Some(occurrence) = call.occurrence() {
        metadata.insert("series_id".into(), json!(occurrence.series_id.as_str()));
        metadata.insert("occurrence".into(), json!(occurrence.number));
    }
    if let Some(redialed) = call.redial_of() {
        metadata.insert("redial_of".into(), json!(redialed.as_str()));
        metadata.insert("attempt".into(), json!(call.redial_attempt()));
    }
    metadata
}

/// `call_scheduled` of a redial: as [`scheduled`], with the `outcome` (the
/// status the attempt it follows ended in).
pub(crate) fn redial_scheduled(
    next: &Call,
    wait: Option<&WindowWait>,
    due_at: DateTime<Utc>,
    outcome: CallStatus,
) -> Map<String, Value> {
    let mut metadata = scheduled(next, wait, due_at);
    metadata.insert("outcome".into(), json!(outcome.as_str()));
    metadata
}

/// The `redial` note on the event that ended an attempt: the next attempt
/// it made.
pub(crate) fn redial_made(next: &Call) -> Value {
    json!({
        "call_id": next.id().as_str(),
        "attempt": next.redial_attempt(),
        "scheduled_at": next.scheduled_at().map(rfc3339),
    })
}

/// The `redial` note on the event that ended an attempt whose policy
/// would dial again, but whose calling window can no longer open.
pub(crate) fn redial_refused(why: &str) -> Value {
    json!({ "refused": why })
}

/// A wait for a calling window: why (`waits_for`), the window and the
/// zones it was read in, when the call was `due_at`, and the opening it
/// waits `until`. Part of `call_scheduled` and `call_rescheduled`.
pub(crate) fn window_wait(wait: &WindowWait, due_at: DateTime<Utc>) -> Map<String, Value> {
    object(json!({
        "waits_for": "calling_window",
        "calling_window": wait.window.to_string(),
        "zones": crate::window::zone_names(&wait.zones),
        "due_at": rfc3339(due_at),
        "until": rfc3339(wait.until),
    }))
}

/// `call_rescheduled` by a caller: `from` the previous due time `to` the
/// new one, which is the window's opening when the time asked for falls
/// outside it.
pub(crate) fn rescheduled(
    previous: Option<DateTime<Utc>>,
    asked: DateTime<Utc>,
    wait: Option<&WindowWait>,
) -> Map<String, Value> {
    let mut metadata = wait.map(|wait| window_wait(wait, asked)).unwrap_or_default();
    metadata.insert("from".into(), json!(previous.map(rfc3339)));
    metadata.insert("to".into(), json!(rfc3339(wait.map_or(asked, |wait| wait.until))));
    metadata
}

/// `call_dispatched`: the worker that claimed the call.
pub(crate) fn dispatched(worker: &WorkerId) -> Map<String, Value> {
    object(json!({ "worker": worker.as_str() }))
}

/// `call_dispatched` of a call whose claim `lost_by` let lapse, claimed
/// again by `worker` to be dialled again (at-least-once).
pub(crate) fn redispatched(worker: &WorkerId, lost_by: &WorkerId) -> Map<String, Value> {
    object(json!({ "worker": worker.as_str(), "redial": true, "lost_by": lost_by.as_str() }))
}

/// `call_canceled` by a claim, the number being on the do-not-call list.
pub(crate) fn canceled_do_not_call(worker: &WorkerId) -> Map<String, Value> {
    object(json!({ "reason": DO_NOT_CALL, "worker": worker.as_str() }))
}

/// `call_flagged`.
pub(crate) fn flagged(flag: Flag) -> Map<String, Value> {
    object(json!({ "flag": flag.as_str() }))
}

/// What a placement adds to the `call_initiated` or `call_failed` it
/// ends in: the provider requests made, the errors retried, and the
/// provider's id of the call it accepted.
pub(crate) fn placement(
    attempts: u32,
    retried_errors: &[String],
    external_id: Option<&str>,
) -> Map<String, Value> {
    let mut metadata = object(json!({ "attempts": attempts }));
    if !retried_errors.is_empty() {
        metadata.insert("retried_errors".into(), json!(retried_errors));
    }
    if let Some(external_id) = external_id {
        metadata.insert("external_id".into(), json!(external_id));
    }
    metadata
}

/// What `call_retransfer` adds when its event did not name the agent: the
/// agent who lost the call, for the reroute figures.
pub(crate) fn retransferred_from(metadata: &mut Map<String, Value>, agent: &AgentId) {
    metadata.entry("agent_id").or_insert_with(|| json!(agent.as_str()));
}

/// `alert_raised`: which rule, the figure that broke it, and its threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRaised {
    /// The rule.
    pub kind: AlertKind,
    /// The figure that broke it, in seconds (a wait, a hold).
    pub seconds: f64,
    /// The rule's threshold, in seconds.
    pub threshold_seconds: f64,
}

impl AlertRaised {
    /// Its metadata.
    pub fn metadata(&self) -> Map<String, Value> {
        object(json!({
            "alert": self.kind.as_str(),
            "seconds": self.seconds,
            "threshold_seconds": self.threshold_seconds,
        }))
    }

    /// Read from an `alert_raised` event's metadata; `None` when it names
    /// no rule this version knows (a figure left out reads 0).
    pub fn read(metadata: &Map<String, Value>) -> Option<AlertRaised> {
        let kind = metadata.get("alert")?.as_str()?;
        let number = |key: &str| metadata.get(key).and_then(Value::as_f64).unwrap_or_default();
        Some(AlertRaised {
            kind: AlertKind::parse(kind).ok()?,
            seconds: number("seconds"),
            threshold_seconds: number("threshold_seconds"),
        })
    }
}

/// `alert_acknowledged`: which alert, of which rule, and who.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertAcknowledged {
    /// The alert: the id of its `alert_raised` event.
    pub alert_id: EventId,
    /// Its rule.
    pub kind: AlertKind,
    /// Who acknowledged it.
    pub by: String,
}

impl AlertAcknowledged {
    /// Its metadata.
    pub fn metadata(&self) -> Map<String, Value> {
        object(json!({
            "alert_id": self.alert_id.as_str(),
            "alert": self.kind.as_str(),
            "by": self.by,
        }))
    }

    /// The alert and who acknowledged it, read from an
    /// `alert_acknowledged` event's metadata; `None` without an alert id.
    pub fn read(metadata: &Map<String, Value>) -> Option<(EventId, String)> {
        let text = |key: &str| metadata.get(key).and_then(Value::as_str);
        let alert_id = EventId::parse(text("alert_id")?).ok()?;
        Some((alert_id, text("by").unwrap_or_default().to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_events_read_back_what_they_wrote() {
        let raised =
            AlertRaised { kind: AlertKind::LongWait, seconds: 45.0, threshold_seconds: 30.0 };
        assert_eq!(AlertRaised::read(&raised.metadata()), Some(raised));
        let id = EventId::generate();
        let acknowledged = AlertAcknowledged {
            alert_id: id.clone(),
            kind: AlertKind::SlaBreach,
            by: "ada".into(),
        };
        assert_eq!(AlertAcknowledged::read(&acknowledged.metadata()), Some((id, "ada".into())));
        assert_eq!(AlertRaised::read(&object(json!({ "alert": "no_such_rule" }))), None);
    }
}
