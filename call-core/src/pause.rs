//! Pausing dispatch: stop placing calls, everywhere or for one queue, now
//! or until a time, without losing or failing any.
//!
//! A pause holds calls in `scheduled`: no worker claims them while it is
//! active, and they are placed as usual once it is lifted or lapses.
//! Everything else goes on: calls already placed are followed to their
//! end, rule timers fire, lifecycle events are taken in. Pauses live in the
//! store, so they survive restarts and hold every worker sharing it, as
//! River's and Oban's pausable queues do.

use chrono::{DateTime, Utc};

use crate::QueueId;

/// One pause of dispatch: of every call, or of one queue's calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pause {
    /// The queue whose calls are held; every call when `None`.
    pub queue: Option<QueueId>,
    /// When it was asked for.
    pub paused_at: DateTime<Utc>,
    /// When it lapses by itself; held until resumed when `None`.
    pub until: Option<DateTime<Utc>>,
}

impl Pause {
    /// Whether it still holds at `now`: it lapses at `until`, exactly.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.until.is_none_or(|until| now < until)
    }

    /// Whether it covers a call in `queue`: a pause of every call covers
    /// all of them, a queue's pause only that queue's.
    pub fn covers(&self, queue: Option<&QueueId>) -> bool {
        match &self.queue {
            None => true,
            Some(paused) => queue == Some(paused),
        }
    }

    /// Whether it holds a call in `queue` at `now`.
    pub fn holds(&self, queue: Option<&QueueId>, now: DateTime<Utc>) -> bool {
        self.is_active(now) && self.covers(queue)
    }
}

/// The pause holding a call in `queue` at `now`, if any; a pause of every
/// call first, as it is the one a resume of one queue would not lift.
pub fn holding<'a>(
    pauses: &'a [Pause],
    queue: Option<&QueueId>,
    now: DateTime<Utc>,
) -> Option<&'a Pause> {
    pauses.iter().filter(|p| p.holds(queue, now)).min_by_key(|p| p.queue.is_some())
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone};

    use super::*;

    fn at(second: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + second, 0).unwrap()
    }

    fn queue(id: &str) -> QueueId {
        QueueId::parse(id).unwrap()
    }

    fn pause(queue: Option<&str>, until: Option<i64>) -> Pause {
        Pause { queue: queue.map(self::queue), paused_at: at(0), until: until.map(at) }
    }

    #[test]
    fn a_pause_lapses_exactly_at_its_end() {
        let cases = [
            (None, 1_000_000, true),
            (Some(10), 9, true),
            (Some(10), 10, false),
            (Some(10), 11, false),
        ];
        for (until, now, active) in cases {
            let p = pause(None, until);
            assert_eq!(p.is_active(at(now)), active, "until {until:?} at {now}");
            let microsecond_before = at(now) - TimeDelta::microseconds(1);
            if until == Some(now) {
                assert!(p.is_active(microsecond_before), "active up to its end");
            }
        }
    }

    #[test]
    fn a_queue_pause_covers_only_its_queue() {
        let sales = queue("sales");
        let support = queue("support");
        let cases = [
            (None, None, true),
            (None, Some(&sales), true),
            (Some("sales"), Some(&sales), true),
            (Some("sales"), Some(&support), false),
            (Some("sales"), None, false),
        ];
        for (paused, call_queue, covered) in cases {
            assert_eq!(
                pause(paused, None).covers(call_queue),
                covered,
                "{paused:?} {call_queue:?}"
            );
        }
    }

    #[test]
    fn the_pause_of_every_call_is_named_first() {
        let sales = queue("sales");
        let pauses = [pause(Some("sales"), None), pause(None, Some(20))];
        assert_eq!(holding(&pauses, Some(&sales), at(5)), Some(&pauses[1]));
        assert_eq!(holding(&pauses, Some(&sales), at(20)), Some(&pauses[0]), "the global lapsed");
        assert_eq!(holding(&pauses, None, at(20)), None);
        assert_eq!(holding(&[], None, at(0)), None);
    }
}
