use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::Notify;

use crate::{
    PhoneNumber,
    ports::{
        Alert, CallProvider, Clock, Notification, Notifier, PlaceCall, ProviderCall, ProviderError,
        ProviderStatus,
    },
};

/// A provider that behaves like the Mock Call API on the engine's clock:
/// each accepted call is `initiated`, `ringing` at 2 s, `connected` at 5 s
/// and `completed` with a duration of 10 at 10 s. It can be told to fail
/// placements, to end calls busy / no-answer / failed instead, to forget
/// its calls (as the Mock Call API does when it restarts), and to hold
/// placements until released.
#[derive(Debug)]
pub struct FakeProvider {
    clock: Arc<dyn Clock>,
    state: Mutex<FakeState>,
    released: Notify,
}

#[derive(Debug, Default)]
struct FakeState {
    calls: HashMap<String, FakeCall>,
    placements: HashMap<PhoneNumber, usize>,
    place_requests: usize,
    scripted_failures: VecDeque<ProviderError>,
    outcome: Option<ProviderStatus>,
    holding: bool,
    next_id: u64,
}

#[derive(Debug, Clone)]
struct FakeCall {
    created_at: DateTime<Utc>,
    outcome: ProviderStatus,
}

impl FakeProvider {
    /// A provider whose calls progress on `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> FakeProvider {
        FakeProvider { clock, state: Mutex::new(FakeState::default()), released: Notify::new() }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next placement requests fail with these errors, in order.
    pub fn fail_next_placements(&self, errors: impl IntoIterator<Item = ProviderError>) {
        self.state().scripted_failures.extend(errors);
    }

    /// Calls placed from now on end this way at 5 s instead of being
    /// answered (`busy`, `no_answer`, `failed`); `completed` restores the default.
    pub fn set_outcome(&self, outcome: ProviderStatus) {
        self.state().outcome = Some(outcome);
    }

    /// Forgets every call, as the Mock Call API does when it restarts: each
    /// earlier id answers `NotFound` from now on.
    pub fn forget_all(&self) {
        self.state().calls.clear();
    }

    /// Placement requests wait, unanswered, until [`release`](Self::release).
    pub fn hold_placements(&self) {
        self.state().holding = true;
    }

    /// Answers every held placement request and stops holding.
    pub fn release(&self) {
        self.state().holding = false;
        self.released.notify_waiters();
    }

    /// How many calls were accepted for `number`: how often it was dialled.
    pub fn placements(&self, number: &PhoneNumber) -> usize {
        self.state().placements.get(number).copied().unwrap_or(0)
    }

    /// How many calls were accepted, for every number.
    pub fn total_placements(&self) -> usize {
        self.state().placements.values().sum()
    }

    /// How many placement requests arrived, failed ones included.
    pub fn place_requests(&self) -> usize {
        self.state().place_requests
    }

    fn status_of(&self, call: &FakeCall) -> ProviderCall {
        let elapsed = self.clock.now() - call.created_at;
        let (status, duration_seconds) = if elapsed < TimeDelta::seconds(2) {
            (ProviderStatus::Initiated, None)
        } else if elapsed < TimeDelta::seconds(5) {
            (ProviderStatus::Ringing, None)
        } else if call.outcome != ProviderStatus::Completed {
            (call.outcome, None)
        } else if elapsed < TimeDelta::seconds(10) {
            (ProviderStatus::Connected, None)
        } else {
            (ProviderStatus::Completed, Some(10.0))
        };
        ProviderCall { external_id: String::new(), status, duration_seconds }
    }
}

#[async_trait]
impl CallProvider for FakeProvider {
    async fn place_call(&self, request: &PlaceCall) -> Result<ProviderCall, ProviderError> {
        loop {
            // Register interest before checking, so a release in between is not missed.
            let released = self.released.notified();
            if !self.state().holding {
                break;
            }
            released.await;
        }
        let mut state = self.state();
        state.place_requests += 1;
        if let Some(error) = state.scripted_failures.pop_front() {
            return Err(error);
        }
        state.next_id += 1;
        let external_id = format!("fake-{}", state.next_id);
        let outcome = state.outcome.unwrap_or(ProviderStatus::Completed);
        state.calls.insert(external_id.clone(), FakeCall { created_at: self.clock.now(), outcome });
        *state.placements.entry(request.to.clone()).or_default() += 1;
        Ok(ProviderCall { external_id, status: ProviderStatus::Initiated, duration_seconds: None })
    }

    async fn fetch_call(&self, external_id: &str) -> Result<ProviderCall, ProviderError> {
        let call = self.state().calls.get(external_id).cloned();
        let call =
            call.ok_or_else(|| ProviderError::NotFound { external_id: external_id.to_owned() })?;
        Ok(ProviderCall { external_id: external_id.to_owned(), ..self.status_of(&call) })
    }
}

/// Keeps every notification, for tests to inspect.
#[derive(Debug, Default)]
pub struct RecordingNotifier {
    notifications: Mutex<Vec<Notification>>,
}

impl RecordingNotifier {
    /// An empty recorder.
    pub fn new() -> RecordingNotifier {
        RecordingNotifier::default()
    }

    /// Every notification so far, in order.
    pub fn notifications(&self) -> Vec<Notification> {
        self.notifications.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The alerts so far, in order.
    pub fn alerts(&self) -> Vec<Alert> {
        self.notifications()
            .into_iter()
            .filter_map(|n| match n {
                Notification::Alert(alert) => Some(alert),
                _ => None,
            })
            .collect()
    }
}

impl Notifier for RecordingNotifier {
    fn notify(&self, notification: &Notification) {
        self.notifications.lock().unwrap_or_else(|e| e.into_inner()).push(notification.clone());
    }
}
