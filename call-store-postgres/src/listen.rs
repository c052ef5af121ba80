//! Wake-ups across processes: one `LISTEN callwork_due` connection per
//! store, started when a worker first asks, relaying each announced due
//! moment to the workers of this process.
//!
//! The trigger in the first migration sends the notification from the
//! writing transaction, so it arrives only once the write is committed and
//! visible. Notifications sent while the connection was down are lost, so
//! after a reconnection the listener announces the earliest moment there
//! is, which makes every worker look at the store.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::{PgPool, postgres::PgListener};
use tokio::sync::broadcast;

/// The channel the migration's trigger notifies.
pub(crate) const CHANNEL: &str = "callwork_due";

/// How long to wait before connecting again after a failure.
const RETRY: Duration = Duration::from_secs(1);

/// Listens for as long as the store's pool is open.
pub(crate) async fn relay(pool: PgPool, sender: broadcast::Sender<DateTime<Utc>>) {
    let mut first = true;
    // Whether the connection is down: its loss is logged once, not each retry.
    let mut down = false;
    loop {
        let mut listener = match connect(&pool).await {
            Ok(listener) => listener,
            Err(error) => {
                if pool.is_closed() {
                    return;
                }
                if down {
                    tracing::debug!(%error, "still cannot listen for due calls");
                } else {
                    tracing::warn!(%error, "cannot listen for due calls; trying again each second");
                    down = true;
                }
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        if down {
            tracing::warn!("listening for due calls again");
            down = false;
        }
        if !first {
            // Whatever was announced while the connection was down is lost.
            let _ = sender.send(DateTime::<Utc>::MIN_UTC);
        }
        first = false;
        loop {
            // Kept up even with no worker subscribed: the store hands this
            // sender to every later worker too.
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    if let Some(due) = parse(notification.payload()) {
                        // No subscriber right now is not an error.
                        let _ = sender.send(due);
                    }
                }
                // The connection was lost: connect again, then wake everyone.
                Ok(None) => break,
                Err(error) => {
                    if pool.is_closed() {
                        return;
                    }
                    tracing::warn!(%error, "lost the connection listening for due calls; trying again each second");
                    down = true;
                    break;
                }
            }
        }
    }
}

async fn connect(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// A payload of the trigger: microseconds since the epoch.
fn parse(payload: &str) -> Option<DateTime<Utc>> {
    let micros: i64 = payload.trim().parse().ok()?;
    Utc.timestamp_micros(micros).single()
}
