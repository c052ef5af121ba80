//! A number's call history: each call seen from that number's side.

use chrono::{DateTime, Utc};

use crate::{Call, CallId, CallStatus, PhoneNumber, names::named_enum};

named_enum! {
    /// A history record's type, seen from the looked-up number's side: a
    /// call it received is inbound, a call it made is outbound; completed
    /// when answered, missed otherwise.
    pub enum HistoryType: "type" {
        /// Received and answered.
        CompletedInbound = "Completed Inbound",
        /// Received, not answered.
        MissedInbound = "Missed Inbound",
        /// Made and answered.
        CompletedOutbound = "Completed Outbound",
        /// Made, not answered.
        MissedOutbound = "Missed Outbound",
    }
}

/// The statuses a history lists: the ended ones but `canceled` (a canceled
/// call never took place). The stores' partial history indexes (migration
/// 0008) list the same, in this order, and their queries repeat the list as
/// written here so the planners can use those indexes.
pub const HISTORY_STATUSES: &[CallStatus] = &[
    CallStatus::Completed,
    CallStatus::Failed,
    CallStatus::Busy,
    CallStatus::NoAnswer,
    CallStatus::Abandoned,
];

/// One call in a number's history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRecord {
    /// The call.
    pub call_id: CallId,
    /// When the call took place ([`Call::happened_at`]): placed, or
    /// reported initiated; not when it was scheduled.
    pub created_at: DateTime<Utc>,
    /// The other number, when known.
    pub counterparty: Option<PhoneNumber>,
    /// Completed or missed, inbound or outbound, from the number's side.
    pub record_type: HistoryType,
    /// Talk time in seconds, for completed calls.
    pub duration_seconds: Option<f64>,
    /// How it ended (the history holds ended calls only).
    pub outcome: CallStatus,
    /// Which attempt at its number it was ([`Call::redial_attempt`]).
    pub redial_attempt: u32,
    /// The attempt it redialled ([`Call::redial_of`]).
    pub redial_of: Option<CallId>,
}

impl HistoryRecord {
    /// `call` as seen from `number`, which is its callee (`to`) or caller (`from`).
    pub fn new(call: &Call, number: &PhoneNumber) -> HistoryRecord {
        let received = call.to() == Some(number);
        let counterparty = if received { call.from() } else { call.to() }.cloned();
        let answered = call.was_answered();
        let record_type = match (answered, received) {
            (true, true) => HistoryType::CompletedInbound,
            (false, true) => HistoryType::MissedInbound,
            (true, false) => HistoryType::CompletedOutbound,
            (false, false) => HistoryType::MissedOutbound,
        };
        HistoryRecord {
            call_id: call.id().clone(),
            created_at: call.happened_at(),
            counterparty,
            record_type,
            duration_seconds: if answered { call.duration_seconds() } else { None },
            outcome: call.status(),
            redial_attempt: call.redial_attempt(),
            redial_of: call.redial_of().cloned(),
        }
    }
}
