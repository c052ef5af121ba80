//! Call statuses and their filter groups, directions, media, end reasons and flags.

use std::fmt;

use crate::names::named_enum;

named_enum! {
    /// Where a call is in its life. See the state machine in [`machine`](crate::machine).
    pub enum CallStatus: "status" {
        /// Waiting for its due time.
        Scheduled = "scheduled",
        /// Claimed by a worker; the provider request is in flight.
        Dispatching = "dispatching",
        /// The provider accepted it, or `call_initiated` arrived; waiting.
        Initiated = "initiated",
        /// The provider reports ringing.
        Ringing = "ringing",
        /// Assigned to an agent who has not answered yet.
        Routed = "routed",
        /// Connected / answered.
        Active = "active",
        /// On hold.
        OnHold = "on_hold",
        /// Ended after being answered.
        Completed = "completed",
        /// Could not be placed, or the provider failed it.
        Failed = "failed",
        /// The callee was busy.
        Busy = "busy",
        /// The callee did not pick up.
        NoAnswer = "no_answer",
        /// The caller hung up while waiting.
        Abandoned = "abandoned",
        /// Canceled before it was placed.
        Canceled = "canceled",
    }
}

impl CallStatus {
    /// Whether nothing can leave this status.
    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            CallStatus::Completed
                | CallStatus::Failed
                | CallStatus::Busy
                | CallStatus::NoAnswer
                | CallStatus::Abandoned
                | CallStatus::Canceled
        )
    }

    /// Whether the call is in progress at the provider or call centre
    /// (the `live` group).
    pub const fn is_live(self) -> bool {
        StatusGroup::Live.contains(self)
    }
}

named_enum! {
    /// A named set of statuses, accepted wherever a status filter is.
    pub enum StatusGroup: "status" {
        /// `scheduled` + `dispatching`.
        Pending = "pending",
        /// `initiated` + `ringing` + `routed`.
        Waiting = "waiting",
        /// `waiting` + `active` + `on_hold`.
        Live = "live",
        /// Every terminal status.
        Ended = "ended",
    }
}

impl StatusGroup {
    /// Whether `status` belongs to this group.
    pub const fn contains(self, status: CallStatus) -> bool {
        use CallStatus as S;
        match self {
            StatusGroup::Pending => matches!(status, S::Scheduled | S::Dispatching),
            StatusGroup::Waiting => matches!(status, S::Initiated | S::Ringing | S::Routed),
            StatusGroup::Live => {
                matches!(status, S::Initiated | S::Ringing | S::Routed | S::Active | S::OnHold)
            }
            StatusGroup::Ended => status.is_terminal(),
        }
    }

    /// The statuses of this group.
    pub fn statuses(self) -> Vec<CallStatus> {
        CallStatus::ALL.iter().copied().filter(|s| self.contains(*s)).collect()
    }
}

/// A status filter: one status or a group of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusFilter {
    /// Exactly this status.
    Status(CallStatus),
    /// Any status of the group.
    Group(StatusGroup),
}

impl StatusFilter {
    /// Parses a status name or a group name.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`](crate::ValidationError) on `status` listing what is accepted.
    pub fn parse(text: &str) -> Result<StatusFilter, crate::ValidationError> {
        if let Ok(group) = StatusGroup::parse(text) {
            return Ok(StatusFilter::Group(group));
        }
        CallStatus::parse(text).map(StatusFilter::Status).map_err(|_| {
            let names: Vec<&str> = CallStatus::ALL
                .iter()
                .map(|s| s.as_str())
                .chain(StatusGroup::ALL.iter().map(|g| g.as_str()))
                .collect();
            crate::ValidationError::new(
                "status",
                format!("unknown status {text:?}, expected one of: {}", names.join(", ")),
            )
        })
    }

    /// Whether `status` passes this filter.
    pub fn matches(self, status: CallStatus) -> bool {
        match self {
            StatusFilter::Status(s) => s == status,
            StatusFilter::Group(group) => group.contains(status),
        }
    }

    /// The statuses this filter passes.
    pub fn statuses(self) -> Vec<CallStatus> {
        match self {
            StatusFilter::Status(s) => vec![s],
            StatusFilter::Group(group) => group.statuses(),
        }
    }
}

impl fmt::Display for StatusFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusFilter::Status(s) => s.fmt(f),
            StatusFilter::Group(g) => g.fmt(f),
        }
    }
}

named_enum! {
    /// Who placed the call.
    pub enum Direction: "direction" {
        /// This system placed it through the provider.
        Outbound = "outbound",
        /// An event source reported it: someone called in.
        Inbound = "inbound",
    }
}

named_enum! {
    /// What the call carries.
    pub enum Media: "media" {
        /// Voice only.
        Voice = "voice",
        /// Video.
        Video = "video",
    }
}

