//! The live stream that `/api/ws`, `/socket.io/` and the webhooks send:
//! every entry of the audit log, in commit order, numbered by its position
//! in the log (`seq`), so that a client that lost its connection resumes
//! where it stopped.
//!
//! One task, the `Feed`, follows the store's log
//! ([`CallStore::log_after`]): at once when this process's engine changes
//! something, and every [`POLL`] for changes other processes make (workers
//! on other machines, `calls` on the same file). The entries of each
//! change become a [`LiveMessage`] (its alerts and survey requests one
//! each), serialized once and broadcast to every subscriber.
//!
//! A `Subscription` that starts after position `n` (`?after=n`) first
//! reads what it missed from the store, then takes the broadcast, skipping
//! what it already sent: so it gets every message after `n`, in order,
//! once, across a restart of the server too, as long as `n` is within the
//! replay window of the head. Further behind, or ahead of the log (a number
//! from another database), it is told to reload instead.

use std::{
    collections::{HashMap, VecDeque},
    sync::Arc,
    time::Duration,
};

use call_core::{
    Call, EventId, EventType,
    alerts::{AlertRecord, AlertWrites},
    ports::{CallStore, LogEntry, Notification, StoreError},
};
pub use call_wire::LiveMessage;
use call_wire::{AlertJson, CallJson, EventJson};
use tokio::sync::{
    Mutex,
    broadcast::{self, error::RecvError, error::TryRecvError},
};

/// How often the feed reads the log when this process changed nothing.
pub const POLL: Duration = Duration::from_secs(1);

/// How many entries one read of the log takes.
const PAGE: usize = 500;

/// The replay window by default: a client may resume up to this many
/// positions behind the head of the log.
pub const REPLAY_WINDOW: u64 = 10_000;

/// The messages of entries read from the log, in order: each run of
/// entries one change wrote (one call, one `recorded_at`) is one
/// `call_changed`, whose `seq` is its last entry's, but that an
/// `alert_raised` or `survey_requested` entry is a message of its own
/// (an alert as it is now). So positions grow from message to message.
///
/// `raised` holds alerts as this process raised them, by id; the
/// others are read as they are now.
async fn messages_of(
    store: &dyn CallStore,
    entries: Vec<LogEntry>,
    raised: &mut HashMap<EventId, AlertRecord>,
) -> Result<Vec<LiveMessage>, StoreError> {
    let mut messages = Vec::new();
    let mut run: Vec<LogEntry> = Vec::new();
    for entry in entries {
        let kind = entry.event.event_type();
        let alone = matches!(kind, EventType::AlertRaised | EventType::SurveyRequested);
        let same_change = run.last().is_some_and(|last| {
            last.event.call_id() == entry.event.call_id()
                && last.event.recorded_at() == entry.event.recorded_at()
        });
        if alone || !same_change {
            messages.extend(changed(std::mem::take(&mut run)));
        }
        if !alone {
            run.push(entry);
            continue;
        }
        let LogEntry { seq, event, call } = entry;
        messages.push(if kind == EventType::SurveyRequested {
            LiveMessage::SurveyRequested { seq, call: CallJson::from(&call) }
        } else {
            let record = match raised.remove(event.id()) {
                Some(record) => Some(record),
                None => match store.alert(event.id()).await? {
                    Some(record) => Some(record),
                    None => AlertWrites::of(&call, [&event]).raised.pop(),
                },
            };
            match record {
                Some(record) => LiveMessage::Alert { seq, alert: AlertJson::from(&record) },
                None => changed(vec![LogEntry { seq, event, call }])
                    .expect("one entry makes one message"),
            }
        });
    }
    messages.extend(changed(run));
    Ok(messages)
}

/// The `call_changed` of one run of entries, if any.
fn changed(run: Vec<LogEntry>) -> Option<LiveMessage> {
    let last = run.last()?;
    Some(LiveMessage::CallChanged {
        seq: last.seq,
        call: CallJson::from(&last.call),
        events: run.iter().map(|e| EventJson::from(&e.event)).collect(),
    })
}

/// A message as every subscriber is sent it: serialized once.
#[derive(Debug)]
pub struct Published {
    /// The message.
    pub message: LiveMessage,
    /// Its JSON text.
    pub json: String,
}

impl Published {
    fn new(message: LiveMessage) -> Arc<Published> {
        let json = message.to_json();
        Arc::new(Published { message, json })
    }

