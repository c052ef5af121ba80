//! `calls import` of a large file, and `Engine::schedule_many` of the same
//! rows: their rates against a bare batched insert of those rows into
//! SQLite, and how much memory the import holds.
//!
//! Run with: cargo bench -p call-cli --bench import
//! Quick check (CI): cargo bench -p call-cli --bench import -- --quick
//!
//! Full mode imports 100,000 rows for the rate and 1,000,000 for the
//! memory; quick mode 10,000 and 100,000. The rate is compared with a bare
//! insert of the same rows (1,000 to a multi-row `INSERT`, one transaction
//! each, into a fresh file with the store's pragmas: WAL,
//! `synchronous = NORMAL`) timed in the same run, so the ratio holds on a
//! noisy machine where the absolute figures drift. Nothing here asserts a
//! speed: the figures are printed with their goals (issue #15).

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    str::FromStr,
    time::{Duration, Instant},
};

use sqlx::{
    Connection, SqliteConnection,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous},
};

/// Rows per transaction of the bare insert, as `calls import` writes them.
const BATCH: usize = 1_000;

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (rate_rows, memory_rows) = if quick { (10_000, 100_000) } else { (100_000, 1_000_000) };
    let dir = tempfile::tempdir().expect("a temp dir");
    println!(
        "calls import ({} mode), release build, files in {}",
        if quick { "quick" } else { "full" },
        dir.path().display()
    );

    let csv = dir.path().join("rate.csv");
    write_rows(&csv, rate_rows);
    let bare = bare_insert(&csv, &dir.path().join("bare.db")).await;
    let import = run_import(&csv, &dir.path().join("import.db"));
    let (bare_rate, import_rate) = (rate(rate_rows, bare), rate(rate_rows, import.elapsed));
    println!(
        "bare batched insert of {rate_rows} rows: {:.2} s = {bare_rate:.0} rows/s",
        secs(bare)
    );
    println!(
        "calls import of the same {rate_rows} rows: {:.2} s = {import_rate:.0} calls/s, \
         peak resident {} MiB",
        secs(import.elapsed),
        import.peak_kib / 1024
    );
    println!("ratio import / bare insert: {:.2} (goal >= 0.3)", import_rate / bare_rate);
    let many = schedule_many(&csv, &dir.path().join("many.db")).await;
    let many_rate = rate(rate_rows, many);
    println!(
        "Engine::schedule_many of the same {rate_rows} rows: {:.2} s = {many_rate:.0} calls/s, \
         ratio to the bare insert {:.2} (goal >= 0.5)",
        secs(many),
        many_rate / bare_rate
    );
    // What bounds the two: the store's own writes of the very rows
    // schedule_many stored (each call with its 38 columns and indexes, and
    // its audit event), with no engine in front.
    let written = store_insert(&dir.path().join("many.db"), &dir.path().join("written.db")).await;
    let written_rate = rate(rate_rows, written);
    println!(
        "  (SqliteStore::insert of those calls and their events, 1,000 to a write, no engine: \
         {:.2} s = {written_rate:.0} calls/s, ratio to the bare insert {:.2})",
        secs(written),
        written_rate / bare_rate
    );

    let csv = dir.path().join("memory.csv");
    write_rows(&csv, memory_rows);
    let import = run_import(&csv, &dir.path().join("memory.db"));
    println!(
        "calls import of {memory_rows} rows: {:.2} s = {:.0} calls/s, peak resident {} MiB \
         (goal < 100 MiB for 1,000,000)",
        secs(import.elapsed),
        rate(memory_rows, import.elapsed),
        import.peak_kib / 1024
    );
}

/// A CSV file of `n` rows, each to its own number, with a name, a
/// workflow and a due time, as a campaign's export would have them.
fn write_rows(path: &Path, n: usize) {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("create the csv"));
    writeln!(file, "phone_number,scheduled_at,customer_name,workflow").expect("write");
    for i in 0..n {
        writeln!(
            file,
            "+1415{:07},2030-01-01T09:00:00Z,Customer {i},reminder",
            5_000_000 + i % 4_000_000
        )
        .expect("write");
    }
    file.flush().expect("flush");
}

/// What one run of `calls import` took.
struct Run {
    elapsed: Duration,
    /// The process's peak resident memory (`VmHWM`), as last read before it exited.
    peak_kib: u64,
}

