//! The do-not-call list: numbers no call is ever placed to.
//!
//! Scheduling a call to a listed number is refused (code `do_not_call`).
//! A call scheduled before its number was listed is not placed either:
//! when it falls due, the claim that would have dispatched it ends it
//! `canceled` with end reason `do_not_call` instead, in the same
//! transaction ([`CallStore::claim_due`](crate::ports::CallStore::claim_due)),
//! and the claim never dispatches a listed number. So a number listed
//! before a claim begins is never dialled by it.

use chrono::{DateTime, Utc};

use crate::{
    Call, CallEvent, CallStatus, EndReason, EventId, EventSource, EventType, PhoneNumber,
    ValidationError, limits, ports::Claim,
};

/// The reason a listed number's call was canceled, in its `call_canceled`
/// event's metadata (`Refusal::DoNotCall` names the same on the wire).
pub const DO_NOT_CALL: &str = crate::Refusal::DoNotCall.as_str();

/// A number on the do-not-call list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoNotCall {
    /// The number.
    pub phone: PhoneNumber,
    /// When it was listed.
    pub added_at: DateTime<Utc>,
    /// Why, as the person who listed it said (a complaint, a request…).
    pub reason: Option<String>,
}

impl DoNotCall {
    /// `phone`, listed at `added_at` for `reason` (trimmed; blank is none).
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `reason` longer than [`limits::MAX_REASON_CHARS`].
    pub fn new(
        phone: PhoneNumber,
        added_at: DateTime<Utc>,
        reason: Option<&str>,
    ) -> Result<DoNotCall, ValidationError> {
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        limits::optional_text("reason", reason, limits::MAX_REASON_CHARS)?;
        Ok(DoNotCall { phone, added_at, reason: reason.map(str::to_owned) })
    }

    /// The refusal to schedule a call to this listed number, on `field`.
    pub fn refusal(&self, field: &'static str) -> ValidationError {
        ValidationError::new(
            field,
            format!("{} is on the do-not-call list: no call is placed to it", self.phone),
        )
        .with_refusal(crate::Refusal::DoNotCall)
    }
}

impl Claim {
    /// What a claim makes of a due `call` whose number is listed: the call
    /// `canceled` at the claim's `now` with end reason `do_not_call`, one
    /// version on, and its `call_canceled` event (source `scheduler`,
    /// metadata `{"reason": "do_not_call", "worker": …}`). Pure, so every
    /// store cancels alike.
    pub fn do_not_call(&self, call: &Call) -> (Call, CallEvent) {
        let mut parts = call.parts().clone();
        parts.status = CallStatus::Canceled;
        parts.end_reason = Some(EndReason::DoNotCall);
        parts.ended_at = Some(self.now);
        parts.updated_at = self.now;
        parts.lease = None;
        parts.version += 1;
        let call = Call::from_parts(parts);
        let metadata = crate::audit::canceled_do_not_call(&self.worker);
        let event = CallEvent::new(
            EventId::generate(),
            call.id().clone(),
            EventType::CallCanceled,
            self.now,
            self.now,
            EventSource::Scheduler,
            metadata,
        );
        (call, event)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::{CallId, CallParts, Direction, WorkerId};

    #[test]
    fn a_listed_due_call_is_canceled_for_the_list() {
        let t = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        let call = Call::from_parts(CallParts {
            to: Some(PhoneNumber::parse("+14155550100").unwrap()),
            scheduled_at: Some(t),
            version: 3,
            ..CallParts::new(CallId::generate(), Direction::Outbound, CallStatus::Scheduled, t)
        });
        let claim =
            Claim { now: t, worker: WorkerId::parse("w").unwrap(), lease_until: t, limit: 1 };
        let (canceled, event) = claim.do_not_call(&call);
        assert_eq!(canceled.status(), CallStatus::Canceled);
        assert_eq!(canceled.end_reason(), Some(EndReason::DoNotCall));
        assert_eq!(canceled.ended_at(), Some(t));
        assert_eq!(canceled.version(), 4);
        assert_eq!(event.event_type(), EventType::CallCanceled);
        assert_eq!(event.metadata()["reason"], "do_not_call");
        // The state machine allows it.
        assert!(
            crate::machine::transition(CallStatus::Scheduled, crate::machine::Trigger::Canceled)
                .is_ok()
        );
    }

    #[test]
    fn an_entry_keeps_a_trimmed_reason_of_bounded_length() {
        let phone = PhoneNumber::parse("+14155550100").unwrap();
        let t = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        assert_eq!(DoNotCall::new(phone.clone(), t, Some("  ")).unwrap().reason, None);
        let asked = DoNotCall::new(phone.clone(), t, Some(" asked us ")).unwrap();
        assert_eq!(asked.reason.as_deref(), Some("asked us"));
        assert!(
            DoNotCall::new(phone.clone(), t, Some(&"x".repeat(limits::MAX_REASON_CHARS))).is_ok()
        );
        let long =
            DoNotCall::new(phone.clone(), t, Some(&"x".repeat(limits::MAX_REASON_CHARS + 1)));
        assert_eq!(long.unwrap_err().field(), "reason");
        let refusal = asked.refusal("phone_number");
        assert_eq!(
            (refusal.refusal(), refusal.field()),
            (crate::Refusal::DoNotCall, "phone_number")
        );
    }
}
