//! Integration tests of the PostgreSQL store, against a real server
//! (`call_store_postgres::testing::TestServer`).

mod conformance;
mod helpers;
mod postgres;
