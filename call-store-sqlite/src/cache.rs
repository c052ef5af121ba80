//! The calls in motion, as this store last wrote or read them.
//!
//! Every change the engine makes is a read, a decision and a save; the read
//! is a round trip to one of SQLite's reader threads (~80–100 µs through
//! sqlx), as long as the decision. [`CallStore::get_to_change`] answers it
//! from here instead when it can. That is safe with other processes writing
//! the same file because every write of a call raises its version and a
//! save checks it: a change decided on what another process has replaced
//! since is refused with a conflict, the entry is forgotten, and the engine
//! reads the call afresh (see the port's contract). Plain reads
//! ([`CallStore::get`]) always go to the file.
//!
//! Only live calls are kept (an ended one changes no more), only calls
//! written a few at a time (a `schedule_many` of a million would push out
//! the calls in motion for ones that will not move for hours), and at most
//! [`CAPACITY`]: past that the cache starts over, which costs only reads.
//!
//! [`CallStore::get_to_change`]: call_core::ports::CallStore::get_to_change
//! [`CallStore::get`]: call_core::ports::CallStore::get

use std::{
    collections::{HashMap, hash_map::Entry},
    sync::Mutex,
};

use call_core::{Call, CallId};

/// The most calls kept.
const CAPACITY: usize = 16_384;

/// Writes of more calls than this keep none of them.
const MAX_KEPT_PER_WRITE: usize = 64;

#[derive(Debug)]
pub(crate) struct LiveCalls {
    calls: Mutex<HashMap<CallId, Call>>,
    /// Whether to keep any (`SqliteOptions::uncached_reads` turns it off).
    enabled: bool,
}

impl LiveCalls {
    pub(crate) fn new(enabled: bool) -> LiveCalls {
        LiveCalls { calls: Mutex::default(), enabled }
    }

    /// The call as this store last wrote or read it, if it kept it.
    pub(crate) fn get(&self, id: &CallId) -> Option<Call> {
        self.lock().get(id).cloned()
    }

    /// Keeps `call`, unless what is kept of it is as new or newer; forgets
    /// it once it has ended.
    pub(crate) fn keep(&self, call: &Call) {
        if !self.enabled {
            return;
        }
        let mut calls = self.lock();
        if call.status().is_terminal() {
            calls.remove(call.id());
            return;
        }
        if calls.len() >= CAPACITY && !calls.contains_key(call.id()) {
            calls.clear();
        }
        match calls.entry(call.id().clone()) {
            Entry::Occupied(mut kept) => {
                // Two writers of one call may report back out of order.
                if kept.get().version() < call.version() {
                    kept.insert(call.clone());
                }
            }
            Entry::Vacant(slot) => {
                slot.insert(call.clone());
            }
        }
    }

    /// Keeps the calls of a write of a few.
    pub(crate) fn keep_written(&self, calls: &[Call]) {
        if calls.len() <= MAX_KEPT_PER_WRITE {
            for call in calls {
                self.keep(call);
            }
        }
    }

    /// Forgets a call, whose stored version may be newer than what is kept.
    pub(crate) fn forget(&self, id: &CallId) {
        self.lock().remove(id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CallId, Call>> {
        // A panic while holding the lock leaves a map that is whole: keep using it.
        self.calls.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
