//! The envelopes around lists: a page of calls, a call's audit log, a
//! number's history, the queues, a series with its calls, a removal. Both
//! interfaces print these, so `calls --json` and the API cannot drift.

use call_core::{
    Call, CallEvent, HistoryRecord, PhoneNumber, Series,
    ports::{Cursor, Page, Queue},
};
use serde::{Deserialize, Serialize};

use crate::{CallJson, EventJson, HistoryJson, QueueJson, SeriesJson};

/// The most items one page of calls, history, alerts or series holds; both
/// interfaces refuse a larger `limit`.
pub const PAGE_LIMIT_MAX: usize = 500;
/// The items on such a page when no `limit` is given.
pub const PAGE_LIMIT_DEFAULT: usize = 50;
/// The most numbers one page of the do-not-call list holds: its entries
/// are small, and an export walks it in few pages.
pub const DO_NOT_CALL_LIMIT_MAX: usize = 1000;
/// The numbers on a page of the do-not-call list when no `limit` is given.
pub const DO_NOT_CALL_LIMIT_DEFAULT: usize = 100;

/// One page of calls, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallPage {
    /// The calls.
    pub calls: Vec<CallJson>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

impl From<&Page<Call>> for CallPage {
    fn from(page: &Page<Call>) -> CallPage {
        CallPage {
            calls: page.items.iter().map(CallJson::from).collect(),
            next_cursor: page.next_cursor.as_ref().map(Cursor::to_string),
        }
    }
}

/// A call's audit log, in the order it was written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventList {
    /// The events.
    pub events: Vec<EventJson>,
}

impl From<&[CallEvent]> for EventList {
    fn from(events: &[CallEvent]) -> EventList {
        EventList { events: events.iter().map(EventJson::from).collect() }
    }
}

/// One page of a number's history, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryPage {
    /// The number, in E.164.
    pub phone_number: String,
    /// Its calls, each seen from its side.
    pub records: Vec<HistoryJson>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

impl HistoryPage {
    /// The page `records` of `number`'s history.
    pub fn new(number: &PhoneNumber, records: &Page<HistoryRecord>) -> HistoryPage {
        HistoryPage {
            phone_number: number.as_str().to_owned(),
            records: records.items.iter().map(HistoryJson::from).collect(),
            next_cursor: records.next_cursor.as_ref().map(Cursor::to_string),
        }
    }
}

/// Every registered queue, by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueueList {
    /// The queues.
    pub queues: Vec<QueueJson>,
}

impl From<&[Queue]> for QueueList {
    fn from(queues: &[Queue]) -> QueueList {
        QueueList { queues: queues.iter().map(QueueJson::from).collect() }
    }
}

/// A recurring series with the calls it has made so far, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeriesCalls {
    /// The series.
    pub series: SeriesJson,
    /// Its calls.
    pub calls: Vec<CallJson>,
}

impl SeriesCalls {
    /// `series` and its `calls`.
    pub fn new(series: &Series, calls: &[Call]) -> SeriesCalls {
        SeriesCalls {
            series: SeriesJson::from(series),
            calls: calls.iter().map(CallJson::from).collect(),
        }
    }
}

/// What a removal took away: a queue's id, or a number off the
/// do-not-call list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Removed {
    /// The id or number removed.
    pub removed: String,
}
