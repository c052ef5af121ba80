//! callwork's [`CallProvider`](call_core::ports::CallProvider) for the Mock
//! Call API, and a stand-in of that API.
//!
//! - [`HttpProvider`]: the client — `POST /api/call`, `GET /api/call/{id}` —
//!   on one pooled reqwest client with connect and request timeouts. It reads
//!   the Mock Call API's answers and also what real providers send:
//!   timestamps with or without offsets, extra fields, Twilio-style statuses.
//!   Errors are classified for the engine: connect errors, 429 and 5xx are
//!   `Transient` (429 with its `Retry-After`); a timeout or a connection cut
//!   once the request was sent is `Unanswered` (the provider may have placed
//!   the call); other 4xx `Permanent`
//!   with the provider's message; 404 on a status fetch `NotFound`;
//!   an unreadable answer or unknown status `Invalid`.
//! - [`parse_callback`]: a status callback's body (this provider's call
//!   object, or Twilio-style form fields) as a core status update.
//! - `mock` (feature `mock-server`): `MockCallApi`, a faithful stand-in
//!   with fault injection, and the binary `mock-call-api`.
//!
//! # Example
//!
//! ```no_run
//! use std::sync::Arc;
//! use call_core::{Engine, WorkerConfig, testing::MemoryStore};
//! use call_provider_http::HttpProvider;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let provider = Arc::new(HttpProvider::new("http://localhost:5000")?);
//! let engine = Engine::builder(Arc::new(MemoryStore::new())).build();
//! engine.worker(provider, WorkerConfig::default())?.run(std::future::pending()).await;
//! # Ok(())
//! # }
//! ```

mod callback;
mod client;
#[cfg(feature = "mock-server")]
pub mod mock;
pub mod wire;

pub use callback::parse_callback;
pub use client::{ConfigError, DEFAULT_BASE_URL, HttpProvider, HttpProviderConfig};
