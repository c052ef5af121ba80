//! `calls --db postgres://…`: the same commands on a shared database.

use call_store_postgres::testing::TestServer;

use crate::{Calls, stand_in};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_commands_run_on_a_postgres_url_as_on_a_file() {
    let Some(server) = TestServer::shared() else { return };
    let api = stand_in().await;
    let calls = Calls::on(server.database().await);
    let numbers: Vec<String> = (0..20).map(|i| format!("+1415555{:04}", 200 + i)).collect();
    let mut ids = Vec::new();
    for number in &numbers {
        ids.push(calls.schedule(&[number, "--name", "Ada"]).await);
    }
    let args = ["run", "--provider-url", api.url(), "--until-idle", "--poll-interval", "20ms"];
    let (first, second) = tokio::join!(calls.run(&args), calls.run(&args));
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(second.code, 0, "{}", second.stderr);
    let stats = api.stats();
    assert_eq!(stats.calls_placed, 20, "{stats:?}");
    assert!(stats.by_number.values().all(|&n| n == 1), "each number dialled once: {stats:?}");

    for call in calls.list().await {
        assert_eq!(call["status"], "completed", "{call}");
        assert_eq!(call["duration_seconds"], 10, "{call}");
    }
    let events = calls.json(&["events", &ids[0]]).await;
    let types: Vec<&str> =
        events["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types[..2], ["call_scheduled", "call_dispatched"], "{events}");
    assert_eq!(types[types.len() - 2..], ["call_ended", "survey_requested"], "{events}");
    let history = calls.json(&["history", &numbers[0]]).await;
    // Seen from the called number's side, the call came in.
    assert_eq!(history["records"][0]["type"], "Completed Inbound", "{history}");
    assert_eq!(history["records"][0]["duration"], 10, "{history}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_url_is_read_when_no_db_is_given() {
    let Some(server) = TestServer::shared() else { return };
    let url = server.database().await;
    let calls = Calls::new();
    let ran = calls
        .command(&["schedule", "+14155550100", "--json"])
        .env_remove("CALLS_DB")
        .env("DATABASE_URL", &url)
        .current_dir(calls.path(""))
        .output()
        .await
        .unwrap();
    assert!(ran.status.success(), "{}", String::from_utf8_lossy(&ran.stderr));
    assert!(!calls.path("calls.db").exists(), "no file was made");
    let listed = Calls::on(url).list().await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["to"], "+14155550100");
}

#[tokio::test]
async fn an_unreachable_server_is_one_line_without_the_password() {
    let port = call_test_support::free_port();
    let calls = Calls::on(format!("postgres://callwork:hunter2@127.0.0.1:{port}/calls"));
    let ran = calls.run(&["list"]).await;
    assert_eq!(ran.code, 1, "{ran:?}");
    assert!(ran.stdout.is_empty(), "{ran:?}");
    assert_eq!(ran.stderr.lines().count(), 1, "{}", ran.stderr);
    assert!(
        ran.stderr.contains(&format!(
            "cannot open the database: cannot connect to postgres://callwork:***@127.0.0.1:{port}/calls"
        )) && ran.stderr.contains("is PostgreSQL running there?"),
        "{}",
        ran.stderr
    );
    assert!(!ran.stderr.contains("hunter2"), "{}", ran.stderr);
}
