//! What one operation does to one call, decided purely: the new call, the
//! events to write with it, and the notifications to send once written.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value};

use crate::{
    Call, CallEvent, CallParts, CallStatus, EndReason, EventId, EventSource, EventType, Flag,
    Lease, Lifecycle, TransitionError, ValidationError, WorkerId,
    engine::LostDispatch,
    machine::{self, Trigger},
    ports::{Alert, Claim, Notification, ProviderCall, ProviderError, ProviderStatus},
    rules::{self, RuleOutcome, RulesConfig, seconds_between},
    window::WindowWait,
};

/// A call being changed, and everything to record about it.
#[derive(Debug)]
pub(crate) struct Change {
    pub(crate) call: Call,
    pub(crate) events: Vec<CallEvent>,
    pub(crate) alerts: Vec<Alert>,
    pub(crate) survey: bool,
    /// The next attempt at the call's number, when this change ends it
    /// with an outcome its [redial policy](crate::redial) dials again:
    /// written in the same store call as the change.
    pub(crate) redial: Option<(Call, CallEvent)>,
    /// Whether the call had ended before this change.
    had_ended: bool,
    now: DateTime<Utc>,
}

impl Change {
    pub(crate) fn new(call: Call, now: DateTime<Utc>) -> Change {
        let had_ended = call.status().is_terminal();
        Change {
            call,
            events: Vec::new(),
            alerts: Vec::new(),
            survey: false,
            redial: None,
            had_ended,
            now,
        }
    }

    /// Appends an event to the log of this change.
    pub(crate) fn record(
        &mut self,
        id: Option<EventId>,
        event_type: EventType,
        at: DateTime<Utc>,
        source: EventSource,
        metadata: Map<String, Value>,
    ) {
        self.events.push(CallEvent::new(
            id.unwrap_or_else(EventId::generate),
            self.call.id().clone(),
            event_type,
            at,
            self.now,
            source,
            metadata,
        ));
    }

    /// Moves the call on `trigger` without touching its other fields, and
    /// records the event.
    pub(crate) fn transition(
        &mut self,
        trigger: Trigger,
        at: DateTime<Utc>,
        source: EventSource,
        metadata: Map<String, Value>,
    ) -> Result<(), TransitionError> {
        self.call.parts.status = machine::transition(self.call.status(), trigger)?;
        self.record(None, trigger.event_type(), at, source, metadata);
        Ok(())
    }

    /// Sets `flag`, recording `call_flagged` when it is new.
    pub(crate) fn flag(&mut self, flag: Flag, at: DateTime<Utc>, source: EventSource) {
        if self.call.parts.flags.insert(flag) {
            self.record(None, EventType::CallFlagged, at, source, crate::audit::flagged(flag));
        }
    }

