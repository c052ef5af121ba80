//! Every route, answering as the contract says.

use std::sync::Arc;

use axum::http::StatusCode;
use call_http::router;
use serde_json::{Value, json};

use crate::{app, builder, get, post, recorder, send};

#[tokio::test]
async fn schedule_read_list_cancel_reschedule() {
    let (app, _) = app();
    let created = post(&app, "/api/calls", r#"{"phone_number": "+1 (415) 555-0100", "scheduled_at": "2030-01-01T09:00:00+01:00",
        "customer_name": "Ada", "workflow": "reminder", "media": "video", "from": "+44 20 7183 8750", "metadata": {"ticket": 7}}"#).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let call = created.json();
    for (field, value) in [
        ("direction", json!("outbound")),
        ("to", json!("+14155550100")),
        ("from", json!("+442071838750")),
        ("customer_name", json!("Ada")),
        ("workflow", json!("reminder")),
        ("media", json!("video")),
        ("status", json!("scheduled")),
        ("scheduled_at", json!("2030-01-01T08:00:00.000000Z")),
        ("metadata", json!({"ticket": 7})),
        ("flags", json!([])),
        ("version", json!(1)),
        ("attempts", json!(0)),
        ("series_id", Value::Null),
        ("occurrence", Value::Null),
        ("calling_window", Value::Null),
        ("redial", Value::Null),
        ("redial_attempt", json!(1)),
        ("redial_of", Value::Null),
        ("redialed_as", Value::Null),
    ] {
        assert_eq!(call[field], value, "{field}");
    }
    let keys: Vec<&str> = call.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 33, "every field of the contract: {keys:?}");
    let id = call["id"].as_str().unwrap();

    assert_eq!(get(&app, &format!("/api/calls/{id}")).await.json(), call);
    let moved = send(
        &app,
        "PATCH",
        &format!("/api/calls/{id}"),
        Some(r#"{"scheduled_at": "2030-01-02T10:00:00.000000Z"}"#),
        &[],
    )
    .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    assert_eq!(moved.json()["scheduled_at"], "2030-01-02T10:00:00.000000Z");
    let canceled = post(&app, &format!("/api/calls/{id}/cancel"), "").await;
    assert_eq!(canceled.json()["status"], "canceled");

    let again = post(&app, &format!("/api/calls/{id}/cancel"), "").await;
    let error = again.error(StatusCode::CONFLICT, "conflict");
    assert_eq!(error["message"], "event call_canceled is not allowed in status canceled");
    send(
        &app,
        "PATCH",
        &format!("/api/calls/{id}"),
        Some(r#"{"scheduled_at": "2030-01-02T10:00:00.000000Z"}"#),
        &[],
    )
    .await
    .error(StatusCode::CONFLICT, "conflict");

    let events = get(&app, &format!("/api/calls/{id}/events")).await.json();
    let types: Vec<&str> =
        events["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["call_scheduled", "call_rescheduled", "call_canceled"]);
    assert!(events["events"].as_array().unwrap().iter().all(|e| e["source"] == "api"));

    get(&app, "/api/calls/nope").await.error(StatusCode::NOT_FOUND, "not_found");
    get(&app, "/api/calls/nope/events").await.error(StatusCode::NOT_FOUND, "not_found");
    post(&app, "/api/calls/nope/cancel", "").await.error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn lists_filter_and_page_by_cursor() {
    let (app, _) = app();
    post(&app, "/api/queues", r#"{"id": "sales"}"#).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let queue = if i % 2 == 0 { r#", "queue_id": "sales""# } else { "" };
        let body = format!(
            r#"{{"phone_number": "+1415555010{i}", "scheduled_at": "2030-01-01T09:00:00Z"{queue}}}"#
        );
        ids.push(post(&app, "/api/calls", &body).await.json()["id"].as_str().unwrap().to_owned());
    }
    post(&app, &format!("/api/calls/{}/cancel", ids[4]), "").await;

    let mut seen = Vec::new();
    let mut path = "/api/calls?limit=2".to_owned();
    loop {
        let page = get(&app, &path).await.json();
        seen.extend(
            page["calls"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/calls?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);

    let count = |path: &str| {
        let app = app.clone();
        let path = path.to_owned();
        async move { get(&app, &path).await.json()["calls"].as_array().unwrap().len() }
    };
    assert_eq!(count("/api/calls?queue=sales").await, 3);
    assert_eq!(count("/api/calls?status=pending").await, 4);
    assert_eq!(count("/api/calls?status=ended").await, 1);
    assert_eq!(count("/api/calls?status=canceled&status=scheduled").await, 5);
    assert_eq!(count("/api/calls?status=live,ended").await, 1);
    assert_eq!(count("/api/calls?phone=%2B1%20415%20555%200102").await, 1);
}

#[tokio::test]
async fn the_call_centre_flow_over_events() {
    let (app, state) = app();
    post(&app, "/api/queues", r#"{"id": "medical_spanish"}"#).await;
    let start = chrono::Utc::now() - chrono::TimeDelta::minutes(5);
    let at = |s: i64| (start + chrono::TimeDelta::seconds(s)).to_rfc3339();

    let created = post(
        &app,
        "/api/events",
        &json!({"event_type": "call_initiated", "call_id": "123", "type": "video",
        "queue_id": "medical_spanish", "from": "+14155550100", "timestamp": at(0)})
        .to_string(),
    )
    .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let call = created.json();
    assert_eq!(
        (&call["call"]["direction"], &call["call"]["status"], &call["duplicate"]),
        (&json!("inbound"), &json!("initiated"), &json!(false))
    );

    // A batch: each event on its own, one result each.
    let batch = post(&app, "/api/events", &json!([
        {"event_type": "call_routed", "call_id": "123", "agent_id": "a7", "timestamp": at(5), "event_id": "ev-1"},
        {"event_type": "call_answered", "call_id": "123", "timestamp": at(10)},
        {"event_type": "call_answered", "call_id": "123", "timestamp": at(11)},
        {"event_type": "call_answered", "call_id": "nope"},
        {"event_type": "call_hold", "call_id": "123", "hold_duration": -1},
        {"event_type": "call_routed", "call_id": "123", "agent_id": "a7", "timestamp": at(5), "event_id": "ev-1"},
    ]).to_string()).await;
    assert_eq!(batch.status, StatusCode::OK, "{}", batch.text);
    let results = batch.json()["results"].as_array().unwrap().clone();
    let statuses: Vec<u64> = results.iter().map(|r| r["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, [200, 200, 409, 404, 422, 200]);
    assert_eq!(
        results[2]["error"]["message"],
        "event call_answered is not allowed in status active"
    );
    assert_eq!(results[4]["error"]["field"], "hold_duration");
    assert_eq!(results[5]["duplicate"], true, "a repeated event_id is a no-op");

    let ended = post(
        &app,
        "/api/events",
        &json!({"event_type": "call_ended", "call_id": "123", "timestamp": at(14)}).to_string(),
    )
    .await;
    assert_eq!(ended.json()["call"]["flags"], json!(["short_call"]));
    let routed = state.engine().events(&call_core::CallId::parse("123").unwrap()).await.unwrap();
    assert_eq!(
        routed.iter().filter(|e| e.event_type() == call_core::EventType::CallRouted).count(),
        1
    );

    // Single refusals carry their status.
    post(&app, "/api/events", r#"{"event_type": "call_resumed", "call_id": "123"}"#)
        .await
        .error(StatusCode::CONFLICT, "conflict");
    post(&app, "/api/events", r#"{"event_type": "call_answered", "call_id": "ghost"}"#)
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    let queue = post(
        &app,
        "/api/events",
        r#"{"event_type": "call_initiated", "call_id": "456", "queue_id": "nowhere"}"#,
    )
    .await;
    assert_eq!(queue.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid")["field"], "queue_id");
    let missing = post(&app, "/api/events", r#"{"call_id": "456"}"#).await;
    assert_eq!(missing.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid")["field"], "event_type");
    let not_events =
        post(&app, "/api/events", r#"[{"event_type": "call_ringing", "call_id": "123"}, 7]"#).await;
    assert_eq!(
        not_events.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid")["field"],
        "[1].body",
        "refused whole"
    );
    let too_many: Vec<Value> = (0..1_001)
        .map(|i| json!({"event_type": "call_ringing", "call_id": format!("c{i}")}))
        .collect();
    post(&app, "/api/events", &Value::Array(too_many).to_string())
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");

    let stats = get(&app, "/api/stats").await.json();
    assert_eq!(stats["queues"][0]["queue_id"], "medical_spanish");
    assert_eq!(stats["queues"][0]["answered"], 1);
    assert_eq!(stats["agents"][0]["agent_id"], "a7");
}

#[tokio::test]
async fn history_by_number_in_any_format() {
    let (app, _) = app();
    let day = "2026-06-01T12:00:00.000000Z";
    for (id, from, to, answered) in [
        ("c1", "+14155550100", "+14155550199", true),
        ("c2", "+14155550199", "+14155550100", false),
    ] {
        post(&app, "/api/events", &json!({"event_type": "call_initiated", "call_id": id, "from": from, "to": to, "timestamp": day}).to_string()).await;
        if answered {
            post(&app, "/api/events", &json!({"event_type": "call_answered", "call_id": id, "timestamp": "2026-06-01T12:00:05Z"}).to_string()).await;
        }
        post(&app, "/api/events", &json!({"event_type": "call_ended", "call_id": id, "timestamp": "2026-06-01T12:00:30Z"}).to_string()).await;
    }
    for encoded in ["%2B14155550100", "%2B1%20(415)%20555-0100", "%2B1-415-555-0100"] {
        let page = get(&app, &format!("/api/phones/{encoded}/history")).await.json();
        assert_eq!(page["phone_number"], "+14155550100");
        let records = page["records"].as_array().unwrap();
        let types: Vec<&str> = records.iter().map(|r| r["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["Missed Inbound", "Completed Outbound"], "{encoded}");
        assert_eq!(records[1]["duration"], 25);
        assert_eq!(records[1]["counterparty"], "+14155550199");
    }
    let within = |query: &str| {
        let app = app.clone();
        let path = format!("/api/phones/%2B14155550100/history?{query}");
        async move { get(&app, &path).await.json()["records"].as_array().unwrap().len() }
    };
    assert_eq!(
        within("since=2026-06-01&until=2026-06-01").await,
        2,
        "a date includes its whole day"
    );
    assert_eq!(within("since=2026-06-02").await, 0);
    assert_eq!(within("until=2026-05-31").await, 0);
    assert_eq!(within("until=2026-06-01T12:00:00Z").await, 2, "until is inclusive");
    get(&app, "/api/phones/12345/history").await.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    get(&app, "/api/phones/%2B14155550100/history?since=yesterday")
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");

    // The history endpoint of the original brief: a bare JSON list.
    let bare =
        send(&app, "GET", "/calls/%2B14155550100", None, &[("accept", "application/json")]).await;
    assert_eq!(bare.status, StatusCode::OK);
    let list = bare.json();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["type"], "Missed Inbound");
    let page = send(&app, "GET", "/calls/%2B14155550100", None, &[("accept", "text/html")]).await;
    assert!(
        page.content_type.starts_with("text/html") && page.text.contains("history.js"),
        "{page:?}"
    );
}

#[tokio::test]
async fn the_queue_registry() {
    let (app, _) = app();
    let added = post(&app, "/api/queues", r#"{"id": "support"}"#).await;
    assert_eq!(added.status, StatusCode::CREATED);
    assert_eq!(added.json()["id"], "support");
    post(&app, "/api/queues", r#"{"id": "support"}"#).await.error(StatusCode::CONFLICT, "conflict");
    post(&app, "/api/queues", r#"{"id": "has space"}"#)
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    assert_eq!(get(&app, "/api/queues").await.json()["queues"][0]["id"], "support");
    assert_eq!(get(&app, "/api/queues/support").await.json()["id"], "support");
    let removed = send(&app, "DELETE", "/api/queues/support", None, &[]).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    send(&app, "DELETE", "/api/queues/support", None, &[])
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    get(&app, "/api/queues/support").await.error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn pausing_and_resuming_dispatch() {
    let (app, state) = app();
    assert_eq!(get(&app, "/api/dispatch").await.json(), json!({"paused": false, "pauses": []}));
    let refused = |answer: crate::Answer, field: &str| {
        let error = answer.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        assert_eq!(error["field"], field, "{error}");
    };
    refused(post(&app, "/api/dispatch/pause", r#"{"queue_id": "nowhere"}"#).await, "queue_id");
    refused(post(&app, "/api/dispatch/pause", r#"{"queue_id": "a b"}"#).await, "queue_id");
    refused(post(&app, "/api/dispatch/pause", r#"{"until": "soon"}"#).await, "until");
    refused(
        post(&app, "/api/dispatch/pause", r#"{"until": "2001-01-01T00:00:00.000000Z"}"#).await,
        "until",
    );
    refused(post(&app, "/api/dispatch/pause", r#"{"queue": "sales"}"#).await, "queue");
    send(&app, "POST", "/api/dispatch/pause", Some("{}"), &[("content-type", "text/plain")])
        .await
        .error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    assert_eq!(state.engine().pauses().await.unwrap(), [], "no refusal recorded a pause");

    post(&app, "/api/queues", r#"{"id": "sales"}"#).await;
    let until = (chrono::Utc::now() + chrono::TimeDelta::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let body = json!({"queue_id": "sales", "until": until}).to_string();
    let answer = post(&app, "/api/dispatch/pause", &body).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let paused = answer.json();
    assert_eq!(paused["paused"], false, "only a queue is paused");
    assert_eq!(paused["pauses"][0]["queue_id"], "sales");
    let held_until =
        chrono::DateTime::parse_from_rfc3339(paused["pauses"][0]["until"].as_str().unwrap());
    assert_eq!(held_until.unwrap(), chrono::DateTime::parse_from_rfc3339(&until).unwrap());

    let everything = send(&app, "POST", "/api/dispatch/pause", None, &[]).await;
    assert_eq!(everything.status, StatusCode::OK, "no body pauses every call");
    let everything = everything.json();
    assert_eq!(everything["paused"], true);
    assert_eq!(everything["pauses"][0]["queue_id"], Value::Null, "every call's pause first");
    assert_eq!(everything["pauses"][0]["until"], Value::Null);
    assert_eq!(everything["pauses"][1]["queue_id"], "sales");

    refused(post(&app, "/api/dispatch/resume", &body).await, "until");
    let resumed = send(&app, "POST", "/api/dispatch/resume", None, &[]).await.json();
    assert_eq!(resumed["paused"], false, "{resumed}");
    assert_eq!(resumed["pauses"].as_array().unwrap().len(), 1, "the queue's pause stays");
    let resumed = post(&app, "/api/dispatch/resume", r#"{"queue_id": "sales"}"#).await.json();
    assert_eq!(resumed, json!({"paused": false, "pauses": []}));
    let again = post(&app, "/api/dispatch/resume", r#"{"queue_id": "sales"}"#).await;
    assert_eq!(again.status, StatusCode::OK, "resuming what is not paused changes nothing");
}

#[tokio::test]
async fn provider_callbacks_drive_placed_calls() {
    let store = crate::placed_call().await;
    let state = call_http::AppState::builder(store).build();
    let app = call_http::router(state);

    let json = post(
        &app,
        "/api/provider/webhook",
        r#"{"id": "prov-1", "status": "ringing", "phone_number": "+14155550100"}"#,
    )
    .await;
    assert_eq!(json.status, StatusCode::OK, "{}", json.text);
    assert_eq!(json.json()["status"], "ringing");
    let form = send(
        &app,
        "POST",
        "/api/provider/webhook",
        Some("CallSid=prov-1&CallStatus=busy"),
        &[("content-type", "application/x-www-form-urlencoded")],
    )
    .await;
    assert_eq!(form.json()["status"], "busy", "{}", form.text);

    let unknown =
        post(&app, "/api/provider/webhook", r#"{"id": "prov-404", "status": "ringing"}"#).await;
    assert_eq!(unknown.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid")["field"], "external_id");
    post(&app, "/api/provider/webhook", "garbage")
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
}

#[tokio::test]
async fn operations_and_the_openapi_document() {
    let recorder = recorder();
    let _local = metrics::set_default_local_recorder(&recorder);
    let handle = recorder.handle();
    call_http::metrics::describe();
    let app = router(builder().metrics(move || handle.render()).build());
    assert_eq!(get(&app, "/healthz").await.json(), json!({"status": "ok"}));
    post(
        &app,
        "/api/calls",
        r#"{"phone_number": "+14155550100", "scheduled_at": "2030-01-01T09:00:00.000000Z"}"#,
    )
    .await;
    post(&app, "/api/events", r#"{"event_type": "call_initiated", "call_id": "in-1"}"#).await;
    let metrics = get(&app, "/metrics").await;
    assert!(metrics.content_type.starts_with("text/plain; version=0.0.4"));
    for line in [
        "callwork_calls{status=\"scheduled\"} 1",
        "callwork_calls{status=\"initiated\"} 1",
        "callwork_events_ingested_total 1",
        "callwork_websocket_subscribers 0",
        "callwork_calls{status=\"completed\"} 0",
        "# HELP callwork_calls Calls in the store, by status.",
        "# TYPE callwork_calls gauge",
    ] {
        assert!(metrics.text.lines().any(|l| l == line), "missing {line:?}:\n{}", metrics.text);
    }
    // Without a recorder's renderer there is nothing to serve.
    let (bare, _) = crate::app();
    get(&bare, "/metrics").await.error(StatusCode::NOT_FOUND, "not_found");

    let doc = get(&app, "/api/openapi.json").await.json();
    let paths = doc["paths"].as_object().unwrap();
    let mut documented: Vec<String> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| format!("{} {path}", method.to_uppercase()))
        })
        .collect();
    documented.sort();
    assert_eq!(
        documented,
        [
            "DELETE /api/dnc/{phone}",
            "DELETE /api/queues/{id}",
            "GET /api/alerts",
            "GET /api/calls",
            "GET /api/calls/{id}",
            "GET /api/calls/{id}/attempts",
            "GET /api/calls/{id}/events",
            "GET /api/dispatch",
            "GET /api/dnc",
            "GET /api/dnc/{phone}",
            "GET /api/openapi.json",
            "GET /api/phones/{phone}/history",
            "GET /api/queues",
            "GET /api/queues/{id}",
            "GET /api/series",
            "GET /api/series/{id}",
            "GET /api/stats",
            "GET /api/stats/activity",
            "GET /api/ws",
            "GET /healthz",
            "GET /metrics",
            "PATCH /api/calls/{id}",
            "POST /api/alerts/{id}/ack",
            "POST /api/calls",
            "POST /api/calls/{id}/cancel",
            "POST /api/dispatch/pause",
            "POST /api/dispatch/resume",
            "POST /api/dnc",
            "POST /api/events",
            "POST /api/provider/webhook",
            "POST /api/queues",
            "POST /api/series/{id}/cancel",
        ]
    );
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for schema in [
        "CallJson",
        "EventJson",
        "HistoryJson",
        "EventRequest",
        "ErrorBody",
        "LiveMessage",
        "CallPage",
        "SeriesJson",
        "SeriesPage",
        "RecurrenceJson",
    ] {
        assert!(schemas.contains_key(schema), "{schema}");
    }
    assert!(doc["components"]["securitySchemes"]["api_key"].is_object());
    // Every error answer of the API is documented with the error schema.
    let post_calls = &doc["paths"]["/api/calls"]["post"]["responses"];
    for status in ["400", "401", "413", "415", "422"] {
        assert!(
            post_calls[status]["content"]["application/json"]["schema"]["$ref"]
                .as_str()
                .unwrap()
                .ends_with("ErrorBody"),
            "{status}"
        );
    }

    // Every /api operation documents the refusals any request may get.
    for (path, item) in
        paths.iter().filter(|(p, _)| p.starts_with("/api/") && *p != "/api/openapi.json")
    {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            let mut expected = vec!["401", "422", "503"];
            if operation.get("requestBody").is_some() {
                expected.extend(["400", "413", "415"]);
            }
            for status in expected {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} does not document {status}"
                );
            }
        }
    }

    let page = get(&app, "/").await;
    assert!(page.content_type.starts_with("text/html") && page.text.contains("Schedule a call"));
    for asset in ["app.js", "common.js", "history.js", "style.css"] {
        assert_eq!(get(&app, &format!("/assets/{asset}")).await.status, StatusCode::OK, "{asset}");
    }
    get(&app, "/assets/nope.js").await.error(StatusCode::NOT_FOUND, "not_found");
}

/// A client's retries of one `POST /api/calls` with one `Idempotency-Key`,
/// one after another and racing, over a real connection: one call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_post_with_an_idempotency_key_makes_one_call() {
    let (app, _) = app();
    let base = format!("http://{}", crate::serve(app).await);
    let client = crate::client();
    let post = |key: &'static str, body: Value| {
        let request = client.post(format!("{base}/api/calls")).json(&body);
        async move {
            let answer = request.header("Idempotency-Key", key).send().await.unwrap();
            let replayed = answer.headers().get("idempotent-replayed").cloned();
            let status = answer.status().as_u16();
            (status, replayed, answer.json::<Value>().await.unwrap())
        }
    };
    let body = json!({"phone_number": "+1 415 555 0100", "customer_name": "Ada"});

    let (status, replayed, first) = post("order-17", body.clone()).await;
    assert_eq!((status, replayed), (201, None), "{first}");
    let (status, replayed, again) = post("order-17", body.clone()).await;
    assert_eq!(status, 200, "a retry is answered, not created: {again}");
    assert_eq!(replayed.unwrap(), "true");
    assert_eq!(again, first, "the first call, as it is now");
    // The IETF draft writes the key as a quoted string: the same key.
    let (status, _, quoted) = post("\"order-17\"", body.clone()).await;
    assert_eq!((status, &quoted["id"]), (200, &first["id"]));

    // The same key for another request: refused, naming the first call.
    let other = json!({"phone_number": "+1 415 555 0199"});
    let (status, _, refused) = post("order-17", other).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["field"], "idempotency_key");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.contains(first["id"].as_str().unwrap()), "{message}");
    let mismatch = json!({"phone_number": "+1 415 555 0100", "idempotency_key": "other"});
    let (status, _, refused) = post("order-17", mismatch).await;
    assert_eq!((status, &refused["error"]["field"]), (422, &json!("idempotency_key")));
    let (status, _, refused) = post("two words", body.clone()).await;
    assert_eq!((status, &refused["error"]["field"]), (422, &json!("idempotency_key")));

    // Sixteen racing retries: one call, every answer naming it.
    let racing: Vec<_> = (0..16).map(|_| tokio::spawn(post("order-18", body.clone()))).collect();
    let mut created = 0;
    let mut ids = std::collections::HashSet::new();
    for task in racing {
        let (status, _, call) = task.await.unwrap();
        created += usize::from(status == 201);
        ids.insert(call["id"].as_str().unwrap().to_owned());
    }
    assert_eq!((created, ids.len()), (1, 1), "one call made, every answer names it");
    let all = client.get(format!("{base}/api/calls")).send().await.unwrap();
    let all: Value = all.json().await.unwrap();
    assert_eq!(all["calls"].as_array().unwrap().len(), 2, "two keys, two calls");
}

#[tokio::test]
async fn scheduling_listing_and_canceling_a_recurring_series() {
    let (app, _state) = app();
    let refused = |answer: crate::Answer, field: &str| {
        let error = answer.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        assert_eq!(error["field"], field, "{error}");
    };
    let with = |recurrence: Value| {
        json!({"phone_number": "+14155550100", "customer_name": "Ada", "recurrence": recurrence})
            .to_string()
    };
    for (recurrence, field) in [
        (json!({"cron": "every day", "time_zone": "UTC"}), "recurrence.cron"),
        (json!({"cron": "0 9 * * *", "time_zone": "Paris"}), "recurrence.time_zone"),
        (json!({"cron": "0 9 * * *", "time_zone": "UTC", "count": 0}), "recurrence.count"),
        (json!({"cron": "0 9 * * *", "time_zone": "UTC", "until": "soon"}), "recurrence.until"),
        (
            json!({"cron": "0 9 * * *", "time_zone": "UTC", "until": "2001-01-01T00:00:00Z"}),
            "recurrence.until",
        ),
    ] {
        refused(post(&app, "/api/calls", &with(recurrence)).await, field);
    }
    let unknown = post(&app, "/api/calls", &with(json!({"cron": "0 9 * * *", "tz": "UTC"}))).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", unknown.text);
    assert_eq!(get(&app, "/api/series").await.json(), json!({"series": [], "next_cursor": null}));

    let recurrence = json!({"cron": "0 9 * * MON-FRI", "time_zone": "Europe/Paris", "count": 10});
    let answer = post(&app, "/api/calls", &with(recurrence.clone())).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    let first = answer.json();
    assert_eq!(first["occurrence"], 1);
    let series_id = first["series_id"].as_str().expect("a series id").to_owned();
    let due =
        chrono::DateTime::parse_from_rfc3339(first["scheduled_at"].as_str().unwrap()).unwrap();
    let paris = due.with_timezone(&chrono_tz::Europe::Paris);
    assert_eq!(paris.format("%H:%M").to_string(), "09:00", "the first at nine in Paris");

    let shown = get(&app, &format!("/api/series/{series_id}")).await.json();
    assert_eq!(shown["id"], series_id.as_str());
    assert_eq!(
        shown["recurrence"],
        json!({
            "cron": "0 9 * * MON-FRI", "time_zone": "Europe/Paris", "count": 10, "until": null
        })
    );
    assert_eq!(
        (shown["occurrences"].clone(), shown["canceled_at"].clone()),
        (json!(1), Value::Null)
    );
    let listed = get(&app, "/api/series?limit=1").await.json();
    assert_eq!(listed["series"][0]["id"], series_id.as_str());
    assert_eq!(
        listed["next_cursor"],
        series_id.as_str(),
        "a full page names where the next starts"
    );
    let next = get(&app, &format!("/api/series?cursor={series_id}")).await.json();
    assert_eq!(next["series"], json!([]));
    let calls = get(&app, &format!("/api/calls?series_id={series_id}")).await.json();
    assert_eq!(calls["calls"].as_array().unwrap().len(), 1);
    assert_eq!(calls["calls"][0]["id"], first["id"]);

    let canceled = post(&app, &format!("/api/series/{series_id}/cancel"), "").await;
    assert_eq!(canceled.status, StatusCode::OK, "{}", canceled.text);
    assert!(canceled.json()["canceled_at"].is_string());
    let call = get(&app, &format!("/api/calls/{}", first["id"].as_str().unwrap())).await.json();
    assert_eq!(call["status"], "canceled", "its waiting call is canceled");

    get(&app, "/api/series/nope").await.error(StatusCode::NOT_FOUND, "not_found");
    post(&app, "/api/series/nope/cancel", "").await.error(StatusCode::NOT_FOUND, "not_found");
    refused(get(&app, "/api/series/a%20b").await, "id");
    refused(get(&app, "/api/calls?series_id=a%20b").await, "series_id");
    let openapi = get(&app, "/api/openapi.json").await.json();
    for path in ["/api/series", "/api/series/{id}", "/api/series/{id}/cancel"] {
        assert!(openapi["paths"][path].is_object(), "{path} is documented");
    }
    assert!(
        openapi["components"]["schemas"]["ScheduleRequest"]["properties"]["recurrence"].is_object()
    );
}

#[tokio::test]
async fn a_calling_window_moves_a_due_time_to_its_opening_and_bad_windows_are_refused() {
    // Monday 2026-11-23, 06:00 in New York.
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-23T11:00:00Z").unwrap().to_utc();
    let clock = Arc::new(call_core::ports::ManualClock::new(now));
    let state = crate::builder()
        .clock(clock)
        .config(call_core::Config {
            default_window: call_core::CallingWindow::hours("08:00-21:00").unwrap(),
            ..call_core::Config::default()
        })
        .build();
    let app = router(state);
    let with = |window: Value| {
        json!({"phone_number": "+1 212 555 0100", "calling_window": window}).to_string()
    };
    for (window, field) in [
        (json!({"time_zone": "Eastern"}), "calling_window.time_zone"),
        (json!({"start": "9am"}), "calling_window.start"),
        (json!({"start": "20:00", "end": "09:00"}), "calling_window.end"),
        (json!({"days": ["someday"]}), "calling_window.days"),
        (json!({"days": []}), "calling_window.days"),
    ] {
        let error = post(&app, "/api/calls", &with(window)).await;
        let error = error.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        assert_eq!(error["field"], field, "{error}");
    }
    // Half an hour a day in both of southern Idaho's zones never overlaps.
    let idaho = json!({"phone_number": "+1 208 200 1234", "calling_window": {"start": "09:00", "end": "09:30"}});
    let error = post(&app, "/api/calls", &idaho.to_string()).await;
    let error = error.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    assert_eq!(error["field"], "calling_window");
    assert_eq!(get(&app, "/api/calls").await.json()["calls"], json!([]), "nothing was written");

    // Its own days and hours; the zone derived from the number.
    let window = json!({"start": "09:00", "end": "20:00", "days": ["mon-fri"]});
    let answer = post(&app, "/api/calls", &with(window)).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    let call = answer.json();
    assert_eq!(call["scheduled_at"], "2026-11-23T14:00:00.000000Z", "09:00 in New York");
    assert_eq!(
        call["calling_window"],
        json!({"start": "09:00", "end": "20:00", "days": ["mon", "tue", "wed", "thu", "fri"]})
    );
    let id = call["id"].as_str().unwrap();
    let events = get(&app, &format!("/api/calls/{id}/events")).await.json();
    let scheduled = &events["events"][0]["metadata"];
    assert_eq!(scheduled["waits_for"], "calling_window", "{events}");
    assert_eq!(scheduled["zones"], json!(["America/New_York"]));

    // Nothing of its own: the server's default, 08:00-21:00.
    let plain =
        post(&app, "/api/calls", &json!({"phone_number": "+1 212 555 0100"}).to_string()).await;
    let plain = plain.json();
    assert_eq!(plain["scheduled_at"], "2026-11-23T13:00:00.000000Z", "08:00 in New York");
    assert_eq!(plain["calling_window"], json!({"start": "08:00", "end": "21:00"}));

    // Rescheduling to 22:00 in New York moves to the next morning's 09:00.
    let moved = send(
        &app,
        "PATCH",
        &format!("/api/calls/{id}"),
        Some(&json!({"scheduled_at": "2026-11-24T03:00:00.000000Z"}).to_string()),
        &[],
    )
    .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    assert_eq!(moved.json()["scheduled_at"], "2026-11-24T14:00:00.000000Z");

    let openapi = get(&app, "/api/openapi.json").await.json();
    let properties = &openapi["components"]["schemas"]["ScheduleRequest"]["properties"];
    assert!(properties["calling_window"].is_object(), "documented");
    assert!(
        openapi["components"]["schemas"]["CallingWindowJson"]["properties"]["days"].is_object()
    );
}

#[tokio::test]
async fn a_busy_call_is_redialled_and_its_attempts_are_listed_with_the_final_outcome() {
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-23T11:00:00Z").unwrap().to_utc();
    let clock = Arc::new(call_core::ports::ManualClock::new(now));
    let state = crate::builder().clock(clock.clone()).build();
    let app = router(state.clone());
    let with =
        |redial: Value| json!({"phone_number": "+1 415 555 0100", "redial": redial}).to_string();
    for (redial, field) in [
        (json!({"on": [], "max_attempts": 3, "delay": "1m"}), "redial.on"),
        (json!({"on": ["completed"], "max_attempts": 3, "delay": "1m"}), "redial.on"),
        (json!({"on": ["busy"], "max_attempts": 0, "delay": "1m"}), "redial.max_attempts"),
        (json!({"on": ["busy"], "max_attempts": 21, "delay": "1m"}), "redial.max_attempts"),
        (json!({"on": ["busy"], "max_attempts": 3, "delay": "soon"}), "redial.delay"),
        (json!({"on": ["busy"], "max_attempts": 3, "delay": "31d"}), "redial.delay"),
    ] {
        let error = post(&app, "/api/calls", &with(redial)).await;
        let error = error.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        assert_eq!(error["field"], field, "{error}");
    }
    assert_eq!(get(&app, "/api/calls").await.json()["calls"], json!([]), "nothing was written");

    let policy = json!({"on": ["busy", "no_answer"], "max_attempts": 2, "delay": "1m"});
    let answer = post(&app, "/api/calls", &with(policy.clone())).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    let first = answer.json();
    assert_eq!(first["redial"], policy);
    let id = first["id"].as_str().unwrap().to_owned();

    let provider = Arc::new(call_core::testing::FakeProvider::new(clock.clone()));
    provider.set_outcome(call_core::ports::ProviderStatus::Busy);
    let worker =
        state.engine().worker(provider.clone(), call_core::WorkerConfig::default()).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));
    let attempts = |app: axum::Router, id: String| async move {
        get(&app, &format!("/api/calls/{id}/attempts")).await.json()
    };
    // The clock moves a second at a time until both attempts have ended busy.
    for _ in 0..200 {
        let listed = attempts(app.clone(), id.clone()).await;
        if listed["outcome"] == "busy" {
            break;
        }
        clock.advance(std::time::Duration::from_secs(1));
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let _ = stop.send(());
    running.await.unwrap();
    let listed = attempts(app.clone(), id.clone()).await;
    assert_eq!(listed["outcome"], "busy", "{listed}");
    let calls = listed["attempts"].as_array().unwrap();
    assert_eq!(calls.len(), 2, "{listed}");
    assert_eq!(calls[0]["id"], id.as_str());
    assert_eq!(calls[0]["redialed_as"], calls[1]["id"]);
    assert_eq!(calls[1]["redial_of"], id.as_str());
    assert_eq!(calls[1]["redial_attempt"], 2);
    assert!(calls.iter().all(|c| c["status"] == "busy"), "{listed}");
    // The same list from the second attempt.
    let second = calls[1]["id"].as_str().unwrap().to_owned();
    assert_eq!(attempts(app.clone(), second).await, listed);

    // The number's history has both, each with its outcome, linked.
    let history = get(&app, "/api/phones/+14155550100/history").await.json();
    let records = history["records"].as_array().unwrap();
    assert_eq!(records.len(), 2, "{history}");
    let attempt_of = |n: u64| records.iter().find(|r| r["redial_attempt"] == n).unwrap();
    assert_eq!(attempt_of(1)["outcome"], "busy");
    assert_eq!(attempt_of(2)["outcome"], "busy");
    assert_eq!(attempt_of(2)["redial_of"], id.as_str());

    get(&app, "/api/calls/nope/attempts").await.error(StatusCode::NOT_FOUND, "not_found");
    let openapi = get(&app, "/api/openapi.json").await.json();
    assert!(openapi["paths"]["/api/calls/{id}/attempts"]["get"].is_object(), "documented");
    let properties = &openapi["components"]["schemas"]["ScheduleRequest"]["properties"];
    assert!(properties["redial"].is_object(), "documented");
}

#[tokio::test]
async fn the_do_not_call_list_refuses_calls_to_its_numbers() {
    let (app, state) = crate::app();
    let add = |body: Value| {
        let app = app.clone();
        async move { post(&app, "/api/dnc", &body.to_string()).await }
    };
    let first = add(json!({"phone_number": "+1 (415) 555-0100", "reason": " asked us "})).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    let entry = first.json();
    assert_eq!(entry["phone_number"], "+14155550100");
    assert_eq!(entry["reason"], "asked us");
    let again = add(json!({"phone_number": "+14155550100"})).await;
    assert_eq!(again.status, StatusCode::OK, "listed already");
    assert_eq!(again.json(), entry, "the first entry stands");
    add(json!({"phone_number": "12345"})).await.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    let long = add(json!({"phone_number": "+14155550101", "reason": "x".repeat(501)})).await;
    assert_eq!(long.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid")["field"], "reason");
    add(json!({"phone_number": "+14155550102"})).await;

    // Scheduling to it is refused with its own code; nothing is written.
    let refused = post(&app, "/api/calls", r#"{"phone_number": "+1 415 555 0100"}"#).await;
    let error = refused.error(StatusCode::UNPROCESSABLE_ENTITY, "do_not_call");
    assert_eq!(error["field"], "phone_number");
    assert!(error["message"].as_str().unwrap().contains("do-not-call list"), "{error}");
    assert_eq!(get(&app, "/api/calls").await.json()["calls"], json!([]));

    // Read, paged, removed.
    assert_eq!(get(&app, "/api/dnc/%2B14155550100").await.json(), entry);
    get(&app, "/api/dnc/%2B14155550199").await.error(StatusCode::NOT_FOUND, "not_found");
    let page = get(&app, "/api/dnc?limit=1").await.json();
    assert_eq!(page["entries"].as_array().unwrap().len(), 1);
    assert_eq!(page["next_cursor"], "+14155550100");
    let next = get(&app, "/api/dnc?limit=1&cursor=%2B14155550100").await.json();
    assert_eq!(next["entries"][0]["phone_number"], "+14155550102");
    get(&app, "/api/dnc?limit=0").await.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    let removed = send(&app, "DELETE", "/api/dnc/%2B14155550100", None, &[]).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    send(&app, "DELETE", "/api/dnc/%2B14155550100", None, &[])
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    let scheduled = post(&app, "/api/calls", r#"{"phone_number": "+1 415 555 0100"}"#).await;
    assert_eq!(scheduled.status, StatusCode::CREATED, "unlisted, it is called");
    assert!(
        state
            .engine()
            .do_not_call(&call_core::PhoneNumber::parse("+14155550102").unwrap())
            .await
            .unwrap()
            .is_some()
    );

    let openapi = get(&app, "/api/openapi.json").await.json();
    assert!(openapi["paths"]["/api/dnc"]["post"].is_object(), "documented");
    assert!(openapi["paths"]["/api/dnc/{phone}"]["delete"].is_object(), "documented");
}

/// Alerts as records: listed open on a page opened afterwards, acknowledged
/// into the call's audit log, closed when their cause ends.
#[tokio::test]
async fn alerts_are_listed_acknowledged_and_closed() {
    let (app, state) = app();
    state.engine().add_queue(call_core::QueueId::parse("sales").unwrap()).await.unwrap();
    let event = |body: &'static str| post(&app, "/api/events", body);
    event(r#"{"event_type": "call_initiated", "call_id": "late", "queue_id": "sales"}"#).await;
    let answered = event(r#"{"event_type": "call_answered", "call_id": "late", "wait_time": 45}"#);
    assert_eq!(answered.await.status, StatusCode::OK);

    let open = get(&app, "/api/alerts?open=true").await.json();
    let alerts = open["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{open}");
    let alert = &alerts[0];
    assert_eq!(
        (&alert["kind"], &alert["call_id"], &alert["queue_id"], &alert["seconds"], &alert["open"]),
        (&json!("long_wait"), &json!("late"), &json!("sales"), &json!(45), &json!(true))
    );
    assert!(alert["acknowledged_at"].is_null() && alert["closed_at"].is_null());
    let id = alert["id"].as_str().unwrap().to_owned();
    let of_queue = get(&app, "/api/alerts?open=true&queue=sales").await.json();
    assert_eq!(of_queue["alerts"].as_array().unwrap().len(), 1);
    let other_queue = get(&app, "/api/alerts?queue=billing").await.json();
    assert!(other_queue["alerts"].as_array().unwrap().is_empty());

    let acked = post(&app, &format!("/api/alerts/{id}/ack"), r#"{"by": "Sam"}"#).await;
    assert_eq!(acked.status, StatusCode::OK, "{}", acked.text);
    assert_eq!(acked.json()["acknowledged_by"], "Sam");
    // No body: the interface's name; the first acknowledgement stands.
    let again = send(&app, "POST", &format!("/api/alerts/{id}/ack"), None, &[]).await;
    assert_eq!(again.json()["acknowledged_by"], "Sam", "{}", again.text);
    let events = get(&app, "/api/calls/late/events").await.json();
    let logged: Vec<&Value> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "alert_acknowledged")
        .collect();
    assert_eq!(logged.len(), 1, "{events}");
    assert_eq!(logged[0]["metadata"]["by"], "Sam");

    send(&app, "POST", "/api/alerts/nope/ack", None, &[])
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    let bad = get(&app, "/api/alerts?open=maybe")
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    assert_eq!(bad["field"], "open");

    event(r#"{"event_type": "call_ended", "call_id": "late"}"#).await;
    let open = get(&app, "/api/alerts?open=true").await.json();
    assert!(open["alerts"].as_array().unwrap().is_empty(), "closed by the call's end: {open}");
    let all = get(&app, "/api/alerts").await.json();
    assert_eq!(all["alerts"][0]["closed_by"], "call_ended", "{all}");
    assert_eq!(all["alerts"][0]["open"], false);
}

#[tokio::test]
async fn activity_counts_calls_per_minute_by_outcome_and_placement_lateness() {
    use call_core::{Call, CallId, CallParts, CallStatus, Direction, ports::CallStore};
    let at = |text: &str| chrono::DateTime::parse_from_rfc3339(text).unwrap().to_utc();
    let clock = Arc::new(call_core::ports::ManualClock::new(at("2026-06-01T12:30:20Z")));
    let store = Arc::new(call_core::testing::MemoryStore::new());
    let state = call_http::AppState::builder(store.clone()).clock(clock).build();
    let app = router(state);
    let event = |body: Value| {
        let app = app.clone();
        async move {
            let answer = post(&app, "/api/events", &body.to_string()).await;
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        }
    };
    // Answered and ended at 12:29; ended unanswered at 12:30.
    event(json!({"event_type": "call_initiated", "call_id": "a", "timestamp": "2026-06-01T12:29:00Z"})).await;
    event(
        json!({"event_type": "call_answered", "call_id": "a", "timestamp": "2026-06-01T12:29:05Z"}),
    )
    .await;
    event(json!({"event_type": "call_ended", "call_id": "a", "timestamp": "2026-06-01T12:29:30Z"}))
        .await;
    event(json!({"event_type": "call_initiated", "call_id": "b", "timestamp": "2026-06-01T12:30:01Z"})).await;
    event(json!({"event_type": "call_ended", "call_id": "b", "timestamp": "2026-06-01T12:30:10Z"}))
        .await;
    // A scheduled outbound call the worker placed 1.5 s after it was due, at 12:30.
    let placed = Call::from_parts(CallParts {
        to: Some(call_core::PhoneNumber::parse("+14155550100").unwrap()),
        scheduled_at: Some(at("2026-06-01T12:30:02Z")),
        initiated_at: Some(at("2026-06-01T12:30:03.5Z")),
        version: 1,
        ..CallParts::new(
            CallId::generate(),
            Direction::Outbound,
            CallStatus::Ringing,
            at("2026-06-01T12:00:00Z"),
        )
    });
    store.insert(&[placed], &[]).await.unwrap();

    let activity = get(&app, "/api/stats/activity?minutes=3").await;
    assert_eq!(activity.status, StatusCode::OK, "{}", activity.text);
    let minutes = activity.json()["minutes"].clone();
    assert_eq!(
        minutes,
        json!([
            {"minute": "2026-06-01T12:28:00.000000Z", "completed": 0, "missed": 0, "failed": 0,
             "placed": 0, "average_lateness_seconds": null, "max_lateness_seconds": null},
            {"minute": "2026-06-01T12:29:00.000000Z", "completed": 1, "missed": 0, "failed": 0,
             "placed": 0, "average_lateness_seconds": null, "max_lateness_seconds": null},
            {"minute": "2026-06-01T12:30:00.000000Z", "completed": 0, "missed": 1, "failed": 0,
             "placed": 1, "average_lateness_seconds": 1.5, "max_lateness_seconds": 1.5},
        ]),
        "every minute, oldest first, the one in progress last"
    );
    let hour = get(&app, "/api/stats/activity").await.json();
    assert_eq!(hour["minutes"].as_array().unwrap().len(), 60, "the last hour by default");
    for bad in ["0", "1441", "ten", "-1"] {
        let answer = get(&app, &format!("/api/stats/activity?minutes={bad}")).await;
        let error = answer.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        assert_eq!(error["field"], "minutes", "{bad}: {error}");
    }
}

#[tokio::test]
async fn an_agents_average_talk_time_counts_the_calls_that_ended() {
    let (app, _) = app();
    let event = |body: Value| {
        let app = app.clone();
        async move {
            let answer = post(&app, "/api/events", &body.to_string()).await;
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        }
    };
    let t = |s: u32| format!("2026-06-01T12:{:02}:{:02}Z", s / 60, s % 60);
    for (id, start) in [("done", 0), ("talking", 100)] {
        event(json!({"event_type": "call_initiated", "call_id": id, "timestamp": t(start)})).await;
        event(json!({"event_type": "call_routed", "call_id": id, "agent_id": "ann", "timestamp": t(start + 1)})).await;
        event(json!({"event_type": "call_answered", "call_id": id, "timestamp": t(start + 2)}))
            .await;
    }
    event(json!({"event_type": "call_ended", "call_id": "done", "timestamp": t(62)})).await;
    let stats = get(&app, "/api/stats").await.json();
    let ann = &stats["agents"][0];
    assert_eq!(ann["agent_id"], "ann");
    assert_eq!(ann["answered"], 2, "both answered");
    assert_eq!(ann["average_talk_seconds"], 60.0, "the one call that ended, not 60 s over two");
}
