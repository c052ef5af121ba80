use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::Mutex,
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{
    Call, CallEvent, CallId, CallStatus, Direction, DoNotCall, EventId, EventType, HeldKey,
    IdempotencyKey, Lease, Pause, PhoneNumber, QueueId, Series, SeriesId,
    alerts::{AlertPage, AlertQuery, AlertRecord, AlertWrites},
    ports::{
        AgentTotals, CallStore, Claim, Claimed, Cursor, HistoryQuery, LeaseRenewal, ListQuery,
        LogEntry, MinuteTotals, Page, PageOrder, Queue, QueueTotals, StatsInputs, StoreError,
    },
};

/// A [`CallStore`] in memory: every operation under one lock, so each is
/// atomic. Queries scan, which is fine for thousands of calls, not millions.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    calls: HashMap<CallId, Call>,
    events: HashMap<CallId, Vec<CallEvent>>,
    event_ids: HashMap<EventId, CallEvent>,
    /// Every event in the order it was written: position `n` is `log[n - 1]`.
    log: Vec<EventId>,
    queues: BTreeMap<QueueId, Queue>,
    /// The scheduled calls by due time: what `claim_due` takes from.
    due: BTreeSet<(DateTime<Utc>, CallId)>,
    /// Idempotency keys by key, expired ones included until reused.
    keys: HashMap<IdempotencyKey, HeldKey>,
    /// Pauses by scope: `None` for every call, ordered first.
    pauses: BTreeMap<Option<QueueId>, Pause>,
    series: BTreeMap<SeriesId, Series>,
    /// The do-not-call list by number.
    dnc: HashMap<PhoneNumber, DoNotCall>,
    /// Alerts by id.
    alerts: BTreeMap<EventId, AlertRecord>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A call's entry in the due index, if it is waiting to be placed.
fn due_key(call: &Call) -> Option<(DateTime<Utc>, CallId)> {
    let at = call.scheduled_at().filter(|_| call.status() == CallStatus::Scheduled)?;
    Some((at, call.id().clone()))
}

impl State {
    /// Stores `call`, keeping the due index in step.
    fn put(&mut self, call: Call) {
        if let Some(old) = self.calls.get(call.id()).and_then(due_key) {
            self.due.remove(&old);
        }
        if let Some(new) = due_key(&call) {
            self.due.insert(new);
        }
        self.calls.insert(call.id().clone(), call);
    }

    fn insert(&mut self, calls: &[Call], events: &[CallEvent]) -> Result<(), StoreError> {
        let mut seen = std::collections::HashSet::new();
        for call in calls {
            if self.calls.contains_key(call.id()) || !seen.insert(call.id()) {
                return Err(StoreError::DuplicateCall(call.id().clone()));
            }
        }
        self.check_new_events(events)?;
        for call in calls {
            self.put(call.clone());
        }
        self.append(events);
        for writes in AlertWrites::for_calls(calls, events) {
            writes.apply_to(&mut self.alerts);
        }
        Ok(())
    }

    /// Makes the occurrence after `previous`, as [`CallStore::advance_series`] does.
    fn advance_series(&mut self, previous: &Call, now: DateTime<Utc>) -> Option<(Call, CallEvent)> {
        let series = self.series.get_mut(&previous.occurrence()?.series_id)?;
        let (call, event) = series.successor(previous, now)?;
        series.occurrences += 1;
        self.put(call.clone());
        self.append(std::slice::from_ref(&event));
        Some((call, event))
    }

    fn check_new_events(&self, events: &[CallEvent]) -> Result<(), StoreError> {
        let mut seen = std::collections::HashSet::new();
        for event in events {
            if self.event_ids.contains_key(event.id()) || !seen.insert(event.id()) {
                return Err(StoreError::DuplicateEvent(event.id().clone()));
            }
        }
        Ok(())
    }

    fn append(&mut self, events: &[CallEvent]) {
        for event in events {
            self.event_ids.insert(event.id().clone(), event.clone());
            self.log.push(event.id().clone());
            self.events.entry(event.call_id().clone()).or_default().push(event.clone());
        }
    }

