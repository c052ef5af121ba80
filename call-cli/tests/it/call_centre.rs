//! Call-centre lifecycle events through `calls event`, the rules they
//! trigger, and the history they leave on both sides.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::Calls;

/// `calls event TYPE --call ID --data JSON`, at `seconds` after `start`.
async fn event(
    calls: &Calls,
    call: &str,
    event_type: &str,
    at: chrono::DateTime<Utc>,
    mut data: Value,
) -> Value {
    data["timestamp"] = json!(at.to_rfc3339());
    calls.json(&["event", event_type, "--call", call, "--data", &data.to_string()]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lifecycle_drives_the_state_machine_and_the_rules() {
    let calls = Calls::new();
    calls.ok(&["queue", "add", "support"]).await;
    let t0 = Utc::now() - Duration::minutes(10);
    let at = |s: i64| t0 + Duration::seconds(s);

    let initiated = json!({"type": "video", "queue_id": "support", "from": "+1 415 555 0100",
                           "to": "+14155550199", "customer_name": "Bob"});
    let call = event(&calls, "c-1", "call_initiated", at(0), initiated).await;
    assert_eq!(
        (&call["status"], &call["direction"], &call["media"]),
        (&json!("initiated"), &json!("inbound"), &json!("video"))
    );
    assert_eq!(
        event(&calls, "c-1", "call_routed", at(35), json!({"agent_id": "a7"})).await["status"],
        "routed"
    );
    // Answered 40 s after it began: past the 30 s SLA.
    assert_eq!(event(&calls, "c-1", "call_answered", at(40), json!({})).await["status"], "active");
    assert_eq!(event(&calls, "c-1", "call_hold", at(50), json!({})).await["status"], "on_hold");
    // Resumed after 70 s on hold: past the 60 s limit.
    assert_eq!(event(&calls, "c-1", "call_resumed", at(120), json!({})).await["status"], "active");
    let ended = event(&calls, "c-1", "call_ended", at(130), json!({})).await;

    assert_eq!(ended["status"], "completed");
    assert_eq!(ended["agent_id"], "a7");
    assert_eq!(ended["wait_seconds"], 40);
    assert_eq!(ended["hold_seconds"], 70);
    assert_eq!(ended["duration_seconds"], 90);
    assert_eq!(ended["end_reason"], "completed");
    assert_eq!(ended["flags"], json!(["sla_breached", "long_wait", "hold_exceeded"]));

    let shown = calls.ok(&["show", "c-1"]).await;
    assert!(shown.contains("flags        sla_breached, long_wait, hold_exceeded"), "{shown}");
    assert!(shown.contains("duration     1m30s"), "{shown}");

    let events = calls.json(&["events", "c-1"]).await;
    let log: Vec<(String, String)> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let detail =
                e["metadata"]["alert"].as_str().or(e["metadata"]["flag"].as_str()).unwrap_or("");
            (e["type"].as_str().unwrap().to_owned(), detail.to_owned())
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("call_initiated", ""),
        // Routed at 35 s: the 30 s SLA timer fired first.
        ("alert_raised", "sla_breach"),
        ("call_flagged", "sla_breached"),
        ("call_routed", ""),
        ("call_answered", ""),
        ("alert_raised", "long_wait"),
        ("call_flagged", "long_wait"),
        ("call_hold", ""),
        // Resumed at 120 s: the hold timer fired at 110 s.
        ("alert_raised", "hold_exceeded"),
        ("call_flagged", "hold_exceeded"),
        ("call_resumed", ""),
        ("call_ended", ""),
        ("survey_requested", ""),
    ]
    .iter()
    .map(|(t, d)| (t.to_string(), d.to_string()))
    .collect();
    assert_eq!(log, expected);
    let timeline = calls.ok(&["events", "c-1"]).await;
    assert!(timeline.contains("+40s") && timeline.contains("+2m10s"), "{timeline}");

    let stats = calls.json(&["stats"]).await;
    assert_eq!(stats["queues"][0]["queue_id"], "support");
    assert_eq!(stats["queues"][0]["answered"], 1);
    assert_eq!(stats["queues"][0]["service_level"], 0.0);
    assert_eq!(stats["agents"][0]["agent_id"], "a7");
    assert_eq!(stats["agents"][0]["hold_seconds"], 70);
    assert_eq!(stats["agents"][0]["average_talk_seconds"], 90.0);

    // The call ended about eight minutes ago: in the last quarter hour, completed.
    let activity = calls.json(&["activity", "--minutes", "15"]).await;
    let minutes = activity["minutes"].as_array().unwrap();
    assert_eq!(minutes.len(), 15, "{activity}");
    let completed: u64 = minutes.iter().map(|m| m["completed"].as_u64().unwrap()).sum();
    assert_eq!(completed, 1, "{activity}");
    let table = calls.ok(&["activity", "--minutes", "2"]).await;
    assert!(table.starts_with("MINUTE") && table.contains("AVG LATENESS"), "{table}");
    let refused = calls.run(&["activity", "--minutes", "0"]).await;
    assert_eq!(refused.code, 2, "{refused:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_shows_each_call_from_either_side() {
    let calls = Calls::new();
    // Noon, two days ago: every event falls on one day, whenever the test runs.
    let t0 = (Utc::now() - Duration::days(2)).date_naive().and_hms_opt(12, 0, 0).unwrap().and_utc();
    let at = |s: i64| t0 + Duration::seconds(s);
    let (alice, bob) = ("+14155550100", "+442071838750");
    let parties = json!({"from": alice, "to": bob});

    // Alice calls Bob, who answers: 25 s of talk.
    event(&calls, "talked", "call_initiated", at(0), parties.clone()).await;
    event(&calls, "talked", "call_answered", at(5), json!({})).await;
    event(&calls, "talked", "call_ended", at(30), json!({})).await;
    // Alice calls Bob again; she hangs up before he answers.
    event(&calls, "missed", "call_initiated", at(60), parties).await;
    event(&calls, "missed", "call_ended", at(70), json!({"end_reason": "abandoned"})).await;

    let records = |value: Value| value["records"].as_array().unwrap().clone();
    let alices = records(calls.json(&["history", "+1 (415) 555-0100"]).await);
    let bobs = records(calls.json(&["history", "+44 20 7183 8750"]).await);
    let summary = |records: &[Value]| -> Vec<(String, String, Value)> {
        records
            .iter()
            .map(|r| {
                (
                    r["type"].as_str().unwrap().to_owned(),
                    r["counterparty"].as_str().unwrap().to_owned(),
                    r["duration"].clone(),
                )
            })
            .collect()
    };
    assert_eq!(
        summary(&alices),
        [
            ("Missed Outbound".to_owned(), bob.to_owned(), Value::Null),
            ("Completed Outbound".to_owned(), bob.to_owned(), json!(25))
        ]
    );
    assert_eq!(
        summary(&bobs),
        [
            ("Missed Inbound".to_owned(), alice.to_owned(), Value::Null),
            ("Completed Inbound".to_owned(), alice.to_owned(), json!(25))
        ]
    );

    // Date bounds are whole days, inclusive.
    let day = t0.format("%Y-%m-%d").to_string();
    let next_day = (t0 + Duration::days(1)).format("%Y-%m-%d").to_string();
    let that_day = calls.json(&["history", bob, "--since", &day, "--until", &day]).await;
    assert_eq!(that_day["records"].as_array().unwrap().len(), 2);
    let after = calls.json(&["history", bob, "--since", &next_day]).await;
    assert!(after["records"].as_array().unwrap().is_empty());

    let table = calls.ok(&["history", bob]).await;
    assert!(table.starts_with("history of +442071838750\n"), "{table}");
    assert!(table.contains("Completed Inbound  completed  +14155550100  25s"), "{table}");
}

/// `calls alerts`: the alerts a rule raised, listed, acknowledged into the
/// call's audit log, and closed when the call ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_are_listed_and_acknowledged() {
    let calls = Calls::new();
    calls.ok(&["event", "call_initiated", "--call", "late"]).await;
    calls.ok(&["event", "call_answered", "--call", "late", "--data", r#"{"wait_time": 45}"#]).await;
    let open = calls.json(&["alerts", "--open"]).await;
    let alerts = open["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{open}");
    assert_eq!(alerts[0]["kind"], "long_wait");
    let id = alerts[0]["id"].as_str().unwrap().to_owned();
    let table = calls.ok(&["alerts", "--open"]).await;
    assert!(
        table.contains("long_wait") && table.contains(&id) && table.contains("open"),
        "{table}"
    );

    let acked = calls.json(&["alerts", "ack", &id, "--by", "sam"]).await;
    assert_eq!(acked["acknowledged_by"], "sam", "{acked}");
    let events = calls.json(&["events", "late"]).await;
    assert!(
        events["events"].as_array().unwrap().iter().any(|e| e["type"] == "alert_acknowledged"),
        "{events}"
    );
    let missing = calls.run(&["alerts", "ack", "nope"]).await;
    assert_eq!(missing.code, 1, "{missing:?}");
    assert!(missing.stderr.contains("alert nope not found"), "{}", missing.stderr);

    calls.ok(&["event", "call_ended", "--call", "late"]).await;
    assert_eq!(calls.ok(&["alerts", "--open"]).await, "no alerts\n");
    let all = calls.json(&["alerts"]).await;
    assert_eq!(all["alerts"][0]["closed_by"], "call_ended", "{all}");
}
