//! The client against the stand-in, the stand-in against the contract, and
//! the engine placing calls through both.

mod contract;
mod end_to_end;
mod stand_in;
