//! What the store adds to SQLite's own cost of its writes and reads: the
//! store as it runs (its writer thread, its readers on blocking threads)
//! against the same statements on the same file through rusqlite on the
//! caller's thread, with prepared statements kept, in one run. Issue #15
//! item 1 chose the store's driver by this measurement; it was sqlx then.
//!
//! Run with: cargo bench -p call-store-sqlite --bench driver
//! Quick check: cargo bench -p call-store-sqlite --bench driver -- --quick
//!
//! The file is made by the store (its migrations, every index) and holds
//! calls scheduled through the engine. Then, alternating rounds of each:
//!
//! - one read: a call by its id, every column;
//! - one write committed alone: a change of a call (all its columns, the
//!   version checked and raised) with its audit event, as `save` writes it;
//! - a group of 8 such writes in one transaction, as the writer commits
//!   concurrent ones.
//!
//! Nothing here asserts a speed; the figures are printed.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use call_core::{
    Call, CallParts, Engine, EventId, EventSource, EventType, NewCall, PhoneNumber,
    ports::CallStore,
};
use call_store_sqlite::SqliteStore;
use chrono::Utc;
use rusqlite::{Connection, OpenFlags, params_from_iter, types::Value};

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (n_calls, rounds, per_round) = if quick { (2_000, 2, 200) } else { (20_000, 5, 1_000) };
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("driver.db");
    println!(
        "SQLite driver, the store against rusqlite on the caller's thread on the same file ({} mode): {n_calls} calls, \
         {rounds} rounds of {per_round} operations each",
        if quick { "quick" } else { "full" }
    );

    let store = Arc::new(SqliteStore::open(&path).await.expect("open the store"));
    let engine = Engine::builder(store.clone()).build();
    let new_calls: Vec<NewCall> = (0..n_calls)
        .map(|n| {
            NewCall::to(
                PhoneNumber::parse(&format!("+1415{:07}", 5_000_000 + n)).expect("a number"),
            )
        })
        .collect();
    let mut calls = engine.schedule_many(new_calls).await.expect("schedule");
    let conn = rusqlite_connection(&path);
    let mut statements = Statements::new(&conn);

    let (mut store_figures, mut rusqlite) = (Figures::default(), Figures::default());
    let mut next = 0;
    for _ in 0..rounds {
        // The store as it runs.
        let started = Instant::now();
        for i in 0..per_round {
            store.get(calls[(next + i) % calls.len()].id()).await.expect("get");
        }
        store_figures.read += started.elapsed();
        let started = Instant::now();
        for _ in 0..per_round {
            let call = &mut calls[next % n_calls];
            let changed = change(call);
            store.save(&changed, &[event(&changed)]).await.expect("save");
            *call = changed;
            next += 1;
        }
        store_figures.lone_write += started.elapsed();
        let started = Instant::now();
        for _ in 0..per_round / 8 {
            let mut saves = tokio::task::JoinSet::new();
            for _ in 0..8 {
                let call = &mut calls[next % n_calls];
                let changed = change(call);
                *call = changed.clone();
                next += 1;
                let store = store.clone();
                saves.spawn(async move { store.save(&changed, &[event(&changed)]).await });
            }
            while let Some(saved) = saves.join_next().await {
                saved.expect("a task").expect("save");
            }
        }
        store_figures.group_write += started.elapsed();

        // The same on rusqlite; its ids and versions read from the file,
        // which is the same file.
        let started = Instant::now();
        for i in 0..per_round {
            statements.read(calls[(next + i) % calls.len()].id().as_str());
        }
        rusqlite.read += started.elapsed();
        let started = Instant::now();
        for _ in 0..per_round {
            let id = calls[next % calls.len()].id().as_str().to_owned();
            statements.write_group(&conn, &[id]);
            next += 1;
        }
        rusqlite.lone_write += started.elapsed();
        let started = Instant::now();
        for _ in 0..per_round / 8 {
            let ids: Vec<String> =
                (0..8).map(|k| calls[(next + k) % calls.len()].id().as_str().to_owned()).collect();
            statements.write_group(&conn, &ids);
            next += 8;
        }
        rusqlite.group_write += started.elapsed();
        // The store's copies of the calls rusqlite changed are stale: read them again.
        for call in calls.iter_mut() {
            *call = store.get(call.id()).await.expect("get").expect("the call");
        }
    }

    let ops = (rounds * per_round) as u32;
    let groups = (rounds * (per_round / 8)) as u32;
    let us = |d: Duration, n: u32| d.as_secs_f64() * 1e6 / f64::from(n);
    for (what, s, r) in [
        (
            "one read (a call by id, every column)",
            us(store_figures.read, ops),
            us(rusqlite.read, ops),
        ),
        (
            "one write committed alone (a call and its event)",
            us(store_figures.lone_write, ops),
            us(rusqlite.lone_write, ops),
        ),
        (
            "a group of 8 writes in one commit, per write",
            us(store_figures.group_write, groups * 8),
            us(rusqlite.group_write, groups * 8),
        ),
    ] {
        println!("{what}: the store {s:.0} µs, rusqlite {r:.0} µs, ratio {:.1}", s / r);
    }
}