    /// The message's position.
    pub fn seq(&self) -> u64 {
        self.message.seq()
    }
}

/// Follows the store's log and broadcasts each entry; see the [module docs](self).
#[derive(Clone)]
pub(crate) struct Feed {
    inner: Arc<FeedInner>,
}

struct FeedInner {
    store: Arc<dyn CallStore>,
    sender: broadcast::Sender<Arc<Published>>,
    /// The position of the last message broadcast, once known. Held while
    /// broadcasting and while subscribing, so that a new subscriber's
    /// receiver has every message after the head it is told.
    head: Mutex<Option<u64>>,
    /// The first head read.
    origin: std::sync::OnceLock<u64>,
    window: u64,
    started: std::sync::atomic::AtomicBool,
}

/// The calls as this process's engine saved them, by the events saved
/// with them, and the alerts as it raised them: a message of the broadcast
/// carries its call (or alert) as this process's change left it, when this
/// process made the change (a later change may already be in the store),
/// and as it is now otherwise.
#[derive(Default)]
struct Saved {
    calls: HashMap<EventId, Call>,
    /// Alerts as they were raised, by id.
    alerts: HashMap<EventId, AlertRecord>,
}

impl Saved {
    /// At most this many kept: an entry never read (nobody listened) is
    /// not kept for ever.
    const MAX: usize = 4 * PAGE;

    fn keep(&mut self, notification: &Notification) {
        if self.calls.len() + self.alerts.len() > Saved::MAX {
            self.clear();
        }
        match notification {
            Notification::CallChanged { call, events } => {
                for event in events {
                    self.calls.insert(event.id().clone(), call.clone());
                }
            }
            Notification::Alert(alert) => {
                self.alerts.insert(alert.id.clone(), AlertRecord::from(alert));
            }
            Notification::SurveyRequested { .. } => {}
        }
    }

    fn clear(&mut self) {
        self.calls.clear();
        self.alerts.clear();
    }
}

/// Why a subscription cannot go on.
#[derive(Debug)]
pub(crate) enum Missed {
    /// The store failed while it was catching up.
    Store(StoreError),
    /// The feed stopped: the server is shutting down.
    Closed,
}

impl std::fmt::Display for Missed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Missed::Store(_) => f.write_str("the database is unavailable"),
            Missed::Closed => f.write_str("the server is shutting down"),
        }
    }
}

impl Feed {
    /// A feed of `store`'s log whose subscribers may fall `capacity`
    /// messages behind, and resume up to `window` positions behind the head.
    pub(crate) fn new(store: Arc<dyn CallStore>, capacity: usize, window: u64) -> Feed {
        Feed {
            inner: Arc::new(FeedInner {
                store,
                sender: broadcast::Sender::new(capacity.max(1)),
                head: Mutex::new(None),
                origin: std::sync::OnceLock::new(),
                window,
                started: std::sync::atomic::AtomicBool::new(false),
            }),
        }
    }

