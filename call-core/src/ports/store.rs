use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use tokio::sync::broadcast;

use crate::{
    AgentId, Call, CallEvent, CallId, CallStatus, DoNotCall, EventId, HeldKey, Pause, PhoneNumber,
    QueueId, Series, SeriesId, StatusFilter, ValidationError, WorkerId,
};

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A call with this id already exists.
    #[error("call {0} already exists")]
    DuplicateCall(CallId),
    /// An event with this id is already in the log.
    #[error("event {0} is already recorded")]
    DuplicateEvent(EventId),
    /// A queue with this id already exists.
    #[error("queue {0} already exists")]
    DuplicateQueue(QueueId),
    /// The call does not exist.
    #[error("call {0} not found")]
    NotFound(CallId),
    /// The call changed since it was read: the save was based on a stale version.
    #[error("call {id} was changed concurrently (expected version {expected})")]
    Conflict {
        /// The call.
        id: CallId,
        /// The version the save expected to replace.
        expected: u64,
    },
    /// The storage itself failed: I/O, corruption, a full disk, a lost
    /// connection. Its [`source`](std::error::Error::source) is the
    /// driver's own error, when there was one.
    #[error("store failed: {0}")]
    Backend(#[source] BackendError),
}

/// How the storage failed: a message for people and, when the driver
/// reported it, the driver's error itself, so a caller can tell one
/// failure from another (`downcast_ref::<sqlx::Error>()`,
/// `downcast_ref::<rusqlite::Error>()`) without parsing the message.
///
/// It compares by message. Its `Display` is the message alone; its
/// [`source`](std::error::Error::source) is the driver's error.
#[derive(Debug, Clone)]
pub struct BackendError {
    message: String,
    source: Option<std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl BackendError {
    /// A failure the store found itself (an unreadable row, a writer that
    /// stopped), with no driver error behind it.
    pub fn new(message: impl Into<String>) -> BackendError {
        BackendError { message: message.into(), source: None }
    }

    /// The driver's `error`, kept, with its own text as the message.
    pub fn from_source(error: impl std::error::Error + Send + Sync + 'static) -> BackendError {
        BackendError { message: error.to_string(), source: Some(std::sync::Arc::new(error)) }
    }

    /// What happened, for people.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The driver's error, when it is a `T`.
    pub fn downcast_ref<T: std::error::Error + 'static>(&self) -> Option<&T> {
        self.source.as_deref()?.downcast_ref::<T>()
    }
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BackendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|error| error as &(dyn std::error::Error + 'static))
    }
}

impl PartialEq for BackendError {
    fn eq(&self, other: &BackendError) -> bool {
        self.message == other.message
    }
}

impl From<String> for BackendError {
    fn from(message: String) -> BackendError {
        BackendError::new(message)
    }
}

impl From<&str> for BackendError {
    fn from(message: &str) -> BackendError {
        BackendError::new(message)
    }
}

/// The moment that orders a page, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageOrder {
    /// When each call was created: listings.
    Created,
    /// When each call took place ([`Call::happened_at`]): histories.
    Happened,
}

impl PageOrder {
    /// `call`'s moment in this order.
    pub fn at(self, call: &Call) -> DateTime<Utc> {
        match self {
            PageOrder::Created => call.created_at(),
            PageOrder::Happened => call.happened_at(),
        }
    }
}

/// A position in a page order, newest first: the moment (see [`PageOrder`])
/// and `id` of the last item of a page. Opaque to clients as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The moment of the last item seen, in the page's order.
    pub at: DateTime<Utc>,
    /// `id` of the last item seen.
    pub id: CallId,
}

impl Cursor {
    /// The cursor after `call` in `order`.
    pub fn after(call: &Call, order: PageOrder) -> Cursor {
        Cursor { at: order.at(call), id: call.id().clone() }
    }

    /// Reads a cursor written by [`Display`](fmt::Display).
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `cursor` when the text is not one.
    pub fn parse(text: &str) -> Result<Cursor, ValidationError> {
        let (at, id) = position(text)?;
        let id = CallId::parse(id).map_err(|_| not_a_cursor())?;
        Ok(Cursor { at, id })
    }