    /// Applies a lifecycle event at `at`: the transition, the fields it
    /// sets, and its log entry (carrying the event's fields and `extra`).
    ///
    /// # Errors
    ///
    /// The [`TransitionError`] when the event does not fit the status; the
    /// change is then to be dropped.
    pub(crate) fn apply(
        &mut self,
        event: &Lifecycle,
        at: DateTime<Utc>,
        source: EventSource,
        event_id: Option<EventId>,
        extra: Map<String, Value>,
    ) -> Result<(), TransitionError> {
        let trigger = trigger_of(event);
        let status = machine::transition(self.call.status(), trigger)?;
        let mut metadata = event.to_metadata();
        let p = &mut self.call.parts;
        match event {
            Lifecycle::Initiated(fields) => {
                p.initiated_at.get_or_insert(at);
                if let Some(media) = fields.media {
                    p.media = media;
                }
                set_if_some(&mut p.queue_id, &fields.queue_id);
                set_if_some(&mut p.from, &fields.from);
                set_if_some(&mut p.to, &fields.to);
                set_if_some(&mut p.customer_name, &fields.customer_name);
            }
            Lifecycle::Ringing => {}
            Lifecycle::Routed { agent_id, .. } => {
                p.agent_id = Some(agent_id.clone());
                p.routed_at = Some(at);
            }
            Lifecycle::Retransfer { agent_id, .. } => {
                // The log names the agent who lost the call, for the reroute metrics.
                if let (None, Some(current)) = (agent_id, &p.agent_id) {
                    crate::audit::retransferred_from(&mut metadata, current);
                }
                p.agent_id = None;
                p.routed_at = None;
            }
            Lifecycle::Answered { wait_time } => {
                p.answered_at = Some(at);
                p.routed_at = None;
                p.wait_seconds =
                    wait_time.or_else(|| p.initiated_at.map(|t| seconds_between(t, at)));
            }
            Lifecycle::Hold { hold_duration } => {
                let already =
                    TimeDelta::milliseconds((hold_duration.unwrap_or(0.0) * 1000.0) as i64);
                p.held_at = Some(at - already);
            }
            Lifecycle::Resumed => close_hold(p, at),
            Lifecycle::Transferred { agent_id, queue_id } => {
                set_if_some(&mut p.agent_id, agent_id);
                set_if_some(&mut p.queue_id, queue_id);
            }
            Lifecycle::Ended { end_reason, duration } => {
                close_hold(p, at);
                p.ended_at = Some(at);
                p.end_reason = Some(end_reason.unwrap_or(match status {
                    CallStatus::Completed => EndReason::Completed,
                    CallStatus::Busy => EndReason::Busy,
                    CallStatus::NoAnswer => EndReason::NoAnswer,
                    CallStatus::Failed => EndReason::Failed,
                    _ => EndReason::Abandoned,
                }));
                if let Some(answered_at) = p.answered_at {
                    p.duration_seconds =
                        Some(duration.unwrap_or_else(|| seconds_between(answered_at, at)));
                }
            }
            Lifecycle::Failed { error } => {
                close_hold(p, at);
                p.ended_at = Some(at);
                p.end_reason = Some(EndReason::Failed);
                if let Some(error) = error {
                    p.last_error = Some(error.clone());
                }
                if let Some(answered_at) = p.answered_at {
                    p.duration_seconds = Some(seconds_between(answered_at, at));
                }
            }
        }
        p.status = status;
        metadata.extend(extra);
        self.record(event_id, event.event_type(), at, source, metadata);
        if let Lifecycle::Retransfer { .. } = event {
            self.flag(Flag::Rerouted, at, source);
        }
        Ok(())
    }

    /// Records what the rules decided at `at`.
    pub(crate) fn apply_rules(
        &mut self,
        outcome: RuleOutcome,
        at: DateTime<Utc>,
        config: &RulesConfig,
    ) {
        let source = EventSource::Rules;
        for raised in outcome.alerts {
            let id = EventId::generate();
            self.record(
                Some(id.clone()),
                EventType::AlertRaised,
                at,
                source,
                crate::audit::AlertRaised {
                    kind: raised.kind,
                    seconds: raised.seconds,
                    threshold_seconds: raised.threshold_seconds,
                }
                .metadata(),
            );
            self.flag(raised.kind.flag(), at, source);
            self.alerts.push(Alert {
                id,
                kind: raised.kind,
                call_id: self.call.id().clone(),
                queue_id: self.call.queue_id().cloned(),
                agent_id: self.call.agent_id().cloned(),
                seconds: raised.seconds,
                threshold_seconds: raised.threshold_seconds,
                at,
            });
        }
        for flag in outcome.flags {
            self.flag(flag, at, source);
        }
        if outcome.retransfer {
            let event = Lifecycle::Retransfer {
                agent_id: self.call.agent_id().cloned(),
                reason: Some(format!("not answered within {}s", config.agent_answer.as_secs_f64())),
            };
            // Due timers only ask for this while the call is routed, which allows it.
            if let Err(error) = self.apply(&event, at, source, None, Map::new()) {
                tracing::warn!(call_id = %self.call.id(), %error, "re-route refused");
            }
        }
        if outcome.survey {
            self.record(None, EventType::SurveyRequested, at, source, Map::new());
            self.survey = true;
        }
    }

    /// Applies a lifecycle event with the rules on both sides of it: timers
    /// that `at` reached first, then the event's own rules.
    ///
    /// # Errors
    ///
    /// As [`apply`](Self::apply).
    pub(crate) fn apply_with_rules(
        &mut self,
        event: &Lifecycle,
        at: DateTime<Utc>,
        source: EventSource,
        event_id: Option<EventId>,
        extra: Map<String, Value>,
        config: &RulesConfig,
    ) -> Result<(), TransitionError> {
        self.apply_rules(rules::due_timers(&self.call, at, config), at, config);
        self.apply(event, at, source, event_id, extra)?;
        self.apply_rules(rules::on_event(&self.call, event, at, config), at, config);
        Ok(())
    }

