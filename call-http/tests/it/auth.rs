//! The API key: on every /api route, in a header (or, for the WebSocket, the query).

use axum::http::StatusCode;
use call_http::router;

use crate::{builder, get, send};

#[tokio::test]
async fn every_api_route_needs_the_key() {
    let app = router(builder().api_key("s3cret").build());
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
