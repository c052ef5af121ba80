//! Queue and agent metrics, derived from the store's [`StatsInputs`], and
//! the recent activity minute by minute, from its [`MinuteTotals`].

use chrono::{DateTime, TimeDelta, Utc};

use crate::{
    AgentId, QueueId,
    ports::{AgentTotals, MinuteTotals, QueueTotals, StatsInputs},
};

/// One queue's metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueStats {
    /// The queue.
    pub queue_id: QueueId,
    /// Calls that entered the queue.
    pub offered: u64,
    /// Of those, answered.
    pub answered: u64,
    /// Of those, abandoned by the caller.
    pub abandoned: u64,
    /// Answered within the SLA threshold, over offered (0–1); `None` before any call.
    pub service_level: Option<f64>,
    /// Average seconds to answer, over answered calls.
    pub average_speed_of_answer: Option<f64>,
    /// Average seconds on hold, over answered calls.
    pub average_hold_seconds: Option<f64>,
}

/// One agent's metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentStats {
    /// The agent.
    pub agent_id: AgentId,
    /// Calls answered.
    pub answered: u64,
    /// Average seconds callers waited before this agent answered.
    pub average_wait_seconds: Option<f64>,
    /// Average talk seconds, over the answered calls that have ended.
    pub average_talk_seconds: Option<f64>,
    /// Seconds on hold, all calls added up.
    pub hold_seconds: f64,
    /// Calls taken away after this agent did not answer in time.
    pub reroutes: u64,
}

/// The metrics of every queue and agent.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stats {
    /// Per queue, by queue id.
    pub queues: Vec<QueueStats>,
    /// Per agent, by agent id.
    pub agents: Vec<AgentStats>,
}

fn ratio(sum: f64, n: u64) -> Option<f64> {
    (n > 0).then(|| sum / n as f64)
}

impl From<QueueTotals> for QueueStats {
    fn from(t: QueueTotals) -> QueueStats {
        QueueStats {
            service_level: ratio(t.answered_within_sla as f64, t.offered),
            average_speed_of_answer: ratio(t.wait_seconds, t.answered),
            average_hold_seconds: ratio(t.hold_seconds, t.answered),
            queue_id: t.queue_id,
            offered: t.offered,
            answered: t.answered,
            abandoned: t.abandoned,
        }
    }
}

impl From<AgentTotals> for AgentStats {
    fn from(t: AgentTotals) -> AgentStats {
        AgentStats {
            average_wait_seconds: ratio(t.wait_seconds, t.answered),
            average_talk_seconds: ratio(t.talk_seconds, t.ended),
            agent_id: t.agent_id,
            answered: t.answered,
            hold_seconds: t.hold_seconds,
            reroutes: t.reroutes,
        }
    }
}

impl From<StatsInputs> for Stats {
    fn from(inputs: StatsInputs) -> Stats {
        Stats {
            queues: inputs.queues.into_iter().map(QueueStats::from).collect(),
            agents: inputs.agents.into_iter().map(AgentStats::from).collect(),
        }
    }
}

/// The most minutes [`Activity`] covers: one day.
pub const ACTIVITY_MINUTES_MAX: u32 = 24 * 60;

/// What happened in one minute.
#[derive(Debug, Clone, PartialEq)]
pub struct MinuteActivity {
    /// The minute's first instant.
    pub minute: DateTime<Utc>,
    /// Calls that ended in it `completed`.
    pub completed: u64,
    /// Ended `busy`, `no_answer` or `abandoned`.
    pub missed: u64,
    /// Ended `failed`.
    pub failed: u64,
    /// Scheduled outbound calls placed in it.
    pub placed: u64,
    /// Their average placement lateness (placed after due), in seconds;
    /// `None` when none was placed.
    pub average_lateness_seconds: Option<f64>,
    /// The greatest; `None` when none was placed.
    pub max_lateness_seconds: Option<f64>,
}

/// The recent activity, minute by minute, oldest first: every minute of
/// the span is there, the one in progress last.
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    /// Its minutes.
    pub minutes: Vec<MinuteActivity>,
}

impl Activity {
    /// The `count` minutes that end with the one `now` is in: the span a
    /// store is asked for, from the first minute's start to `now`.
    pub fn span(now: DateTime<Utc>, count: u32) -> (DateTime<Utc>, DateTime<Utc>) {
        (minute_start(first_minute(now, count)), now)
    }

    /// The `count` minutes that end with the one `now` is in, each filled
    /// from `totals` (a store's answer for [`Activity::span`]) or empty.
    pub fn new(now: DateTime<Utc>, count: u32, totals: Vec<MinuteTotals>) -> Activity {
        let (first, last) = (first_minute(now, count), MinuteTotals::minute_of(now));
        let mut totals = totals.into_iter().peekable();
        let minutes = (first..=last)
            .map(|minute| {
                while totals.next_if(|t| t.minute < minute).is_some() {}
                let t = totals
                    .next_if(|t| t.minute == minute)
                    .unwrap_or(MinuteTotals { minute, ..MinuteTotals::default() });
                let placed = t.placed > 0;
                MinuteActivity {
                    minute: minute_start(minute),
                    completed: t.completed,
                    missed: t.missed,
                    failed: t.failed,
                    placed: t.placed,
                    average_lateness_seconds: ratio(t.lateness_seconds, t.placed),
                    max_lateness_seconds: placed.then_some(t.max_lateness_seconds),
                }
            })
            .collect();
        Activity { minutes }
    }
}