    /// Whether anything was recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Seals the change: clears what the new status no longer needs,
    /// computes the next rule deadline, makes the redial of a call that
    /// has just ended, raises the version.
    pub(crate) fn finish(mut self, config: &RulesConfig) -> Change {
        if !self.had_ended && self.call.status().is_terminal() {
            self.redial();
        }
        let p = &mut self.call.parts;
        if p.status != CallStatus::Dispatching {
            p.lease = None;
        }
        if p.status.is_terminal() {
            p.routed_at = None;
            p.held_at = None;
        }
        p.updated_at = self.now;
        p.version += 1;
        self.call.parts.deadline_at = rules::next_deadline(&self.call, config);
        self
    }

    /// Makes the next attempt of a call that has just ended, when its
    /// policy dials its outcome again ([`Redial::next_due`](crate::Redial::next_due)),
    /// due then or at its calling window's next opening. Both calls name
    /// each other, and the event that ended this one names the next.
    fn redial(&mut self) {
        let Some(due) = self.call.redial().and_then(|policy| policy.next_due(&self.call)) else {
            return;
        };
        let ending = self
            .events
            .iter_mut()
            .rev()
            .find(|e| matches!(e.event_type(), EventType::CallEnded | EventType::CallFailed));
        let wait = match self.call.window_wait(due) {
            Ok(wait) => wait,
            Err(error) => {
                // The window can no longer open (the zone data changed since
                // the call was scheduled): a redial would only fail.
                if let Some(ending) = ending {
                    let refused = crate::audit::redial_refused(error.message());
                    ending.metadata_mut().insert("redial".into(), refused);
                }
                return;
            }
        };
        let attempt = self.call.redial_attempt() + 1;
        let next = Call::from_parts(CallParts {
            redial_attempt: attempt,
            redial_of: Some(self.call.id().clone()),
            ..self.call.again(wait.as_ref().map_or(due, |w| w.until), self.now)
        });
        let metadata =
            crate::audit::redial_scheduled(&next, wait.as_ref(), due, self.call.status());
        let event = CallEvent::new(
            EventId::generate(),
            next.id().clone(),
            EventType::CallScheduled,
            self.now,
            self.now,
            EventSource::Scheduler,
            metadata,
        );
        if let Some(ending) = ending {
            ending.metadata_mut().insert("redial".into(), crate::audit::redial_made(&next));
        }
        self.call.parts.redialed_as = Some(next.id().clone());
        self.redial = Some((next, event));
    }

    /// The notifications to send once the change is written.
    pub(crate) fn notifications(&self) -> Vec<Notification> {
        let mut out = vec![Notification::CallChanged {
            call: self.call.clone(),
            events: self.events.clone(),
        }];
        if let Some((call, event)) = &self.redial {
            out.push(Notification::CallChanged { call: call.clone(), events: vec![event.clone()] });
        }
        out.extend(self.alerts.iter().cloned().map(Notification::Alert));
        if self.survey {
            out.push(Notification::SurveyRequested { call: self.call.clone() });
        }
        out
    }
}

fn set_if_some<T: Clone>(field: &mut Option<T>, value: &Option<T>) {
    if value.is_some() {
        field.clone_from(value);
    }
}

fn close_hold(p: &mut crate::CallParts, at: DateTime<Utc>) {
    if let Some(held_at) = p.held_at.take() {
        *p.hold_seconds.get_or_insert(0.0) += seconds_between(held_at, at);
    }
}

/// The state-machine trigger of a lifecycle event.
pub(crate) fn trigger_of(event: &Lifecycle) -> Trigger {
    match event {
        Lifecycle::Initiated(_) => Trigger::Initiated,
        Lifecycle::Ringing => Trigger::Ringing,
        Lifecycle::Routed { .. } => Trigger::Routed,
        Lifecycle::Retransfer { .. } => Trigger::Retransfer,
        Lifecycle::Answered { .. } => Trigger::Answered,
        Lifecycle::Hold { .. } => Trigger::Hold,
        Lifecycle::Resumed => Trigger::Resumed,
        Lifecycle::Transferred { .. } => Trigger::Transferred,
        Lifecycle::Ended { end_reason, .. } => Trigger::Ended(*end_reason),
        Lifecycle::Failed { .. } => Trigger::Failed,
    }
}