    /// Calls passing `keep`, newest first in `order`, after `cursor`, at most `limit`.
    fn page(
        &self,
        order: PageOrder,
        cursor: Option<&Cursor>,
        limit: usize,
        keep: impl Fn(&Call) -> bool,
    ) -> Page<Call> {
        let mut calls: Vec<&Call> = self
            .calls
            .values()
            .filter(|c| keep(c) && cursor.is_none_or(|cursor| cursor.is_before(c, order)))
            .collect();
        calls.sort_by(|a, b| (order.at(b), b.id()).cmp(&(order.at(a), a.id())));
        let limit = limit.max(1);
        let items: Vec<Call> = calls.into_iter().take(limit).cloned().collect();
        let next_cursor = (items.len() == limit).then(|| Cursor::after(&items[limit - 1], order));
        Page { items, next_cursor }
    }

    fn sorted_by<K: Ord>(
        &self,
        keep: impl Fn(&Call) -> bool,
        key: impl Fn(&Call) -> K,
        limit: usize,
    ) -> Vec<Call> {
        let mut calls: Vec<&Call> = self.calls.values().filter(|c| keep(c)).collect();
        calls.sort_by_key(|c| (key(c), c.id().clone()));
        calls.into_iter().take(limit).cloned().collect()
    }
}

#[async_trait]
impl CallStore for MemoryStore {
    async fn insert(&self, calls: &[Call], events: &[CallEvent]) -> Result<(), StoreError> {
        self.state().insert(calls, events)
    }

    async fn insert_keyed(
        &self,
        calls: &[Call],
        events: &[CallEvent],
        series: &[Series],
        keys: &[HeldKey],
        now: DateTime<Utc>,
    ) -> Result<Vec<HeldKey>, StoreError> {
        let mut state = self.state();
        let held: Vec<HeldKey> = keys
            .iter()
            .filter_map(|k| state.keys.get(&k.key).filter(|held| held.expires_at > now).cloned())
            .collect();
        if !held.is_empty() {
            return Ok(held);
        }
        state.insert(calls, events)?;
        for series in series {
            state.series.insert(series.id.clone(), series.clone());
        }
        for key in keys {
            state.keys.insert(key.key.clone(), key.clone());
        }
        Ok(Vec::new())
    }

    async fn get(&self, id: &CallId) -> Result<Option<Call>, StoreError> {
        Ok(self.state().calls.get(id).cloned())
    }

    async fn get_by_external_id(&self, external_id: &str) -> Result<Option<Call>, StoreError> {
        Ok(self.state().calls.values().find(|c| c.external_id() == Some(external_id)).cloned())
    }

    async fn save_and_insert(
        &self,
        call: &Call,
        new_calls: &[Call],
        events: &[CallEvent],
    ) -> Result<(), StoreError> {
        let mut state = self.state();
        let stored =
            state.calls.get(call.id()).ok_or_else(|| StoreError::NotFound(call.id().clone()))?;
        let expected = call.version().wrapping_sub(1);
        if stored.version() != expected {
            return Err(StoreError::Conflict { id: call.id().clone(), expected });
        }
        // Checks every new id and event before writing any of them.
        state.insert(new_calls, events)?;
        state.put(call.clone());
        for writes in AlertWrites::for_calls([call], events) {
            writes.apply_to(&mut state.alerts);
        }
        Ok(())
    }

    async fn alerts(&self, query: &AlertQuery) -> Result<AlertPage, StoreError> {
        let state = self.state();
        let limit = query.limit.max(1);
        let mut alerts: Vec<&AlertRecord> = state
            .alerts
            .values()
            .filter(|a| query.matches(a) && query.cursor.as_ref().is_none_or(|c| c.is_before(a)))
            .collect();
        alerts.sort_by(|a, b| (b.raised_at, &b.id).cmp(&(a.raised_at, &a.id)));
        Ok(AlertPage::of(alerts.into_iter().take(limit).cloned().collect(), limit))
    }

    async fn alert(&self, id: &EventId) -> Result<Option<AlertRecord>, StoreError> {
        Ok(self.state().alerts.get(id).cloned())
    }

    async fn list(&self, query: &ListQuery) -> Result<Page<Call>, StoreError> {
        Ok(self
            .state()
            .page(PageOrder::Created, query.cursor.as_ref(), query.limit, |c| query.matches(c)))
    }