named_enum! {
    /// Why a call ended.
    pub enum EndReason: "end_reason" {
        /// It was answered and ended normally.
        Completed = "completed",
        /// The caller hung up while waiting.
        Abandoned = "abandoned",
        /// It failed.
        Failed = "failed",
        /// The callee was busy.
        Busy = "busy",
        /// The callee did not pick up.
        NoAnswer = "no_answer",
        /// Its number was put on the do-not-call list before it was
        /// placed: canceled when it fell due.
        DoNotCall = "do_not_call",
    }
}

named_enum! {
    /// A mark left on a call by the rules or the worker.
    pub enum Flag: "flag" {
        /// Ended after less than the short-call threshold: for review.
        ShortCall = "short_call",
        /// Not answered within the SLA.
        SlaBreached = "sla_breached",
        /// Waited longer than the SLA before being answered.
        LongWait = "long_wait",
        /// Held longer than the hold threshold.
        HoldExceeded = "hold_exceeded",
        /// An agent did not answer in time and the call went back to waiting.
        Rerouted = "rerouted",
        /// The worker died while placing it: whether the provider dialled is unknown.
        OutcomeUnknown = "outcome_unknown",
    }
}

/// A set of [`Flag`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(u8);

impl Flags {
    /// No flags.
    pub const EMPTY: Flags = Flags(0);

    const fn bit(flag: Flag) -> u8 {
        1 << (flag as u8)
    }

    /// Whether `flag` is set.
    pub const fn contains(self, flag: Flag) -> bool {
        self.0 & Flags::bit(flag) != 0
    }

    /// Sets `flag`; returns whether it was newly set.
    pub fn insert(&mut self, flag: Flag) -> bool {
        let new = !self.contains(flag);
        self.0 |= Flags::bit(flag);
        new
    }

    /// The set as a bitmask, bit `n` for the `n`th of [`Flag::ALL`]: what a store keeps.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// The set a bitmask from [`bits`](Self::bits) stands for; unknown bits are dropped.
    pub const fn from_bits(bits: u8) -> Flags {
        Flags(bits & ((1 << Flag::ALL.len()) - 1))
    }

    /// Whether no flag is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The flags that are set, in [`Flag::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Flag> {
        Flag::ALL.iter().copied().filter(move |f| self.contains(*f))
    }
}

impl FromIterator<Flag> for Flags {
    fn from_iter<I: IntoIterator<Item = Flag>>(iter: I) -> Flags {
        let mut flags = Flags::EMPTY;
        for flag in iter {
            flags.insert(flag);
        }
        flags
    }
}

impl fmt::Display for Flags {
    /// Comma-separated names, empty for none.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, flag) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(flag.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for status in CallStatus::ALL {
            assert_eq!(CallStatus::parse(status.as_str()), Ok(*status));
        }
        for flag in Flag::ALL {
            assert_eq!(Flag::parse(flag.as_str()), Ok(*flag));
        }
        assert_eq!(
            CallStatus::parse("nope").unwrap_err().to_string(),
            "invalid status: unknown value \"nope\", expected one of: scheduled, dispatching, \
             initiated, ringing, routed, active, on_hold, completed, failed, busy, no_answer, \
             abandoned, canceled"
        );
    }

    #[test]
    fn groups() {
        fn check(group: StatusGroup, expected: &[CallStatus]) {
            assert_eq!(group.statuses(), expected, "{group}");
        }
        use CallStatus as S;
        check(StatusGroup::Pending, &[S::Scheduled, S::Dispatching]);
        check(StatusGroup::Waiting, &[S::Initiated, S::Ringing, S::Routed]);
        check(StatusGroup::Live, &[S::Initiated, S::Ringing, S::Routed, S::Active, S::OnHold]);
        check(
            StatusGroup::Ended,
            &[S::Completed, S::Failed, S::Busy, S::NoAnswer, S::Abandoned, S::Canceled],
        );
        // Every status is in exactly one of pending, live and ended.
        for status in CallStatus::ALL {
            let n = [StatusGroup::Pending, StatusGroup::Live, StatusGroup::Ended]
                .iter()
                .filter(|g| g.contains(*status))
                .count();
            assert_eq!(n, 1, "{status}");
        }
    }

    #[test]
    fn status_filters() {
        assert_eq!(StatusFilter::parse("live"), Ok(StatusFilter::Group(StatusGroup::Live)));
        assert_eq!(StatusFilter::parse("on_hold"), Ok(StatusFilter::Status(CallStatus::OnHold)));
        let error = StatusFilter::parse("done").unwrap_err();
        assert!(error.message().contains("canceled, pending, waiting, live, ended"), "{error}");
    }

    #[test]
    fn flags() {
        let mut flags = Flags::EMPTY;
        assert!(flags.insert(Flag::Rerouted));
        assert!(!flags.insert(Flag::Rerouted));
        flags.insert(Flag::ShortCall);
        assert_eq!(flags.to_string(), "short_call,rerouted");
        assert_eq!(flags.iter().collect::<Flags>(), flags);
        assert!(!flags.contains(Flag::OutcomeUnknown));
        assert_eq!(Flags::from_bits(flags.bits()), flags);
        assert_eq!(Flags::from_bits(0xff).iter().count(), Flag::ALL.len());
    }
}
