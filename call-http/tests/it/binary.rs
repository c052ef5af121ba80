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
fn a_bad_default_window_or_redial_is_a_usage_error_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    for (args, expected) in [
        (&["--default-window", "9 to 5"][..], "invalid --default-window: \"9 to 5\" is not hours"),
        (&["--default-window-days", "weekdays"][..], "invalid --default-window-days"),
        (
            &["--default-redial", "hangup"][..],
            "invalid --default-redial: \"hangup\" is not an outcome",
        ),
        (
            &["--default-redial", "busy", "--default-redial-max", "0"][..],
            "invalid --default-redial-max",
        ),
        (
            &["--default-redial", "busy", "--default-redial-delay", "later"][..],
            "invalid --default-redial-delay",
        ),
        (&["--default-redial-delay", "1m"][..], "invalid --default-redial: say which outcomes"),
        (
            &["--lease", "5s"][..],
            "invalid --lease: a lease of 5s is shorter than three heartbeats of 10s (30s)",
        ),
        (&["--heartbeat", "soon"][..], "invalid --heartbeat: \"soon\" is not a duration"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_call-http"))
            .args(["--listen", "127.0.0.1:0", "--db"])
            .arg(dir.path().join("calls.db"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn an_unreachable_database_server_is_one_line_without_the_password() {
    let port = call_test_support::free_port();
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

/// `call-http` serving `db` without a worker, up and answering; its base URL.
async fn start_server(db: &str) -> (tokio::process::Child, String) {
    start_server_with(db, &["--no-worker"]).await
}

/// `call-http` serving `db` with `args`, up and answering; its base URL.
async fn start_server_with(db: &str, args: &[&str]) -> (tokio::process::Child, String) {
    let port = call_test_support::free_port();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_call-http"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--db", db])
        .args(args)
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let client = crate::client();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..300 {
        if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success())
        {
            return (child, base);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("call-http did not answer within 30 s");
}

/// The server on a PostgreSQL database: a call scheduled over HTTP is
/// stored there, as on a file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_serves_a_postgres_database() {
    let Some(server) = call_store_postgres::testing::TestServer::shared() else { return };
    let db = server.database().await;
    let (mut child, base) = start_server(&db).await;
    let client = crate::client();
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

/// Two servers on one PostgreSQL database, each sent ten racing retries of
/// one request with one `Idempotency-Key`: one call is made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_retries_on_two_servers_make_one_call() {
    let Some(server) = call_store_postgres::testing::TestServer::shared() else { return };
    let db = server.database().await;
    let (mut first, a) = start_server(&db).await;
    let (mut second, b) = start_server(&db).await;
    let client = crate::client();
    let body = serde_json::json!({"phone_number": "+1 415 555 0100", "workflow": "reminder"});
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let request = client
                .post(format!("{}/api/calls", if i % 2 == 0 { &a } else { &b }))
                .header("Idempotency-Key", "retry-me")
                .json(&body);
            tokio::spawn(async move {
                let answer = request.send().await.unwrap();
                let status = answer.status().as_u16();
                let call: serde_json::Value = answer.json().await.unwrap();
                (status, call["id"].as_str().map(str::to_owned))
            })
        })
        .collect();
    let mut statuses = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for task in tasks {
        let (status, id) = task.await.unwrap();
        statuses.push(status);
        ids.insert(id.expect("every answer is a call"));
    }
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 19, "{statuses:?}");
    assert_eq!(ids.len(), 1, "every answer names the one call");
    let store = call_store_postgres::PgStore::open(&db).await.unwrap();
    let counts = call_core::ports::CallStore::count_by_status(&store).await.unwrap();
    let total: u64 = counts.iter().map(|(_, n)| *n).sum();
    assert_eq!(total, 1, "one call in the database");
    for child in [&mut first, &mut second] {
        child.start_kill().unwrap();
        let _ = child.wait().await;
    }
}

