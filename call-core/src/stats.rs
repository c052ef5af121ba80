//! Queue and agent metrics, derived from the store's [`StatsInputs`].

use crate::{
    AgentId, QueueId,
    ports::{AgentTotals, QueueTotals, StatsInputs},
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
    /// Average talk seconds.
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
            average_talk_seconds: ratio(t.talk_seconds, t.answered),
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
}
