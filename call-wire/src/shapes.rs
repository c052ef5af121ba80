//! What the interfaces print: calls, audit events, history records, queues and stats.

use call_core::{
    Activity, AgentStats, Call, CallEvent, HistoryRecord, MinuteActivity, QueueStats, Stats,
    ports::Queue,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::seconds;

/// A call, with the domain's own field names (DESIGN §4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallJson {
    /// The call's id: a UUID v7 when this system created it, else the event source's.
    pub id: String,
    /// `outbound` (placed by the worker) or `inbound` (reported by an event source).
    pub direction: String,
    /// The called number, E.164.
    pub to: Option<String>,
    /// The calling number, E.164; absent when the provider picks the caller ID.
    pub from: Option<String>,
    /// The customer's name.
    pub customer_name: Option<String>,
    /// Free text: support, sales, reminder…
    pub workflow: Option<String>,
    /// `voice` or `video`.
    pub media: String,
    /// The queue the call waits in.
    pub queue_id: Option<String>,
    /// The agent the call is routed to.
    pub agent_id: Option<String>,
    /// The caller's own data, as given when scheduling.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub metadata: Map<String, Value>,
    /// One of `scheduled`, `dispatching`, `initiated`, `ringing`, `routed`,
    /// `active`, `on_hold`, `completed`, `failed`, `busy`, `no_answer`,
    /// `abandoned`, `canceled`.
    pub status: String,
    /// When the call is (or was) due to be placed.
    #[serde(serialize_with = "crate::time::option")]
    pub scheduled_at: Option<DateTime<Utc>>,
    /// The provider's id for the call.
    pub external_id: Option<String>,
    /// How many times the worker asked the provider to place it.
    pub attempts: u32,
    /// The last placement error.
    pub last_error: Option<String>,
    /// When the call was created.
    #[serde(serialize_with = "crate::time::plain")]
    pub created_at: DateTime<Utc>,
    /// When the call last changed.
    #[serde(serialize_with = "crate::time::plain")]
    pub updated_at: DateTime<Utc>,
    /// When the provider accepted it, or `call_initiated` arrived.
    #[serde(serialize_with = "crate::time::option")]
    pub initiated_at: Option<DateTime<Utc>>,
    /// When it was answered.
    #[serde(serialize_with = "crate::time::option")]
    pub answered_at: Option<DateTime<Utc>>,
    /// When it ended.
    #[serde(serialize_with = "crate::time::option")]
    pub ended_at: Option<DateTime<Utc>>,
    /// Seconds the caller waited before an answer.
    #[serde(serialize_with = "seconds::option")]
    pub wait_seconds: Option<f64>,
    /// Seconds on hold, all holds added up.
    #[serde(serialize_with = "seconds::option")]
    pub hold_seconds: Option<f64>,
    /// Talk time in seconds, once ended.
    #[serde(serialize_with = "seconds::option")]
    pub duration_seconds: Option<f64>,
    /// Why it ended: `completed`, `abandoned`, `failed`, `busy`, `no_answer`, `canceled`.
    pub end_reason: Option<String>,
    /// Review and alert marks: `short_call`, `sla_breached`, `long_wait`,
    /// `hold_exceeded`, `rerouted`, `outcome_unknown`.
    pub flags: Vec<String>,
    /// The recurring series it is an occurrence of.
    pub series_id: Option<String>,
    /// Its number in that series, from 1.
    pub occurrence: Option<u32>,
    /// The local hours and days it may ring in (its own parts over the
    /// server's default); absent when it may ring at any hour.
    pub calling_window: Option<crate::CallingWindowJson>,
    /// Its redial policy; absent when it is never dialled again.
    pub redial: Option<crate::RedialJson>,
    /// Which attempt at the number it is: 1 for a first dial.
    pub redial_attempt: u32,
    /// The attempt it redials.
    pub redial_of: Option<String>,
    /// The attempt that redials it, once it ended with an outcome its policy dials again.
    pub redialed_as: Option<String>,
    /// Bumped on every change.
    pub version: u64,
}

