//! Integration tests of call-core through its public API.

mod call_centre;
mod conformance;
mod dnc;
mod engine;
mod helpers;
mod metrics;
mod mocks;
mod redial;
mod series;
mod window;
mod worker;
