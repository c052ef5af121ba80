//! The API key: on every /api route, in a header (or, for the WebSocket, the query).

use axum::http::StatusCode;
use call_http::{AppState, router};

use crate::{builder, get, send, serve};

#[tokio::test]
async fn every_api_route_needs_the_key() {
    // A renderer that is not a recorder: this test is about who may read it.
    let app = router(builder().api_key("s3cret").metrics(String::new).build());
    let routes = [
        ("GET", "/api/calls"),
        ("POST", "/api/calls"),
        ("GET", "/api/calls/x"),
        ("PATCH", "/api/calls/x"),
        ("POST", "/api/calls/x/cancel"),
        ("GET", "/api/calls/x/events"),
        ("POST", "/api/events"),
        ("GET", "/api/phones/%2B14155550100/history"),
        ("GET", "/api/queues"),
        ("POST", "/api/queues"),
        ("GET", "/api/queues/q"),
        ("DELETE", "/api/queues/q"),
        ("GET", "/api/stats"),
        ("GET", "/api/stats/activity"),
        ("POST", "/api/provider/webhook"),
        ("GET", "/api/ws"),
    ];
    for (method, path) in routes {
        for headers in [
            vec![],
            vec![("x-api-key", "wrong")],
            vec![("authorization", "Bearer wrong")],
            vec![("authorization", "s3cret")],
        ] {
            let answer = send(&app, method, path, Some("{}"), &headers).await;
            answer.error(StatusCode::UNAUTHORIZED, "unauthorized");
        }
    }
    // The query parameter is for the WebSocket only.
    get(&app, "/api/calls?api_key=s3cret").await.error(StatusCode::UNAUTHORIZED, "unauthorized");

    let with_header = send(&app, "GET", "/api/calls", None, &[("x-api-key", "s3cret")]).await;
    assert_eq!(with_header.status, StatusCode::OK);
    let with_bearer =
        send(&app, "GET", "/api/calls", None, &[("authorization", "Bearer s3cret")]).await;
    assert_eq!(with_bearer.status, StatusCode::OK);
    // The WebSocket takes the key in the query; without an upgrade it is a 400, not a 401.
    let ws = get(&app, "/api/ws?api_key=s3cret").await;
    ws.error(StatusCode::BAD_REQUEST, "malformed");

    // Open: liveness, metrics, the API's description, the pages.
    for path in [
        "/healthz",
        "/metrics",
        "/api/openapi.json",
        "/",
        "/assets/app.js",
        "/calls/%2B14155550100",
    ] {
        assert_eq!(get(&app, path).await.status, StatusCode::OK, "{path}");
    }
    // But the bare JSON history is data.
    send(&app, "GET", "/calls/%2B14155550100", None, &[("accept", "application/json")])
        .await
        .error(StatusCode::UNAUTHORIZED, "unauthorized");
    let authorized = send(
        &app,
        "GET",
        "/calls/%2B14155550100",
        None,
        &[("accept", "application/json"), ("x-api-key", "s3cret")],
    )
    .await;
    assert_eq!(authorized.status, StatusCode::OK);
}

#[tokio::test]
async fn without_a_key_the_api_is_open() {
    let app = router(builder().build());
    assert_eq!(get(&app, "/api/calls").await.status, StatusCode::OK);
    let empty_key = router(builder().api_key("").build());
    assert_eq!(
        get(&empty_key, "/api/calls").await.status,
        StatusCode::OK,
        "an empty key is no key"
    );
}

/// Twilio's scheme, written out here rather than taken from the server.
fn twilio_signature(token: &str, url: &str, params: &[(&str, &str)]) -> String {
    use base64::Engine as _;
    use hmac::{KeyInit, Mac};
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(token.as_bytes()).unwrap();
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn with_a_provider_secret_only_signed_callbacks_are_taken_and_stale_ones_change_nothing() {
    use call_core::ports::CallStore;
    let store = crate::placed_call().await;
    let state = AppState::builder(store.clone()).api_key("s3cret").provider_secret("12345").build();
    let address = serve(router(state)).await;
    let url = format!("http://{address}/api/provider/webhook");
    let client = crate::client();
    let form = |params: &[(&str, &str)], signature: Option<&str>| {
        let body: String =
            form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
        let mut request = client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-api-key", "s3cret")
            .body(body);
        if let Some(signature) = signature {
            request = request.header("x-twilio-signature", signature);
        }
        request.send()
    };
    let ringing = [("CallSid", "prov-1"), ("CallStatus", "ringing"), ("AccountSid", "AC1")];
    let events = || async {
        store.events(&call_core::CallId::parse("placed").unwrap()).await.unwrap().len()
    };
    let before = events().await;

    // Unsigned (the API key does not stand in for it), badly signed, or
    // signed for another URL: refused, and nothing is recorded.
    for signature in [
        None,
        Some("bm90IGEgc2lnbmF0dXJl".to_owned()),
        Some(twilio_signature("12345", "http://elsewhere/", &ringing)),
    ] {
        let answer = form(&ringing, signature.as_deref()).await.unwrap();
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "{signature:?}");
        let body: serde_json::Value = answer.json().await.unwrap();
        assert!(body["error"]["message"].as_str().unwrap().contains("signed"), "{body}");
    }
    assert_eq!(events().await, before, "nothing recorded");

    // Twilio's scheme: the URL called and the sorted form parameters.
    let signed = twilio_signature("12345", &url, &ringing);
    let answer = form(&ringing, Some(&signed)).await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.json::<serde_json::Value>().await.unwrap()["status"], "ringing");

    // callwork's scheme, on the JSON body; the key is not needed.
    let ours = |body: &str| {
        client
            .post(&url)
            .header("content-type", "application/json")
            .header("x-callwork-signature", call_http::notify::sign(b"12345", body.as_bytes()))
            .body(body.to_owned())
            .send()
    };
    let completed = r#"{"id": "prov-1", "status": "completed", "duration": 10}"#;
    let answer = ours(completed).await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.json::<serde_json::Value>().await.unwrap()["status"], "completed");
    let ended = events().await;

    // Twice, and out of order (ringing after completed): the call stays
    // where the latest true state put it, with nothing more in its log.
    for late in [completed, r#"{"id": "prov-1", "status": "ringing"}"#] {
        let answer = ours(late).await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "{late}");
        let call: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(
            (call["status"].as_str(), call["duration_seconds"].as_f64()),
            (Some("completed"), Some(10.0))
        );
    }
    let stale = form(&ringing, Some(&signed)).await.unwrap();
    assert_eq!(stale.status(), StatusCode::OK);
    assert_eq!(events().await, ended, "a stale or repeated report records nothing");
}
