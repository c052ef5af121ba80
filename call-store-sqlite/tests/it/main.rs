//! Integration tests of the SQLite store.

mod bad_input;
mod conformance;
mod durability;
mod helpers;
mod plans;
mod stats;
mod writes;