    /// Starts following the log on the current runtime, woken by `hints`
    /// (this process's notifications) and every [`POLL`]; true the first
    /// time, false (and nothing done) after.
    pub(crate) fn start(
        &self,
        hints: broadcast::Receiver<Arc<Notification>>,
        closing: impl Future<Output = ()> + Send + 'static,
    ) -> bool {
        if self.inner.started.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return false;
        }
        tokio::spawn(self.clone().run(hints, closing));
        true
    }

    /// The head, read from the store the first time.
    async fn head<'a>(&'a self) -> Result<tokio::sync::MutexGuard<'a, Option<u64>>, StoreError> {
        let mut head = self.inner.head.lock().await;
        if head.is_none() {
            let origin = self.inner.store.log_head().await?;
            let _ = self.inner.origin.set(origin);
            *head = Some(origin);
        }
        Ok(head)
    }

    /// The position the feed started after: the head of the log when it
    /// was first read.
    pub(crate) async fn origin(&self) -> Result<u64, StoreError> {
        drop(self.head().await?);
        Ok(*self.inner.origin.get().expect("set with the head"))
    }

    async fn run(
        self,
        mut hints: broadcast::Receiver<Arc<Notification>>,
        closing: impl Future<Output = ()> + Send + 'static,
    ) {
        tokio::pin!(closing);
        let mut failing = false;
        let mut last = None;
        let mut saved = Saved::default();
        loop {
            match self.follow(&mut last, &mut saved).await {
                Ok(()) if failing => {
                    failing = false;
                    tracing::info!("live stream: the database answers again");
                }
                Ok(()) => {}
                Err(error) if !failing => {
                    failing = true;
                    tracing::warn!(%error, "live stream: cannot read the log; retrying every second");
                }
                Err(_) => {}
            }
            tokio::select! {
                () = &mut closing => return,
                hint = hints.recv() => match hint {
                    Ok(notification) => saved.keep(&notification),
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return,
                },
                () = tokio::time::sleep(POLL) => {}
            }
            // Every hint that came meanwhile is answered by the one read.
            loop {
                match hints.try_recv() {
                    Ok(notification) => saved.keep(&notification),
                    Err(TryRecvError::Lagged(_)) => {}
                    Err(TryRecvError::Empty | TryRecvError::Closed) => break,
                }
            }
        }
    }

    /// Broadcasts every entry after `last` (the head, the first time).
    async fn follow(&self, last: &mut Option<u64>, saved: &mut Saved) -> Result<(), StoreError> {
        let store = self.inner.store.as_ref();
        let mut after = match *last {
            Some(after) => after,
            None => self.head().await?.unwrap_or_default(),
        };
        *last = Some(after);
        loop {
            if self.inner.sender.receiver_count() == 0 {
                // No one listens: move the head on without reading the entries.
                let stored = store.log_head().await?;
                let mut head = self.inner.head.lock().await;
                if self.inner.sender.receiver_count() == 0 {
                    saved.clear();
                    let moved = stored.max(after);
                    *head = Some(moved);
                    *last = Some(moved);
                    return Ok(());
                }
            }
            let mut page = store.log_after(after, PAGE).await?;
            let full = page.len() == PAGE;
            for entry in &mut page {
                if let Some(call) = saved.calls.remove(entry.event.id()) {
                    entry.call = call;
                }
            }
            for message in messages_of(store, page, &mut saved.alerts).await? {
                let message = Published::new(message);
                let mut head = self.inner.head.lock().await;
                after = message.seq();
                let _ = self.inner.sender.send(message);
                *head = Some(after);
                *last = Some(after);
            }
            if !full {
                return Ok(());
            }
        }
    }

    /// A subscription that goes on after `after`, or after the head when `None`.
    pub(crate) async fn subscribe(&self, after: Option<u64>) -> Result<Subscription, StoreError> {
        let (live, head) = {
            let head = self.head().await?;
            (self.inner.sender.subscribe(), head.unwrap_or_default())
        };
        let reload = |reason: String| LiveMessage::Reload { seq: head, reason };
        let (first, last) = match after {
            None => (LiveMessage::Hello { seq: head }, head),
            Some(after) if after > head => {
                // Perhaps written since, by another process; perhaps another database's.
                let stored = self.inner.store.log_head().await?;
                if after > stored {
                    let reason = format!(
                        "position {after} is ahead of this log, whose head is {stored}: reload"
                    );
                    (reload(reason), head)
                } else {
                    (LiveMessage::Hello { seq: after }, after)
                }
            }
            Some(after) if head - after > self.inner.window => {
                let reason = format!(
                    "position {after} is more than {} behind the head ({head}): reload",
                    self.inner.window
                );
                (reload(reason), head)
            }
            Some(after) => (LiveMessage::Hello { seq: after }, after),
        };
        Ok(Subscription {
            store: self.inner.store.clone(),
            live,
            first: Some(Published::new(first)),
            catching_up: last < head,
            last,
            window: self.inner.window,
            replayed: VecDeque::new(),
        })
    }
}

/// One subscriber's stream: `hello` (or `reload`), what it missed, then
/// the broadcast; see the [module docs](self).
pub(crate) struct Subscription {
    store: Arc<dyn CallStore>,
    live: broadcast::Receiver<Arc<Published>>,
    first: Option<Arc<Published>>,
    /// Whether the next messages are read from the store: what a resumed
    /// subscriber missed, or what the broadcast dropped while it lagged.
    catching_up: bool,
    /// The position of the last message sent.
    last: u64,
    window: u64,
    replayed: VecDeque<Arc<Published>>,
}

