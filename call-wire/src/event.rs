//! The flat lifecycle-event JSON of DESIGN §4, and its conversion to a core event.

use call_core::{
    AgentId, CallId, Direction, EndReason, EventId, EventSource, EventType, IncomingEvent,
    Initiated, Lifecycle, Media, PhoneNumber, QueueId, Region, ValidationError,
};
use serde::{Deserialize, Serialize};

use crate::parse_time;

/// A lifecycle event as an event source sends it: the envelope
/// (`event_type`, `call_id`, `event_id`, `timestamp`) beside the event's
/// own fields, all in one flat object.
///
/// Which fields an event type reads:
///
/// | `event_type` | fields |
/// |---|---|
/// | `call_initiated` | `type` (voice \| video), `queue_id`, `from`, `to`, `direction`, `customer_name` |
/// | `call_ringing` | — |
/// | `call_routed` | `agent_id` (required), `routing_time` (s) |
/// | `call_retransfer` | `agent_id`, `reason` |
/// | `call_answered` | `wait_time` (s) |
/// | `call_hold` | `hold_duration` (s) |
/// | `call_resumed` | — |
/// | `call_transferred` | `agent_id` or `queue_id` |
/// | `call_ended` | `end_reason`, `duration` (s) |
/// | `call_failed` | `error` |
///
/// Fields an event type does not read are ignored, as event sources send
/// more than any one consumer needs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "event_type": "call_initiated", "call_id": "123", "type": "video", "queue_id": "medical_spanish"
})))]
pub struct EventRequest {
    /// What happened: `call_initiated`, `call_ringing`, `call_routed`,
    /// `call_retransfer`, `call_answered`, `call_hold`, `call_resumed`,
    /// `call_transferred`, `call_ended` or `call_failed`.
    pub event_type: String,
    /// The call it concerns; a `call_initiated` for an unknown id creates the call.
    pub call_id: String,
    /// The source's id for this event: sending it again is a no-op.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::blank::absent"
    )]
    pub event_id: Option<String>,
    /// When it happened, RFC 3339; now when absent.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::blank::absent"
    )]
    pub timestamp: Option<String>,
    /// `call_initiated`: `voice` or `video`.
    #[serde(
        default,
        rename = "type",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::blank::absent"
    )]
    pub media: Option<String>,
    /// `call_initiated`, `call_transferred`: the queue; it must be registered.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::blank::absent"
    )]
    pub queue_id: Option<String>,
    /// `call_initiated`: the caller's number.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::blank::absent"
    )]
    pub from: Option<String>,
    /// `call_initiated`: the called number.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::blank::absent"
    )]
    pub to: Option<String>,
    /// `call_initiated`: `inbound` (the default) or `outbound`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::blank::absent"
    )]
    pub direction: Option<String>,
    /// `call_initiated`: the caller's name.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::blank::absent"
    )]
    pub customer_name: Option<String>,
    /// `call_routed` (required), `call_retransfer`, `call_transferred`: the agent.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::blank::absent"
    )]
    pub agent_id: Option<String>,
    /// `call_routed`: seconds routing took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_time: Option<f64>,
    /// `call_retransfer`: why.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::blank::absent"
    )]
    pub reason: Option<String>,
    /// `call_answered`: seconds the caller waited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_time: Option<f64>,
    /// `call_hold`: seconds already on hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_duration: Option<f64>,
    /// `call_ended`: `completed`, `abandoned`, `failed`, `busy` or `no_answer`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::blank::absent"
    )]
    pub end_reason: Option<String>,
    /// `call_ended`: talk time in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// `call_failed`: what went wrong.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::blank::absent"
    )]
    pub error: Option<String>,
}