    /// Whether `call` comes after this cursor in `order`, newest first.
    pub fn is_before(&self, call: &Call, order: PageOrder) -> bool {
        (order.at(call), call.id()) < (self.at, &self.id)
    }
}

/// Reads the `micros~id` text of a keyset position (a [`Cursor`], an
/// [`AlertCursor`](crate::alerts::AlertCursor)): its moment and its id's text.
pub(crate) fn position(text: &str) -> Result<(DateTime<Utc>, &str), ValidationError> {
    let (micros, id) = text.split_once('~').ok_or_else(not_a_cursor)?;
    let micros: i64 = micros.parse().map_err(|_| not_a_cursor())?;
    let at = Utc.timestamp_micros(micros).single().ok_or_else(not_a_cursor)?;
    Ok((at, id))
}

/// The refusal of a cursor text that no page gave.
pub(crate) fn not_a_cursor() -> ValidationError {
    ValidationError::new("cursor", "not a cursor from an earlier page")
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}~{}", self.at.timestamp_micros(), self.id)
    }
}

/// One page of a listing, and where the next one starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items, newest first.
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<Cursor>,
}

/// What [`CallStore::list`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    /// Calls whose status passes any of these; every call when empty.
    pub statuses: Vec<StatusFilter>,
    /// Calls in this queue.
    pub queue: Option<QueueId>,
    /// Calls in which this number is caller or callee.
    pub phone: Option<PhoneNumber>,
    /// The occurrences of this series.
    pub series: Option<SeriesId>,
    /// At most this many calls (at least 1).
    pub limit: usize,
    /// Calls after this position.
    pub cursor: Option<Cursor>,
}

impl Default for ListQuery {
    /// Every call, 50 a page.
    fn default() -> ListQuery {
        ListQuery {
            statuses: Vec::new(),
            queue: None,
            phone: None,
            series: None,
            limit: 50,
            cursor: None,
        }
    }
}

impl ListQuery {
    /// Whether `call` passes the filters (not the cursor or the limit).
    pub fn matches(&self, call: &Call) -> bool {
        (self.statuses.is_empty() || self.statuses.iter().any(|f| f.matches(call.status())))
            && self.queue.as_ref().is_none_or(|q| call.queue_id() == Some(q))
            && self.phone.as_ref().is_none_or(|p| call.involves(p))
            && self
                .series
                .as_ref()
                .is_none_or(|s| call.occurrence().is_some_and(|o| &o.series_id == s))
    }
}

/// What [`CallStore::history`] returns: the ended calls of a number that
/// took place ([`Call::happened_at`]) in `[since, until)`, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryQuery {
    /// Calls that took place at or after this.
    pub since: Option<DateTime<Utc>>,
    /// Calls that took place before this.
    pub until: Option<DateTime<Utc>>,
    /// At most this many calls (at least 1).
    pub limit: usize,
    /// Calls after this position, in [`PageOrder::Happened`].
    pub cursor: Option<Cursor>,
}

impl Default for HistoryQuery {
    /// All time, 50 a page.
    fn default() -> HistoryQuery {
        HistoryQuery { since: None, until: None, limit: 50, cursor: None }
    }
}

impl HistoryQuery {
    /// Whether `call` belongs in the history of `number` (not the cursor or
    /// the limit): the number took part, the call ended, and it was not
    /// canceled before being placed.
    pub fn matches(&self, number: &PhoneNumber, call: &Call) -> bool {
        call.involves(number)
            && crate::HISTORY_STATUSES.contains(&call.status())
            && self.since.is_none_or(|t| call.happened_at() >= t)
            && self.until.is_none_or(|t| call.happened_at() < t)
    }
}

/// A worker's request to claim due calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// Claim calls due at or before this.
    pub now: DateTime<Utc>,
    /// The worker claiming them.
    pub worker: WorkerId,
    /// When the claim lapses.
    pub lease_until: DateTime<Utc>,
    /// Claim at most this many.
    pub limit: usize,
}

impl Claim {
    /// The `call_dispatched` event a store writes for `call` under this
    /// claim: at `now`, source `scheduler`, metadata `{"worker": …}`.
    pub fn dispatched_event(&self, call: &Call) -> CallEvent {
        self.dispatched_event_with_id(call, EventId::generate())
    }