    async fn claim_due(&self, claim: &Claim) -> Result<Vec<Claimed>, StoreError> {
        let mut state = self.state();
        state.pauses.retain(|_, p| p.is_active(claim.now));
        let pauses: Vec<Pause> = state.pauses.values().cloned().collect();
        let due = |also: &dyn Fn(&Call) -> bool| -> Vec<Call> {
            state
                .due
                .iter()
                .take_while(|(at, _)| *at <= claim.now)
                .filter_map(|(_, id)| state.calls.get(id))
                .filter(|call| call.created_at() <= claim.now)
                .filter(|call| crate::pause::holding(&pauses, call.queue_id(), claim.now).is_none())
                .filter(|call| also(call))
                .take(claim.limit)
                .cloned()
                .collect()
        };
        let is_listed = |call: &Call| call.to().is_some_and(|to| state.dnc.contains_key(to));
        // Among the first `limit` due calls, as the store contract says.
        let mut listed = due(&|_| true);
        listed.retain(is_listed);
        let due = due(&|call| !is_listed(call));
        let mut claimed = Vec::with_capacity(listed.len() + due.len());
        for call in listed {
            let (call, event) = claim.do_not_call(&call);
            state.put(call.clone());
            state.append(std::slice::from_ref(&event));
            let successor = state.advance_series(&call, claim.now);
            claimed.push(Claimed { call, event, successor });
        }
        let rest = claim.limit - claimed.len();
        for call in due.into_iter().take(rest) {
            let call = claim.dispatched(&call);
            let event = claim.dispatched_event(&call);
            state.put(call.clone());
            state.append(std::slice::from_ref(&event));
            let successor = state.advance_series(&call, claim.now);
            claimed.push(Claimed { call, event, successor });
        }
        Ok(claimed)
    }

    async fn advance_series(
        &self,
        previous: &Call,
        now: DateTime<Utc>,
    ) -> Result<Option<(Call, CallEvent)>, StoreError> {
        Ok(self.state().advance_series(previous, now))
    }

    async fn add_do_not_call(&self, entry: &DoNotCall) -> Result<Option<DoNotCall>, StoreError> {
        let mut state = self.state();
        if let Some(listed) = state.dnc.get(&entry.phone) {
            return Ok(Some(listed.clone()));
        }
        state.dnc.insert(entry.phone.clone(), entry.clone());
        Ok(None)
    }

    async fn remove_do_not_call(&self, phone: &PhoneNumber) -> Result<bool, StoreError> {
        Ok(self.state().dnc.remove(phone).is_some())
    }

    async fn do_not_call(&self, phones: &[PhoneNumber]) -> Result<Vec<DoNotCall>, StoreError> {
        let state = self.state();
        Ok(phones.iter().filter_map(|p| state.dnc.get(p)).cloned().collect())
    }