impl EventRequest {
    /// Checks every value and builds the core event, reported by `source`.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] naming the first invalid field: an unknown or
    /// system-only `event_type`, a malformed id, number or timestamp, an
    /// unknown enum value, a missing `agent_id` on `call_routed`, or
    /// negative seconds.
    pub fn into_incoming(
        self,
        source: EventSource,
        region: Option<Region>,
    ) -> Result<IncomingEvent, ValidationError> {
        let event_type = parse_event_type(&self.event_type)?;
        let call_id = CallId::parse(self.call_id).map_err(|e| e.for_field("call_id"))?;
        let event_id = self
            .event_id
            .map(|id| EventId::parse(id).map_err(|e| e.for_field("event_id")))
            .transpose()?;
        let timestamp =
            self.timestamp.as_deref().map(|t| parse_time("timestamp", t)).transpose()?;
        let agent = |agent_id: Option<String>| {
            agent_id.map(|a| AgentId::parse(a).map_err(|e| e.for_field("agent_id"))).transpose()
        };
        let queue = |queue_id: Option<String>| {
            queue_id.map(|q| QueueId::parse(q).map_err(|e| e.for_field("queue_id"))).transpose()
        };
        let phone = |field: &'static str, value: Option<String>| {
            value.map(|p| PhoneNumber::parse_in(field, &p, region)).transpose()
        };
        let lifecycle = match event_type {
            EventType::CallInitiated => Lifecycle::Initiated(Initiated {
                media: self
                    .media
                    .map(|m| Media::parse(&m).map_err(|e| e.for_field("type")))
                    .transpose()?,
                queue_id: queue(self.queue_id)?,
                from: phone("from", self.from)?,
                to: phone("to", self.to)?,
                direction: self.direction.as_deref().map(Direction::parse).transpose()?,
                customer_name: self.customer_name,
            }),
            EventType::CallRinging => Lifecycle::Ringing,
            EventType::CallRouted => Lifecycle::Routed {
                agent_id: agent(self.agent_id)?.ok_or_else(|| {
                    ValidationError::new("agent_id", "is required for call_routed")
                })?,
                routing_time: self.routing_time,
            },
            EventType::CallRetransfer => {
                Lifecycle::Retransfer { agent_id: agent(self.agent_id)?, reason: self.reason }
            }
            EventType::CallAnswered => Lifecycle::Answered { wait_time: self.wait_time },
            EventType::CallHold => Lifecycle::Hold { hold_duration: self.hold_duration },
            EventType::CallResumed => Lifecycle::Resumed,
            EventType::CallTransferred => {
                let transferred = Lifecycle::Transferred {
                    agent_id: agent(self.agent_id)?,
                    queue_id: queue(self.queue_id)?,
                };
                if matches!(transferred, Lifecycle::Transferred { agent_id: None, queue_id: None })
                {
                    return Err(ValidationError::new(
                        "agent_id",
                        "call_transferred needs an agent_id or a queue_id",
                    ));
                }
                transferred
            }
            EventType::CallEnded => Lifecycle::Ended {
                end_reason: self.end_reason.as_deref().map(EndReason::parse).transpose()?,
                duration: self.duration,
            },
            EventType::CallFailed => Lifecycle::Failed { error: self.error },
            _ => unreachable!("parse_event_type admits only sendable types"),
        };
        lifecycle.validate()?;
        Ok(IncomingEvent { call_id, event_id, timestamp, source, lifecycle })
    }
}

