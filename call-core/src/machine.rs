//! The call state machine: one pure function from (status, trigger) to the
//! next status.
//!
//! ```text
//!  scheduled ──dispatched──▶ dispatching ──initiated──▶ initiated ◀─────retransfer──┐
//!     │ ▲ rescheduled           │                        │  │ ringing               │
//!     │ └─────┘                 │ failed                 │  ▼                       │
//!     ▼ canceled                ▼                        │ ringing ──routed──▶ routed
//!  canceled                  failed                      │  │                       │
//!                                                        └──┴──answered──▶ active ◀─┘
//!                                                                 hold ▲│resumed
//!                                                                      │▼
//!                                                                    on_hold
//!  ended: from active / on_hold → completed (or failed); from waiting →
//!  abandoned, busy, no_answer or failed, by the end reason
//! ```
//!
//! Terminal statuses absorb: every trigger is refused in them.

use crate::{CallStatus, EndReason, EventType, TransitionError};

/// What happened to a call, as far as its status is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// `call_rescheduled`: a new due time.
    Rescheduled,
    /// `call_canceled`.
    Canceled,
    /// `call_dispatched`: a worker claimed it (or re-claimed a lost claim).
    Dispatched,
    /// `call_initiated`.
    Initiated,
    /// `call_ringing`.
    Ringing,
    /// `call_routed`.
    Routed,
    /// `call_retransfer`.
    Retransfer,
    /// `call_answered`.
    Answered,
    /// `call_hold`.
    Hold,
    /// `call_resumed`.
    Resumed,
    /// `call_transferred`.
    Transferred,
    /// `call_ended`, with the reason when known.
    Ended(Option<EndReason>),
    /// `call_failed`.
    Failed,
}

impl Trigger {
    /// Every trigger, each end reason included once.
    pub const ALL: &'static [Trigger] = &[
        Trigger::Rescheduled,
        Trigger::Canceled,
        Trigger::Dispatched,
        Trigger::Initiated,
        Trigger::Ringing,
        Trigger::Routed,
        Trigger::Retransfer,
        Trigger::Answered,
        Trigger::Hold,
        Trigger::Resumed,
        Trigger::Transferred,
        Trigger::Ended(None),
        Trigger::Ended(Some(EndReason::Completed)),
        Trigger::Ended(Some(EndReason::Abandoned)),
        Trigger::Ended(Some(EndReason::Failed)),
        Trigger::Ended(Some(EndReason::Busy)),
        Trigger::Ended(Some(EndReason::NoAnswer)),
        Trigger::Failed,
    ];

    /// The audit-log type of the event carrying this trigger.
    pub const fn event_type(self) -> EventType {
        match self {
            Trigger::Rescheduled => EventType::CallRescheduled,
            Trigger::Canceled => EventType::CallCanceled,
            Trigger::Dispatched => EventType::CallDispatched,
            Trigger::Initiated => EventType::CallInitiated,
            Trigger::Ringing => EventType::CallRinging,
            Trigger::Routed => EventType::CallRouted,
            Trigger::Retransfer => EventType::CallRetransfer,
            Trigger::Answered => EventType::CallAnswered,
            Trigger::Hold => EventType::CallHold,
            Trigger::Resumed => EventType::CallResumed,
            Trigger::Transferred => EventType::CallTransferred,
            Trigger::Ended(_) => EventType::CallEnded,
            Trigger::Failed => EventType::CallFailed,
        }
    }
}