impl Subscription {
    /// The next message.
    pub(crate) async fn next(&mut self) -> Result<Arc<Published>, Missed> {
        if let Some(first) = self.first.take() {
            return Ok(first);
        }
        loop {
            if let Some(message) = self.replayed.pop_front() {
                self.last = message.seq();
                return Ok(message);
            }
            if self.catching_up {
                let store = self.store.as_ref();
                let page = store.log_after(self.last, PAGE).await.map_err(Missed::Store)?;
                self.catching_up = page.len() == PAGE;
                let messages =
                    messages_of(store, page, &mut HashMap::new()).await.map_err(Missed::Store)?;
                self.replayed.extend(messages.into_iter().map(Published::new));
                continue;
            }
            match self.live.recv().await {
                Ok(message) if message.seq() <= self.last => {}
                Ok(message) => {
                    self.last = message.seq();
                    return Ok(message);
                }
                Err(RecvError::Lagged(_)) => {
                    // The broadcast dropped messages this subscriber had not
                    // taken: read them from the log, unless it is too far behind.
                    let head = self.store.log_head().await.map_err(Missed::Store)?;
                    if head.saturating_sub(self.last) > self.window {
                        let reason = format!(
                            "fell more than {} positions behind the head ({head}): reload",
                            self.window
                        );
                        self.last = head;
                        return Ok(Published::new(LiveMessage::Reload { seq: head, reason }));
                    }
                    self.catching_up = true;
                }
                Err(RecvError::Closed) => return Err(Missed::Closed),
            }
        }
    }

    /// The position of the last message sent: where to resume.
    pub(crate) fn last(&self) -> u64 {
        self.last
    }
}

#[cfg(test)]
mod tests {
    use call_core::{Engine, NewCall, PhoneNumber, testing::MemoryStore};

    use super::*;

    /// A feed whose broadcast holds 2 messages, and an engine on its store.
    fn feed_of(window: u64) -> (Feed, Engine) {
        let store: Arc<dyn CallStore> = Arc::new(MemoryStore::new());
        (Feed::new(store.clone(), 2, window), Engine::builder(store).build())
    }

    async fn schedule(engine: &Engine, n: usize) -> Vec<String> {
        let at = chrono::Utc::now() + chrono::TimeDelta::hours(1);
        let calls = (0..n)
            .map(|i| NewCall::to(PhoneNumber::parse(&format!("+1415555{i:04}")).unwrap()).at(at))
            .collect();
        engine.schedule_many(calls).await.unwrap().iter().map(|c| c.id().to_string()).collect()
    }

    fn call_of(message: &Published) -> String {
        match &message.message {
            LiveMessage::CallChanged { call, .. } => call.id.clone(),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_subscriber_the_broadcast_left_behind_reads_the_rest_from_the_log() {
        let (feed, engine) = feed_of(100);
        let mut stream = feed.subscribe(None).await.unwrap();
        assert_eq!(stream.next().await.unwrap().message, LiveMessage::Hello { seq: 0 });
        let ids = schedule(&engine, 10).await;
        // Broadcast all ten while the subscriber takes none: it lags by eight.
        feed.follow(&mut None, &mut Saved::default()).await.unwrap();
        let mut got = Vec::new();
        for _ in 0..10 {
            got.push(call_of(&stream.next().await.unwrap()));
        }
        assert_eq!(got, ids, "in order, once");
        assert_eq!(stream.last(), 10);
        let more = tokio::time::timeout(Duration::from_millis(50), stream.next()).await;
        assert!(more.is_err(), "nothing more: {more:?}");
    }

    #[tokio::test]
    async fn a_subscriber_left_further_behind_than_the_window_is_told_to_reload() {
        let (feed, engine) = feed_of(5);
        let mut stream = feed.subscribe(None).await.unwrap();
        assert_eq!(stream.next().await.unwrap().message, LiveMessage::Hello { seq: 0 });
        schedule(&engine, 10).await;
        feed.follow(&mut None, &mut Saved::default()).await.unwrap();
        match &stream.next().await.unwrap().message {
            LiveMessage::Reload { seq: 10, reason } => {
                assert!(reason.contains("more than 5"), "{reason}")
            }
            other => panic!("unexpected {other:?}"),
        }
        let more = tokio::time::timeout(Duration::from_millis(50), stream.next()).await;
        assert!(more.is_err(), "the broadcast's last two are behind the reload: {more:?}");
    }
}