/// The lifecycle events that bring a call in `status` up to what the
/// provider reports; empty when the provider has nothing new (or reports
/// an older state, as a late poll can).
pub(crate) fn provider_steps(
    status: CallStatus,
    reported: ProviderStatus,
    duration: Option<f64>,
) -> Vec<Lifecycle> {
    let progress = match status {
        CallStatus::Initiated => 0,
        CallStatus::Ringing | CallStatus::Routed => 1,
        CallStatus::Active | CallStatus::OnHold => 2,
        _ => return Vec::new(),
    };
    let answered = Lifecycle::Answered { wait_time: None };
    let ended = |reason| Lifecycle::Ended { end_reason: Some(reason), duration: None };
    match reported {
        ProviderStatus::Queued | ProviderStatus::Initiated => vec![],
        ProviderStatus::Ringing if progress == 0 => vec![Lifecycle::Ringing],
        ProviderStatus::Ringing => vec![],
        ProviderStatus::Connected if progress < 2 => vec![answered],
        ProviderStatus::Connected => vec![],
        ProviderStatus::Completed => {
            // A poll can miss `connected`; a completed call was answered.
            let mut steps = if progress < 2 { vec![answered] } else { vec![] };
            steps.push(Lifecycle::Ended { end_reason: Some(EndReason::Completed), duration });
            steps
        }
        ProviderStatus::Busy => vec![ended(EndReason::Busy)],
        ProviderStatus::NoAnswer => vec![ended(EndReason::NoAnswer)],
        ProviderStatus::Failed => {
            vec![Lifecycle::Failed { error: Some("the provider reported the call failed".into()) }]
        }
        ProviderStatus::Canceled => {
            vec![Lifecycle::Failed { error: Some("the call was canceled at the provider".into()) }]
        }
    }
}

impl Claim {
    /// What this claim makes of a due `call`: `dispatching` (the
    /// [machine](crate::machine)'s answer to `call_dispatched`) under the
    /// claim's lease, one version on, changed at the claim's `now`. Pure,
    /// so every store claims alike: the in-memory store calls it, and the
    /// conformance suite checks the SQL stores' claims against it.
    ///
    /// # Panics
    ///
    /// When `call` is not `scheduled`: a store claims only due calls.
    pub fn dispatched(&self, call: &Call) -> Call {
        let status = machine::transition(call.status(), Trigger::Dispatched)
            .expect("a store claims only scheduled calls");
        Call::from_parts(CallParts {
            status,
            lease: Some(Lease { worker: self.worker.clone(), expires_at: self.lease_until }),
            version: call.version() + 1,
            updated_at: self.now,
            ..call.parts().clone()
        })
    }
}

/// How a worker's placement went: the provider requests it made, the
/// errors it retried, and the last answer.
#[derive(Debug)]
pub(crate) struct Placement {
    pub(crate) attempts: u32,
    pub(crate) errors: Vec<String>,
    pub(crate) outcome: Result<ProviderCall, ProviderError>,
}

impl Change {
    /// Whether `call` is still `worker`'s to place: dispatching under its lease.
    pub(crate) fn held_by(call: &Call, worker: &WorkerId) -> bool {
        call.status() == CallStatus::Dispatching
            && call.lease().is_some_and(|lease| &lease.worker == worker)
    }

    /// A placement's outcome on the call its worker still holds: accepted,
    /// `initiated` with the provider's id (and any progress it already
    /// reports); refused or unanswered, `failed` with why, flagged
    /// `outcome_unknown` when the provider may have dialled.
    pub(crate) fn placed(
        call: Call,
        now: DateTime<Utc>,
        placement: &Placement,
        rules: &RulesConfig,
    ) -> Result<Change, TransitionError> {
        let Placement { attempts, errors, outcome } = placement;
        let mut change = Change::new(call, now);
        change.call.parts.attempts += attempts;
        let external_id = outcome.as_ref().ok().map(|placed| placed.external_id.as_str());
        let extra = crate::audit::placement(*attempts, errors, external_id);
        if !errors.is_empty() {
            change.call.parts.last_error = errors.last().cloned();
        }
        match outcome {
            Ok(placed) => {
                change.call.parts.external_id = Some(placed.external_id.clone());
                let initiated = Lifecycle::Initiated(crate::Initiated::default());
                change.apply_with_rules(
                    &initiated,
                    now,
                    EventSource::Scheduler,
                    None,
                    extra,
                    rules,
                )?;
                for step in
                    provider_steps(change.call.status(), placed.status, placed.duration_seconds)
                {
                    change.apply_with_rules(
                        &step,
                        now,
                        EventSource::Provider,
                        None,
                        Map::new(),
                        rules,
                    )?;
                }
            }
            Err(error) => {
                let message = match error {
                    ProviderError::Transient { message, .. } => {
                        format!("provider unavailable after {attempts} attempts: {message}")
                    }
                    ProviderError::Unanswered { message } => {
                        let tries = match attempts {
                            1 => "one attempt".to_owned(),
                            n => format!("{n} attempts"),
                        };
                        format!(
                            "no answer from the provider after {tries} ({message}): \
                             it may have placed the call, so it is not dialled again"
                        )
                    }
                    ProviderError::Permanent { message } => message.clone(),
                    other => other.to_string(),
                };
                if matches!(error, ProviderError::Invalid { .. } | ProviderError::Unanswered { .. })
                {
                    change.flag(Flag::OutcomeUnknown, now, EventSource::Scheduler);
                }
                let failed = Lifecycle::Failed { error: Some(message) };
                change.apply(&failed, now, EventSource::Scheduler, None, extra)?;
            }
        }
        Ok(change)
    }

