//! The ports: everything `call-core` needs from the outside world, as traits.
//! Adapters implement them; the core knows no adapter.

mod clock;
mod notifier;
mod provider;
mod store;

pub(crate) use clock::to_micros;
pub use clock::{Clock, ManualClock, SystemClock};
#[cfg(feature = "testing")]
pub use notifier::MockNotifier;
pub use notifier::{Alert, BroadcastNotifier, Fanout, LogNotifier, Notification, Notifier};
#[cfg(feature = "testing")]
pub use provider::MockCallProvider;
pub use provider::{CallProvider, PlaceCall, ProviderCall, ProviderError, ProviderStatus};
#[cfg(feature = "testing")]
pub use store::MockCallStore;
pub use store::{
    AgentTotals, Announcements, BackendError, CallStore, Claim, Claimed, Cursor, HistoryQuery,
    LeaseRenewal, ListQuery, LogEntry, MinuteTotals, Page, PageOrder, Queue, QueueTotals,
    ReadToChange, StatsInputs, StoreError,
};
pub(crate) use store::{not_a_cursor, position};
