//! Call scheduling and call-lifecycle engine.
//!
//! `call-core` schedules outbound phone calls, places them through a
//! telephony provider when they fall due (to the second, and never twice),
//! follows every call through its lifecycle, applies call-centre business
//! rules to lifecycle events, and answers "what calls did this number
//! have?". It does no I/O of its own: storage, the provider, notifications
//! and time come in through the port traits of [`ports`].
//!
//! # Layout
//!
//! - the domain: [`Call`], [`CallEvent`], [`PhoneNumber`], the ids, [`CallStatus`];
//! - [`machine`]: the state machine, one pure function;
//! - [`rules`]: the business rules, pure functions of (call, event, now, config);
//! - [`ports`]: [`CallStore`](ports::CallStore), [`CallProvider`](ports::CallProvider),
//!   [`Notifier`](ports::Notifier), [`Clock`](ports::Clock);
//! - [`Engine`]: the facade (schedule, ingest, history…) and its [`Worker`];
//! - [`metrics`]: what the engine reports through the `metrics` facade;
//! - `testing` (feature `testing`): an in-memory store, a fake provider and
//!   the store conformance suite.
//!
//! # Example
//!
//! Embedding the engine with the in-memory store and the fake provider of
//! the `testing` feature; a service would pass its SQLite store and HTTP
//! provider instead.
//!
//! ```
//! use std::{sync::Arc, time::Duration};
//!
//! use call_core::{
//!     CallStatus, Engine, NewCall, PhoneNumber, WorkerConfig,
//!     ports::{Clock, ManualClock},
//!     testing::{FakeProvider, MemoryStore},
//! };
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), call_core::Error> {
//! let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
//! let engine = Engine::builder(Arc::new(MemoryStore::new())).clock(clock.clone()).build();
//! let provider = Arc::new(FakeProvider::new(clock.clone()));
//!
//! // Schedule a call for ten seconds from now.
//! let to = PhoneNumber::parse("+1 (415) 555-0100")?;
//! let due = clock.now() + chrono::TimeDelta::seconds(10);
//! let call = engine.schedule(NewCall::to(to).at(due).customer_name("Ada")).await?;
//! assert_eq!(call.status(), CallStatus::Scheduled);
//!
//! // Run the worker until the call has been placed and followed to its end.
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let worker = engine.worker(provider.clone(), WorkerConfig::default())?;
//! let running = tokio::spawn(worker.run(async { stopped.await.ok(); }));
//! for _ in 0..30 {
//!     clock.advance(Duration::from_secs(1));
//!     tokio::time::sleep(Duration::from_millis(20)).await;
//! }
//! stop.send(()).ok();
//! running.await.unwrap();
//!
//! let call = engine.get(call.id()).await?;
//! assert_eq!(call.status(), CallStatus::Completed);
//! assert_eq!(call.duration_seconds(), Some(10.0));
//! assert_eq!(provider.placements(call.to().unwrap()), 1);
//! # Ok(())
//! # }
//! ```

pub mod alerts;
pub mod audit;
mod call;
pub mod dnc;
mod engine;
mod error;
mod event;
mod history;
mod id;
mod idempotency;
pub mod limits;
pub mod machine;
pub mod metrics;
mod names;
pub mod pause;
mod phone;
pub mod ports;
pub mod recurrence;
pub mod redial;
pub mod rules;
pub mod series;
mod stats;
mod status;
#[cfg(feature = "testing")]
pub mod testing;
pub mod time;
pub mod window;

pub use call::{Call, CallParts, Lease, NewCall, Occurrence};
pub use dnc::DoNotCall;
pub use engine::{
    Config, Engine, EngineBuilder, Ingested, LostDispatch, RetryPolicy, Scheduled, Worker,
    WorkerConfig,
};
pub use error::{Error, Refusal, TransitionError, ValidationError};
pub use event::{
    CallEvent, EventFacts, EventSource, EventType, IncomingEvent, Initiated, Lifecycle,
};
pub use history::{HISTORY_STATUSES, HistoryRecord, HistoryType};
pub use id::{AgentId, CallId, EventId, QueueId, SeriesId, WorkerId};
pub use idempotency::{HeldKey, IdempotencyKey, KEY_RETENTION};
pub use pause::Pause;
pub use phone::{PhoneNumber, Region};
pub use recurrence::Recurrence;
pub use redial::{Redial, parse_duration, show_duration};
pub use series::Series;
pub use stats::{ACTIVITY_MINUTES_MAX, Activity, AgentStats, MinuteActivity, QueueStats, Stats};
pub use status::{CallStatus, Direction, EndReason, Flag, Flags, Media, StatusFilter, StatusGroup};
pub use window::{CallingWindow, Weekdays, WindowWait};
