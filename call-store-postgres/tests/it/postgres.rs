//! What PostgreSQL makes matter beyond the shared contract: locks held by
//! other transactions, wake-ups across processes, plans, and opening errors.

use std::{sync::Arc, time::Duration};

use call_core::{
    Engine, NewCall, PhoneNumber, WorkerId,
    ports::{CallStore, Claim},
};
use call_store_postgres::{OpenError, PgStore};
use chrono::{TimeDelta, Utc};
use sqlx::Connection;

use crate::helpers::{fresh_store, open, server};

fn phone() -> PhoneNumber {
    PhoneNumber::parse("+14155550100").unwrap()
}

/// A transaction elsewhere holding some due calls locked (a slow claimer, an
/// operator's session) does not make a claim wait: it takes the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_skips_rows_another_transaction_holds_without_waiting() {
    let Some(server) = server() else { return };
    let (store, url) = fresh_store(server).await;
    let engine = Engine::builder(Arc::new(store.clone())).build();
    let now = Utc::now();
    let mut ids = Vec::new();
    for _ in 0..10 {
        ids.push(engine.schedule(NewCall::to(phone())).await.unwrap().id().clone());
    }
    let mut holder = sqlx::PgConnection::connect(&url).await.unwrap();
    let mut held = holder.begin().await.unwrap();
    let locked: Vec<String> = ids.iter().take(4).map(ToString::to_string).collect();
    sqlx::query("SELECT id FROM calls WHERE id = ANY($1) FOR UPDATE")
        .bind(&locked)
        .fetch_all(&mut *held)
        .await
        .unwrap();
    let claim = Claim {
        now: now + TimeDelta::seconds(1),
        worker: WorkerId::parse("w").unwrap(),
        lease_until: now + TimeDelta::seconds(60),
        limit: 100,
    };
    let claimed = tokio::time::timeout(Duration::from_secs(5), store.claim_due(&claim))
        .await
        .expect("the claim waited on rows another transaction holds")
        .unwrap();
    let claimed: Vec<String> = claimed.iter().map(|c| c.call.id().to_string()).collect();
    assert_eq!(claimed.len(), 6, "the unlocked calls are claimed");
    assert!(claimed.iter().all(|id| !locked.contains(id)), "no locked call is claimed");
    held.rollback().await.unwrap();
    let rest = store.claim_due(&claim).await.unwrap();
    assert_eq!(rest.len(), 4, "released, they are claimed next");
}

/// A call scheduled through one store is announced to a worker listening
/// through another (as on two machines), with its due time, once committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_on_one_store_is_announced_to_another() {
    let Some(server) = server() else { return };
    let (listening, url) = fresh_store(server).await;
    let mut announcements = listening.announcements();
    // The listener connects in the background; until then nothing can be heard.
    let scheduling = Engine::builder(Arc::new(open(&url).await)).build();
    let mut heard = None;
    for _ in 0..50 {
        let call = scheduling.schedule(NewCall::to(phone())).await.unwrap();
        if let Ok(due) =
            tokio::time::timeout(Duration::from_millis(200), announcements.next()).await
        {
            heard = Some((due, call.scheduled_at().unwrap()));
            break;
        }
    }
    let (due, scheduled_at) = heard.expect("no announcement within 10 s");
    assert!(due <= scheduled_at, "announced {due}, scheduled {scheduled_at}");
    // From now on each schedule is heard, with its own due time.
    let later = Utc::now() + TimeDelta::hours(1);
    let call = scheduling.schedule(NewCall::to(phone()).at(later)).await.unwrap();
    let due = loop {
        let due = tokio::time::timeout(Duration::from_secs(5), announcements.next())
            .await
            .expect("the second schedule was announced");
        if due >= later - TimeDelta::seconds(1) {
            break due;
        }
    };
    assert_eq!(Some(due), call.scheduled_at());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_query_shape_is_served_by_an_index() {
    let Some(server) = server() else { return };
    let (store, _) = fresh_store(server).await;
    for (name, plan) in store.query_plans().await.unwrap() {
        let text = plan.join("\n");
        assert!(!text.contains("Seq Scan on calls"), "{name} scans calls:\n{text}");
        assert!(!text.contains("Seq Scan on events"), "{name} scans events:\n{text}");
        if name == "history" {
            // The partial indexes on when calls took place, not a filter on another.
            for index in ["calls_history_to", "calls_history_from"] {
                assert!(text.contains(index), "history does not use {index}:\n{text}");
            }
        }
    }
}

async fn open_error(url: &str) -> String {
    match PgStore::open(url).await {
        Ok(_) => panic!("opened {url}"),
        Err(error) => error.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_errors_are_one_clear_line_without_the_password() {
    let Some(server) = server() else { return };
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let check = |message: String, expected: &str| {
        assert!(message.contains(expected), "{message:?} does not say {expected:?}");
        assert!(!message.contains("hunter2"), "{message:?} shows the password");
        assert!(!message.contains('\n'), "{message:?} is not one line");
    };
    check(
        open_error(&format!("postgres://u:hunter2@127.0.0.1:{unused}/calls")).await,
        "is PostgreSQL running there?",
    );
    let mut url = url::Url::parse(server.admin_url()).unwrap();
    url.set_path("no_such_database");
    check(open_error(url.as_str()).await, "create it first");
    check(open_error("postgres://u:hunter2@[bad").await, "not a PostgreSQL URL");

    // A database whose schema is newer than this build is refused, untouched.
    let (store, url) = fresh_store(server).await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', true, '\\x00', 0)",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let message = open_error(&url).await;
    assert!(matches!(PgStore::open(&url).await, Err(OpenError::SchemaTooNew { found: 9999, .. })));
    check(message, "newer than this program knows");
}

/// A database that fails keeps its cause: the store's error says what
/// happened, and its source is the driver's own error, for a caller that
/// tells one failure from another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_database_keeps_the_drivers_error() {
    let Some(server) = server() else { return };
    let (store, url) = fresh_store(server).await;
    let name = url.rsplit('/').next().unwrap().to_owned();
    let mut admin = sqlx::PgConnection::connect(server.admin_url()).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
        .execute(&mut admin)
        .await
        .unwrap();
    let id = call_core::CallId::parse("gone").unwrap();
    let Err(call_core::ports::StoreError::Backend(error)) = store.get(&id).await else {
        panic!("a dropped database is a backend failure");
    };
    assert!(!error.message().is_empty());
    let cause = error.downcast_ref::<sqlx::Error>().expect("the driver's error is kept");
    assert_eq!(cause.to_string(), error.message());
    let source = std::error::Error::source(&error).expect("a source");
    assert!(source.downcast_ref::<sqlx::Error>().is_some());
}
