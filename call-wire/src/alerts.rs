//! Alerts as the interfaces show them, and the request to acknowledge one.

use call_core::{
    alerts::{AlertPage, AlertRecord},
    ports::Alert,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// An alert a rule raised: what it is about, the figures that raised it,
/// and whether a supervisor acknowledged it and its cause has ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertJson {
    /// The alert's id (that of the `alert_raised` event in the call's audit log).
    pub id: String,
    /// The call it concerns.
    pub call_id: String,
    /// `sla_breach`, `long_wait` or `hold_exceeded`.
    pub kind: String,
    /// When the rule fired.
    #[serde(serialize_with = "crate::time::plain")]
    pub raised_at: DateTime<Utc>,
    /// The call's queue then.
    pub queue_id: Option<String>,
    /// The call's agent then.
    pub agent_id: Option<String>,
    /// The measured figure: seconds waited or held.
    #[serde(serialize_with = "crate::seconds::plain")]
    pub seconds: f64,
    /// The threshold it passed, in seconds.
    #[serde(serialize_with = "crate::seconds::plain")]
    pub threshold_seconds: f64,
    /// When a supervisor acknowledged it; null until then.
    #[serde(serialize_with = "crate::time::option")]
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// Who acknowledged it.
    pub acknowledged_by: Option<String>,
    /// Whether its cause is still going on (the call waiting, on hold, or live).
    pub open: bool,
    /// When its cause ended; null while open.
    #[serde(serialize_with = "crate::time::option")]
    pub closed_at: Option<DateTime<Utc>>,
    /// The event that ended it: `call_answered`, `call_resumed`, `call_ended`…
    pub closed_by: Option<String>,
}

impl From<&AlertRecord> for AlertJson {
    fn from(alert: &AlertRecord) -> AlertJson {
        AlertJson {
            id: alert.id.to_string(),
            call_id: alert.call_id.to_string(),
            kind: alert.kind.to_string(),
            raised_at: alert.raised_at,
            queue_id: alert.queue_id.as_ref().map(ToString::to_string),
            agent_id: alert.agent_id.as_ref().map(ToString::to_string),
            seconds: alert.seconds,
            threshold_seconds: alert.threshold_seconds,
            acknowledged_at: alert.acknowledged_at,
            acknowledged_by: alert.acknowledged_by.clone(),
            open: alert.is_open(),
            closed_at: alert.closed_at,
            closed_by: alert.closed_by.map(|t| t.to_string()),
        }
    }
}

impl From<&Alert> for AlertJson {
    /// An alert as it is raised: open, not acknowledged.
    fn from(alert: &Alert) -> AlertJson {
        AlertJson::from(&AlertRecord::from(alert))
    }
}

/// One page of alerts, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertsPage {
    /// The alerts.
    pub alerts: Vec<AlertJson>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

impl From<&AlertPage> for AlertsPage {
    fn from(page: &AlertPage) -> AlertsPage {
        AlertsPage {
            alerts: page.items.iter().map(AlertJson::from).collect(),
            next_cursor: page.next_cursor.as_ref().map(ToString::to_string),
        }
    }
}

/// The body of `POST /api/alerts/{id}/ack`: who acknowledges it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({ "by": "Sam (supervisor)" })))]
pub struct AcknowledgeRequest {
    /// Who acknowledges it, kept with the alert and in the audit log; the
    /// interface's name (`api`) when absent.
    #[serde(default, deserialize_with = "crate::blank::absent")]
    pub by: Option<String>,
}
