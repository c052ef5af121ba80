//! The stand-in's default answers, pinned field by field to the contract of
//! `../shared/DESIGN.md` §3, so the stand-in and the real API cannot drift apart.

use std::time::Duration;

use call_provider_http::mock::{MockCallApi, MockOptions};
use serde_json::{Value, json};

async fn post(url: &str, body: Option<&str>) -> (u16, Value, String) {
    let client = reqwest::Client::new();
    let mut request = client.post(format!("{url}/api/call"));
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_owned());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null), text)
}

async fn get(url: &str) -> (u16, Value) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn is_naive_iso_with_micros(text: &str) -> bool {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.6f").is_ok()
        && !text.ends_with('Z')
        && !text.contains('+')
}

#[tokio::test]
async fn post_api_call_answers_as_the_contract_says() {
    let api = MockCallApi::start(MockOptions::default()).await.unwrap();
    let (status, body, text) = post(api.url(), Some(r#"{"phone_number": "+14155550100"}"#)).await;
    assert_eq!(status, 201);
    assert_eq!(body["success"], json!(true));
    let call = body["call"].as_object().unwrap();
    let mut keys: Vec<&str> = call.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["created_at", "duration", "id", "phone_number", "status", "updated_at"]);
    assert!(uuid::Uuid::parse_str(call["id"].as_str().unwrap()).is_ok(), "id is a UUID");
    assert_eq!(call["phone_number"], "+14155550100");
    assert_eq!(call["status"], "initiated");
    assert_eq!(call["duration"], Value::Null);
    let created_at = call["created_at"].as_str().unwrap();
    assert!(is_naive_iso_with_micros(created_at) || !created_at.contains('.'), "{created_at}");
    assert_eq!(call["updated_at"], call["created_at"]);
    // Keys sorted, as Flask's jsonify writes them.
    assert!(text.starts_with(r#"{"call":{"created_at":"#), "{text}");
}

#[tokio::test]
async fn post_api_call_validates_only_what_the_contract_says() {
    let api = MockCallApi::start(MockOptions::default()).await.unwrap();
    let check =
        |body: Option<&'static str>, expected_status: u16, expected_error: Option<&'static str>| {
            let url = api.url().to_owned();
            async move {
                let (status, answer, _) = post(&url, body).await;
                assert_eq!(status, expected_status, "{body:?}");
                if let Some(error) = expected_error {
                    assert_eq!(answer, json!({ "error": error }), "{body:?}");
                }
            }
        };
    check(None, 400, Some("phone_number is required")).await;
    check(Some("{}"), 400, Some("phone_number is required")).await;
    check(Some(r#"{"number": "+14155550100"}"#), 400, Some("phone_number is required")).await;
    check(Some(r#"{"phone_number": null}"#), 400, Some("Invalid phone number")).await;
    check(Some(r#"{"phone_number": ""}"#), 400, Some("Invalid phone number")).await;
    check(Some(r#"{"phone_number": "123456789"}"#), 400, Some("Invalid phone number")).await;
    // Ten characters of anything are accepted: checking numbers is the client's job.
    check(Some(r#"{"phone_number": "1234567890"}"#), 201, None).await;
    check(Some(r#"{"phone_number": "abcdefghij"}"#), 201, None).await;
}

#[tokio::test]
async fn calls_progress_on_the_contract_timers() {
    // A time scale of 0.02: 2 s → 40 ms, 5 s → 100 ms, 10 s → 200 ms. The
    // exact thresholds are pinned by the unit test of the timeline; here, over
    // HTTP, each status must never show before its time (real time only moves
    // forward, so this holds however loaded the machine) and they come in order.
    let scale = 0.02;
    let api = MockCallApi::start(MockOptions { time_scale: scale, ..MockOptions::default() })
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let (_, body, _) = post(api.url(), Some(r#"{"phone_number": "+14155550100"}"#)).await;
    let url = format!("{}/api/call/{}", api.url(), body["call"]["id"].as_str().unwrap());
    let mut seen = vec!["initiated".to_owned()];
    let mut last = body["call"].clone();
    while last["status"] != "completed" {
        assert!(started.elapsed() < Duration::from_secs(30), "never completed: {seen:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
        let (status, answer) = get(&url).await;
        let elapsed = started.elapsed().as_secs_f64();
        assert_eq!(status, 200);
        last = answer["call"].clone();
        let shown = last["status"].as_str().unwrap().to_owned();
        let threshold = match shown.as_str() {
            "initiated" => 0.0,
            "ringing" => 2.0,
            "connected" => 5.0,
            "completed" => 10.0,
            other => panic!("unexpected status {other}"),
        };
        assert!(elapsed >= threshold * scale, "{shown} shown after {elapsed} s, before its time");
        if seen.last() != Some(&shown) {
            seen.push(shown);
        }
    }
    let order = ["initiated", "ringing", "connected", "completed"];
    let positions: Vec<usize> =
        seen.iter().map(|s| order.iter().position(|o| o == s).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "out of order: {seen:?}");
    assert_eq!(last["duration"], json!(10), "an integer 10");
    assert_ne!(last["updated_at"], last["created_at"]);
    assert!(is_naive_iso_with_micros(last["updated_at"].as_str().unwrap()));
}

#[tokio::test]
async fn unknown_ids_health_and_forgetting() {
    let api = MockCallApi::start(MockOptions::default()).await.unwrap();
    assert_eq!(
        get(&format!("{}/api/call/nope", api.url())).await,
        (404, json!({ "error": "Call not found" }))
    );
    assert_eq!(get(&format!("{}/health", api.url())).await, (200, json!({ "status": "healthy" })));
    let (_, body, _) = post(api.url(), Some(r#"{"phone_number": "+14155550100"}"#)).await;
    let url = format!("{}/api/call/{}", api.url(), body["call"]["id"].as_str().unwrap());
    assert_eq!(get(&url).await.0, 200);
    api.forget_all();
    assert_eq!(get(&url).await.0, 404, "forgotten as after a restart");
    let stats = get(&format!("{}/__stats", api.url())).await.1;
    assert_eq!(stats["calls_placed"], 1);
    assert_eq!(stats["by_number"], json!({ "+14155550100": 1 }));
}

#[tokio::test]
async fn faults_on_request() {
    let api = MockCallApi::start(MockOptions { error_rate: 1.0, ..MockOptions::default() })
        .await
        .unwrap();
    let (status, body, _) = post(api.url(), Some(r#"{"phone_number": "+14155550100"}"#)).await;
    assert_eq!((status, body), (503, json!({ "error": "Service unavailable (injected)" })));
    assert_eq!(api.stats().calls_placed, 0, "an injected error has no effect");
    assert_eq!(api.stats().injected_errors, 1);

    let outcomes = MockOptions { time_scale: 0.01, busy: 1.0, ..MockOptions::default() };
    let api = MockCallApi::start(outcomes).await.unwrap();
    let (_, body, _) = post(api.url(), Some(r#"{"phone_number": "+14155550100"}"#)).await;
    tokio::time::sleep(Duration::from_millis(80)).await;
    let url = format!("{}/api/call/{}", api.url(), body["call"]["id"].as_str().unwrap());
    assert_eq!(get(&url).await.1["call"]["status"], "busy");
}

#[tokio::test]
async fn added_latency_delays_every_api_answer() {
    let api = MockCallApi::start(MockOptions {
        latency: Duration::from_millis(150),
        ..MockOptions::default()
    })
    .await
    .unwrap();
    let started = std::time::Instant::now();
    let (status, _, _) = post(api.url(), Some(r#"{"phone_number": "+14155550100"}"#)).await;
    assert_eq!(status, 201);
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "answered after {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_stand_in_frees_its_port_at_once() {
    // Requests hang for a long time: a graceful stop would wait for them.
    let options =
        MockOptions { hang_rate: 1.0, hang_for: Duration::from_secs(60), ..MockOptions::default() };
    let api = MockCallApi::start(options).await.unwrap();
    let address = api.addr();
    let url = api.url().to_owned();
    let hanging =
        tokio::spawn(async move { post(&url, Some(r#"{"phone_number": "+14155550100"}"#)).await });
    tokio::time::sleep(Duration::from_millis(200)).await;

    let final_stats = tokio::time::timeout(Duration::from_secs(5), api.kill())
        .await
        .expect("kill does not wait for the hanging request");
    assert_eq!(final_stats.calls_placed, 0);
    // The port is free again at once: a restart binds it.
    let again = MockCallApi::bind(address, MockOptions::default()).await.expect("the port is free");
    let (status, _, _) = post(again.url(), Some(r#"{"phone_number": "+14155550100"}"#)).await;
    assert_eq!(status, 201);
    assert_eq!(again.calls_placed(), 1);
    hanging.abort();
}
