//! What clients built from forms send: blank optional fields, numbers
//! without a country code, and text of any size.

use axum::http::StatusCode;
use call_core::{Config, Region};
use call_http::router;

use crate::{app, builder, get, post};

#[tokio::test]
async fn blank_optional_fields_are_left_out_everywhere_json_comes_in() {
    let (app, _) = app();
    let answer = post(
        &app,
        "/api/calls",
        r#"{"phone_number": "+14155550100", "queue_id": "", "customer_name": "  ",
            "from": "", "workflow": "", "scheduled_at": " ", "media": "", "idempotency_key": "",
            "calling_window": {"time_zone": "", "start": "", "end": ""}}"#,
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    let call = answer.json();
    for field in ["queue_id", "customer_name", "from", "workflow", "calling_window"] {
        assert!(call[field].is_null(), "{field} is not absent: {call}");
    }
    assert_eq!(call["media"], "voice", "the default, as when left out");

    // A non-empty unknown queue is still refused, and nothing is written.
    let answer =
        post(&app, "/api/calls", r#"{"phone_number": "+14155550100", "queue_id": "nope"}"#);
    let error = answer.await.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    assert_eq!(error["field"], "queue_id");
    let listed = get(&app, "/api/calls").await.json();
    assert_eq!(listed["calls"].as_array().unwrap().len(), 1);

    // Events: a blank queue, caller and name on call_initiated are absent.
    let answer = post(
        &app,
        "/api/events",
        r#"{"event_type": "call_initiated", "call_id": "in-1", "queue_id": "", "from": " ",
            "to": "", "customer_name": "", "type": "", "direction": "", "event_id": "", "timestamp": ""}"#,
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let call = answer.json()["call"].clone();
    for field in ["queue_id", "from", "to", "customer_name"] {
        assert!(call[field].is_null(), "{field} is not absent: {call}");
    }
    // A blank agent on call_routed is a missing one: the clear error, not "invalid id".
    let answer = post(
        &app,
        "/api/events",
        r#"{"event_type": "call_routed", "call_id": "in-1", "agent_id": ""}"#,
    );
    let error = answer.await.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    assert_eq!(error["field"], "agent_id");

    // The do-not-call list and pauses.
    let answer =
        post(&app, "/api/dnc", r#"{"phone_number": "+14155550199", "reason": "  "}"#).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    assert!(answer.json()["reason"].is_null());
    let answer = post(&app, "/api/dispatch/pause", r#"{"queue_id": "", "until": ""}"#).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let pauses = answer.json()["pauses"].clone();
    assert_eq!(pauses[0]["queue_id"], serde_json::Value::Null, "a pause of every call");
}

#[tokio::test]
async fn numbers_without_a_country_code_are_read_in_the_default_region() {
    // Without a default region, the clear error stays.
    let (app, _) = app();
    let answer = post(&app, "/api/calls", r#"{"phone_number": "(415) 555-0100"}"#).await;
    let error = answer.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    assert_eq!(error["field"], "phone_number");
    assert!(error["message"].as_str().unwrap().contains("country code"), "{error}");

    let us = Region::parse("default_region", "US").unwrap();
    let state = builder().config(Config { default_region: Some(us), ..Config::default() }).build();
    let app = router(state);
    for typed in ["4155550100", "(415) 555-0100", "415.555.0100"] {
        let body = serde_json::json!({"phone_number": typed, "from": "415 555 0199"});
        let answer = post(&app, "/api/calls", &body.to_string()).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{typed}: {}", answer.text);
        assert_eq!(answer.json()["to"], "+14155550100", "{typed}");
        assert_eq!(answer.json()["from"], "+14155550199", "{typed}");
    }
    // The history, the listing by number, events and the do-not-call list read them the same.
    let history = get(&app, "/api/phones/415.555.0100/history").await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.text);
    assert_eq!(history.json()["phone_number"], "+14155550100");
    let listed = get(&app, "/api/calls?phone=4155550100").await.json();
    assert_eq!(listed["calls"].as_array().unwrap().len(), 3);
    let answer = post(
        &app,
        "/api/events",
        r#"{"event_type": "call_initiated", "call_id": "in-1", "from": "(212) 555-0142"}"#,
    )
    .await;
    assert_eq!(answer.json()["call"]["from"], "+12125550142", "{}", answer.text);
    let answer = post(&app, "/api/dnc", r#"{"phone_number": "212-555-0142"}"#).await;
    assert_eq!(answer.json()["phone_number"], "+12125550142", "{}", answer.text);
    // A number too short for the region is still refused.
    let answer = post(&app, "/api/calls", r#"{"phone_number": "555-0100"}"#).await;
    assert_eq!(answer.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid")["field"], "phone_number");
}

#[tokio::test]
async fn text_over_its_limit_is_refused_naming_the_field_and_the_limit() {
    let (app, _) = app();
    let long = |n: usize| "x".repeat(n);
    let cases = [
        (
            serde_json::json!({"phone_number": "+14155550100", "customer_name": long(100_000)}),
            "customer_name",
            "at most 200",
        ),
        (
            serde_json::json!({"phone_number": "+14155550100", "workflow": long(201)}),
            "workflow",
            "at most 200",
        ),
        (
            serde_json::json!({"phone_number": "+14155550100", "metadata": {"note": long(9_000)}}),
            "metadata",
            "at most 8192 are allowed",
        ),
        (
            serde_json::json!({"phone_number": "+14155550100", "idempotency_key": long(256)}),
            "idempotency_key",
            "at most 255",
        ),
    ];
    for (body, field, limit) in cases {
        let answer = post(&app, "/api/calls", &body.to_string()).await;
        let error = answer.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        assert_eq!(error["field"], field);
        assert!(error["message"].as_str().unwrap().contains(limit), "{field}: {error}");
    }
    let listed = get(&app, "/api/calls").await.json();
    assert!(listed["calls"].as_array().unwrap().is_empty(), "nothing refused is written");

    // At the limit is fine.
    let body = serde_json::json!({"phone_number": "+14155550100", "customer_name": long(200)});
    assert_eq!(post(&app, "/api/calls", &body.to_string()).await.status, StatusCode::CREATED);

    let events = [
        (
            serde_json::json!({"event_type": "call_initiated", "call_id": "c1", "customer_name": long(201)}),
            "customer_name",
        ),
        (
            serde_json::json!({"event_type": "call_failed", "call_id": "c1", "error": long(501)}),
            "error",
        ),
        (serde_json::json!({"event_type": "call_initiated", "call_id": long(129)}), "call_id"),
    ];
    for (body, field) in events {
        let answer = post(&app, "/api/events", &body.to_string()).await;
        let error = answer.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        assert_eq!(error["field"], field, "{error}");
    }
    let body = serde_json::json!({"phone_number": "+14155550100", "reason": long(501)});
    let answer = post(&app, "/api/dnc", &body.to_string()).await;
    assert_eq!(answer.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid")["field"], "reason");
}

/// Every time a client reads, in a call, its audit log (metadata included),
/// a history, a pause, a do-not-call entry or the activity's minutes, is in
/// the one form:
/// RFC 3339, UTC, `Z`, six fractional digits.
#[tokio::test]
async fn every_time_on_the_wire_has_one_form() {
    let (app, _) = app();
    let call = post(
        &app,
        "/api/calls",
        r#"{"phone_number": "+14155550100", "scheduled_at": "2030-01-01T09:00:00+01:00",
            "recurrence": {"cron": "0 9 * * *", "time_zone": "Europe/Paris", "until": "2030-02-01T00:00:00Z"},
            "calling_window": {"start": "09:00", "end": "17:00", "time_zone": "Europe/Paris"}}"#,
    )
    .await
    .json();
    let id = call["id"].as_str().unwrap().to_owned();
    let body = r#"{"scheduled_at": "2030-01-02T10:00:00.5+01:00"}"#;
    let answer = crate::send(&app, "PATCH", &format!("/api/calls/{id}"), Some(body), &[]).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    post(&app, "/api/dispatch/pause", r#"{"until": "2030-01-01T00:00:00Z"}"#).await;
    post(&app, "/api/dnc", r#"{"phone_number": "+14155550199"}"#).await;
    post(
        &app,
        "/api/events",
        r#"{"event_type": "call_initiated", "call_id": "in-1", "to": "+14155550100"}"#,
    )
    .await;
    post(&app, "/api/events", r#"{"event_type": "call_ended", "call_id": "in-1"}"#).await;

    let mut times = Vec::new();
    for path in [
        format!("/api/calls/{id}"),
        format!("/api/calls/{id}/events"),
        "/api/calls".to_owned(),
        "/api/dispatch".to_owned(),
        "/api/dnc".to_owned(),
        "/api/series".to_owned(),
        "/api/phones/%2B14155550100/history".to_owned(),
        "/api/stats/activity?minutes=5".to_owned(),
    ] {
        let answer = get(&app, &path).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text);
        collect_times(&answer.json(), &mut times);
    }
    assert!(times.len() > 20, "the answers hold times: {times:?}");
    for time in &times {
        let fixed = time.len() == "2030-01-01T08:00:00.000000Z".len()
            && time.ends_with('Z')
            && time.as_bytes()[19] == b'.';
        assert!(fixed, "{time:?} is not RFC 3339 UTC with microseconds and Z");
    }
}

/// Every string in `value` that reads as an RFC 3339 time.
fn collect_times(value: &serde_json::Value, times: &mut Vec<String>) {
    match value {
        serde_json::Value::String(text) if chrono::DateTime::parse_from_rfc3339(text).is_ok() => {
            times.push(text.clone());
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_times(v, times)),
        serde_json::Value::Object(map) => map.values().for_each(|v| collect_times(v, times)),
        _ => {}
    }
}