impl From<&Call> for CallJson {
    fn from(call: &Call) -> CallJson {
        let text = |s: &str| s.to_owned();
        CallJson {
            id: call.id().to_string(),
            direction: call.direction().to_string(),
            to: call.to().map(|p| text(p.as_str())),
            from: call.from().map(|p| text(p.as_str())),
            customer_name: call.customer_name().map(text),
            workflow: call.workflow().map(text),
            media: call.media().to_string(),
            queue_id: call.queue_id().map(|q| text(q.as_str())),
            agent_id: call.agent_id().map(|a| text(a.as_str())),
            metadata: call.metadata().clone(),
            status: call.status().to_string(),
            scheduled_at: call.scheduled_at(),
            external_id: call.external_id().map(text),
            attempts: call.attempts(),
            last_error: call.last_error().map(text),
            created_at: call.created_at(),
            updated_at: call.updated_at(),
            initiated_at: call.initiated_at(),
            answered_at: call.answered_at(),
            ended_at: call.ended_at(),
            wait_seconds: call.wait_seconds(),
            hold_seconds: call.hold_seconds(),
            duration_seconds: call.duration_seconds(),
            end_reason: call.end_reason().map(|r| r.to_string()),
            flags: call.flags().iter().map(|f| f.to_string()).collect(),
            series_id: call.occurrence().map(|o| o.series_id.to_string()),
            occurrence: call.occurrence().map(|o| o.number),
            calling_window: call.calling_window().map(crate::CallingWindowJson::from),
            redial: call.redial().map(crate::RedialJson::from),
            redial_attempt: call.redial_attempt(),
            redial_of: call.redial_of().map(|id| id.to_string()),
            redialed_as: call.redialed_as().map(|id| id.to_string()),
            version: call.version(),
        }
    }
}

/// One entry of a call's audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventJson {
    /// The event's id: the event source's `event_id`, or one this system made.
    pub id: String,
    /// The call it concerns.
    pub call_id: String,
    /// What happened: `call_scheduled`, `call_dispatched`, `call_routed`, `sla_breached`…
    #[serde(rename = "type")]
    pub event_type: String,
    /// When it happened.
    #[serde(serialize_with = "crate::time::plain")]
    pub timestamp: DateTime<Utc>,
    /// When it was written down.
    #[serde(serialize_with = "crate::time::plain")]
    pub recorded_at: DateTime<Utc>,
    /// Who reported it: `api`, `scheduler`, `provider`, `rules` or `cli`.
    pub source: String,
    /// Its fields.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub metadata: Map<String, Value>,
}

impl From<&CallEvent> for EventJson {
    fn from(event: &CallEvent) -> EventJson {
        EventJson {
            id: event.id().to_string(),
            call_id: event.call_id().to_string(),
            event_type: event.event_type().to_string(),
            timestamp: event.timestamp(),
            recorded_at: event.recorded_at(),
            source: event.source().to_string(),
            metadata: event.metadata().clone(),
        }
    }
}

/// One call in a number's history (DESIGN §2), seen from that number's side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryJson {
    /// The call.
    pub call_id: String,
    /// When the call took place: placed, or reported initiated (not when it
    /// was scheduled). Histories are ordered and filtered by it.
    #[serde(serialize_with = "crate::time::plain")]
    pub created_at: DateTime<Utc>,
    /// The other number, when known.
    pub counterparty: Option<String>,
    /// `Completed Inbound`, `Missed Inbound`, `Completed Outbound` or `Missed Outbound`.
    #[serde(rename = "type")]
    pub record_type: String,
    /// Talk time in seconds, for completed calls.
    #[serde(serialize_with = "seconds::option")]
    pub duration: Option<f64>,
    /// How the call ended: its status (`completed`, `busy`, `no_answer`,
    /// `failed`, `abandoned`).
    pub outcome: String,
    /// Which attempt at the number it was: 1 for a first dial.
    pub redial_attempt: u32,
    /// The attempt it redialled.
    pub redial_of: Option<String>,
}

impl From<&HistoryRecord> for HistoryJson {
    fn from(record: &HistoryRecord) -> HistoryJson {
        HistoryJson {
            call_id: record.call_id.to_string(),
            created_at: record.created_at,
            counterparty: record.counterparty.as_ref().map(|p| p.as_str().to_owned()),
            record_type: record.record_type.to_string(),
            duration: record.duration_seconds,
            outcome: record.outcome.to_string(),
            redial_attempt: record.redial_attempt,
            redial_of: record.redial_of.as_ref().map(ToString::to_string),
        }
    }
}

/// A queue of the registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueueJson {
    /// Its id.
    pub id: String,
    /// When it was added.
    #[serde(serialize_with = "crate::time::plain")]
    pub created_at: DateTime<Utc>,
}