fn parse_event_type(text: &str) -> Result<EventType, ValidationError> {
    let names = || EventType::sendable().map(EventType::as_str).collect::<Vec<_>>().join(", ");
    match EventType::parse(text) {
        Ok(t) if t.facts().sendable => Ok(t),
        Ok(t) => Err(ValidationError::new(
            "event_type",
            format!(
                "{t} is recorded by callwork itself and cannot be sent; send one of: {}",
                names()
            ),
        )),
        Err(_) => Err(ValidationError::new(
            "event_type",
            format!("unknown event type {text:?}, expected one of: {}", names()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(json: serde_json::Value) -> Result<IncomingEvent, ValidationError> {
        serde_json::from_value::<EventRequest>(json).unwrap().into_incoming(EventSource::Api, None)
    }

    fn refused(json: serde_json::Value) -> (String, String) {
        let error = event(json).unwrap_err();
        (error.field().to_owned(), error.message().to_owned())
    }

    #[test]
    fn initiated_reads_every_field() {
        let incoming = event(serde_json::json!({
            "event_type": "call_initiated", "call_id": "123", "event_id": "e-1",
            "timestamp": "2026-12-01T09:30:00+01:00", "type": "video", "queue_id": "medical_spanish",
            "from": "+1 (415) 555-0100", "to": "+14155550199", "direction": "inbound",
            "customer_name": "Ada", "unrelated": {"ignored": true}
        }))
        .unwrap();
        assert_eq!(incoming.call_id.as_str(), "123");
        assert_eq!(incoming.event_id.unwrap().as_str(), "e-1");
        assert_eq!(incoming.timestamp.unwrap().to_rfc3339(), "2026-12-01T08:30:00+00:00");
        let Lifecycle::Initiated(init) = incoming.lifecycle else { panic!("not initiated") };
        assert_eq!(init.media, Some(Media::Video));
        assert_eq!(init.queue_id.unwrap().as_str(), "medical_spanish");
        assert_eq!(init.from.unwrap().as_str(), "+14155550100");
        assert_eq!(init.direction, Some(Direction::Inbound));
        assert_eq!(init.customer_name.as_deref(), Some("Ada"));
    }

    #[test]
    fn each_type_reads_its_fields() {
        let lifecycle = |json| event(json).unwrap().lifecycle;
        assert_eq!(
            lifecycle(
                serde_json::json!({"event_type": "call_routed", "call_id": "1", "agent_id": "a7", "routing_time": 2.5})
            ),
            Lifecycle::Routed { agent_id: AgentId::parse("a7").unwrap(), routing_time: Some(2.5) }
        );
        assert_eq!(
            lifecycle(
                serde_json::json!({"event_type": "call_hold", "call_id": "1", "hold_duration": 3})
            ),
            Lifecycle::Hold { hold_duration: Some(3.0) }
        );
        assert_eq!(
            lifecycle(
                serde_json::json!({"event_type": "call_ended", "call_id": "1", "end_reason": "abandoned"})
            ),
            Lifecycle::Ended { end_reason: Some(EndReason::Abandoned), duration: None }
        );
        assert_eq!(
            lifecycle(
                serde_json::json!({"event_type": "call_transferred", "call_id": "1", "queue_id": "q2"})
            ),
            Lifecycle::Transferred {
                agent_id: None,
                queue_id: Some(QueueId::parse("q2").unwrap())
            }
        );
        assert_eq!(
            lifecycle(serde_json::json!({"event_type": "call_resumed", "call_id": "1"})),
            Lifecycle::Resumed
        );
    }

    #[test]
    fn bad_values_name_their_field() {
        let cases = [
            (serde_json::json!({"event_type": "call_exploded", "call_id": "1"}), "event_type"),
            (serde_json::json!({"event_type": "call_dispatched", "call_id": "1"}), "event_type"),
            (serde_json::json!({"event_type": "call_ringing", "call_id": "a b"}), "call_id"),
            (serde_json::json!({"event_type": "call_ringing", "call_id": ""}), "call_id"),
            (
                serde_json::json!({"event_type": "call_ringing", "call_id": "1", "event_id": "x/y"}),
                "event_id",
            ),
            (
                serde_json::json!({"event_type": "call_ringing", "call_id": "1", "timestamp": "yesterday"}),
                "timestamp",
            ),
            (
                serde_json::json!({"event_type": "call_initiated", "call_id": "1", "type": "fax"}),
                "type",
            ),
            (
                serde_json::json!({"event_type": "call_initiated", "call_id": "1", "from": "12345"}),
                "from",
            ),
            (
                serde_json::json!({"event_type": "call_initiated", "call_id": "1", "direction": "sideways"}),
                "direction",
            ),
            (serde_json::json!({"event_type": "call_routed", "call_id": "1"}), "agent_id"),
            (
                serde_json::json!({"event_type": "call_routed", "call_id": "1", "agent_id": "a", "routing_time": -1}),
                "routing_time",
            ),
            (serde_json::json!({"event_type": "call_transferred", "call_id": "1"}), "agent_id"),
            (
                serde_json::json!({"event_type": "call_ended", "call_id": "1", "end_reason": "bored"}),
                "end_reason",
            ),
            (
                serde_json::json!({"event_type": "call_hold", "call_id": "1", "hold_duration": -0.5}),
                "hold_duration",
            ),
        ];
        for (json, field) in cases {
            let (got, message) = refused(json.clone());
            assert_eq!(got, field, "{json}: {message}");
            assert!(!message.is_empty());
        }
    }

    #[test]
    fn system_event_types_are_refused_with_a_reason() {
        let (_, message) =
            refused(serde_json::json!({"event_type": "alert_raised", "call_id": "1"}));
        assert!(message.contains("recorded by callwork itself"), "{message}");
    }

    /// A valid value for each field an event source may send.
    fn sample(field: &str) -> serde_json::Value {
        match field {
            "type" => json!("video"),
            "queue_id" => json!("support"),
            "from" | "to" => json!("+14155550100"),
            "direction" => json!("inbound"),
            "customer_name" => json!("Ada"),
            "agent_id" => json!("a7"),
            "reason" => json!("no answer"),
            "end_reason" => json!("completed"),
            "error" => json!("the line dropped"),
            "routing_time" | "wait_time" | "hold_duration" | "duration" => json!(12),
            other => panic!("no sample for {other}"),
        }
    }

    /// The event types and fields an event source may send are
    /// `EventType::facts`'s: each is read from the wire and kept in the
    /// log under its name, and no other is.
    #[test]
    fn every_sendable_type_reads_and_logs_exactly_its_declared_fields() {
        for event_type in EventType::sendable() {
            let mut body = json!({ "event_type": event_type.as_str(), "call_id": "c1" });
            for field in event_type.facts().fields {
                body[field] = sample(field);
            }
            let incoming = event(body).unwrap_or_else(|e| panic!("{event_type}: {e}"));
            assert_eq!(incoming.lifecycle.event_type(), event_type);
            let metadata = incoming.lifecycle.to_metadata();
            let logged: Vec<&str> = metadata.keys().map(String::as_str).collect();
            let mut declared = event_type.facts().fields.to_vec();
            declared.sort_unstable();
            assert_eq!(logged, declared, "{event_type}");
        }
        for event_type in EventType::ALL.iter().filter(|t| !t.facts().sendable) {
            let (field, _) = refused(json!({ "event_type": event_type.as_str(), "call_id": "c1" }));
            assert_eq!(field, "event_type", "{event_type} is callwork's own");
        }
    }

    /// The table in `EventRequest`'s documentation is the facts' table.
    #[test]
    fn the_documented_table_is_the_declared_one() {
        let source = include_str!("event.rs");
        let rows: Vec<(String, Vec<String>)> = source
            .lines()
            .filter_map(|line| line.strip_prefix("/// | `call_"))
            .map(|row| {
                let (name, fields) = row.split_once("` |").expect("a table row");
                let fields = fields.split('`').skip(1).step_by(2).map(str::to_owned).collect();
                (format!("call_{name}"), fields)
            })
            .collect();
        let declared: Vec<(String, Vec<String>)> = EventType::sendable()
            .map(|t| {
                (t.as_str().to_owned(), t.facts().fields.iter().map(|f| (*f).to_owned()).collect())
            })
            .collect();
        assert_eq!(rows, declared);
    }
}
