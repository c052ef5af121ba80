//! Recurring series: a call that repeats on a [`Recurrence`], each
//! occurrence an ordinary call linked to its series.
//!
//! Only one occurrence of a series waits at a time. The next one is made
//! when the one before it is claimed, by the store in the claim's own
//! transaction ([`CallStore::claim_due`](crate::ports::CallStore::claim_due)),
//! so a crash can neither skip an occurrence (the claim and the next one
//! commit together) nor double one (the series counts the occurrences it
//! made, and only the latest may make the next). An occurrence canceled
//! before it is claimed makes the next one first, so canceling one
//! occurrence skips only that one; canceling the series stops them all.
//!
//! What is decided here is pure: [`Series::successor`] says which call
//! follows which, and when.

use chrono::{DateTime, Utc};

use crate::{
    Call, CallEvent, CallParts, EventId, EventSource, EventType, Occurrence, Recurrence, SeriesId,
};

/// A recurring series of calls.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Its id.
    pub id: SeriesId,
    /// When its occurrences fall.
    pub recurrence: Recurrence,
    /// When it was scheduled.
    pub created_at: DateTime<Utc>,
    /// When it was canceled; no occurrence is made after that.
    pub canceled_at: Option<DateTime<Utc>>,
    /// How many occurrences were made so far: the number of the latest.
    pub occurrences: u32,
}

impl Series {
    /// A new series whose first occurrence is being made now.
    pub fn new(recurrence: Recurrence, created_at: DateTime<Utc>) -> Series {
        Series {
            id: SeriesId::generate(),
            recurrence,
            created_at,
            canceled_at: None,
            occurrences: 1,
        }
    }

    /// The occurrence that follows `previous` when it is claimed, or
    /// canceled before being claimed, at `now`: a `scheduled` call with
    /// the same details, due at the recurrence's next firing
    /// ([`Recurrence::next`]), with its `call_scheduled` event.
    ///
    /// `None` when the series is canceled or over, or when `previous` is
    /// not the latest occurrence of this series (a call claimed again
    /// after a retry, whose successor exists already).
    pub fn successor(&self, previous: &Call, now: DateTime<Utc>) -> Option<(Call, CallEvent)> {
        let occurrence = previous.occurrence()?;
        if self.canceled_at.is_some()
            || occurrence.series_id != self.id
            || occurrence.number != self.occurrences
        {
            return None;
        }
        let firing = self.recurrence.next(previous.scheduled_at()?, occurrence.number, now)?;
        // A firing outside the occurrence's window waits for its opening
        // (firings while it waits fall into it: the next one is counted
        // from the opening). A window that can no longer open leaves the
        // firing as it is, for the worker to refuse when it falls due.
        let wait = previous.window_wait(firing).ok().flatten();
        let due = wait.as_ref().map_or(firing, |w| w.until);
        let occurrence = Occurrence { series_id: self.id.clone(), number: occurrence.number + 1 };
        let call = Call::from_parts(CallParts {
            occurrence: Some(occurrence),
            ..previous.again(due, now)
        });
        let event = CallEvent::new(
            EventId::generate(),
            call.id().clone(),
            EventType::CallScheduled,
            now,
            now,
            EventSource::Scheduler,
            crate::audit::scheduled(&call, wait.as_ref(), firing),
        );
        Some((call, event))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;
    use crate::{CallId, CallStatus, Direction, PhoneNumber, QueueId};

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn weekdays_at_nine(count: Option<u32>) -> Series {
        let recurrence = Recurrence::new("0 9 * * MON-FRI", "Europe/Paris", count, None).unwrap();
        Series::new(recurrence, utc("2026-10-20T10:00:00Z"))
    }

    fn occurrence(series: &Series, number: u32, due: &str) -> Call {
        Call::from_parts(CallParts {
            to: Some(PhoneNumber::parse("+33612345678").unwrap()),
            customer_name: Some("Ada".into()),
            queue_id: Some(QueueId::parse("billing").unwrap()),
            scheduled_at: Some(utc(due)),
            occurrence: Some(Occurrence { series_id: series.id.clone(), number }),
            status: CallStatus::Dispatching,
            version: 2,
            ..CallParts::new(
                CallId::generate(),
                Direction::Outbound,
                CallStatus::Scheduled,
                utc("2026-10-20T10:00:00Z"),
            )
        })
    }

    #[test]
    fn the_successor_is_the_same_call_at_the_next_firing() {
        let series = weekdays_at_nine(None);
        // Friday 23 October, 09:00 CEST; the next is Monday 26 October, 09:00 CET.
        let friday = occurrence(&series, 1, "2026-10-23T07:00:00Z");
        let now = utc("2026-10-23T07:00:01Z");
        let (next, event) = series.successor(&friday, now).unwrap();
        assert_eq!(next.scheduled_at(), Some(utc("2026-10-26T08:00:00Z")));
        assert_eq!(next.status(), CallStatus::Scheduled);
        assert_eq!(next.version(), 1);
        assert_eq!(next.created_at(), now);
        assert_ne!(next.id(), friday.id());
        assert_eq!(
            next.occurrence(),
            Some(&Occurrence { series_id: series.id.clone(), number: 2 })
        );
        assert_eq!(
            (next.to(), next.customer_name(), next.queue_id()),
            (friday.to(), friday.customer_name(), friday.queue_id())
        );
        assert_eq!(event.call_id(), next.id());
        assert_eq!(event.event_type(), EventType::CallScheduled);
        assert_eq!(event.metadata()["occurrence"], json!(2));
        assert_eq!(event.metadata()["series_id"], json!(series.id.as_str()));
    }

    #[test]
    fn only_the_latest_occurrence_of_a_live_series_has_a_successor() {
        let mut series = weekdays_at_nine(Some(3));
        let now = utc("2026-10-23T07:00:01Z");
        let second = occurrence(&series, 2, "2026-10-23T07:00:00Z");
        // The series made one occurrence so far: the second is not its latest.
        assert!(series.successor(&second, now).is_none());
        series.occurrences = 2;
        assert!(series.successor(&second, now).is_some());
        // A call claimed again after its successor was made.
        series.occurrences = 3;
        assert!(series.successor(&second, now).is_none());
        // The third of a series of three is the last.
        let third = occurrence(&series, 3, "2026-10-26T08:00:00Z");
        assert!(series.successor(&third, now).is_none());
        // Canceled.
        let mut canceled = weekdays_at_nine(None);
        let first = occurrence(&canceled, 1, "2026-10-23T07:00:00Z");
        assert!(canceled.successor(&first, now).is_some());
        canceled.canceled_at = Some(now);
        assert!(canceled.successor(&first, now).is_none());
        // Another series' call, and a call of no series.
        let other = weekdays_at_nine(None);
        assert!(other.successor(&first, now).is_none());
        let lone = Call::from_parts(CallParts { occurrence: None, ..first.parts().clone() });
        assert!(series.successor(&lone, now).is_none());
    }

    #[test]
    fn a_successor_claimed_late_coalesces_the_missed_firings() {
        let series = weekdays_at_nine(None);
        let monday = occurrence(&series, 1, "2026-10-26T08:00:00Z");
        // Claimed on Thursday at noon, after the worker was down for days:
        // Tuesday's, Wednesday's and Thursday's firings come to one, due at
        // Thursday's (so placed at once), not three in a row.
        let now = Utc.with_ymd_and_hms(2026, 10, 29, 11, 0, 0).unwrap();
        let (next, _) = series.successor(&monday, now).unwrap();
        assert_eq!(next.scheduled_at(), Some(utc("2026-10-29T08:00:00Z")));
    }
}