/// Two servers with their workers on one database: a pause asked of one
/// holds the other's worker, survives a restart, and a resume asked of the
/// other lets the held call be placed, once.
async fn a_pause_holds_every_server_until_resumed(db: &str) {
    let (mut first, a) = start_server_with(db, &[]).await;
    let (mut second, b) = start_server_with(db, &[]).await;
    let client = crate::client();
    let post = |url: String| client.post(url).send();
    let paused: serde_json::Value =
        post(format!("{a}/api/dispatch/pause")).await.unwrap().json().await.unwrap();
    assert_eq!(paused["paused"], true, "{paused}");
    let answer = client
        .post(format!("{b}/api/calls"))
        .json(&serde_json::json!({"phone_number": "+1 415 555 0100"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    let call: serde_json::Value = answer.json().await.unwrap();
    let id = call["id"].as_str().unwrap().to_owned();
    let status = async |base: &str| -> String {
        let call: serde_json::Value = client
            .get(format!("{base}/api/calls/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        call["status"].as_str().unwrap().to_owned()
    };
    // Both workers would place a due call within milliseconds.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(status(&b).await, "scheduled", "held by the pause");

    first.start_kill().unwrap();
    let _ = first.wait().await;
    let (mut first, a) = start_server_with(db, &[]).await;
    let state: serde_json::Value =
        client.get(format!("{a}/api/dispatch")).send().await.unwrap().json().await.unwrap();
    assert_eq!(state["paused"], true, "the pause survived the restart: {state}");
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(status(&a).await, "scheduled", "held after the restart");

    let resumed: serde_json::Value =
        post(format!("{b}/api/dispatch/resume")).await.unwrap().json().await.unwrap();
    assert_eq!(resumed, serde_json::json!({"paused": false, "pauses": []}));
    let mut placed = false;
    for _ in 0..200 {
        if status(&a).await != "scheduled" {
            placed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(placed, "placed within 20 s of the resume");
    let events: serde_json::Value = client
        .get(format!("{a}/api/calls/{id}/events"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let dispatched =
        events["events"].as_array().unwrap().iter().filter(|e| e["type"] == "call_dispatched");
    assert_eq!(dispatched.count(), 1, "claimed once: {events}");
    for child in [&mut first, &mut second] {
        child.start_kill().unwrap();
        let _ = child.wait().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_holds_every_server_on_a_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("calls.db");
    a_pause_holds_every_server_until_resumed(db.to_str().unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_holds_every_server_on_postgres() {
    let Some(server) = call_store_postgres::testing::TestServer::shared() else { return };
    a_pause_holds_every_server_until_resumed(&server.database().await).await;
}

/// The binary installs the Prometheus recorder: a call placed by its
/// worker through the built-in stand-in shows in `/metrics` as the engine
/// reported it (claim, provider request, placement latency), beside the
/// calls by status read for the scrape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_report_what_the_worker_did() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("calls.db");
    let (mut child, base) = start_server_with(db.to_str().unwrap(), &[]).await;
    let client = crate::client();
    let answer = client
        .post(format!("{base}/api/calls"))
        .json(&serde_json::json!({"phone_number": "+1 415 555 0100"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    let scrape =
        async || client.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    let mut text = String::new();
    for _ in 0..200 {
        text = scrape().await;
        if text.lines().any(|l| l == "callwork_placement_latency_seconds_count 1") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for line in [
        "callwork_placement_latency_seconds_count 1",
        "callwork_placement_latency_seconds_bucket{le=\"+Inf\"} 1",
        "callwork_claims_total 1",
        "callwork_provider_requests_total{operation=\"place\",outcome=\"ok\"} 1",
        "callwork_calls{status=\"scheduled\"} 0",
        "# TYPE callwork_placement_latency_seconds histogram",
        "# HELP callwork_claims_total Calls claimed by workers to be placed.",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} within 20 s:\n{text}");
    }
    child.start_kill().unwrap();
    let _ = child.wait().await;
}