#[derive(Default)]
struct Figures {
    read: Duration,
    lone_write: Duration,
    group_write: Duration,
}

/// The call's next version, its name changed.
fn change(call: &Call) -> Call {
    let mut parts: CallParts = call.parts().clone();
    parts.version += 1;
    parts.customer_name = Some(format!("v{}", parts.version));
    parts.updated_at = Utc::now();
    Call::from_parts(parts)
}

fn event(call: &Call) -> call_core::CallEvent {
    call_core::CallEvent::new(
        EventId::generate(),
        call.id().clone(),
        EventType::CallFlagged,
        Utc::now(),
        Utc::now(),
        EventSource::Api,
        serde_json::Map::new(),
    )
}

/// A connection with the store's writer settings.
fn rusqlite_connection(path: &std::path::Path) -> Connection {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .expect("open with rusqlite");
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
         PRAGMA busy_timeout = 10000; PRAGMA cache_size = -16384;",
    )
    .expect("pragmas");
    conn
}

/// The prepared statements, kept for the connection's life.
struct Statements<'c> {
    read: rusqlite::Statement<'c>,
    update: rusqlite::Statement<'c>,
    insert_event: rusqlite::Statement<'c>,
    /// How many columns `calls` has, and where `version` and
    /// `customer_name` are among them.
    n_columns: usize,
    version: usize,
    name: usize,
    n_events: u64,
}

impl<'c> Statements<'c> {
    /// The statements on every column of `calls` as the store's migrations
    /// made it (read from the file, so the bench follows the schema).
    fn new(conn: &'c Connection) -> Statements<'c> {
        let columns: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info('calls') ORDER BY cid")
            .and_then(|mut names| names.query_map([], |row| row.get(0))?.collect())
            .expect("the columns of calls");
        let place = |name: &str| columns.iter().position(|c| c == name).expect("a column");
        let (id, version, name) = (place("id"), place("version"), place("customer_name"));
        let list = columns.join(", ");
        let placeholders: Vec<String> = (1..=columns.len()).map(|n| format!("?{n}")).collect();
        Statements {
            read: conn
                .prepare(&format!("SELECT {list} FROM calls WHERE id = ?1"))
                .expect("prepare"),
            update: conn
                .prepare(&format!(
                    "UPDATE calls SET ({list}) = ({}) WHERE id = ?{} AND version = ?{} - 1",
                    placeholders.join(", "),
                    id + 1,
                    version + 1,
                ))
                .expect("prepare"),
            insert_event: conn
                .prepare(
                    "INSERT INTO events (id, call_id, type, timestamp, recorded_at, source, metadata) \
                     VALUES (?1, ?2, 'call_flagged', ?3, ?3, 'api', '{}')",
                )
                .expect("prepare"),
            n_columns: columns.len(),
            version,
            name,
            n_events: 0,
        }
    }

    /// Every column of a call, as values.
    fn read(&mut self, id: &str) -> Vec<Value> {
        let n_columns = self.n_columns;
        self.read
            .query_row([id], |row| (0..n_columns).map(|i| row.get::<_, Value>(i)).collect())
            .expect("read")
    }

    /// Changes each call (every column written, the version checked and
    /// raised) and logs an event for it, in one `BEGIN IMMEDIATE` transaction.
    fn write_group(&mut self, conn: &Connection, ids: &[String]) {
        conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
        for id in ids {
            let mut row = self.read(id);
            let Value::Integer(version) = row[self.version] else { panic!("a version") };
            row[self.version] = Value::Integer(version + 1);
            row[self.name] = Value::Text(format!("r{}", version + 1));
            let n = self.update.execute(params_from_iter(row.iter())).expect("update");
            assert_eq!(n, 1, "the version matched");
            self.n_events += 1;
            let now = Utc::now().timestamp_micros();
            self.insert_event
                .execute(rusqlite::params![format!("bench-{}", self.n_events), id, now])
                .expect("insert the event");
        }
        conn.execute_batch("COMMIT").expect("commit");
    }
}
