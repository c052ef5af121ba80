//! What the crash and fault suites share: the `calls` binary on a
//! database and scheduling a spread of calls (what every suite shares is
//! in `call-test-support`).

use std::path::Path;

use chrono::{TimeDelta, Utc};

/// `calls ARGS` on the database `db`, quiet but for warnings.
pub(crate) fn calls(db: &Path, args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_calls"));
    command.args(args).env("CALLS_DB", db).env("RUST_LOG", "warn").kill_on_drop(true);
    command
}

/// Schedules `n` calls through `calls import`, one number each, due evenly
/// across `across` starting `after` from now.
pub(crate) async fn import_spread(db: &Path, n: usize, after: TimeDelta, across: TimeDelta) {
    let start = Utc::now() + after;
    let step = across.num_microseconds().unwrap() / n as i64;
    let csv: String = (0..n)
        .map(|i| {
            let due = start + TimeDelta::microseconds(i as i64 * step);
            format!("+1415{:07},{}\n", 5_550_000 + i, due.to_rfc3339())
        })
        .collect();
    let file = db.with_extension("csv");
    std::fs::write(&file, csv).unwrap();
    let imported = calls(db, &["import", file.to_str().unwrap()]).output().await.unwrap();
    assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));
}
