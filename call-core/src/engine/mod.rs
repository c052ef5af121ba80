//! The engine: the facade an embedding service uses, and its worker.

mod change;
mod dispatch;
mod outage;
mod worker;

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Map;
use tokio::sync::watch;

pub use worker::{LostDispatch, RetryPolicy, Worker, WorkerConfig};

use self::change::{Change, provider_steps};
use crate::{
    Call, CallEvent, CallId, CallParts, CallStatus, CallingWindow, Direction, DoNotCall, Error,
    EventSource, EventType, Flag, HeldKey, HistoryRecord, IdempotencyKey, IncomingEvent,
    KEY_RETENTION, Lifecycle, Media, NewCall, Occurrence, Pause, PhoneNumber, QueueId, Redial,
    Region, Series, SeriesId, Stats, TransitionError, ValidationError,
    alerts::{AlertPage, AlertQuery, AlertRecord},
    machine::Trigger,
    ports::{
        CallProvider, CallStore, Clock, HistoryQuery, ListQuery, LogNotifier, Notification,
        Notifier, Page, ProviderCall, ProviderError, Queue, StoreError, SystemClock,
    },
    rules::{self, RulesConfig},
    stats::{ACTIVITY_MINUTES_MAX, Activity},
};

/// How many times an operation re-reads a call that changed under it before giving up.
const MAX_CONFLICT_RETRIES: usize = 16;

/// The engine's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The business rules' thresholds.
    pub rules: RulesConfig,
    /// The `source` of the events this engine's operations record (`api`
    /// for a server, `cli` for the command-line tool).
    pub source: EventSource,
    /// How far in the past a call may be scheduled (it is then due at once).
    pub past_tolerance: Duration,
    /// How long an [idempotency key](NewCall::idempotency_key) is kept:
    /// a retry within it answers the first call. [`KEY_RETENTION`] (a day)
    /// by default.
    pub key_retention: TimeDelta,
    /// The calling window of every call scheduled here, for the parts a
    /// call's own window leaves out ([`NewCall::calling_window`]). None
    /// (every hour of every day) by default.
    pub default_window: CallingWindow,
    /// The [redial policy](crate::redial) of every call scheduled here
    /// without one of its own ([`NewCall::redial`]). None (never redial)
    /// by default.
    pub default_redial: Option<Redial>,
    /// The country whose numbers the interfaces read when written without
    /// a country code ([`PhoneNumber::parse_in`]). None (a country code is
    /// required) by default.
    pub default_region: Option<Region>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            rules: RulesConfig::default(),
            source: EventSource::Api,
            past_tolerance: Duration::from_secs(60),
            key_retention: KEY_RETENTION,
            default_window: CallingWindow::default(),
            default_redial: None,
            default_region: None,
        }
    }
}

/// What scheduling one call came to: see [`Engine::schedule_each`].
#[derive(Debug, Clone, PartialEq)]
pub enum Scheduled {
    /// A new call was made.
    New(Call),
    /// The request's idempotency key had made this call already, for the
    /// same request: nothing was made, and this is the call as it is now.
    Existing(Call),
}

impl Scheduled {
    /// The call, new or not.
    pub fn call(&self) -> &Call {
        match self {
            Scheduled::New(call) | Scheduled::Existing(call) => call,
        }
    }

    /// The call, new or not.
    pub fn into_call(self) -> Call {
        match self {
            Scheduled::New(call) | Scheduled::Existing(call) => call,
        }
    }

    /// Whether a new call was made.
    pub fn is_new(&self) -> bool {
        matches!(self, Scheduled::New(_))
    }
}

/// What one request of [`Engine::schedule_each`] comes to, while it is worked out.
#[derive(Debug, Clone, PartialEq)]
enum Slot {
    /// A new call with this id.
    New(CallId),
    /// The call a held key made before.
    Held(CallId),
    /// The same as the request at this index, earlier in the batch.
    Repeat(usize),
}

/// What a batch of scheduling requests makes, before it is written.
struct Batch {
    calls: Vec<Call>,
    events: Vec<CallEvent>,
    keys: Vec<HeldKey>,
    series: Vec<Series>,
    /// What each request comes to, by its index in the batch.
    slots: Vec<Slot>,
}

/// The refusal of a key used before for a different request.
fn key_reused(key: &IdempotencyKey, call_id: &CallId) -> ValidationError {
    ValidationError::new(
        "idempotency_key",
        format!(
            "key {:?} was used for a different request (call {call_id}); \
             a new request needs a new key",
            key.as_str()
        ),
    )
}

/// The answer to [`Engine::ingest`].
#[derive(Debug, Clone, PartialEq)]
pub struct Ingested {
    /// The call after the event.
    pub call: Call,
    /// The event's `event_id` was already recorded: nothing was done, and
    /// `call` is the call as it is now.
    pub duplicate: bool,
}

/// Builds an [`Engine`]: a store, and optionally a notifier, a clock and a config.
pub struct EngineBuilder {
    store: Arc<dyn CallStore>,
    notifier: Arc<dyn Notifier>,
    clock: Arc<dyn Clock>,
    config: Config,
}

impl EngineBuilder {
    /// Where notifications go; [`LogNotifier`] by default.
    #[must_use]
    pub fn notifier(mut self, notifier: Arc<dyn Notifier>) -> EngineBuilder {
        self.notifier = notifier;
        self
    }

    /// The clock; [`SystemClock`] by default.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> EngineBuilder {
        self.clock = clock;
        self
    }

    /// The settings; [`Config::default`] by default.
    #[must_use]
    pub fn config(mut self, config: Config) -> EngineBuilder {
        self.config = config;
        self
    }

    /// The engine.
    pub fn build(self) -> Engine {
        Engine {
            inner: Arc::new(Inner {
                store: self.store,
                notifier: self.notifier,
                clock: self.clock,
                config: self.config,
                wake: watch::Sender::new(0),
                planned_wake: AtomicI64::new(i64::MAX),
            }),
        }
    }
}