    /// A claimed call that must not ring now: back to `scheduled`, due at
    /// its window's next opening, with one event saying why; or `failed`
    /// when its window can no longer open (`wait` is the window's answer).
    pub(crate) fn held_for_window(
        call: Call,
        now: DateTime<Utc>,
        wait: &Result<Option<WindowWait>, ValidationError>,
    ) -> Result<Change, TransitionError> {
        let mut change = Change::new(call, now);
        match wait {
            Ok(Some(wait)) => {
                let metadata = crate::audit::window_wait(wait, now);
                change.transition(Trigger::Rescheduled, now, EventSource::Scheduler, metadata)?;
                change.call.parts.scheduled_at = Some(wait.until);
                change.call.parts.lease = None;
            }
            _ => {
                let error = wait.as_ref().err().map(|e| e.message().to_owned());
                change.apply(
                    &Lifecycle::Failed { error },
                    now,
                    EventSource::Scheduler,
                    None,
                    Map::new(),
                )?;
            }
        }
        Ok(change)
    }

    /// A call whose claim `lost_by` let lapse, by `policy`: failed and
    /// flagged `outcome_unknown` (it may have been dialled), or claimed
    /// again by `worker` until `lease_until` to be dialled again.
    pub(crate) fn recovered(
        call: Call,
        now: DateTime<Utc>,
        lost_by: &WorkerId,
        policy: LostDispatch,
        worker: &WorkerId,
        lease_until: DateTime<Utc>,
    ) -> Result<Change, TransitionError> {
        let mut change = Change::new(call, now);
        match policy {
            LostDispatch::FailOutcomeUnknown => {
                change.flag(Flag::OutcomeUnknown, now, EventSource::Scheduler);
                let error = format!(
                    "worker {lost_by} lost its claim while placing the call; whether it was dialled is unknown"
                );
                let failed = Lifecycle::Failed { error: Some(error) };
                change.apply(&failed, now, EventSource::Scheduler, None, Map::new())?;
            }
            LostDispatch::Redial => {
                let metadata = crate::audit::redispatched(worker, lost_by);
                change.transition(Trigger::Dispatched, now, EventSource::Scheduler, metadata)?;
                change.call.parts.lease =
                    Some(Lease { worker: worker.clone(), expires_at: lease_until });
            }
        }
        Ok(change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_steps_move_forward_only() {
        use CallStatus as S;
        use ProviderStatus as P;
        let check = |status: S, reported: P, expected: &[EventType]| {
            let steps: Vec<EventType> = provider_steps(status, reported, Some(10.0))
                .iter()
                .map(Lifecycle::event_type)
                .collect();
            assert_eq!(steps, expected, "{status} + provider {reported}");
        };
        check(S::Initiated, P::Initiated, &[]);
        check(S::Initiated, P::Queued, &[]);
        check(S::Initiated, P::Ringing, &[EventType::CallRinging]);
        check(S::Ringing, P::Ringing, &[]);
        check(S::Ringing, P::Connected, &[EventType::CallAnswered]);
        check(S::Active, P::Ringing, &[]);
        check(S::Active, P::Connected, &[]);
        check(S::Active, P::Completed, &[EventType::CallEnded]);
        check(S::Ringing, P::Completed, &[EventType::CallAnswered, EventType::CallEnded]);
        check(S::Initiated, P::Busy, &[EventType::CallEnded]);
        check(S::Ringing, P::NoAnswer, &[EventType::CallEnded]);
        check(S::Initiated, P::Failed, &[EventType::CallFailed]);
        check(S::Initiated, P::Canceled, &[EventType::CallFailed]);
        check(S::Completed, P::Completed, &[]);
        check(S::Dispatching, P::Ringing, &[]);
    }
}