    /// [`Claim::dispatched_event`] with the given id, for a store that
    /// generates the ids before it knows which calls it claims.
    pub fn dispatched_event_with_id(&self, call: &Call, id: EventId) -> CallEvent {
        let metadata = crate::audit::dispatched(&self.worker);
        CallEvent::new(
            id,
            call.id().clone(),
            crate::EventType::CallDispatched,
            self.now,
            self.now,
            crate::EventSource::Scheduler,
            metadata,
        )
    }
}

/// A worker renewing the leases of the calls it is still placing
/// ([`CallStore::renew_leases`]): its heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRenewal {
    /// The worker whose leases these are.
    pub worker: WorkerId,
    /// The new expiry.
    pub until: DateTime<Utc>,
}

/// A call [`CallStore::claim_due`] claimed.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    /// The call, now `dispatching` under the claim's lease.
    pub call: Call,
    /// The `call_dispatched` event written for it.
    pub event: CallEvent,
    /// For an occurrence of a series, the next occurrence made in the same
    /// transaction ([`Series::successor`]), with its `call_scheduled` event.
    pub successor: Option<(Call, CallEvent)>,
}

/// One entry of the audit log read in commit order ([`CallStore::log_after`]):
/// what live clients are sent, and resume from.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    /// The entry's position in the log: positions grow in commit order (a
    /// reader that has read position `n` never finds a smaller one committed
    /// later), and are not contiguous (a transaction that rolls back leaves
    /// a gap).
    pub seq: u64,
    /// The event written.
    pub event: CallEvent,
    /// Its call as it stands when the log is read: at or after this event.
    pub call: Call,
}

impl LogEntry {
    /// Pairs events read from the log with their calls, read after them
    /// (so each at or after its event); an event whose call is not among
    /// `calls` is left out.
    pub fn pair(events: Vec<(u64, CallEvent)>, calls: Vec<Call>) -> Vec<LogEntry> {
        let calls: std::collections::HashMap<CallId, Call> =
            calls.into_iter().map(|call| (call.id().clone(), call)).collect();
        events
            .into_iter()
            .filter_map(|(seq, event)| {
                let call = calls.get(event.call_id())?.clone();
                Some(LogEntry { seq, event, call })
            })
            .collect()
    }
}

/// A queue in the queue registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    /// Its id.
    pub id: QueueId,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

/// The sums behind one queue's metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueTotals {
    /// The queue.
    pub queue_id: QueueId,
    /// Calls of the queue that were initiated: not pending, not canceled.
    pub offered: u64,
    /// Of those, answered.
    pub answered: u64,
    /// Of those, `abandoned`.
    pub abandoned: u64,
    /// Answered with `wait_seconds` at most the SLA threshold.
    pub answered_within_sla: u64,
    /// Sum of `wait_seconds` of the answered calls.
    pub wait_seconds: f64,
    /// Sum of `hold_seconds` of the answered calls.
    pub hold_seconds: f64,
}

/// The sums behind one agent's metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentTotals {
    /// The agent.
    pub agent_id: AgentId,
    /// Calls answered with this agent as `agent_id`.
    pub answered: u64,
    /// Sum of `wait_seconds` of those.
    pub wait_seconds: f64,
    /// Of those, the ones that ended: a call still in progress has no talk
    /// time yet, so averages of it count these only.
    pub ended: u64,
    /// Sum of `duration_seconds` of the ended ones.
    pub talk_seconds: f64,
    /// Sum of `hold_seconds` of those.
    pub hold_seconds: f64,
    /// `call_retransfer` events naming this agent in their `agent_id` metadata.
    pub reroutes: u64,
}

impl AgentTotals {
    /// An agent with nothing counted yet.
    pub fn new(agent_id: AgentId) -> AgentTotals {
        AgentTotals {
            agent_id,
            answered: 0,
            wait_seconds: 0.0,
            ended: 0,
            talk_seconds: 0.0,
            hold_seconds: 0.0,
            reroutes: 0,
        }
    }
}