    async fn list_do_not_call<'a>(
        &self,
        after: Option<&'a PhoneNumber>,
        limit: usize,
    ) -> Result<Vec<DoNotCall>, StoreError> {
        let state = self.state();
        let mut entries: Vec<&DoNotCall> = state
            .dnc
            .values()
            .filter(|e| after.is_none_or(|after| e.phone.as_str() > after.as_str()))
            .collect();
        entries.sort_by(|a, b| a.phone.as_str().cmp(b.phone.as_str()));
        Ok(entries.into_iter().take(limit).cloned().collect())
    }

    async fn series(&self, id: &SeriesId) -> Result<Option<Series>, StoreError> {
        Ok(self.state().series.get(id).cloned())
    }

    async fn list_series<'a>(
        &self,
        before: Option<&'a SeriesId>,
        limit: usize,
    ) -> Result<Vec<Series>, StoreError> {
        let state = self.state();
        let newer_first = state.series.values().rev();
        Ok(newer_first.filter(|s| before.is_none_or(|b| &s.id < b)).take(limit).cloned().collect())
    }

    async fn cancel_series(
        &self,
        id: &SeriesId,
        now: DateTime<Utc>,
    ) -> Result<Option<Series>, StoreError> {
        let mut state = self.state();
        let Some(series) = state.series.get_mut(id) else { return Ok(None) };
        series.canceled_at.get_or_insert(now);
        Ok(Some(series.clone()))
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let state = self.state();
        let pauses: Vec<&Pause> = state.pauses.values().collect();
        let scheduled = state
            .due
            .iter()
            .filter(|(_, id)| {
                let queue = state.calls.get(id).and_then(Call::queue_id);
                !pauses.iter().any(|p| p.covers(queue))
            })
            .map(|(at, _)| *at)
            .next();
        let lapses = pauses.iter().filter_map(|p| p.until);
        let others = state.calls.values().filter_map(due_moment);
        Ok(scheduled.into_iter().chain(lapses).chain(others).min())
    }

    async fn deadlines_due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Call>, StoreError> {
        Ok(self.state().sorted_by(
            |c| c.deadline_at().is_some_and(|t| t <= now),
            |c| c.deadline_at(),
            limit,
        ))
    }

    async fn renew_leases(
        &self,
        renewal: &LeaseRenewal,
        ids: &[CallId],
    ) -> Result<Vec<CallId>, StoreError> {
        let mut state = self.state();
        let mut renewed = Vec::new();
        for id in ids {
            let Some(call) = state.calls.get(id) else { continue };
            let held = call.status() == CallStatus::Dispatching
                && call.lease().is_some_and(|l| l.worker == renewal.worker);
            if !held || renewed.contains(id) {
                continue;
            }
            let mut parts = call.parts().clone();
            parts.lease = Some(Lease { worker: renewal.worker.clone(), expires_at: renewal.until });
            parts.version += 1;
            state.put(Call::from_parts(parts));
            renewed.push(id.clone());
        }
        Ok(renewed)
    }

    async fn expired_leases(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Call>, StoreError> {
        Ok(self.state().sorted_by(
            |c| {
                c.status() == CallStatus::Dispatching
                    && c.lease().is_some_and(|l| l.expires_at <= now)
            },
            |c| c.lease().map(|l| l.expires_at),
            limit,
        ))
    }

    async fn following<'a>(
        &self,
        after: Option<&'a CallId>,
        limit: usize,
    ) -> Result<Vec<Call>, StoreError> {
        Ok(self.state().sorted_by(
            |c| {
                c.direction() == Direction::Outbound
                    && c.status().is_live()
                    && c.external_id().is_some()
                    && after.is_none_or(|after| c.id() > after)
            },
            |c| c.id().clone(),
            limit,
        ))
    }

    async fn history(
        &self,
        number: &PhoneNumber,
        query: &HistoryQuery,
    ) -> Result<Page<Call>, StoreError> {
        Ok(self.state().page(PageOrder::Happened, query.cursor.as_ref(), query.limit, |c| {
            query.matches(number, c)
        }))
    }

    async fn events(&self, id: &CallId) -> Result<Vec<CallEvent>, StoreError> {
        Ok(self.state().events.get(id).cloned().unwrap_or_default())
    }

    async fn event(&self, id: &EventId) -> Result<Option<CallEvent>, StoreError> {
        Ok(self.state().event_ids.get(id).cloned())
    }

    async fn log_after(&self, after: u64, limit: usize) -> Result<Vec<LogEntry>, StoreError> {
        let state = self.state();
        let from = usize::try_from(after).unwrap_or(usize::MAX).min(state.log.len());
        let entries = state.log[from..].iter().take(limit).enumerate().filter_map(|(i, id)| {
            let event = state.event_ids.get(id)?.clone();
            let call = state.calls.get(event.call_id())?.clone();
            Some(LogEntry { seq: (from + i + 1) as u64, event, call })
        });
        Ok(entries.collect())
    }

    async fn log_head(&self) -> Result<u64, StoreError> {
        Ok(self.state().log.len() as u64)
    }

    async fn add_queue(&self, queue: &Queue) -> Result<(), StoreError> {
        let mut state = self.state();
        if state.queues.contains_key(&queue.id) {
            return Err(StoreError::DuplicateQueue(queue.id.clone()));
        }
        state.queues.insert(queue.id.clone(), queue.clone());
        Ok(())
    }

    async fn remove_queue(&self, id: &QueueId) -> Result<bool, StoreError> {
        Ok(self.state().queues.remove(id).is_some())
    }

    async fn queue(&self, id: &QueueId) -> Result<Option<Queue>, StoreError> {
        Ok(self.state().queues.get(id).cloned())
    }

    async fn queues(&self) -> Result<Vec<Queue>, StoreError> {
        Ok(self.state().queues.values().cloned().collect())
    }

    async fn pause(&self, pause: &Pause) -> Result<(), StoreError> {
        self.state().pauses.insert(pause.queue.clone(), pause.clone());
        Ok(())
    }

    async fn resume<'a>(&self, queue: Option<&'a QueueId>) -> Result<bool, StoreError> {
        Ok(self.state().pauses.remove(&queue.cloned()).is_some())
    }

    async fn pauses(&self) -> Result<Vec<Pause>, StoreError> {
        Ok(self.state().pauses.values().cloned().collect())
    }

    async fn count_by_status(&self) -> Result<Vec<(CallStatus, u64)>, StoreError> {
        let state = self.state();
        Ok(CallStatus::ALL
            .iter()
            .map(|&status| {
                (status, state.calls.values().filter(|c| c.status() == status).count() as u64)
            })
            .filter(|&(_, n)| n > 0)
            .collect())
    }

    async fn stats_inputs(&self, sla_seconds: f64) -> Result<StatsInputs, StoreError> {
        let state = self.state();
        let mut queues: BTreeMap<QueueId, QueueTotals> = BTreeMap::new();
        let mut agents: BTreeMap<crate::AgentId, AgentTotals> = BTreeMap::new();
        for call in state.calls.values() {
            let offered = !matches!(
                call.status(),
                CallStatus::Scheduled | CallStatus::Dispatching | CallStatus::Canceled
            );
            if let Some(queue_id) = call.queue_id().filter(|_| offered) {
                let totals = queues.entry(queue_id.clone()).or_insert_with(|| QueueTotals {
                    queue_id: queue_id.clone(),
                    offered: 0,
                    answered: 0,
                    abandoned: 0,
                    answered_within_sla: 0,
                    wait_seconds: 0.0,
                    hold_seconds: 0.0,
                });
                totals.offered += 1;
                totals.abandoned += u64::from(call.status() == CallStatus::Abandoned);
                if call.was_answered() {
                    let wait = call.wait_seconds().unwrap_or(0.0);
                    totals.answered += 1;
                    totals.answered_within_sla += u64::from(wait <= sla_seconds);
                    totals.wait_seconds += wait;
                    totals.hold_seconds += call.hold_seconds().unwrap_or(0.0);
                }
            }
            if let Some(agent_id) = call.agent_id().filter(|_| call.was_answered()) {
                let totals = agents
                    .entry(agent_id.clone())
                    .or_insert_with(|| AgentTotals::new(agent_id.clone()));
                totals.answered += 1;
                totals.wait_seconds += call.wait_seconds().unwrap_or(0.0);
                if let Some(talk) = call.duration_seconds() {
                    totals.ended += 1;
                    totals.talk_seconds += talk;
                }
                totals.hold_seconds += call.hold_seconds().unwrap_or(0.0);
            }
        }
        let reroutes = state
            .event_ids
            .values()
            .filter(|e| e.event_type() == EventType::CallRetransfer)
            .filter_map(|event| event.metadata().get("agent_id").and_then(|v| v.as_str()))
            .filter_map(|agent| crate::AgentId::parse(agent).ok())
            .map(|agent_id| (agent_id, 1))
            .collect();
        Ok(StatsInputs::new(
            queues.into_values().collect(),
            agents.into_values().collect(),
            reroutes,
        ))
    }

    async fn minute_totals(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<MinuteTotals>, StoreError> {
        let state = self.state();
        let within = |at: Option<DateTime<Utc>>| at.filter(|&at| since <= at && at < until);
        let mut ended: BTreeMap<i64, MinuteTotals> = BTreeMap::new();
        let mut placed: BTreeMap<i64, MinuteTotals> = BTreeMap::new();
        for call in state.calls.values() {
            if let Some(at) = within(call.ended_at()) {
                let minute = MinuteTotals::minute_of(at);
                let row = ended
                    .entry(minute)
                    .or_insert_with(|| MinuteTotals { minute, ..MinuteTotals::default() });
                match call.status() {
                    CallStatus::Completed => row.completed += 1,
                    CallStatus::Busy | CallStatus::NoAnswer | CallStatus::Abandoned => {
                        row.missed += 1
                    }
                    CallStatus::Failed => row.failed += 1,
                    _ => {}
                }
            }
            if call.direction() == Direction::Outbound
                && let Some(due) = call.scheduled_at()
                && let Some(at) = within(call.initiated_at())
            {
                let minute = MinuteTotals::minute_of(at);
                let row = placed
                    .entry(minute)
                    .or_insert_with(|| MinuteTotals { minute, ..MinuteTotals::default() });
                let late = ((at - due).num_microseconds().unwrap_or(0) as f64 / 1e6).max(0.0);
                row.placed += 1;
                row.lateness_seconds += late;
                row.max_lateness_seconds = row.max_lateness_seconds.max(late);
            }
        }
        Ok(MinuteTotals::join(ended.into_values().collect(), placed.into_values().collect()))
    }
}

/// The moment `call` next needs the worker for a rule timer or a lapsed
/// lease, as [`CallStore::next_due`] defines them (its due time is read
/// from the due index, where pauses are weighed).
fn due_moment(call: &Call) -> Option<DateTime<Utc>> {
    let lease =
        call.lease().map(|l| l.expires_at).filter(|_| call.status() == CallStatus::Dispatching);
    [call.deadline_at(), lease].into_iter().flatten().min()
}
