//! Test doubles and the store conformance suite (feature `testing`).
//!
//! - [`MemoryStore`]: a complete [`CallStore`](crate::ports::CallStore) in
//!   memory, for tests, demos and embedding without a database;
//! - [`FakeProvider`]: a [`CallProvider`](crate::ports::CallProvider) that
//!   behaves like the Mock Call API on the engine's clock (initiated, ringing
//!   at 2 s, connected at 5 s, completed at 10 s) and can be told to fail;
//! - [`RecordingNotifier`]: keeps every notification for inspection;
//! - [`MockCallProvider`], [`MockNotifier`], [`MockCallStore`]: mockall's mocks of the ports,
//!   for a test about which calls a port receives and how many;
//! - [`conformance`]: the `CallStore` contract as an executable suite.

pub mod conformance;
mod fakes;
mod memory;

/// Mocks of the ports (mockall), for a test about which calls a port
/// receives and how many; the fakes above model behaviour over time.
pub use crate::ports::{MockCallProvider, MockCallStore, MockNotifier};
pub use fakes::{FakeProvider, RecordingNotifier};
pub use memory::MemoryStore;