/// The inputs of the queue and agent metrics.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StatsInputs {
    /// One per queue that has been offered calls, ordered by queue id.
    pub queues: Vec<QueueTotals>,
    /// One per agent that has answered or been rerouted, ordered by agent id.
    pub agents: Vec<AgentTotals>,
}

impl StatsInputs {
    /// The inputs from what a store sums separately: the queues, the
    /// agents' answered calls (their `reroutes` ignored), and each agent's
    /// reroute count. Queues are ordered by id; agents are joined into one
    /// row each, ordered by id, an agent only rerouted included.
    pub fn new(
        mut queues: Vec<QueueTotals>,
        answered: Vec<AgentTotals>,
        reroutes: Vec<(AgentId, u64)>,
    ) -> StatsInputs {
        queues.sort_by(|a, b| a.queue_id.cmp(&b.queue_id));
        let mut agents: std::collections::BTreeMap<AgentId, AgentTotals> = answered
            .into_iter()
            .map(|totals| (totals.agent_id.clone(), AgentTotals { reroutes: 0, ..totals }))
            .collect();
        for (agent_id, n) in reroutes {
            agents
                .entry(agent_id.clone())
                .or_insert_with(|| AgentTotals::new(agent_id))
                .reroutes += n;
        }
        StatsInputs { queues, agents: agents.into_values().collect() }
    }
}

/// One minute's sums behind the activity charts, as
/// [`CallStore::minute_totals`] reads them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MinuteTotals {
    /// The minute, as whole minutes since the Unix epoch.
    pub minute: i64,
    /// Calls that ended in the minute (by `ended_at`) `completed`.
    pub completed: u64,
    /// Ended `busy`, `no_answer` or `abandoned`: the callee or caller was
    /// not reached.
    pub missed: u64,
    /// Ended `failed`.
    pub failed: u64,
    /// Scheduled outbound calls placed in the minute (by `initiated_at`).
    pub placed: u64,
    /// Sum of their placement lateness, `initiated_at - scheduled_at` (at
    /// least 0), in seconds.
    pub lateness_seconds: f64,
    /// The greatest of those; 0 when none was placed.
    pub max_lateness_seconds: f64,
}

impl MinuteTotals {
    /// The whole minutes since the Unix epoch that `at` falls in.
    pub fn minute_of(at: DateTime<Utc>) -> i64 {
        at.timestamp().div_euclid(60)
    }

    /// The minutes from what a store sums separately: calls ended by
    /// outcome (their placement fields ignored) and calls placed (their
    /// outcome fields ignored), joined into one row per minute, in order.
    pub fn join(ended: Vec<MinuteTotals>, placed: Vec<MinuteTotals>) -> Vec<MinuteTotals> {
        let mut minutes: std::collections::BTreeMap<i64, MinuteTotals> = ended
            .into_iter()
            .map(|m| {
                let outcomes = MinuteTotals {
                    placed: 0,
                    lateness_seconds: 0.0,
                    max_lateness_seconds: 0.0,
                    ..m
                };
                (m.minute, outcomes)
            })
            .collect();
        for m in placed {
            let row = minutes
                .entry(m.minute)
                .or_insert_with(|| MinuteTotals { minute: m.minute, ..MinuteTotals::default() });
            row.placed = m.placed;
            row.lateness_seconds = m.lateness_seconds;
            row.max_lateness_seconds = m.max_lateness_seconds;
        }
        minutes.into_values().collect()
    }
}

/// Due moments written by other processes sharing a store, as the store
/// learns of them: a call scheduled or rescheduled, a rule deadline set.
///
/// A worker relays each to its engine, which wakes the sleeping workers when
/// the moment comes before their plan; so a call scheduled by an API server
/// on one machine is placed by a worker on another at once, not at the next
/// [`recheck_interval`](crate::WorkerConfig::recheck_interval).
///
/// A store without such a channel hands out [`Announcements::none`], which
/// never announces anything.
#[derive(Debug)]
pub struct Announcements {
    receiver: Option<broadcast::Receiver<DateTime<Utc>>>,
}

impl Announcements {
    /// Nothing is ever announced: for stores only one process uses.
    pub fn none() -> Announcements {
        Announcements { receiver: None }
    }

