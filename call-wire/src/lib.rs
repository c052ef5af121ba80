//! The JSON shapes of callwork's interfaces.
//!
//! `call-core`'s types are not a wire format. The command-line tool
//! (`calls --json`) and the HTTP server (`call-http`) answer with the same
//! shapes, and accept the same flat lifecycle-event JSON, so those shapes
//! live here, once:
//!
//! - [`CallJson`], [`EventJson`], [`HistoryJson`], [`QueueJson`] and
//!   [`StatsJson`]: what is printed, built from the core types with `From`;
//! - [`CallPage`], [`EventList`], [`HistoryPage`], [`QueueList`],
//!   [`SeriesCalls`] and [`Removed`]: the envelopes around them, with one
//!   page-size limit ([`PAGE_LIMIT_MAX`]) for both interfaces;
//! - [`ListRequest`]: which calls to list, checked once for both;
//! - [`LiveMessage`]: the live stream's messages (WebSocket, Socket.IO, webhooks);
//! - [`ErrorCode`]: every refusal's code;
//! - [`ScheduleRequest`]: a call to schedule, checked by
//!   [`ScheduleRequest::into_new_call`];
//! - [`PauseRequest`] and [`DispatchJson`]: pausing dispatch, and the pauses in force;
//! - [`EventRequest`]: the flat event of DESIGN §4
//!   (`{"event_type": "call_routed", "call_id": "123", "agent_id": "a7"}`),
//!   turned into a core [`IncomingEvent`] by [`EventRequest::into_incoming`],
//!   which names the field of any invalid value.
//!
//! Times are written in the one form of [`call_core::time`] (RFC 3339,
//! UTC, `Z`, six fractional digits); seconds are numbers, whole ones printed
//! without a fraction (`10`, not `10.0`). In every request, an optional
//! text field sent empty or blank (`"queue_id": ""`, as a form sends an
//! untouched input) is read as left out.
//!
//! ```
//! use call_core::EventSource;
//! use call_wire::EventRequest;
//!
//! let event: EventRequest = serde_json::from_str(
//!     r#"{"event_type": "call_initiated", "call_id": "123", "type": "video", "from": "+1 415 555 0100"}"#,
//! )?;
//! let incoming = event.into_incoming(EventSource::Api, None)?;
//! assert_eq!(incoming.call_id.as_str(), "123");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod alerts;
mod dispatch;
mod dnc;
mod error;
mod event;
mod list;
mod live;
mod pages;
mod redial;
mod schedule;
mod series;
mod shapes;
mod window;

pub use alerts::{AcknowledgeRequest, AlertJson, AlertsPage};
pub use dispatch::{DispatchJson, PauseJson, PauseRequest};
pub use dnc::{DoNotCallJson, DoNotCallPage, DoNotCallRequest};
pub use error::ErrorCode;
pub use event::EventRequest;
pub use list::ListRequest;
pub use live::LiveMessage;
pub use pages::{
    CallPage, DO_NOT_CALL_LIMIT_DEFAULT, DO_NOT_CALL_LIMIT_MAX, EventList, HistoryPage,
    PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX, QueueList, Removed, SeriesCalls,
};
pub use redial::{AttemptsJson, RedialJson};
pub use schedule::{ScheduleRequest, parse_time};
pub use series::{RecurrenceJson, SeriesJson, SeriesPage};
pub use shapes::{
    ActivityJson, AgentStatsJson, CallJson, EventJson, HistoryJson, MinuteJson, QueueJson,
    QueueStatsJson, StatsJson,
};
pub use window::CallingWindowJson;

#[doc(no_inline)]
pub use call_core::IncomingEvent;

/// Optional text as clients built from forms send it: an empty or
/// all-blank string is the field left out. Every optional text field of a
/// request reads through [`blank::absent`].
pub(crate) mod blank {
    use serde::{Deserialize, Deserializer};

    /// `None` for a missing, null, empty or all-blank string.
    pub(crate) fn absent<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        let value = Option::<String>::deserialize(d)?;
        Ok(value.filter(|text| !text.trim().is_empty()))
    }
}

/// Serializes times in the one form of [`call_core::time::rfc3339`], for
/// `#[serde(serialize_with = "call_wire::time::plain")]` (or `option`) on
/// any shape an interface writes.
pub mod time {
    use chrono::{DateTime, Utc};
    use serde::Serializer;

    /// Writes a time.
    ///
    /// # Errors
    ///
    /// The serializer's.
    pub fn plain<S: Serializer>(t: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&call_core::time::rfc3339(*t))
    }

    /// Writes a time, or null.
    ///
    /// # Errors
    ///
    /// The serializer's.
    pub fn option<S: Serializer>(
        t: &Option<DateTime<Utc>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => plain(t, serializer),
            None => serializer.serialize_none(),
        }
    }
}

/// Serializes seconds as a JSON number, whole ones without a fraction.
pub(crate) mod seconds {
    use serde::Serializer;

    /// Whole seconds up to this are printed as integers; beyond, f64 is not exact anyway.
    const EXACT: f64 = 9_007_199_254_740_992.0;

    fn write<S: Serializer>(value: f64, serializer: S) -> Result<S::Ok, S::Error> {
        if value.fract() == 0.0 && value.abs() < EXACT {
            serializer.serialize_i64(value as i64)
        } else {
            serializer.serialize_f64(value)
        }
    }

    pub(crate) fn option<S: Serializer>(
        value: &Option<f64>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => write(*v, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub(crate) fn plain<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        write(*value, serializer)
    }
}