fn run_import(csv: &Path, db: &Path) -> Run {
    let started = Instant::now();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_calls"))
        .arg("--db")
        .arg(db)
        .arg("import")
        .arg(csv)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start calls import");
    let status_file = PathBuf::from(format!("/proc/{}/status", child.id()));
    let mut peak_kib = 0;
    let status = loop {
        if let Some(kib) = std::fs::read_to_string(&status_file).ok().and_then(|s| vm_hwm(&s)) {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait().expect("wait for calls import") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let elapsed = started.elapsed();
    let output = child.wait_with_output().expect("read calls import's output");
    assert!(status.success(), "calls import failed: {}", String::from_utf8_lossy(&output.stderr));
    assert!(output.stderr.is_empty(), "{}", String::from_utf8_lossy(&output.stderr));
    Run { elapsed, peak_kib }
}

/// `VmHWM` of a `/proc/PID/status`, in KiB.
fn vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The same rows scheduled in one `Engine::schedule_many` on a fresh
/// `SqliteStore`, their numbers parsed first (not timed).
async fn schedule_many(csv: &Path, db: &Path) -> Duration {
    use call_core::{Engine, NewCall, PhoneNumber};
    let mut reader = csv::Reader::from_path(csv).expect("open the csv");
    let calls: Vec<NewCall> = reader
        .records()
        .map(|record| {
            let record = record.expect("a row");
            NewCall::to(PhoneNumber::parse(&record[0]).expect("a number"))
                .customer_name(&record[2])
                .workflow(&record[3])
        })
        .collect();
    let store = call_store_sqlite::SqliteStore::open(db).await.expect("open the store");
    let engine = Engine::builder(std::sync::Arc::new(store)).build();
    let started = Instant::now();
    engine.schedule_many(calls).await.expect("schedule_many");
    started.elapsed()
}

/// The calls and events of the file at `from`, written again by the store
/// alone into a fresh file at `to`, 1,000 calls to a write (read back
/// first, not timed).
async fn store_insert(from: &Path, to: &Path) -> Duration {
    use call_core::ports::CallStore;
    let source = call_store_sqlite::SqliteStore::open(from).await.expect("open the store");
    let mut entries = Vec::new();
    loop {
        let after = entries.last().map_or(0, |entry: &call_core::ports::LogEntry| entry.seq);
        let page = source.log_after(after, 10_000).await.expect("the log");
        if page.is_empty() {
            break;
        }
        entries.extend(page);
    }
    let target = call_store_sqlite::SqliteStore::open(to).await.expect("open the store");
    let started = Instant::now();
    for chunk in entries.chunks(BATCH) {
        let calls: Vec<_> = chunk.iter().map(|entry| entry.call.clone()).collect();
        let events: Vec<_> = chunk.iter().map(|entry| entry.event.clone()).collect();
        target.insert(&calls, &events).await.expect("insert");
    }
    started.elapsed()
}

/// The same rows inserted as plainly as SQLite takes them: the CSV read
/// and each row's fields bound, 1,000 rows to a statement and a
/// transaction, into one table keyed by a UUID as the calls are.
async fn bare_insert(csv: &Path, db: &Path) -> Duration {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", db.display()))
        .expect("options")
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal);
    let mut conn = SqliteConnection::connect_with(&options).await.expect("open the bare file");
    sqlx::query(
        "CREATE TABLE calls (id TEXT PRIMARY KEY, to_number TEXT NOT NULL, \
         scheduled_at TEXT NOT NULL, customer_name TEXT, workflow TEXT)",
    )
    .execute(&mut conn)
    .await
    .expect("create the table");
    let started = Instant::now();
    let mut reader = csv::Reader::from_path(csv).expect("open the csv");
    let records: Vec<csv::StringRecord> =
        reader.records().collect::<Result<_, _>>().expect("read the csv");
    for chunk in records.chunks(BATCH) {
        let mut tx = conn.begin().await.expect("begin");
        let mut insert = sqlx::QueryBuilder::new(
            "INSERT INTO calls (id, to_number, scheduled_at, customer_name, workflow) ",
        );
        insert.push_values(chunk, |mut row, record| {
            row.push_bind(uuid::Uuid::now_v7().to_string())
                .push_bind(record[0].to_owned())
                .push_bind(record[1].to_owned())
                .push_bind(record[2].to_owned())
                .push_bind(record[3].to_owned());
        });
        insert.build().execute(&mut *tx).await.expect("insert");
        tx.commit().await.expect("commit");
    }
    started.elapsed()
}

fn rate(n: usize, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64()
}

fn secs(elapsed: Duration) -> f64 {
    elapsed.as_secs_f64()
}