    /// Announcements sent on `sender`'s channel from now on. A store sends
    /// `DateTime::<Utc>::MIN_UTC` when it may have missed some (a lost
    /// connection), which wakes every worker.
    pub fn subscribe(sender: &broadcast::Sender<DateTime<Utc>>) -> Announcements {
        Announcements { receiver: Some(sender.subscribe()) }
    }

    /// The next due moment announced. A receiver that fell behind answers
    /// the earliest possible moment, since it no longer knows what it
    /// missed; once the sender is gone this waits forever.
    pub async fn next(&mut self) -> DateTime<Utc> {
        let Some(receiver) = &mut self.receiver else {
            return std::future::pending().await;
        };
        match receiver.recv().await {
            Ok(due) => due,
            Err(broadcast::error::RecvError::Lagged(_)) => DateTime::<Utc>::MIN_UTC,
            Err(broadcast::error::RecvError::Closed) => {
                self.receiver = None;
                std::future::pending().await
            }
        }
    }
}

/// What [`CallStore::get_to_change`] answers: the call, and whether it
/// came from the store's cache (and so may be older than what is stored).
#[derive(Debug, Clone, PartialEq)]
pub struct ReadToChange {
    /// The call.
    pub call: Call,
    /// Whether it was answered from a cache, without reading the storage.
    pub cached: bool,
}

