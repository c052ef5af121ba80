//! Any sequence of triggers from any status: the machine never panics,
//! never leaves a terminal status, and answers the same twice.
#![no_main]

use call_core::{CallStatus, machine::{Trigger, transition}};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else { return };
    let mut status = CallStatus::ALL[first as usize % CallStatus::ALL.len()];
    for &byte in rest {
        let trigger = Trigger::ALL[byte as usize % Trigger::ALL.len()];
        let next = transition(status, trigger);
        assert_eq!(next, transition(status, trigger), "deterministic");
        match next {
            Ok(to) => {
                assert!(!status.is_terminal(), "{status} left by {trigger:?} to {to}");
                status = to;
            }
            Err(refused) => assert_eq!(refused.from, status),
        }
    }
});