/// Schedules, changes and reads calls; hands out [`Worker`]s that place them.
///
/// Cheap to clone: clones share one engine. Every change is written with its
/// audit-log events in one store transaction, then announced through the
/// [`Notifier`].
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn CallStore>,
    notifier: Arc<dyn Notifier>,
    clock: Arc<dyn Clock>,
    config: Config,
    /// Bumped whenever something is now due sooner than a worker plans to
    /// wake, to wake sleeping workers.
    wake: watch::Sender<u64>,
    /// When the last worker to go to sleep plans to wake, in microseconds
    /// since the epoch (`i64::MAX` before any has planned).
    planned_wake: AtomicI64,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

impl Engine {
    /// Starts building an engine on `store`.
    pub fn builder(store: Arc<dyn CallStore>) -> EngineBuilder {
        EngineBuilder {
            store,
            notifier: Arc::new(LogNotifier),
            clock: Arc::new(SystemClock),
            config: Config::default(),
        }
    }

    /// The engine's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The engine's settings.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// A worker placing due calls through `provider`; start it with [`Worker::run`].
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] when `config` is one a worker cannot keep
    /// ([`WorkerConfig::check`]).
    pub fn worker(
        &self,
        provider: Arc<dyn CallProvider>,
        config: WorkerConfig,
    ) -> Result<Worker, ValidationError> {
        config.check()?;
        Ok(Worker::new(self.clone(), provider, config))
    }

    /// Schedules an outbound call.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] when the time is more than
    /// [`Config::past_tolerance`] in the past (field `scheduled_at`), the
    /// queue is not in the registry (field `queue_id`), or a
    /// [recurrence](NewCall::recurrence) has no firing before its end
    /// (field `recurrence.until`).
    pub async fn schedule(&self, new_call: NewCall) -> Result<Call, Error> {
        self.schedule_once(new_call).await.map(Scheduled::into_call)
    }

    /// Schedules an outbound call, saying whether it is new or the call its
    /// [idempotency key](NewCall::idempotency_key) made before (for an edge
    /// that answers the two differently, as HTTP does with 201 and 200).
    ///
    /// # Errors
    ///
    /// As [`schedule`](Self::schedule); also [`Error::Validation`] on field
    /// `idempotency_key` when the key was used before for a different request.
    pub async fn schedule_once(&self, new_call: NewCall) -> Result<Scheduled, Error> {
        let scheduled = self.schedule_each(vec![new_call]).await.map_err(|e| match e {
            Error::Batch { error, .. } => Error::Validation(error),
            other => other,
        })?;
        scheduled.into_iter().next().ok_or_else(|| {
            Error::Store(StoreError::Backend("scheduling one call answered none".into()))
        })
    }

    /// Schedules many outbound calls in one write: all or none.
    ///
    /// # Errors
    ///
    /// [`Error::Batch`] naming the first invalid call (by its index in
    /// `new_calls`) and why, as for [`schedule`](Self::schedule); then
    /// nothing is scheduled.
    pub async fn schedule_many(&self, new_calls: Vec<NewCall>) -> Result<Vec<Call>, Error> {
        let scheduled = self.schedule_each(new_calls).await?;
        Ok(scheduled.into_iter().map(Scheduled::into_call).collect())
    }

    /// Schedules many outbound calls in one write, all or none, saying of
    /// each whether it is new or the call its
    /// [idempotency key](NewCall::idempotency_key) made before.
    ///
    /// # Errors
    ///
    /// As [`schedule_many`](Self::schedule_many); also [`Error::Batch`] on
    /// field `idempotency_key` when a key was used before (or earlier in
    /// the batch) for a different request.
    pub async fn schedule_each(&self, new_calls: Vec<NewCall>) -> Result<Vec<Scheduled>, Error> {
        let now = self.now();
        let Batch { mut calls, mut events, mut keys, mut series, mut slots } =
            self.prepare(new_calls, now).await?;
        if keys.is_empty() && series.is_empty() {
            self.inner.store.insert(&calls, &events).await?;
        } else {
            self.insert_keyed(&mut calls, &mut events, &mut series, &mut keys, &mut slots, now)
                .await?;
        }
        // One `call_scheduled` event per new call, in the same order.
        for (call, event) in calls.iter().zip(&events) {
            let events = vec![event.clone()];
            self.inner.notifier.notify(&Notification::CallChanged { call: call.clone(), events });
        }
        self.wake_workers_if_due_before(calls.iter().filter_map(Call::scheduled_at).min());

        let mut new_calls: HashMap<CallId, Call> =
            calls.into_iter().map(|c| (c.id().clone(), c)).collect();
        let mut answers: Vec<Scheduled> = Vec::with_capacity(slots.len());
        for slot in slots {
            let answer = match slot {
                Slot::New(id) => Scheduled::New(new_calls.remove(&id).ok_or(Error::NotFound(id))?),
                Slot::Held(id) => Scheduled::Existing(
                    self.inner.store.get(&id).await?.ok_or(Error::NotFound(id))?,
                ),
                Slot::Repeat(first) => Scheduled::Existing(answers[first].call().clone()),
            };
            answers.push(answer);
        }
        Ok(answers)
    }

    /// Checks every request of a batch as [`schedule_each`](Self::schedule_each)
    /// would, without writing anything: the same refusals, from the same
    /// code, for a caller that checks a large batch in parts before it
    /// writes any (as `calls import` does).
    ///
    /// # Errors
    ///
    /// As [`schedule_each`](Self::schedule_each), but for a key held by an
    /// earlier request in the store, which only a write can find.
    pub async fn check_each(&self, new_calls: Vec<NewCall>) -> Result<(), Error> {
        self.prepare(new_calls, self.now()).await.map(drop)
    }

    /// The calls, events, series and keys a batch of requests makes, each
    /// request checked, and what each request comes to; refused as a whole
    /// with [`Error::Batch`] naming the first bad request.
    async fn prepare(&self, new_calls: Vec<NewCall>, now: DateTime<Utc>) -> Result<Batch, Error> {
        let mut known_queues: Vec<QueueId> = Vec::new();
        let mut calls = Vec::with_capacity(new_calls.len());
        let mut events = Vec::with_capacity(new_calls.len());
        let mut keys: Vec<HeldKey> = Vec::new();
        let mut series: Vec<Series> = Vec::new();
        // What each request comes to, by its index in `new_calls`.
        let mut slots: Vec<Slot> = Vec::new();
        for (index, new_call) in new_calls.into_iter().enumerate() {
            let batch = |error: ValidationError| Error::Batch { index, error };
            new_call.check_limits().map_err(batch)?;
            let mut scheduled_at =
                self.check_due_time(new_call.scheduled_at, now).map_err(batch)?;
            let mut occurrence = None;
            if let Some(recurrence) = &new_call.recurrence {
                scheduled_at = recurrence.first(scheduled_at).ok_or_else(|| {
                    batch(ValidationError::new(
                        "recurrence.until",
                        format!(
                            "the series would have no occurrence: \"{}\" does not fire between {} and its end",
                            recurrence.cron(),
                            crate::time::rfc3339(scheduled_at)
                        ),
                    ))
                })?;
                let new_series = Series::new(recurrence.clone(), now);
                occurrence = Some(Occurrence { series_id: new_series.id.clone(), number: 1 });
                series.push(new_series);
            }
            let window = self.window_for(new_call.calling_window.as_ref());
            let wait = match &window {
                Some(window) => window.wait(&new_call.to, scheduled_at).map_err(batch)?,
                None => None,
            };
            if let Some(queue) = &new_call.queue_id
                && !known_queues.contains(queue)
            {
                self.check_queue(queue).await.map_err(|e| match e {
                    Error::Validation(error) => batch(error),
                    other => other,
                })?;
                known_queues.push(queue.clone());
            }
            let id = CallId::generate();
            if let Some(key) = &new_call.idempotency_key {
                let fingerprint = new_call.fingerprint();
                if let Some(earlier) = keys.iter().find(|k| &k.key == key) {
                    if earlier.fingerprint != fingerprint {
                        return Err(batch(key_reused(key, &earlier.call_id)));
                    }
                    let first = slots.iter().position(|s| *s == Slot::New(earlier.call_id.clone()));
                    slots.push(Slot::Repeat(first.unwrap_or_default()));
                    continue;
                }
                keys.push(HeldKey {
                    key: key.clone(),
                    fingerprint,
                    call_id: id.clone(),
                    expires_at: now + self.inner.config.key_retention,
                });
            }
            slots.push(Slot::New(id.clone()));
            let call = Call::from_parts(CallParts {
                to: Some(new_call.to),
                from: new_call.from,
                customer_name: new_call.customer_name,
                workflow: new_call.workflow,
                media: new_call.media,
                queue_id: new_call.queue_id,
                metadata: new_call.metadata,
                scheduled_at: Some(wait.as_ref().map_or(scheduled_at, |w| w.until)),
                occurrence,
                calling_window: window,
                redial: new_call.redial.or_else(|| self.inner.config.default_redial.clone()),
                version: 1,
                ..CallParts::new(id, Direction::Outbound, CallStatus::Scheduled, now)
            });
            let metadata = crate::audit::scheduled(&call, wait.as_ref(), scheduled_at);
            let mut change = Change::new(call, now);
            change.record(None, EventType::CallScheduled, now, self.inner.config.source, metadata);
            events.append(&mut change.events);
            calls.push(change.call);
        }
        self.refuse_listed(&calls, &slots).await?;
        Ok(Batch { calls, events, keys, series, slots })
    }

    /// Refuses the batch when any of `calls` is to a number on the
    /// do-not-call list, naming the first such request by its index.
    async fn refuse_listed(&self, calls: &[Call], slots: &[Slot]) -> Result<(), Error> {
        let mut numbers: Vec<PhoneNumber> = calls.iter().filter_map(|c| c.to().cloned()).collect();
        numbers.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        numbers.dedup();
        let listed = self.inner.store.do_not_call(&numbers).await?;
        let refused = calls.iter().find_map(|call| {
            let entry = listed.iter().find(|e| call.to() == Some(&e.phone))?;
            let index = slots.iter().position(|s| *s == Slot::New(call.id().clone()))?;
            Some((index, entry))
        });
        match refused {
            Some((index, entry)) => {
                Err(Error::Batch { index, error: entry.refusal("phone_number") })
            }
            None => Ok(()),
        }
    }

    /// Inserts `calls` under their `keys`. A key the store finds held for
    /// the same request turns its request's slot into [`Slot::Held`] and its
    /// call is dropped from `calls` and `events`; for another request, the
    /// batch is refused. Tried again while other writers take keys between
    /// tries (each try takes nothing unless it takes everything).
    async fn insert_keyed(
        &self,
        calls: &mut Vec<Call>,
        events: &mut Vec<CallEvent>,
        series: &mut Vec<Series>,
        keys: &mut Vec<HeldKey>,
        slots: &mut [Slot],
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        for _ in 0..MAX_CONFLICT_RETRIES {
            let held = self.inner.store.insert_keyed(calls, events, series, keys, now).await?;
            if held.is_empty() {
                return Ok(());
            }
            for held in held {
                let Some(ours) = keys.iter().position(|k| k.key == held.key) else { continue };
                let ours = keys.remove(ours);
                let index = slots
                    .iter()
                    .position(|s| *s == Slot::New(ours.call_id.clone()))
                    .unwrap_or_default();
                if held.fingerprint != ours.fingerprint {
                    return Err(Error::Batch {
                        index,
                        error: key_reused(&held.key, &held.call_id),
                    });
                }
                slots[index] = Slot::Held(held.call_id);
                calls.retain(|c| c.id() != &ours.call_id);
                events.retain(|e| e.call_id() != &ours.call_id);
                series.retain(|s| {
                    calls.iter().any(|c| c.occurrence().is_some_and(|o| o.series_id == s.id))
                });
            }
            if keys.is_empty() && series.is_empty() {
                if !calls.is_empty() {
                    self.inner.store.insert(calls, events).await?;
                }
                return Ok(());
            }
        }
        Err(Error::Contended(keys[0].call_id.clone()))
    }

    /// Cancels a call that has not been placed yet. For an occurrence of a
    /// recurring series this skips that one only: the next is made first.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`]; [`Error::InvalidTransition`] unless it is `scheduled`.
    pub async fn cancel(&self, id: &CallId) -> Result<Call, Error> {
        let call = self.get(id).await?;
        if call.occurrence().is_some() && call.status() == CallStatus::Scheduled {
            // Skipping one occurrence must not end the series: its next is
            // made first, so a crash between the two leaves the series
            // whole (the cancel was not acknowledged; a retry finds the
            // next made and makes no other).
            self.advance_series(&call).await?;
        }
        let source = self.inner.config.source;
        self.update(id, |call, now| {
            let mut change = Change::new(call, now);
            change.transition(Trigger::Canceled, now, source, Map::new())?;
            change.call.parts.ended_at = Some(now);
            Ok(Some(change))
        })
        .await
    }

    /// Moves a scheduled call to a new due time.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`]; [`Error::Validation`] for a time too far in the
    /// past; [`Error::InvalidTransition`] unless it is `scheduled`.
    pub async fn reschedule(&self, id: &CallId, at: DateTime<Utc>) -> Result<Call, Error> {
        let at = self.check_due_time(Some(at), self.now())?;
        let source = self.inner.config.source;
        let call = self
            .update(id, |call, now| {
                // The worker alone moves a claimed call back (to wait for
                // its window); a caller may move only a scheduled one.
                if call.status() != CallStatus::Scheduled {
                    return Err(Error::InvalidTransition(TransitionError {
                        from: call.status(),
                        event: EventType::CallRescheduled,
                    }));
                }
                let wait = call.window_wait(at)?;
                let metadata = crate::audit::rescheduled(call.scheduled_at(), at, wait.as_ref());
                let mut change = Change::new(call, now);
                change.transition(Trigger::Rescheduled, now, source, metadata)?;
                change.call.parts.scheduled_at = Some(wait.map_or(at, |w| w.until));
                Ok(Some(change))
            })
            .await?;
        self.wake_workers_if_due_before(call.scheduled_at());
        Ok(call)
    }

    /// Applies a lifecycle event from an event source, with the business
    /// rules it triggers. A `call_initiated` for an unknown call creates it
    /// (inbound unless the event says otherwise). An event whose `event_id`
    /// was recorded before is a no-op answering [`Ingested::duplicate`].
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] for bad values or an unknown queue;
    /// [`Error::NotFound`] for an unknown call (other than by `call_initiated`);
    /// [`Error::InvalidTransition`] when the event does not fit the call's
    /// status. Nothing is written on error.
    pub async fn ingest(&self, event: IncomingEvent) -> Result<Ingested, Error> {
        event.lifecycle.validate()?;
        if let Some(event_id) = &event.event_id
            && let Some(ingested) = self.already_ingested(event_id, &event.call_id).await?
        {
            return Ok(ingested);
        }
        for queue in queues_named(&event.lifecycle) {
            self.check_queue(queue).await?;
        }
        let result = match self.apply_incoming(&event).await {
            Err(Error::NotFound(_)) => match &event.lifecycle {
                Lifecycle::Initiated(fields) => self.create_inbound(&event, fields).await,
                _ => return Err(Error::NotFound(event.call_id)),
            },
            applied => applied,
        };
        match result {
            // Publishing the change woke the workers if its deadline needs them.
            Ok(call) => {
                crate::metrics::ingested();
                Ok(Ingested { call, duplicate: false })
            }
            // A concurrent delivery of the same event won the race.
            Err(Error::Store(StoreError::DuplicateEvent(event_id))) => self
                .already_ingested(&event_id, &event.call_id)
                .await?
                .ok_or(Error::Store(StoreError::DuplicateEvent(event_id))),
            Err(other) => Err(other),
        }
    }

    async fn already_ingested(
        &self,
        event_id: &crate::EventId,
        call_id: &CallId,
    ) -> Result<Option<Ingested>, Error> {
        let Some(recorded) = self.inner.store.event(event_id).await? else { return Ok(None) };
        if recorded.call_id() != call_id {
            return Err(ValidationError::new(
                "event_id",
                format!("{event_id} was already used for call {}", recorded.call_id()),
            )
            .into());
        }
        Ok(Some(Ingested { call: self.get(call_id).await?, duplicate: true }))
    }

    /// Applies an event source's event, with its rules, to the call it names.
    async fn apply_incoming(&self, event: &IncomingEvent) -> Result<Call, Error> {
        let config = &self.inner.config.rules;
        self.update(&event.call_id, |call, now| {
            let at = event.timestamp.unwrap_or(now);
            let mut change = Change::new(call, now);
            let event_id = event.event_id.clone();
            change.apply_with_rules(
                &event.lifecycle,
                at,
                event.source,
                event_id,
                Map::new(),
                config,
            )?;
            Ok(Some(change))
        })
        .await
    }

    async fn create_inbound(
        &self,
        event: &IncomingEvent,
        fields: &crate::Initiated,
    ) -> Result<Call, Error> {
        let direction = fields.direction.unwrap_or(Direction::Inbound);
        if direction == Direction::Outbound && fields.to.is_none() {
            return Err(
                ValidationError::new("to", "an outbound call needs the number it calls").into()
            );
        }
        let now = self.now();
        let at = event.timestamp.unwrap_or(now);
        let call = Call::from_parts(CallParts {
            to: fields.to.clone(),
            from: fields.from.clone(),
            customer_name: fields.customer_name.clone(),
            media: fields.media.unwrap_or(Media::Voice),
            queue_id: fields.queue_id.clone(),
            initiated_at: Some(at),
            updated_at: now,
            ..CallParts::new(event.call_id.clone(), direction, CallStatus::Initiated, at.min(now))
        });
        let config = &self.inner.config.rules;
        let mut change = Change::new(call, now);
        change.record(
            event.event_id.clone(),
            EventType::CallInitiated,
            at,
            event.source,
            event.lifecycle.to_metadata(),
        );
        change.apply_rules(rules::on_event(&change.call, &event.lifecycle, at, config), at, config);
        let change = change.finish(config);
        match self.inner.store.insert(std::slice::from_ref(&change.call), &change.events).await {
            Ok(()) => {}
            // Created concurrently by another delivery: apply this one to it.
            Err(StoreError::DuplicateCall(_)) => return self.apply_incoming(event).await,
            Err(other) => return Err(other.into()),
        }
        self.publish(&change);
        Ok(change.call)
    }

    /// Applies a provider's report of a call it placed (a status callback),
    /// as the worker's polling does.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] (field `external_id`) when no call has that provider id.
    pub async fn provider_update(&self, update: &ProviderCall) -> Result<Call, Error> {
        let call =
            self.inner.store.get_by_external_id(&update.external_id).await?.ok_or_else(|| {
                ValidationError::new(
                    "external_id",
                    format!("no call was placed as {:?}", update.external_id),
                )
            })?;
        self.apply_provider_report(call.id(), Ok(update)).await
    }

    /// Applies the provider's answer about a call it accepted: the
    /// lifecycle events that bring the call up to it, source `provider`;
    /// [`ProviderError::NotFound`] fails the call. Other errors change nothing.
    pub(crate) async fn apply_provider_report(
        &self,
        id: &CallId,
        report: Result<&ProviderCall, &ProviderError>,
    ) -> Result<Call, Error> {
        let config = &self.inner.config.rules;
        self.update(id, |call, now| {
            // A placed call the provider forgot: how it ended is lost.
            let forgotten =
                matches!(report, Err(ProviderError::NotFound { .. })) && call.status().is_live();
            let steps = match report {
                Ok(reported) => {
                    provider_steps(call.status(), reported.status, reported.duration_seconds)
                }
                Err(ProviderError::NotFound { external_id }) if forgotten => {
                    vec![Lifecycle::Failed {
                        error: Some(format!(
                            "the provider no longer knows call {external_id}: it may have restarted"
                        )),
                    }]
                }
                Err(_) => vec![],
            };
            let mut change = Change::new(call, now);
            if forgotten {
                change.flag(Flag::OutcomeUnknown, now, EventSource::Provider);
            }
            for step in &steps {
                change.apply_with_rules(
                    step,
                    now,
                    EventSource::Provider,
                    None,
                    Map::new(),
                    config,
                )?;
            }
            Ok((!change.is_empty()).then_some(change))
        })
        .await
    }

    /// Fires the business-rule timers of a call whose deadline has passed.
    pub(crate) async fn fire_deadline(&self, id: &CallId) -> Result<Call, Error> {
        let config = &self.inner.config.rules;
        self.update(id, |call, now| {
            if call.deadline_at().is_none_or(|t| t > now) {
                return Ok(None);
            }
            let outcome = rules::due_timers(&call, now, config);
            let mut change = Change::new(call, now);
            change.apply_rules(outcome, now, config);
            // Even with nothing to record the deadline is recomputed, so a
            // stale one (thresholds changed since) never fires forever.
            Ok(Some(change))
        })
        .await
    }

    /// The call with this id.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`].
    pub async fn get(&self, id: &CallId) -> Result<Call, Error> {
        self.inner.store.get(id).await?.ok_or_else(|| Error::NotFound(id.clone()))
    }

    /// Every attempt at a number that redials link to the call `id`, first
    /// to last, `id` among them: one call when it was never redialled. The
    /// last one's outcome is the final one, once it has ended.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`].
    pub async fn attempts(&self, id: &CallId) -> Result<Vec<Call>, Error> {
        let call = self.get(id).await?;
        // Bounded by the most attempts a policy allows, so a damaged link
        // cannot loop.
        let most = crate::redial::MAX_ATTEMPTS as usize;
        let mut attempts = vec![call];
        while let Some(before) = attempts[0].redial_of().cloned()
            && attempts.len() < most
        {
            attempts.insert(0, self.get(&before).await?);
        }
        while let Some(after) = attempts[attempts.len() - 1].redialed_as().cloned()
            && attempts.len() < most
        {
            attempts.push(self.get(&after).await?);
        }
        Ok(attempts)
    }

    /// One page of calls, newest first.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the store fails.
    pub async fn list(&self, query: &ListQuery) -> Result<Page<Call>, Error> {
        let query = ListQuery { limit: query.limit.clamp(1, 1000), ..query.clone() };
        Ok(self.inner.store.list(&query).await?)
    }

    /// The audit log of a call, in order.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown call.
    pub async fn events(&self, id: &CallId) -> Result<Vec<CallEvent>, Error> {
        let events = self.inner.store.events(id).await?;
        if events.is_empty() {
            self.get(id).await?;
        }
        Ok(events)
    }

    /// One page of `number`'s call history, newest first, each call seen
    /// from that number's side.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the store fails.
    pub async fn history(
        &self,
        number: &PhoneNumber,
        query: &HistoryQuery,
    ) -> Result<Page<HistoryRecord>, Error> {
        let query = HistoryQuery { limit: query.limit.clamp(1, 1000), ..query.clone() };
        let page = self.inner.store.history(number, &query).await?;
        Ok(Page {
            items: page.items.iter().map(|call| HistoryRecord::new(call, number)).collect(),
            next_cursor: page.next_cursor,
        })
    }

    /// The queue and agent metrics.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the store fails.
    pub async fn stats(&self) -> Result<Stats, Error> {
        let sla = self.inner.config.rules.sla.as_secs_f64();
        Ok(self.inner.store.stats_inputs(sla).await?.into())
    }

    /// The last `minutes` minutes, the one in progress included: calls
    /// ended per minute by outcome and the lateness of the calls placed.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] (field `minutes`) unless `minutes` is from 1
    /// to [`ACTIVITY_MINUTES_MAX`]; [`Error::Store`] when the store fails.
    pub async fn activity(&self, minutes: u32) -> Result<Activity, Error> {
        if !(1..=ACTIVITY_MINUTES_MAX).contains(&minutes) {
            return Err(ValidationError::new(
                "minutes",
                format!("minutes must be from 1 to {ACTIVITY_MINUTES_MAX}, not {minutes}"),
            )
            .into());
        }
        let now = self.now();
        let (since, until) = Activity::span(now, minutes);
        let totals = self.inner.store.minute_totals(since, until).await?;
        Ok(Activity::new(now, minutes, totals))
    }

    /// How many calls are in each status; statuses no call is in are left out.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the store fails.
    pub async fn count_by_status(&self) -> Result<Vec<(CallStatus, u64)>, Error> {
        Ok(self.inner.store.count_by_status().await?)
    }

    /// Reads how many calls are in each status and reports it as the
    /// [`metrics::CALLS`](crate::metrics::CALLS) gauge, every status
    /// included. An exporter calls it before each scrape, or every few
    /// seconds.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the store fails; the gauge keeps its last values.
    pub async fn report_calls_by_status(&self) -> Result<(), Error> {
        crate::metrics::calls_by_status(&self.count_by_status().await?);
        Ok(())
    }

    /// Adds a queue to the registry.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] with [`StoreError::DuplicateQueue`] when it exists.
    pub async fn add_queue(&self, id: QueueId) -> Result<Queue, Error> {
        let queue = Queue { id, created_at: self.now() };
        self.inner.store.add_queue(&queue).await?;
        Ok(queue)
    }

    /// Removes a queue from the registry; returns whether it was there.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the store fails.
    pub async fn remove_queue(&self, id: &QueueId) -> Result<bool, Error> {
        Ok(self.inner.store.remove_queue(id).await?)
    }

    /// The queue registry.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the store fails.
    pub async fn queues(&self) -> Result<Vec<Queue>, Error> {
        Ok(self.inner.store.queues().await?)
    }

    /// Pauses dispatch of every call, or of `queue`'s calls, until it is
    /// resumed or, given `until`, until then; a pause of the same scope is
    /// replaced. Held calls stay `scheduled` and nothing else stops: calls
    /// already placed are followed, rule timers fire. Answers the pauses
    /// now in force.
    ///
    /// A claim that a worker began before the pause was recorded may still
    /// place what it took; no claim begun after it does.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] when the queue is not in the registry (field
    /// `queue_id`) or `until` is not in the future (field `until`).
    pub async fn pause(
        &self,
        queue: Option<QueueId>,
        until: Option<DateTime<Utc>>,
    ) -> Result<Vec<Pause>, Error> {
        let now = self.now();
        if let Some(until) = until
            && until <= now
        {
            return Err(ValidationError::new(
                "until",
                format!(
                    "{} is not in the future; a pause must end later than now",
                    crate::time::rfc3339(until)
                ),
            )
            .into());
        }
        if let Some(queue) = &queue {
            self.check_queue(queue).await?;
        }
        let until = until.map(crate::ports::to_micros);
        self.inner.store.pause(&Pause { queue, paused_at: now, until }).await?;
        self.pauses().await
    }

    /// Lifts the pause of `queue`, or the pause of every call when `None`
    /// (pauses of single queues stay), and wakes the workers for the calls
    /// it held. Lifting a pause that is not there is not an error. Answers
    /// the pauses still in force.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the store fails.
    pub async fn resume(&self, queue: Option<&QueueId>) -> Result<Vec<Pause>, Error> {
        if self.inner.store.resume(queue).await? {
            self.wake_workers_if_due_before(Some(self.now()));
        }
        self.pauses().await
    }

    /// The pauses in force now: the pause of every call first, then by queue.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the store fails.
    pub async fn pauses(&self) -> Result<Vec<Pause>, Error> {
        let now = self.now();
        let mut pauses = self.inner.store.pauses().await?;
        pauses.retain(|p| p.is_active(now));
        Ok(pauses)
    }

    /// Puts `phone` on the [do-not-call list](crate::dnc), for `reason`:
    /// from now on no call is scheduled to it, and none scheduled before is
    /// placed. Answers the entry and whether it is new (a number listed
    /// already keeps its entry).
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] on `reason` for one that is too long.
    pub async fn add_do_not_call(
        &self,
        phone: PhoneNumber,
        reason: Option<&str>,
    ) -> Result<(DoNotCall, bool), Error> {
        let entry = DoNotCall::new(phone, self.now(), reason)?;
        match self.inner.store.add_do_not_call(&entry).await? {
            Some(listed) => Ok((listed, false)),
            None => Ok((entry, true)),
        }
    }

    /// Takes `phone` off the do-not-call list; `false` when it was not on it.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the store fails.
    pub async fn remove_do_not_call(&self, phone: &PhoneNumber) -> Result<bool, Error> {
        Ok(self.inner.store.remove_do_not_call(phone).await?)
    }

    /// The do-not-call entry of `phone`, when it is listed.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the store fails.
    pub async fn do_not_call(&self, phone: &PhoneNumber) -> Result<Option<DoNotCall>, Error> {
        let entries = self.inner.store.do_not_call(std::slice::from_ref(phone)).await?;
        Ok(entries.into_iter().next())
    }

    /// Up to `limit` entries of the do-not-call list in number order, after
    /// `after` when it is given: a keyset page.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the store fails.
    pub async fn list_do_not_call(
        &self,
        after: Option<&PhoneNumber>,
        limit: usize,
    ) -> Result<Vec<DoNotCall>, Error> {
        Ok(self.inner.store.list_do_not_call(after, limit.max(1)).await?)
    }

    /// A recurring series.
    ///
    /// # Errors
    ///
    /// [`Error::SeriesNotFound`] for an unknown series.
    pub async fn series(&self, id: &SeriesId) -> Result<Series, Error> {
        self.inner.store.series(id).await?.ok_or_else(|| Error::SeriesNotFound(id.clone()))
    }

    /// A page of alerts, newest first ([`alerts`](crate::alerts)); the
    /// limit is kept to 1–500.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the store fails.
    pub async fn alerts(&self, query: &AlertQuery) -> Result<AlertPage, Error> {
        let query = AlertQuery { limit: query.limit.clamp(1, 500), ..query.clone() };
        Ok(self.inner.store.alerts(&query).await?)
    }

    /// One alert.
    ///
    /// # Errors
    ///
    /// [`Error::AlertNotFound`] for an unknown alert.
    pub async fn alert(&self, id: &crate::EventId) -> Result<AlertRecord, Error> {
        self.inner.store.alert(id).await?.ok_or_else(|| Error::AlertNotFound(id.clone()))
    }

    /// Acknowledges an alert for `by` (a supervisor's name), recorded in
    /// its call's audit log as `alert_acknowledged`. Acknowledging it again
    /// changes nothing: the first acknowledgement stands, and is answered.
    ///
    /// # Errors
    ///
    /// [`Error::AlertNotFound`] for an unknown alert; [`Error::Validation`]
    /// on `by` when it is blank or over its limit.
    pub async fn acknowledge_alert(
        &self,
        id: &crate::EventId,
        by: &str,
    ) -> Result<AlertRecord, Error> {
        let by = by.trim();
        if by.is_empty() {
            return Err(ValidationError::new("by", "must say who acknowledges the alert").into());
        }
        crate::limits::text("by", by, crate::alerts::MAX_ACKNOWLEDGED_BY_CHARS)?;
        let alert = self.alert(id).await?;
        if alert.acknowledged_at.is_some() {
            return Ok(alert);
        }
        let source = self.inner.config.source;
        self.update(&alert.call_id, |call, now| {
            let mut change = Change::new(call, now);
            let acknowledged = crate::audit::AlertAcknowledged {
                alert_id: id.clone(),
                kind: alert.kind,
                by: by.to_owned(),
            };
            let metadata = acknowledged.metadata();
            change.record(None, EventType::AlertAcknowledged, now, source, metadata);
            Ok(Some(change))
        })
        .await?;
        self.alert(id).await
    }

    /// Up to `limit` (1–1000) recurring series, newest first, those with
    /// ids before `before` when it is given.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the store fails.
    pub async fn list_series(
        &self,
        before: Option<&SeriesId>,
        limit: usize,
    ) -> Result<Vec<Series>, Error> {
        Ok(self.inner.store.list_series(before, limit.clamp(1, 1000)).await?)
    }

    /// Cancels a recurring series: no occurrence is made after this, and
    /// the occurrences still `scheduled` are canceled (one claimed already
    /// is placed as usual). Canceling a canceled series answers it again.
    ///
    /// # Errors
    ///
    /// [`Error::SeriesNotFound`] for an unknown series.
    pub async fn cancel_series(&self, id: &SeriesId) -> Result<Series, Error> {
        let series = self
            .inner
            .store
            .cancel_series(id, self.now())
            .await?
            .ok_or_else(|| Error::SeriesNotFound(id.clone()))?;
        // A claim that made an occurrence committed before the cancel did
        // (the store orders the two on the series), so it is listed here.
        let query = ListQuery {
            statuses: vec![crate::StatusFilter::Status(CallStatus::Scheduled)],
            series: Some(id.clone()),
            limit: 1000,
            ..ListQuery::default()
        };
        for call in self.inner.store.list(&query).await?.items {
            match self.cancel(call.id()).await {
                // Claimed meanwhile: it is placed, as a call claimed before the cancel.
                Ok(_) | Err(Error::InvalidTransition(_)) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(series)
    }

    /// Makes the occurrence after `previous` if it is the latest of a live
    /// series, and tells the watchers and the workers.
    async fn advance_series(&self, previous: &Call) -> Result<(), Error> {
        if let Some((call, event)) = self.inner.store.advance_series(previous, self.now()).await? {
            self.announce_new(&call, event);
        }
        Ok(())
    }

    /// Tells the watchers of a call just made, with its first event, and
    /// wakes the workers if it is due before they plan to wake.
    fn announce_new(&self, call: &Call, event: CallEvent) {
        self.inner
            .notifier
            .notify(&Notification::CallChanged { call: call.clone(), events: vec![event] });
        self.wake_workers_if_due_before(call.scheduled_at());
    }

    fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// The window a new call rings in: its own parts over the engine's
    /// default. `None` when that allows every hour of every day.
    pub(super) fn window_for(&self, own: Option<&CallingWindow>) -> Option<CallingWindow> {
        let window = own.cloned().unwrap_or_default().or(&self.inner.config.default_window);
        (!window.is_unrestricted()).then_some(window)
    }

    fn check_due_time(
        &self,
        at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, ValidationError> {
        let Some(at) = at else { return Ok(now) };
        // Kept as every store keeps times, so what is answered is what is stored.
        let at = crate::ports::to_micros(at);
        let tolerance =
            TimeDelta::from_std(self.inner.config.past_tolerance).unwrap_or(TimeDelta::MAX);
        if at < now - tolerance {
            return Err(ValidationError::new(
                "scheduled_at",
                format!(
                    "{} is {}s in the past; a call may be scheduled at most {}s back",
                    crate::time::rfc3339(at),
                    (now - at).num_seconds(),
                    tolerance.num_seconds()
                ),
            ));
        }
        Ok(at)
    }

    async fn check_queue(&self, queue: &QueueId) -> Result<(), Error> {
        if self.inner.store.queue(queue).await?.is_none() {
            return Err(ValidationError::new(
                "queue_id",
                format!("unknown queue {:?}", queue.as_str()),
            )
            .into());
        }
        Ok(())
    }

    /// Reads a call, decides its change, and saves it with the version it
    /// read; re-reads and decides again when another writer got there first.
    /// `decide` answers `None` when there is nothing to do.
    ///
    /// The first read may come from the store's cache
    /// ([`CallStore::get_to_change`]); one after a conflict never does.
    async fn update<F>(&self, id: &CallId, mut decide: F) -> Result<Call, Error>
    where
        F: FnMut(Call, DateTime<Utc>) -> Result<Option<Change>, Error>,
    {
        let config = &self.inner.config.rules;
        for attempt in 0..MAX_CONFLICT_RETRIES {
            let (call, cached) = if attempt == 0 {
                let read = self.inner.store.get_to_change(id).await?;
                let read = read.ok_or_else(|| Error::NotFound(id.clone()))?;
                (read.call, read.cached)
            } else {
                (self.get(id).await?, false)
            };
            let now = self.now();
            let change = match decide(call.clone(), now) {
                Ok(Some(change)) => change,
                // Refused, or nothing to do, on a call that may be older
                // than what is stored: decide again on what is.
                Ok(None) | Err(_) if cached => continue,
                Ok(None) => return Ok(call),
                Err(error) => return Err(error),
            };
            let change = change.finish(config);
            let saved = match &change.redial {
                None => self.inner.store.save(&change.call, &change.events).await,
                Some((next, scheduled)) => {
                    let mut events = change.events.clone();
                    events.push(scheduled.clone());
                    self.inner
                        .store
                        .save_and_insert(&change.call, std::slice::from_ref(next), &events)
                        .await
                }
            };
            match saved {
                Ok(()) => {
                    self.publish(&change);
                    return Ok(change.call);
                }
                Err(StoreError::Conflict { .. }) => tokio::task::yield_now().await,
                Err(other) => return Err(other.into()),
            }
        }
        Err(Error::Contended(id.clone()))
    }

    fn publish(&self, change: &Change) {
        if change.is_empty() {
            // Only a recomputed deadline: nothing happened that anyone watches for.
            return;
        }
        crate::metrics::changed(&change.call, &change.events, change.redial.is_some());
        for notification in change.notifications() {
            self.inner.notifier.notify(&notification);
        }
        self.wake_workers_if_due_before(change.call.deadline_at());
        if let Some((next, _)) = &change.redial {
            self.wake_workers_if_due_before(next.scheduled_at());
        }
    }

    /// Wakes the sleeping workers if `due` comes before the moment the last
    /// of them to sleep plans to wake; a worker awake then, or waking
    /// first, sees it anyway (see [`Engine::plan_wake`]).
    fn wake_workers_if_due_before(&self, due: Option<DateTime<Utc>>) {
        let Some(due) = due else { return };
        if due.timestamp_micros() < self.inner.planned_wake.load(Ordering::SeqCst) {
            self.inner.wake.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// A worker going to sleep until `at` says so. It MUST read the store's
    /// next due moment again after this and wake sooner if it is sooner: a
    /// change committed before this call is then seen by that read, and one
    /// committed after it is compared with `at` and wakes the worker.
    fn plan_wake(&self, at: DateTime<Utc>) {
        self.inner.planned_wake.store(at.timestamp_micros(), Ordering::SeqCst);
    }

    fn subscribe_wake(&self) -> watch::Receiver<u64> {
        self.inner.wake.subscribe()
    }
}

/// The queues an event names, which must be in the registry.
fn queues_named(event: &Lifecycle) -> Vec<&QueueId> {
    match event {
        Lifecycle::Initiated(fields) => fields.queue_id.iter().collect(),
        Lifecycle::Transferred { queue_id, .. } => queue_id.iter().collect(),
        _ => vec![],
    }
}
