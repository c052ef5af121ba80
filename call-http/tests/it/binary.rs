//! The `call-http` binary's own refusals.

use std::process::Command;

#[test]
fn it_refuses_to_listen_beyond_loopback_without_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_call-http"))
        .args(["--listen", "0.0.0.0:0", "--db"])
        .arg(dir.path().join("calls.db"))
        .env_remove("CALLS_API_KEY")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("refusing to listen on 0.0.0.0:0 without an API key"), "{stderr}");
    assert!(!dir.path().join("calls.db").exists(), "nothing was created");
}

#[test]
fn a_bad_provider_url_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_call-http"))
        .args(["--listen", "127.0.0.1:0", "--provider-url", "not a url", "--db"])
        .arg(dir.path().join("calls.db"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid --provider-url"));
}

#[test]
fn an_unreachable_database_server_is_one_line_without_the_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let output = Command::new(env!("CARGO_BIN_EXE_call-http"))
        .args(["--listen", "127.0.0.1:0", "--no-worker", "--db"])
        .arg(format!("postgres://callwork:hunter2@127.0.0.1:{port}/calls"))
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("is PostgreSQL running there?"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

/// The server on a PostgreSQL database: a call scheduled over HTTP is
/// stored there, as on a file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_serves_a_postgres_database() {
    let Some(server) = call_store_postgres::testing::TestServer::shared() else { return };
    let db = server.database().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_call-http"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--no-worker", "--db", &db])
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let client = crate::client();
    let base = format!("http://127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..300 {
        if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success())
        {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(up, "call-http did not answer within 30 s");
    let answer = client
        .post(format!("{base}/api/calls"))
        .json(&serde_json::json!({"phone_number": "+1 415 555 0100", "customer_name": "Ada"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    let call: serde_json::Value = answer.json().await.unwrap();
    let store = call_store_postgres::PgStore::open(&db).await.unwrap();
    let id = call_core::CallId::parse(call["id"].as_str().unwrap()).unwrap();
    let stored = call_core::ports::CallStore::get(&store, &id).await.unwrap().unwrap();
    assert_eq!(stored.customer_name(), Some("Ada"));
    child.start_kill().unwrap();
    let _ = child.wait().await;
}