/// The status a call in `from` moves to on `trigger`.
///
/// Re-claiming a `dispatching` call (`Dispatched`) is only done by the
/// worker for a lost claim under the at-least-once policy, and moving one
/// back to `scheduled` (`Rescheduled`) only by the worker for a claimed
/// call outside its calling window; the engine's public operations never
/// send either.
///
/// # Errors
///
/// [`TransitionError`] naming both when the trigger does not fit the status.
pub fn transition(from: CallStatus, trigger: Trigger) -> Result<CallStatus, TransitionError> {
    use CallStatus as S;
    use Trigger as T;
    let refuse = Err(TransitionError { from, event: trigger.event_type() });
    let to = match (from, trigger) {
        (S::Scheduled, T::Rescheduled) => S::Scheduled,
        (S::Scheduled, T::Canceled) => S::Canceled,
        (S::Scheduled, T::Dispatched) => S::Dispatching,
        (S::Scheduled, T::Failed) => S::Failed,

        (S::Dispatching, T::Dispatched) => S::Dispatching,
        (S::Dispatching, T::Rescheduled) => S::Scheduled,
        (S::Dispatching, T::Initiated) => S::Initiated,
        (S::Dispatching, T::Failed) => S::Failed,

        (S::Initiated, T::Ringing) => S::Ringing,
        (S::Initiated | S::Ringing | S::Routed, T::Routed) => S::Routed,
        (S::Routed, T::Retransfer) => S::Initiated,
        (S::Initiated | S::Ringing | S::Routed, T::Answered) => S::Active,
        (S::Initiated | S::Ringing | S::Routed | S::Active | S::OnHold, T::Transferred) => from,
        (S::Initiated | S::Ringing | S::Routed, T::Ended(reason)) => match reason {
            None | Some(EndReason::Abandoned) => S::Abandoned,
            Some(EndReason::Busy) => S::Busy,
            Some(EndReason::NoAnswer) => S::NoAnswer,
            Some(EndReason::Failed) => S::Failed,
            // Completed means answered, and this call never was; the
            // do-not-call list ends scheduled calls only.
            Some(EndReason::Completed | EndReason::DoNotCall) => return refuse,
        },

        (S::Active, T::Hold) => S::OnHold,
        (S::OnHold, T::Resumed) => S::Active,
        (S::Active | S::OnHold, T::Ended(reason)) => match reason {
            Some(EndReason::Failed) => S::Failed,
            _ => S::Completed,
        },

        (S::Initiated | S::Ringing | S::Routed | S::Active | S::OnHold, T::Failed) => S::Failed,
        _ => return refuse,
    };
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The whole table, written out: every (status, trigger) pair not listed
    /// here must be refused.
    fn expected(from: CallStatus, trigger: Trigger) -> Option<CallStatus> {
        use CallStatus as S;
        use EndReason as R;
        use Trigger as T;
        let allowed: &[(S, T, S)] = &[
            (S::Scheduled, T::Rescheduled, S::Scheduled),
            (S::Scheduled, T::Canceled, S::Canceled),
            (S::Scheduled, T::Dispatched, S::Dispatching),
            (S::Scheduled, T::Failed, S::Failed),
            (S::Dispatching, T::Dispatched, S::Dispatching),
            (S::Dispatching, T::Rescheduled, S::Scheduled),
            (S::Dispatching, T::Initiated, S::Initiated),
            (S::Dispatching, T::Failed, S::Failed),
            (S::Initiated, T::Ringing, S::Ringing),
            (S::Initiated, T::Routed, S::Routed),
            (S::Initiated, T::Answered, S::Active),
            (S::Initiated, T::Transferred, S::Initiated),
            (S::Initiated, T::Ended(None), S::Abandoned),
            (S::Initiated, T::Ended(Some(R::Abandoned)), S::Abandoned),
            (S::Initiated, T::Ended(Some(R::Busy)), S::Busy),
            (S::Initiated, T::Ended(Some(R::NoAnswer)), S::NoAnswer),
            (S::Initiated, T::Ended(Some(R::Failed)), S::Failed),
            (S::Initiated, T::Failed, S::Failed),
            (S::Ringing, T::Routed, S::Routed),
            (S::Ringing, T::Answered, S::Active),
            (S::Ringing, T::Transferred, S::Ringing),
            (S::Ringing, T::Ended(None), S::Abandoned),
            (S::Ringing, T::Ended(Some(R::Abandoned)), S::Abandoned),
            (S::Ringing, T::Ended(Some(R::Busy)), S::Busy),
            (S::Ringing, T::Ended(Some(R::NoAnswer)), S::NoAnswer),
            (S::Ringing, T::Ended(Some(R::Failed)), S::Failed),
            (S::Ringing, T::Failed, S::Failed),
            (S::Routed, T::Routed, S::Routed),
            (S::Routed, T::Retransfer, S::Initiated),
            (S::Routed, T::Answered, S::Active),
            (S::Routed, T::Transferred, S::Routed),
            (S::Routed, T::Ended(None), S::Abandoned),
            (S::Routed, T::Ended(Some(R::Abandoned)), S::Abandoned),
            (S::Routed, T::Ended(Some(R::Busy)), S::Busy),
            (S::Routed, T::Ended(Some(R::NoAnswer)), S::NoAnswer),
            (S::Routed, T::Ended(Some(R::Failed)), S::Failed),
            (S::Routed, T::Failed, S::Failed),
            (S::Active, T::Hold, S::OnHold),
            (S::Active, T::Transferred, S::Active),
            (S::Active, T::Ended(None), S::Completed),
            (S::Active, T::Ended(Some(R::Completed)), S::Completed),
            (S::Active, T::Ended(Some(R::Abandoned)), S::Completed),
            (S::Active, T::Ended(Some(R::Busy)), S::Completed),
            (S::Active, T::Ended(Some(R::NoAnswer)), S::Completed),
            (S::Active, T::Ended(Some(R::Failed)), S::Failed),
            (S::Active, T::Failed, S::Failed),
            (S::OnHold, T::Resumed, S::Active),
            (S::OnHold, T::Transferred, S::OnHold),
            (S::OnHold, T::Ended(None), S::Completed),
            (S::OnHold, T::Ended(Some(R::Completed)), S::Completed),
            (S::OnHold, T::Ended(Some(R::Abandoned)), S::Completed),
            (S::OnHold, T::Ended(Some(R::Busy)), S::Completed),
            (S::OnHold, T::Ended(Some(R::NoAnswer)), S::Completed),
            (S::OnHold, T::Ended(Some(R::Failed)), S::Failed),
            (S::OnHold, T::Failed, S::Failed),
        ];
        allowed.iter().find(|(f, t, _)| *f == from && *t == trigger).map(|(_, _, to)| *to)
    }

    #[test]
    fn every_pair_of_the_table() {
        let mut n_allowed = 0;
        for &from in CallStatus::ALL {
            for &trigger in Trigger::ALL {
                let actual = transition(from, trigger);
                match expected(from, trigger) {
                    Some(to) => {
                        n_allowed += 1;
                        assert_eq!(actual, Ok(to), "{from} + {trigger:?}");
                    }
                    None => assert_eq!(
                        actual,
                        Err(TransitionError { from, event: trigger.event_type() }),
                        "{from} + {trigger:?} must be refused"
                    ),
                }
            }
        }
        assert_eq!(n_allowed, 55, "the table above lists 55 allowed transitions");
    }

    #[test]
    fn refusal_names_status_and_event() {
        let error = transition(CallStatus::Scheduled, Trigger::Answered).unwrap_err();
        assert_eq!(error.to_string(), "event call_answered is not allowed in status scheduled");
    }

    /// The event types that move a call (`EventType::facts`) are exactly
    /// those the machine has a trigger for.
    #[test]
    fn the_triggers_are_the_event_types_that_move_a_call() {
        let mut triggered: Vec<EventType> = Trigger::ALL.iter().map(|t| t.event_type()).collect();
        triggered.dedup();
        let moving: Vec<EventType> =
            EventType::ALL.iter().copied().filter(|t| t.moves_status()).collect();
        assert_eq!(triggered, moving);
    }

    #[test]
    fn terminal_statuses_refuse_everything() {
        for status in CallStatus::ALL.iter().filter(|s| s.is_terminal()) {
            for &trigger in Trigger::ALL {
                assert!(transition(*status, trigger).is_err(), "{status} + {trigger:?}");
            }
        }
    }

    fn any_trigger() -> impl Strategy<Value = Trigger> {
        proptest::sample::select(Trigger::ALL)
    }

    fn any_status() -> impl Strategy<Value = CallStatus> {
        proptest::sample::select(CallStatus::ALL)
    }

    proptest! {
        #[test]
        fn no_sequence_leaves_a_terminal_status(
            start in any_status(),
            triggers in proptest::collection::vec(any_trigger(), 0..64),
        ) {
            let mut status = start;
            let mut ended = status.is_terminal();
            for trigger in triggers {
                match transition(status, trigger) {
                    Ok(next) => {
                        prop_assert!(!ended, "{status} left by {trigger:?}");
                        status = next;
                        ended = status.is_terminal();
                    }
                    Err(error) => {
                        prop_assert_eq!(error.from, status);
                        prop_assert_eq!(error.event, trigger.event_type());
                    }
                }
            }
        }
    }
}
