//! The one shutdown signal of callwork's processes (`call-http`, `calls
//! run`, `mock-call-api`): a future that resolves on Ctrl-C or SIGTERM.
//!
//! The handlers are installed when [`shutdown_signal`] is called, not when
//! its future is first polled: a service manager may send SIGTERM as soon
//! as the process says it started, before the future is awaited, and that
//! signal must stop it gracefully rather than kill it.
//!
//! ```no_run
//! # async fn serve() {}
//! # async fn example() {
//! let stop = call_signal::shutdown_signal();
//! tokio::select! {
//!     () = serve() => {}
//!     () = stop => { /* finish what is in flight, then return */ }
//! }
//! # }
//! ```

use std::future::Future;

/// Resolves on Ctrl-C (SIGINT) or SIGTERM; on a platform without SIGTERM,
/// on Ctrl-C. A handler that cannot be installed never fires (the others
/// still do).
///
/// Call it from within a Tokio runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{Signal, SignalKind, signal};
        async fn received(signal: Option<Signal>) {
            match signal {
                Some(mut signal) => {
                    signal.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        let interrupt = signal(SignalKind::interrupt()).ok();
        let terminate = signal(SignalKind::terminate()).ok();
        async move {
            tokio::select! {
                () = received(interrupt) => {}
                () = received(terminate) => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_sigterm_sent_before_the_future_is_awaited_still_stops_it() {
        let stop = shutdown_signal();
        // The signal arrives before anyone waits on `stop`.
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &std::process::id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success());
        tokio::time::timeout(Duration::from_secs(10), stop)
            .await
            .expect("the signal resolves the future");
    }
}