impl From<&Queue> for QueueJson {
    fn from(queue: &Queue) -> QueueJson {
        QueueJson { id: queue.id.to_string(), created_at: queue.created_at }
    }
}

/// The metrics of every queue and agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatsJson {
    /// Per queue, by queue id.
    pub queues: Vec<QueueStatsJson>,
    /// Per agent, by agent id.
    pub agents: Vec<AgentStatsJson>,
}

/// One queue's metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueueStatsJson {
    /// The queue.
    pub queue_id: String,
    /// Calls that entered the queue.
    pub offered: u64,
    /// Of those, answered.
    pub answered: u64,
    /// Of those, abandoned by the caller.
    pub abandoned: u64,
    /// Answered within the SLA threshold, over offered (0–1); null before any call.
    pub service_level: Option<f64>,
    /// Average seconds to answer.
    pub average_speed_of_answer: Option<f64>,
    /// Average seconds on hold, over answered calls.
    pub average_hold_seconds: Option<f64>,
}

/// One agent's metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentStatsJson {
    /// The agent.
    pub agent_id: String,
    /// Calls answered.
    pub answered: u64,
    /// Average seconds callers waited before this agent answered.
    pub average_wait_seconds: Option<f64>,
    /// Average talk seconds, over the answered calls that have ended (a
    /// call in progress has no talk time yet); null before one ended.
    pub average_talk_seconds: Option<f64>,
    /// Seconds on hold, all calls added up.
    #[serde(serialize_with = "seconds::plain")]
    pub hold_seconds: f64,
    /// Calls taken away after this agent did not answer in time.
    pub reroutes: u64,
}

impl From<&QueueStats> for QueueStatsJson {
    fn from(q: &QueueStats) -> QueueStatsJson {
        QueueStatsJson {
            queue_id: q.queue_id.to_string(),
            offered: q.offered,
            answered: q.answered,
            abandoned: q.abandoned,
            service_level: q.service_level,
            average_speed_of_answer: q.average_speed_of_answer,
            average_hold_seconds: q.average_hold_seconds,
        }
    }
}

impl From<&AgentStats> for AgentStatsJson {
    fn from(a: &AgentStats) -> AgentStatsJson {
        AgentStatsJson {
            agent_id: a.agent_id.to_string(),
            answered: a.answered,
            average_wait_seconds: a.average_wait_seconds,
            average_talk_seconds: a.average_talk_seconds,
            hold_seconds: a.hold_seconds,
            reroutes: a.reroutes,
        }
    }
}

impl From<&Stats> for StatsJson {
    fn from(stats: &Stats) -> StatsJson {
        StatsJson {
            queues: stats.queues.iter().map(QueueStatsJson::from).collect(),
            agents: stats.agents.iter().map(AgentStatsJson::from).collect(),
        }
    }
}

/// The recent activity, minute by minute, oldest first: every minute of the
/// span, the one in progress last.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityJson {
    /// The minutes.
    pub minutes: Vec<MinuteJson>,
}

/// What happened in one minute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MinuteJson {
    /// The minute's first instant.
    #[serde(serialize_with = "crate::time::plain")]
    pub minute: DateTime<Utc>,
    /// Calls that ended in it `completed`.
    pub completed: u64,
    /// Calls that ended in it `busy`, `no_answer` or `abandoned`.
    pub missed: u64,
    /// Calls that ended in it `failed`.
    pub failed: u64,
    /// Scheduled outbound calls placed in it.
    pub placed: u64,
    /// Their average placement lateness (placed after due), in seconds;
    /// null when none was placed.
    #[serde(serialize_with = "seconds::option")]
    pub average_lateness_seconds: Option<f64>,
    /// Their greatest placement lateness, in seconds; null when none was placed.
    #[serde(serialize_with = "seconds::option")]
    pub max_lateness_seconds: Option<f64>,
}

impl From<&MinuteActivity> for MinuteJson {
    fn from(m: &MinuteActivity) -> MinuteJson {
        MinuteJson {
            minute: m.minute,
            completed: m.completed,
            missed: m.missed,
            failed: m.failed,
            placed: m.placed,
            average_lateness_seconds: m.average_lateness_seconds,
            max_lateness_seconds: m.max_lateness_seconds,
        }
    }
}

impl From<&Activity> for ActivityJson {
    fn from(activity: &Activity) -> ActivityJson {
        ActivityJson { minutes: activity.minutes.iter().map(MinuteJson::from).collect() }
    }
}