/// Where calls, their audit log and the queue registry are kept.
///
/// Every implementation MUST pass the conformance suite,
/// `call_core::testing::conformance::run` (feature `testing`), and a store
/// that several processes can share also `conformance::run_shared`: they
/// are this contract made executable. Times MUST be kept to the microsecond.
///
/// # Errors
///
/// Every method fails with [`StoreError::Backend`] when the storage itself
/// fails; the other variants are named on each method.
///
/// With the `testing` feature, `MockCallStore` mocks it (mockall). The
/// methods that take an `Option<&T>` name its lifetime, which mockall
/// cannot do for an elided one (asomers/mockall#571).
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait CallStore: Send + Sync {
    /// Inserts new calls with their first events, all or nothing.
    ///
    /// # Errors
    ///
    /// [`StoreError::DuplicateCall`] if any call id exists,
    /// [`StoreError::DuplicateEvent`] if any event id does; then nothing is written.
    async fn insert(&self, calls: &[Call], events: &[CallEvent]) -> Result<(), StoreError>;

    /// Inserts new calls with their first events and the recurring
    /// `series` their first occurrences begin, and takes their idempotency
    /// `keys` (each naming its call in `calls`), all or nothing, in one
    /// transaction: so two writers racing with one key make one call.
    ///
    /// A key whose `expires_at` is after `now` is held. When any of `keys`
    /// is held, nothing is written and the answer is the held keys as they
    /// are stored (for the engine to answer their calls, or refuse a key
    /// used for another request). An expired key is free: it is replaced.
    /// An empty answer means everything was written.
    ///
    /// # Errors
    ///
    /// As [`insert`](Self::insert); then nothing is written.
    async fn insert_keyed(
        &self,
        calls: &[Call],
        events: &[CallEvent],
        series: &[Series],
        keys: &[HeldKey],
        now: DateTime<Utc>,
    ) -> Result<Vec<HeldKey>, StoreError>;

    /// The call with this id.
    async fn get(&self, id: &CallId) -> Result<Option<Call>, StoreError>;

    /// The call with this id, read to decide a change of it that
    /// [`save`](Self::save) (or [`save_and_insert`](Self::save_and_insert))
    /// will write. A store MAY answer from what it last wrote or read of
    /// the call, without a round trip, though another process may have
    /// changed it since: the save of a change decided on an older version
    /// is refused with [`StoreError::Conflict`], after which the store MUST
    /// answer this call's next read here afresh (the engine reads it again
    /// with [`get`](Self::get) anyway). Every write that changes a call
    /// MUST raise its version, so nothing decided on a stale call is ever
    /// written; and a change refused on a cached call (a transition that
    /// does not fit it) is decided again on a fresh read before the refusal
    /// stands. By default, [`get`](Self::get), never cached.
    async fn get_to_change(&self, id: &CallId) -> Result<Option<ReadToChange>, StoreError> {
        Ok(self.get(id).await?.map(|call| ReadToChange { call, cached: false }))
    }

    /// The call the provider knows as `external_id`.
    async fn get_by_external_id(&self, external_id: &str) -> Result<Option<Call>, StoreError>;

    /// Replaces a call with `call`, whose version MUST be one more than the
    /// stored one, and appends `events` to the log, in one transaction:
    /// [`save_and_insert`](Self::save_and_insert) with no new call.
    ///
    /// # Errors
    ///
    /// As [`save_and_insert`](Self::save_and_insert).
    async fn save(&self, call: &Call, events: &[CallEvent]) -> Result<(), StoreError> {
        self.save_and_insert(call, &[], events).await
    }

    /// Replaces a call with `call`, whose version MUST be one more than the
    /// stored one, inserts `new_calls`, and appends `events` (of any of
    /// them) to the log, in one transaction. The engine makes a
    /// [redial](crate::redial) this way, with the end of the call it
    /// redials: neither is ever written without the other.
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`] when there is no such call;
    /// [`StoreError::Conflict`] when the stored version is not
    /// `call.version() - 1`; [`StoreError::DuplicateCall`] when a new
    /// call's id exists; [`StoreError::DuplicateEvent`] when an event id
    /// is already recorded. In every case nothing is written.
    async fn save_and_insert(
        &self,
        call: &Call,
        new_calls: &[Call],
        events: &[CallEvent],
    ) -> Result<(), StoreError>;

    /// Calls passing the query's filters, newest first by (`created_at`,
    /// `id`), after its cursor, at most `limit`; `next_cursor` is set when
    /// the page is full.
    async fn list(&self, query: &ListQuery) -> Result<Page<Call>, StoreError>;

    /// Atomically claims up to `claim.limit` calls in `scheduled` whose
    /// `scheduled_at` is at or before `claim.now` and that no
    /// [`Pause`] holds at `claim.now` ([`Pause::holds`], by the call's
    /// queue) and made at or before it (so a call scheduled while the claim
    /// waited its turn, due already, is left to the next claim: its
    /// `call_dispatched` never precedes its `call_scheduled`), earliest due
    /// first: each
    /// becomes `dispatching` with a [`Lease`](crate::Lease) for
    /// `claim.worker` until `claim.lease_until`, its version raised by one,
    /// `updated_at` set to `claim.now`, and its
    /// [`Claim::dispatched_event`] appended. Concurrent
    /// claims, from this process or another on the same storage, MUST never
    /// return the same call twice. The claim also forgets the pauses that
    /// have lapsed at `claim.now`, so they stop counting in
    /// [`next_due`](Self::next_due).
    ///
    /// For each claimed occurrence of a recurring series, the claim makes
    /// the next occurrence in the same transaction, as
    /// [`advance_series`](Self::advance_series) does: so the next one
    /// exists as soon as the previous is claimed, and a crash cannot skip
    /// or double one.
    ///
    /// A call whose number is on the [do-not-call list](crate::dnc) is
    /// never dispatched. First, in the same transaction, those among the
    /// first `claim.limit` due calls (as above) whose `to` number is
    /// listed become what [`Claim::do_not_call`] makes of them (`canceled`,
    /// end reason `do_not_call`), each answered with its `call_canceled`
    /// event (and its occurrence's next, as for a claimed one); then the
    /// claim dispatches, up to the rest of the limit, due calls whose
    /// number is not listed, as the statement that dispatches them reads
    /// the list. Canceled calls are answered first.
    async fn claim_due(&self, claim: &Claim) -> Result<Vec<Claimed>, StoreError>;

    /// Renews the leases `renewal.worker` holds on `ids`: each of them still
    /// `dispatching` under a lease of that worker gets `renewal.until` as
    /// its expiry and its version raised by one, and nothing else: no
    /// event, `updated_at` unchanged, for a renewal is bookkeeping, not a
    /// change of the call. Answers the ids renewed. An id missing from the
    /// answer has lost its claim (it was recovered, or moved on), and its
    /// worker MUST stop placing it.
    ///
    /// A lease that lapsed but that no one has acted on is renewed too:
    /// recovering a call changes its status or its lease's worker, and the
    /// raised version makes a recovery that read the old lease lose its
    /// save, so a renewal and a recovery never both win.
    async fn renew_leases(
        &self,
        renewal: &LeaseRenewal,
        ids: &[CallId],
    ) -> Result<Vec<CallId>, StoreError>;

    /// Makes the occurrence that follows `previous` ([`Series::successor`]
    /// of its stored series at `now`), raising the series' `occurrences`
    /// by one, in one transaction, and answers it with its event. `None`,
    /// with nothing written, when there is none: `previous` is not an
    /// occurrence, or not the latest of its series (checked against the
    /// stored count, so two writers racing make one), or the series is
    /// canceled or over.
    async fn advance_series(
        &self,
        previous: &Call,
        now: DateTime<Utc>,
    ) -> Result<Option<(Call, CallEvent)>, StoreError>;

    /// The series with this id.
    async fn series(&self, id: &SeriesId) -> Result<Option<Series>, StoreError>;

    /// Up to `limit` series, newest first by id, with ids before `before`
    /// when it is given: a keyset page.
    async fn list_series<'a>(
        &self,
        before: Option<&'a SeriesId>,
        limit: usize,
    ) -> Result<Vec<Series>, StoreError>;

    /// Marks a series canceled at `now` (kept as it was if it was canceled
    /// already), so no occurrence is made after it, and answers it; `None`
    /// for an unknown series. Its occurrences are left as they are.
    async fn cancel_series(
        &self,
        id: &SeriesId,
        now: DateTime<Utc>,
    ) -> Result<Option<Series>, StoreError>;

    /// Puts `entry` on the do-not-call list, unless its number is listed
    /// already: then nothing changes and the answer is the entry as it
    /// stands. `None` when it was added.
    async fn add_do_not_call(&self, entry: &DoNotCall) -> Result<Option<DoNotCall>, StoreError>;

    /// Takes `phone` off the do-not-call list; `false` when it was not on it.
    async fn remove_do_not_call(&self, phone: &PhoneNumber) -> Result<bool, StoreError>;

    /// The entries of the do-not-call list among `phones`.
    async fn do_not_call(&self, phones: &[PhoneNumber]) -> Result<Vec<DoNotCall>, StoreError>;

    /// Up to `limit` entries of the do-not-call list in number order (as
    /// E.164 text), after `after` when it is given: a keyset page.
    async fn list_do_not_call<'a>(
        &self,
        after: Option<&'a PhoneNumber>,
        limit: usize,
    ) -> Result<Vec<DoNotCall>, StoreError>;

    /// The earliest moment something is due: the `scheduled_at` of a
    /// `scheduled` call no recorded [`Pause`] covers, the `until` of a
    /// recorded pause (calls it holds may be due then), a call's
    /// `deadline_at`, or a `dispatching` call's lease expiry. `None` when
    /// nothing is pending. It never depends on the time now, so a watcher
    /// can compare answers; a call held by a pause without end is not due.
    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Up to `limit` calls whose `deadline_at` is at or before `now`, earliest first.
    async fn deadlines_due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Call>, StoreError>;

    /// Up to `limit` calls in `dispatching` whose lease expired at or before
    /// `now`, earliest first.
    async fn expired_leases(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Call>, StoreError>;

    /// Up to `limit` outbound calls in a live status with an `external_id`
    /// (the calls whose provider status is being followed), ordered by id,
    /// with ids after `after` when it is given: a keyset page, so a poll
    /// round can walk all of them however many there are.
    async fn following<'a>(
        &self,
        after: Option<&'a CallId>,
        limit: usize,
    ) -> Result<Vec<Call>, StoreError>;

    /// The alerts passing [`AlertQuery::matches`](crate::alerts::AlertQuery::matches),
    /// newest first by (`raised_at`, `id`), after the cursor, at most `limit`.
    ///
    /// Every write of events (`insert`, `insert_keyed`, `save_and_insert`)
    /// MUST also write, in the same transaction, what
    /// [`AlertWrites::of`](crate::alerts::AlertWrites::of) says those events
    /// do to the alerts of each call written.
    async fn alerts(
        &self,
        query: &crate::alerts::AlertQuery,
    ) -> Result<crate::alerts::AlertPage, StoreError>;

    /// One alert, by the id of the event that raised it.
    async fn alert(&self, id: &EventId) -> Result<Option<crate::alerts::AlertRecord>, StoreError>;

    /// The calls passing [`HistoryQuery::matches`] for `number`, newest
    /// first by ([`Call::happened_at`], `id`), after the cursor, at most `limit`.
    async fn history(
        &self,
        number: &PhoneNumber,
        query: &HistoryQuery,
    ) -> Result<Page<Call>, StoreError>;

    /// The audit log of a call, in the order it was written; empty for an unknown call.
    async fn events(&self, id: &CallId) -> Result<Vec<CallEvent>, StoreError>;

    /// The event with this id, to answer a repeated delivery as the first.
    async fn event(&self, id: &EventId) -> Result<Option<CallEvent>, StoreError>;

    /// The audit log of every call in commit order: at most `limit` entries
    /// whose position is after `after`, each with its call as it is now.
    /// Live clients catch up through it (`/api/ws?after=N`).
    async fn log_after(&self, after: u64, limit: usize) -> Result<Vec<LogEntry>, StoreError>;

    /// The position of the last entry committed to the audit log; 0 while it is empty.
    async fn log_head(&self) -> Result<u64, StoreError>;

    /// Adds a queue to the registry.
    ///
    /// # Errors
    ///
    /// [`StoreError::DuplicateQueue`] when it is there already.
    async fn add_queue(&self, queue: &Queue) -> Result<(), StoreError>;

    /// Removes a queue; returns whether it was there. Calls keep their `queue_id`.
    async fn remove_queue(&self, id: &QueueId) -> Result<bool, StoreError>;

    /// The queue with this id.
    async fn queue(&self, id: &QueueId) -> Result<Option<Queue>, StoreError>;

    /// Every queue, ordered by id.
    async fn queues(&self) -> Result<Vec<Queue>, StoreError>;

    /// Records a pause of dispatch, replacing the one of the same scope
    /// (the same queue, or every call) if there is one.
    async fn pause(&self, pause: &Pause) -> Result<(), StoreError>;

    /// Lifts the pause of `queue`, or the pause of every call when `None`
    /// (a queue's own pause stays); answers whether there was one.
    async fn resume<'a>(&self, queue: Option<&'a QueueId>) -> Result<bool, StoreError>;

    /// Every pause recorded, lapsed ones included until a claim forgets
    /// them: the pause of every call first, then by queue.
    async fn pauses(&self) -> Result<Vec<Pause>, StoreError>;

    /// The sums behind the queue and agent metrics, as each field of
    /// [`QueueTotals`] and [`AgentTotals`] defines them, with
    /// `sla_seconds` as the service-level threshold.
    async fn stats_inputs(&self, sla_seconds: f64) -> Result<StatsInputs, StoreError>;

    /// What happened in each minute from `since` (inclusive) to `until`
    /// (exclusive), as each field of [`MinuteTotals`] defines it: ordered
    /// by minute, minutes in which nothing ended and nothing was placed
    /// left out.
    async fn minute_totals(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<MinuteTotals>, StoreError>;

    /// How many calls are in each status, in [`CallStatus::ALL`] order;
    /// statuses no call is in are left out. For gauges such as the
    /// backlog of scheduled calls.
    async fn count_by_status(&self) -> Result<Vec<(CallStatus, u64)>, StoreError>;

    /// The due moments that other processes sharing this storage write
    /// from now on (see [`Announcements`]). A store that several processes
    /// can share SHOULD announce, within milliseconds of each commit, every
    /// `scheduled_at` of a `scheduled` call and every `deadline_at` it
    /// writes that is sooner than what was due before; announcing more is
    /// harmless, as workers compare each moment with their plan. Workers
    /// call this once, when they start. By default nothing is announced,
    /// and other processes' calls are seen at the next recheck.
    fn announcements(&self) -> Announcements {
        Announcements::none()
    }
}
