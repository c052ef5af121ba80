//! `calls --json` and the API print the same JSON: one scenario, made
//! with the CLI on a SQLite file, read back through both, compared whole.
//! Every envelope is `call-wire`'s, so a field added to one interface and
//! not the other fails here.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::Calls;

/// `GET path` from the server at `address` over plain HTTP/1.0: its JSON.
async fn get(address: &str, path: &str) -> Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{path}: {answer}"
    );
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_and_the_api_print_the_same_json() {
    let calls = Calls::new();
    calls.ok(&["queue", "add", "support"]).await;
    let outbound = calls.schedule(&["+1 415 555 0100", "--name", "Ada", "--in", "1h"]).await;
    calls.ok(&["dnc", "add", "+14155550199", "--reason", "asked not to be called"]).await;
    // An inbound call that waits 45 s: a long_wait alert, and a record in
    // the caller's history (the scheduled call has none until it is placed).
    let t0 = chrono::Utc::now() - chrono::TimeDelta::minutes(10);
    let at = |s: i64| (t0 + chrono::TimeDelta::seconds(s)).to_rfc3339();
    for (event_type, data) in [
        (
            "call_initiated",
            json!({"queue_id": "support", "from": "+14155550100", "to": "+14155550123", "timestamp": at(0)}),
        ),
        ("call_answered", json!({"wait_time": 45, "timestamp": at(45)})),
        ("call_ended", json!({"timestamp": at(100)})),
    ] {
        calls.ok(&["event", event_type, "--call", "in-1", "--data", &data.to_string()]).await;
    }

    let store = call_store_sqlite::SqliteStore::open(calls.db()).await.unwrap();
    let state = call_http::AppState::builder(Arc::new(store)).build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, call_http::router(state)).await });

    for (cli, path) in [
        (vec!["list"], "/api/calls".to_owned()),
        (vec!["list", "--status", "ended"], "/api/calls?status=ended".to_owned()),
        (vec!["show", &outbound], format!("/api/calls/{outbound}")),
        (vec!["events", "in-1"], "/api/calls/in-1/events".to_owned()),
        (vec!["history", "+14155550100"], "/api/phones/%2B14155550100/history".to_owned()),
        (vec!["queue", "list"], "/api/queues".to_owned()),
        (vec!["dnc", "list"], "/api/dnc".to_owned()),
        (vec!["alerts"], "/api/alerts".to_owned()),
        (vec!["dispatch"], "/api/dispatch".to_owned()),
        (vec!["series", "list"], "/api/series".to_owned()),
    ] {
        let printed = calls.json(&cli).await;
        let answered = get(&address, &path).await;
        assert_eq!(printed, answered, "calls {cli:?} --json and GET {path} differ");
    }
    // The scenario reached every shape compared: none was empty.
    let history = get(&address, "/api/phones/%2B14155550100/history").await;
    assert_eq!(history["records"][0]["call_id"], "in-1", "{history}");
    let alerts = get(&address, "/api/alerts").await;
    assert_eq!(alerts["alerts"][0]["kind"], "long_wait", "{alerts}");
}
