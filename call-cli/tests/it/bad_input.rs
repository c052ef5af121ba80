//! No input makes `calls` panic: each bad input gets one line on stderr,
//! the right exit code, and leaves the database as it was.

use crate::Calls;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bad_input_is_one_line_and_an_exit_code() {
    let calls = Calls::new();
    calls.ok(&["queue", "add", "support"]).await;
    let id = calls.schedule(&["+14155550100", "--in", "1h"]).await;
    let done = calls.schedule(&["+14155550101", "--in", "1h"]).await;
    calls.ok(&["cancel", &done]).await;
    let before = calls.json(&["list"]).await;
    let queues_before = calls.json(&["queue", "list"]).await;

    let missing_folder = calls.path("no/such/folder/calls.db");
    let not_a_database = calls.path("notes.txt");
    std::fs::write(&not_a_database, "not a database").unwrap();
    let long_name = "n".repeat(300);
    let long_error = serde_json::json!({ "error": "e".repeat(600) }).to_string();
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        // Values that are not valid: usage errors.
        (
            vec!["schedule", "12345"],
            2,
            "invalid phone number \"12345\": must start with + and the country code",
        ),
        (
            vec!["schedule", "+1234567890"],
            2,
            "invalid phone number \"+1234567890\": too short for country code +1",
        ),
        (
            vec!["schedule", "+14155550100", "--at", "tomorrow"],
            2,
            "invalid --at: \"tomorrow\" is not a time",
        ),
        (
            vec!["schedule", "+14155550100", "--in", "5 parsecs"],
            2,
            "invalid --in: \"5 parsecs\" is not a duration",
        ),
        (
            vec!["schedule", "+14155550100", "--at", "2020-01-01T00:00:00Z"],
            2,
            "invalid --at: 2020-01-01T00:00:00.000000Z is",
        ),
        (
            vec!["schedule", "+14155550100", "--media", "fax"],
            2,
            "invalid --media: unknown value \"fax\"",
        ),
        (
            vec!["schedule", "+14155550100", "--queue", "nosuch"],
            2,
            "invalid --queue: unknown queue \"nosuch\"",
        ),
        (
            vec!["schedule", "+14155550100", "--tz", "Mars/Olympus", "--at", "2030-01-01 09:00"],
            2,
            "invalid --tz",
        ),
        (
            vec!["schedule", "+14155550100", "--at", "2030-01-01 09:00", "--in", "5m"],
            2,
            "cannot be used with",
        ),
        // Times and durations are the tool's to judge, even with a leading '-'.
        (
            vec!["schedule", "+14155550100", "--in", "-5m"],
            2,
            "invalid --in: \"-5m\" is in the past",
        ),
        (vec!["schedule", "+14155550100", "--at", "-1d"], 2, "invalid --at: \"-1d\" is not a time"),
        (vec!["pause", "--for", "-5m"], 2, "invalid --for: \"-5m\" is in the past"),
        (vec!["pause", "--until", "-5m"], 2, "invalid --until: \"-5m\" is not a time"),
        (
            vec!["schedule", "+14155550100", "--redial", "busy", "--redial-delay", "-5m"],
            2,
            "invalid --redial-delay: \"-5m\" is negative",
        ),
        (vec!["history", "+14155550100", "--since", "-3d"], 2, "invalid --since"),
        (vec!["run", "--lease", "-1s"], 2, "invalid --lease: \"-1s\" is negative"),
        (
            vec!["run", "--lease", "1s"],
            2,
            "invalid --lease: a lease of 1s is shorter than three heartbeats of 10s (30s): a \
             claim must outlive two missed renewals",
        ),
        (vec!["run", "--heartbeat", "0s"], 2, "invalid --heartbeat: must be more than 0"),
        // A region, and text over its limit.
        (
            vec!["--default-region", "XX", "schedule", "4155550100"],
            2,
            "invalid --default-region: \"XX\" is not a region",
        ),
        (
            vec!["schedule", "+14155550100", "--name", &long_name],
            2,
            "invalid --name: is 300 characters long; at most 200 are allowed",
        ),
        (
            vec!["event", "call_failed", "--call", &id, "--data", &long_error],
            2,
            "invalid error: is 600 characters long; at most 500 are allowed",
        ),
        (vec!["list", "--status", "sleeping"], 2, "invalid --status: unknown status \"sleeping\""),
        (vec!["list", "--cursor", "garbage"], 2, "invalid --cursor"),
        (vec!["list", "--queue", "bad queue"], 2, "invalid --queue: ' ' is not allowed"),
        (vec!["schedule", "+14155550100", "--queue", "bad queue"], 2, "invalid --queue: ' '"),
        (
            vec!["schedule", "+14155550100", "--idempotency-key", " "],
            2,
            "invalid --idempotency-key: ' ' is not allowed",
        ),
        (vec!["pause", "--queue", "bad queue"], 2, "invalid --queue: ' '"),
        (vec!["list", "--limit", "0"], 2, "invalid value '0' for '--limit"),
        (
            vec!["history", "+14155550100", "--since", "2026-12-02", "--until", "2026-12-01"],
            2,
            "not after --since",
        ),
        (vec!["show", "not an id"], 2, "invalid call id"),
        (vec!["reschedule", &id], 2, "reschedule needs the new time"),
        (
            vec!["event", "call_routed", "--call", &id, "--data", "{bad"],
            2,
            "invalid --data: not JSON",
        ),
        (
            vec!["event", "call_routed", "--call", &id, "--data", "[1]"],
            2,
            "invalid --data: expected a JSON object",
        ),
        (
            vec!["event", "call_routed", "--call", &id, "--data", "{\"routing_time\": \"soon\"}"],
            2,
            "invalid --data: invalid type: string \"soon\"",
        ),
        (
            vec!["event", "call_routed", "--call", &id],
            2,
            "invalid agent_id: is required for call_routed",
        ),
        (
            vec!["event", "call_exploded", "--call", &id],
            2,
            "invalid event_type: unknown event type \"call_exploded\"",
        ),
        (
            vec![
                "event",
                "call_initiated",
                "--call",
                "new",
                "--data",
                "{\"queue_id\": \"nosuch\"}",
            ],
            2,
            "unknown queue",
        ),
        (vec!["run", "--provider-url", "not a url"], 2, "invalid --provider-url"),
        (vec!["run", "--calls-per-second", "-3"], 2, "invalid --calls-per-second"),
        (vec!["frobnicate"], 2, "unrecognized subcommand 'frobnicate'"),
        (vec!["queue", "add", "has space"], 2, "invalid queue_id"),
        // Understood, but not possible: failures.
        (vec!["show", "no-such-call"], 1, "call no-such-call not found"),
        (vec!["cancel", "no-such-call"], 1, "call no-such-call not found"),
        (
            vec!["event", "call_answered", "--call", "no-such-call"],
            1,
            "call no-such-call not found",
        ),
        (
            vec!["event", "call_answered", "--call", &id],
            1,
            "event call_answered is not allowed in status scheduled",
        ),
        (vec!["cancel", &done], 1, "event call_canceled is not allowed in status canceled"),
        (vec!["queue", "remove", "nosuch"], 1, "queue nosuch not found"),
        (vec!["queue", "add", "support"], 1, "queue support already exists"),
        (vec!["import", "no-such-file.csv"], 1, "cannot read no-such-file.csv"),
    ];
    for (args, code, message) in &cases {
        let ran = calls.run(args).await;
        assert_eq!(ran.code, *code, "calls {args:?}: {ran:?}");
        assert!(
            ran.stderr.contains(message),
            "calls {args:?}: expected {message:?} in {:?}",
            ran.stderr
        );
        assert!(
            !ran.stderr.contains("panicked") && !ran.stderr.contains("backtrace"),
            "{args:?}: {}",
            ran.stderr
        );
        if *code == 1 || ran.stderr.starts_with("calls: ") {
            assert_eq!(ran.stderr.lines().count(), 1, "calls {args:?}: one line: {:?}", ran.stderr);
        }
        assert!(ran.stdout.is_empty(), "calls {args:?} printed {:?}", ran.stdout);
    }
    assert_eq!(calls.json(&["list"]).await, before, "a refused command changed the calls");
    assert_eq!(calls.json(&["queue", "list"]).await, queues_before);

    // Databases that cannot be opened.
    for (db, message) in [
        (&missing_folder, "cannot open the database: cannot open"),
        (&not_a_database, "is not a SQLite database"),
    ] {
        let ran = calls.run(&["--db", db.to_str().unwrap(), "list"]).await;
        assert_eq!(ran.code, 1, "{ran:?}");
        assert!(ran.stderr.contains(message), "{}", ran.stderr);
    }
    assert_eq!(std::fs::read_to_string(&not_a_database).unwrap(), "not a database");
    assert!(!missing_folder.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pipe_is_not_an_error() {
    let calls = Calls::new();
    for i in 0..50 {
        calls.schedule(&[&format!("+141555501{i:02}"), "--in", "1h"]).await;
    }
    let mut child = calls
        .command(&["list"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().await.unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
}