/// The first of the `count` minutes that end with the one `now` is in.
fn first_minute(now: DateTime<Utc>, count: u32) -> i64 {
    MinuteTotals::minute_of(now) - i64::from(count.max(1)) + 1
}

fn minute_start(minute: i64) -> DateTime<Utc> {
    DateTime::UNIX_EPOCH + TimeDelta::minutes(minute)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats_totals() -> QueueTotals {
        QueueTotals {
            queue_id: QueueId::parse("q").unwrap(),
            offered: 4,
            answered: 2,
            abandoned: 1,
            answered_within_sla: 1,
            wait_seconds: 50.0,
            hold_seconds: 10.0,
        }
    }

    #[test]
    fn queue_ratios() {
        let stats = QueueStats::from(stats_totals());
        assert_eq!(stats.service_level, Some(0.25));
        assert_eq!(stats.average_speed_of_answer, Some(25.0));
        assert_eq!(stats.average_hold_seconds, Some(5.0));
        let empty = QueueStats::from(QueueTotals { offered: 0, answered: 0, ..stats_totals() });
        assert_eq!(empty.service_level, None);
        assert_eq!(empty.average_speed_of_answer, None);
    }

    #[test]
    fn an_agents_average_talk_counts_the_calls_that_ended() {
        let totals = AgentTotals {
            answered: 3,
            wait_seconds: 30.0,
            ended: 2,
            talk_seconds: 100.0,
            ..AgentTotals::new(AgentId::parse("ann").unwrap())
        };
        let stats = AgentStats::from(totals);
        assert_eq!(stats.average_wait_seconds, Some(10.0), "waits: every answered call");
        assert_eq!(stats.average_talk_seconds, Some(50.0), "talk: the two that ended, not three");
        let live_only = AgentStats::from(AgentTotals {
            answered: 1,
            ..AgentTotals::new(AgentId::parse("bob").unwrap())
        });
        assert_eq!(live_only.average_talk_seconds, None, "no call ended yet: no average");
    }

    #[test]
    fn activity_has_every_minute_of_its_span() {
        let now = DateTime::parse_from_rfc3339("2026-11-23T10:05:30Z").unwrap().to_utc();
        let (since, until) = Activity::span(now, 3);
        assert_eq!(since.to_rfc3339(), "2026-11-23T10:03:00+00:00");
        assert_eq!(until, now);
        let at = |m: i64| MinuteTotals::minute_of(now) + m;
        let totals = vec![
            MinuteTotals { minute: at(-5), completed: 9, ..MinuteTotals::default() },
            MinuteTotals { minute: at(-2), completed: 2, missed: 1, ..MinuteTotals::default() },
            MinuteTotals {
                minute: at(0),
                failed: 1,
                placed: 4,
                lateness_seconds: 2.0,
                max_lateness_seconds: 1.25,
                ..MinuteTotals::default()
            },
        ];
        let activity = Activity::new(now, 3, totals);
        let rows: Vec<_> = activity
            .minutes
            .iter()
            .map(|m| {
                let minute = m.minute.format("%H:%M").to_string();
                (minute, m.completed, m.missed, m.failed, m.placed)
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("10:03".to_owned(), 2, 1, 0, 0),
                ("10:04".to_owned(), 0, 0, 0, 0),
                ("10:05".to_owned(), 0, 0, 1, 4)
            ],
            "every minute, an empty one included, a minute before the span left out"
        );
        assert_eq!(activity.minutes[0].average_lateness_seconds, None, "nothing placed");
        assert_eq!(activity.minutes[2].average_lateness_seconds, Some(0.5));
        assert_eq!(activity.minutes[2].max_lateness_seconds, Some(1.25));
    }

    #[test]
    fn minute_totals_join_outcomes_and_placements() {
        let ended = vec![
            MinuteTotals { minute: 1, completed: 1, placed: 99, ..MinuteTotals::default() },
            MinuteTotals { minute: 3, missed: 2, ..MinuteTotals::default() },
        ];
        let placed = vec![
            MinuteTotals { minute: 2, placed: 1, lateness_seconds: 0.5, ..MinuteTotals::default() },
            MinuteTotals { minute: 3, placed: 2, completed: 99, ..MinuteTotals::default() },
        ];
        let joined = MinuteTotals::join(ended, placed);
        let rows: Vec<_> =
            joined.iter().map(|m| (m.minute, m.completed, m.missed, m.placed)).collect();
        assert_eq!(rows, [(1, 1, 0, 0), (2, 0, 0, 1), (3, 0, 2, 2)]);
    }
}
