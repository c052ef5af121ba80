use std::{sync::Arc, time::Duration};

use call_core::{
    CallId, Engine, EventSource, IncomingEvent, Lifecycle, NewCall, PhoneNumber, WorkerConfig,
    WorkerId,
    ports::{CallProvider, CallStore, Claim, Clock, ManualClock},
    testing::{FakeProvider, MemoryStore, RecordingNotifier},
};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use tokio::{sync::oneshot, task::JoinHandle};

/// An engine on the in-memory store, a manual clock, the fake provider and
/// a recording notifier.
pub(crate) struct TestApp {
    pub(crate) engine: Engine,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) store: Arc<MemoryStore>,
    pub(crate) provider: Arc<FakeProvider>,
    pub(crate) notifier: Arc<RecordingNotifier>,
}

pub(crate) fn spawn_app() -> TestApp {
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 5, 4, 9, 0, 0).unwrap()));
    let store = Arc::new(MemoryStore::new());
    let notifier = Arc::new(RecordingNotifier::new());
    let engine =
        Engine::builder(store.clone()).clock(clock.clone()).notifier(notifier.clone()).build();
    let provider = Arc::new(FakeProvider::new(clock.clone()));
    TestApp { engine, clock, store, provider, notifier }
}

/// A worker running in the background until [`RunningWorker::stop`].
pub(crate) struct RunningWorker {
    stop: oneshot::Sender<()>,
    handle: JoinHandle<()>,
}

impl RunningWorker {
    /// Signals shutdown and waits (boundedly) for the worker to return.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.handle)
            .await
            .expect("the worker shuts down")
            .expect("the worker does not panic");
    }

    pub(crate) fn signal_stop(self) -> JoinHandle<()> {
        let _ = self.stop.send(());
        self.handle
    }
}

impl TestApp {
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub(crate) fn at(&self, seconds: f64) -> DateTime<Utc> {
        self.now() + TimeDelta::milliseconds((seconds * 1000.0) as i64)
    }

    pub(crate) fn start_worker(&self, config: WorkerConfig) -> RunningWorker {
        self.start_worker_with(self.provider.clone(), config)
    }

    /// A worker placing calls through `provider` instead of the fake one.
    pub(crate) fn start_worker_with(
        &self,
        provider: Arc<dyn CallProvider>,
        config: WorkerConfig,
    ) -> RunningWorker {
        let (stop, stopped) = oneshot::channel::<()>();
        let worker = self.engine.worker(provider, config).unwrap();
        let handle = tokio::spawn(worker.run(async {
            let _ = stopped.await;
        }));
        RunningWorker { stop, handle }
    }

    /// Moves the clock forward in steps of at most `step`, letting the
    /// worker catch up after each (it reacts to the clock, not to real time).
    pub(crate) async fn advance(&self, total: Duration, step: Duration) {
        let mut left = total;
        while !left.is_zero() {
            let by = left.min(step);
            self.clock.advance(by);
            left -= by;
            settle().await;
        }
    }

    /// Moves the clock forward by `step` at a time until `condition` holds,
    /// at most `max` in all. For waits measured from a moment a worker task
    /// picks itself (a retry's backoff), which a fixed advance would race.
    pub(crate) async fn advance_until<F, Fut>(
        &self,
        what: &str,
        step: Duration,
        max: Duration,
        mut condition: F,
    ) where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let mut advanced = Duration::ZERO;
        while !condition().await {
            assert!(advanced < max, "{what} did not happen within {max:?} of clock time");
            self.advance(step, step).await;
            advanced += step;
        }
    }

    pub(crate) async fn ingest(
        &self,
        call_id: &str,
        lifecycle: Lifecycle,
        at: Option<DateTime<Utc>>,
    ) {
        self.try_ingest(call_id, lifecycle, at).await.expect("ingest");
    }

    pub(crate) async fn try_ingest(
        &self,
        call_id: &str,
        lifecycle: Lifecycle,
        at: Option<DateTime<Utc>>,
    ) -> Result<call_core::Ingested, call_core::Error> {
        self.engine
            .ingest(IncomingEvent {
                call_id: CallId::parse(call_id).unwrap(),
                event_id: None,
                timestamp: at,
                source: EventSource::Api,
                lifecycle,
            })
            .await
    }
}

/// Waits until every task of the test's runtime is blocked: the worker has
/// done all it can until the clock moves or something reaches it. The
/// tests run on paused tokio time (`start_paused`), where a sleep ends only
/// once the runtime has nothing left to run (tokio then moves its clock to
/// the next timer), so a worker slow to react cannot make "not placed
/// before its due time" pass: it is given every chance to place the call.
pub(crate) async fn settle() {
    tokio::time::sleep(Duration::from_millis(1)).await;
}

/// Waits, boundedly, until `condition` holds; panics naming `what` otherwise.
pub(crate) async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !condition().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

pub(crate) fn phone(n: u32) -> PhoneNumber {
    PhoneNumber::parse(&format!("+1415555{n:04}")).unwrap()
}

pub(crate) fn id(name: &str) -> CallId {
    CallId::parse(name).unwrap()
}

pub(crate) fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub(crate) fn millis(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A claim whose worker died mid-request: the call sits in `dispatching`
/// with a lease that will lapse.
pub(crate) async fn claim_by_a_dead_worker(app: &TestApp) -> call_core::CallId {
    let call = app.engine.schedule(NewCall::to(phone(1))).await.unwrap();
    let claimed = claim_as_a_dead_worker(app).await;
    assert_eq!(claimed.len(), 1);
    call.id().clone()
}

/// What is due now, claimed by a worker `dead` whose lease lapses in 60 s
/// and which never places anything.
pub(crate) async fn claim_as_a_dead_worker(app: &TestApp) -> Vec<call_core::ports::Claimed> {
    let claim = Claim {
        now: app.now(),
        worker: WorkerId::parse("dead").unwrap(),
        lease_until: app.at(60.0),
        limit: 10,
    };
    app.store.claim_due(&claim).await.unwrap()
}
