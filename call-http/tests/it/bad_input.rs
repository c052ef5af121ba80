//! No bad request gets a 5xx: each gets a JSON error naming what was wrong.

use std::time::Duration;

use axum::http::StatusCode;
use call_http::router;

use crate::{app, builder, get, post, send};

/// Method, path, body, headers; then the status, error code and field expected.
type Case = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Vec<(&'static str, &'static str)>,
    StatusCode,
    &'static str,
    Option<&'static str>,
);

#[tokio::test]
async fn bad_requests_get_the_right_4xx_with_a_json_error() {
    let (app, _) = app();
    post(
        &app,
        "/api/calls",
        r#"{"phone_number": "+14155550100", "scheduled_at": "2030-01-01T09:00:00Z"}"#,
    )
    .await;
    let json = ("content-type", "application/json");
    let cases: Vec<Case> = vec![
        ("POST", "/api/calls", Some("{"), vec![json], StatusCode::BAD_REQUEST, "malformed", None),
        ("POST", "/api/calls", Some(""), vec![json], StatusCode::BAD_REQUEST, "malformed", None),
        (
            "POST",
            "/api/calls",
            Some("{} {}"),
            vec![json],
            StatusCode::BAD_REQUEST,
            "malformed",
            None,
        ),
        (
            "POST",
            "/api/calls",
            Some(r#"{"phone_number": "+14155550100"}"#),
            vec![("content-type", "text/plain")],
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            None,
        ),
        (
            "POST",
            "/api/calls",
            Some(r#"{"phone_number": "+14155550100"}"#),
            vec![("content-type", "application/x-www-form-urlencoded")],
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            None,
        ),
        (
            "POST",
            "/api/calls",
            Some("{}"),
            vec![json],
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("phone_number"),
        ),
        (
            "POST",
            "/api/calls",
            Some("[]"),
            vec![json],
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("body"),
        ),
        (
            "POST",
            "/api/calls",
            Some(r#"{"phone_number": 14155550100}"#),
            vec![json],
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("phone_number"),
        ),
        (
            "POST",
            "/api/calls",
            Some(r#"{"phone_number": "+1234567890"}"#),
            vec![json],
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("phone_number"),
        ),
        (
            "POST",
            "/api/calls",
            Some(r#"{"phone_number": "+14155550100", "scheduled_at": "soon"}"#),
            vec![json],
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("scheduled_at"),
        ),
        (
            "POST",
            "/api/calls",
            Some(r#"{"phone_number": "+14155550100", "scheduled_at": "2001-01-01T00:00:00Z"}"#),
            vec![json],
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("scheduled_at"),
        ),
        (
            "POST",
            "/api/calls",
            Some(r#"{"phone_number": "+14155550100", "media": "fax"}"#),
            vec![json],
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("media"),
        ),
        (
            "POST",
            "/api/calls",
            Some(r#"{"phone_number": "+14155550100", "queue_id": "nope"}"#),
            vec![json],
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("queue_id"),
        ),
        (
            "POST",
            "/api/calls",
            Some(r#"{"phone_number": "+14155550100", "metadata": "x"}"#),
            vec![json],
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("metadata"),
        ),
        (
            "POST",
            "/api/calls",
            Some(r#"{"phone_number": "+14155550100", "colour": "red"}"#),
            vec![json],
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("colour"),
        ),
        (
            "PATCH",
            "/api/calls/x",
            Some(r#"{"scheduled_at": 5}"#),
            vec![json],
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("scheduled_at"),
        ),
        (
            "PATCH",
            "/api/calls/x",
            Some(r#"{"scheduled_at": "2030-01-01T00:00:00Z"}"#),
            vec![json],
            StatusCode::NOT_FOUND,
            "not_found",
            None,
        ),
        (
            "GET",
            "/api/calls/has%20space",
            None,
            vec![],
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("id"),
        ),
        (
            "GET",
            "/api/calls?limit=0",
            None,
            vec![],
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("limit"),
        ),
        (
            "GET",
            "/api/calls?limit=many",
            None,
            vec![],
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("limit"),
        ),
        (
            "GET",
            "/api/calls?limit=99999999999999999999999",
            None,
            vec![],
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("limit"),
        ),
        (
            "GET",
            "/api/calls?cursor=garbage",
            None,
            vec![],
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("cursor"),
        ),
        (
            "GET",
            "/api/calls?phone=12",
            None,
            vec![],
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("phone"),
        ),
        (
            "GET",
            "/api/calls?queue=a%20b",
            None,
            vec![],
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("queue"),
        ),
        ("GET", "/api/calls?%ZZ=1", None, vec![], StatusCode::OK, "", None),
        (
            "POST",
            "/api/events",
            Some("42"),
            vec![json],
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("body"),
        ),
        (
            "POST",
            "/api/events",
            Some(r#"{"event_type": "call_routed", "call_id": "1"}"#),
            vec![json],
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("agent_id"),
        ),
        (
            "POST",
            "/api/events",
            Some(r#"{"event_type": "call_routed", "call_id": "1", "routing_time": "soon"}"#),
            vec![json],
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("routing_time"),
        ),
        (
            "POST",
            "/api/events",
            Some(r#"{"event_type": "call_dispatched", "call_id": "1"}"#),
            vec![json],
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("event_type"),
        ),
        (
            "POST",
            "/api/events",
            Some(r#"{"event_type": "call_ringing", "call_id": "1", "timestamp": "noon"}"#),
            vec![json],
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("timestamp"),
        ),
        (
            "POST",
            "/api/queues",
            Some(r#"{"name": "q"}"#),
            vec![json],
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("name"),
        ),
        ("GET", "/api/nothing-here", None, vec![], StatusCode::NOT_FOUND, "not_found", None),
        (
            "PUT",
            "/api/calls",
            Some("{}"),
            vec![json],
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            None,
        ),
        (
            "DELETE",
            "/api/calls/x",
            None,
            vec![],
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            None,
        ),
    ];
    for (method, path, body, headers, status, code, field) in cases {
        let answer = send(&app, method, path, body, &headers).await;
        assert!(answer.status.as_u16() < 500, "{method} {path}: {answer:?}");
        if status == StatusCode::OK {
            assert_eq!(answer.status, status, "{method} {path}: {}", answer.text);
            continue;
        }
        let error = answer.error(status, code);
        assert_eq!(error["field"].as_str(), field, "{method} {path}: {}", answer.text);
        assert!(
            !answer.text.contains("sqlx") && !answer.text.contains("panicked"),
            "{}",
            answer.text
        );
    }
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let app = router(builder().body_limit(1024).build());
    let big =
        format!(r#"{{"phone_number": "+14155550100", "customer_name": "{}"}}"#, "x".repeat(2048));
    let answer = post(&app, "/api/calls", &big).await;
    answer.error(StatusCode::PAYLOAD_TOO_LARGE, "too_large");
    let events =
        format!("[{}]", vec![r#"{"event_type": "call_ringing", "call_id": "1"}"#; 100].join(","));
    post(&app, "/api/events", &events).await.error(StatusCode::PAYLOAD_TOO_LARGE, "too_large");
    send(
        &app,
        "POST",
        "/api/provider/webhook",
        Some(&"x".repeat(4096)),
        &[("content-type", "text/plain")],
    )
    .await
    .error(StatusCode::PAYLOAD_TOO_LARGE, "too_large");
}

#[tokio::test]
async fn slow_requests_time_out_with_a_json_error() {
    use call_core::ports::{
        CallStore, Claim, HistoryQuery, ListQuery, Page, Queue, StatsInputs, StoreError,
    };
    use call_core::{Call, CallEvent, CallId, CallStatus, EventId, PhoneNumber, QueueId};

    /// A store whose every call takes a minute.
    struct Stalled;
    #[async_trait::async_trait]
    impl CallStore for Stalled {
        async fn insert(&self, _: &[Call], _: &[CallEvent]) -> Result<(), StoreError> {
            stall().await
        }
        async fn insert_keyed(
            &self,
            _: &[Call],
            _: &[CallEvent],
            _: &[call_core::Series],
            _: &[call_core::HeldKey],
            _: chrono::DateTime<chrono::Utc>,
        ) -> Result<Vec<call_core::HeldKey>, StoreError> {
            stall().await
        }
        async fn get(&self, _: &CallId) -> Result<Option<Call>, StoreError> {
            stall().await
        }
        async fn get_by_external_id(&self, _: &str) -> Result<Option<Call>, StoreError> {
            stall().await
        }
        async fn save_and_insert(
            &self,
            _: &Call,
            _: &[Call],
            _: &[CallEvent],
        ) -> Result<(), StoreError> {
            stall().await
        }
        async fn list(&self, _: &ListQuery) -> Result<Page<Call>, StoreError> {
            stall().await
        }
        async fn claim_due(&self, _: &Claim) -> Result<Vec<call_core::ports::Claimed>, StoreError> {
            stall().await
        }
        async fn renew_leases(
            &self,
            _: &call_core::ports::LeaseRenewal,
            _: &[CallId],
        ) -> Result<Vec<CallId>, StoreError> {
            stall().await
        }
        async fn advance_series(
            &self,
            _: &Call,
            _: chrono::DateTime<chrono::Utc>,
        ) -> Result<Option<(Call, CallEvent)>, StoreError> {
            stall().await
        }
        async fn series(
            &self,
            _: &call_core::SeriesId,
        ) -> Result<Option<call_core::Series>, StoreError> {
            stall().await
        }
        async fn list_series<'a>(
            &self,
            _: Option<&'a call_core::SeriesId>,
            _: usize,
        ) -> Result<Vec<call_core::Series>, StoreError> {
            stall().await
        }
        async fn cancel_series(
            &self,
            _: &call_core::SeriesId,
            _: chrono::DateTime<chrono::Utc>,
        ) -> Result<Option<call_core::Series>, StoreError> {
            stall().await
        }
        async fn next_due(&self) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
            stall().await
        }
        async fn deadlines_due(
            &self,
            _: chrono::DateTime<chrono::Utc>,
            _: usize,
        ) -> Result<Vec<Call>, StoreError> {
            stall().await
        }
        async fn expired_leases(
            &self,
            _: chrono::DateTime<chrono::Utc>,
            _: usize,
        ) -> Result<Vec<Call>, StoreError> {
            stall().await
        }
        async fn following<'a>(
            &self,
            _: Option<&'a CallId>,
            _: usize,
        ) -> Result<Vec<Call>, StoreError> {
            stall().await
        }
        async fn history(
            &self,
            _: &PhoneNumber,
            _: &HistoryQuery,
        ) -> Result<Page<Call>, StoreError> {
            stall().await
        }
        async fn events(&self, _: &CallId) -> Result<Vec<CallEvent>, StoreError> {
            stall().await
        }
        async fn alerts(
            &self,
            _: &call_core::alerts::AlertQuery,
        ) -> Result<call_core::alerts::AlertPage, StoreError> {
            stall().await
        }
        async fn alert(
            &self,
            _: &EventId,
        ) -> Result<Option<call_core::alerts::AlertRecord>, StoreError> {
            stall().await
        }
        async fn event(&self, _: &EventId) -> Result<Option<CallEvent>, StoreError> {
            stall().await
        }
        async fn log_after(
            &self,
            _: u64,
            _: usize,
        ) -> Result<Vec<call_core::ports::LogEntry>, StoreError> {
            stall().await
        }
        async fn log_head(&self) -> Result<u64, StoreError> {
            stall().await
        }
        async fn add_queue(&self, _: &Queue) -> Result<(), StoreError> {
            stall().await
        }
        async fn remove_queue(&self, _: &QueueId) -> Result<bool, StoreError> {
            stall().await
        }
        async fn queue(&self, _: &QueueId) -> Result<Option<Queue>, StoreError> {
            stall().await
        }
        async fn queues(&self) -> Result<Vec<Queue>, StoreError> {
            stall().await
        }
        async fn stats_inputs(&self, _: f64) -> Result<StatsInputs, StoreError> {
            stall().await
        }
        async fn minute_totals(
            &self,
            _: chrono::DateTime<chrono::Utc>,
            _: chrono::DateTime<chrono::Utc>,
        ) -> Result<Vec<call_core::ports::MinuteTotals>, StoreError> {
            stall().await
        }
        async fn count_by_status(&self) -> Result<Vec<(CallStatus, u64)>, StoreError> {
            stall().await
        }
        async fn pause(&self, _: &call_core::Pause) -> Result<(), StoreError> {
            stall().await
        }
        async fn resume<'a>(&self, _: Option<&'a QueueId>) -> Result<bool, StoreError> {
            stall().await
        }
        async fn add_do_not_call(
            &self,
            _: &call_core::DoNotCall,
        ) -> Result<Option<call_core::DoNotCall>, StoreError> {
            stall().await
        }
        async fn remove_do_not_call(&self, _: &PhoneNumber) -> Result<bool, StoreError> {
            stall().await
        }
        async fn do_not_call(
            &self,
            _: &[PhoneNumber],
        ) -> Result<Vec<call_core::DoNotCall>, StoreError> {
            stall().await
        }
        async fn list_do_not_call<'a>(
            &self,
            _: Option<&'a PhoneNumber>,
            _: usize,
        ) -> Result<Vec<call_core::DoNotCall>, StoreError> {
            stall().await
        }
        async fn pauses(&self) -> Result<Vec<call_core::Pause>, StoreError> {
            stall().await
        }
    }
    async fn stall<T>() -> T {
        tokio::time::sleep(Duration::from_secs(60)).await;
        unreachable!("the request timed out first")
    }

    let state = call_http::AppState::builder(std::sync::Arc::new(Stalled))
        .request_timeout(Duration::from_millis(50))
        .build();
    let app = router(state);
    let answer = send(&app, "GET", "/api/calls", None, &[]).await;
    answer.error(StatusCode::SERVICE_UNAVAILABLE, "timeout");
}

#[tokio::test]
async fn a_failing_store_is_a_503_that_says_nothing_of_its_cause() {
    use call_core::ports::StoreError;
    let error = call_http::ApiError::from(call_core::Error::Store(StoreError::Backend(
        "UNIQUE constraint failed: calls.id in /var/lib/calls.db".into(),
    )));
    assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = axum::response::IntoResponse::into_response(error);
    let bytes = axum::body::to_bytes(body.into_body(), usize::MAX).await.unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains("UNIQUE") && !text.contains("calls.db"), "{text}");
    assert!(text.contains("\"code\":\"unavailable\""), "{text}");
    assert!(text.contains("nothing was changed"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_with_a_503_keeps_reads_and_loses_nothing() {
    use call_core::ports::{CallStore, ListQuery};
    use call_store_sqlite::{SqliteOptions, SqliteStore};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calls.db");
    // A file that may not grow past 1 MiB: a disk that fills up.
    let mut options = SqliteOptions::default();
    options.max_size = Some(1024 * 1024);
    let store = std::sync::Arc::new(SqliteStore::open_with(&path, &options).await.unwrap());
    let app = router(call_http::AppState::builder(store.clone()).build());

    let mut acknowledged = Vec::new();
    let refused = loop {
        assert!(acknowledged.len() < 20_000, "the file never filled up");
        let body = serde_json::json!({
            "phone_number": format!("+1415555{:04}", acknowledged.len() % 10_000),
            "customer_name": "x".repeat(150),
            "scheduled_at": "2030-01-01T09:00:00Z",
        });
        let answer = post(&app, "/api/calls", &body.to_string()).await;
        if answer.status != StatusCode::CREATED {
            break answer;
        }
        acknowledged.push(answer.json()["id"].as_str().unwrap().to_owned());
    };
    let error = refused.error(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("nothing was changed"), "{message}");
    assert!(!message.contains("full") && !message.contains("SQL"), "no internals: {message}");
    assert!(acknowledged.len() > 100, "{} calls fit", acknowledged.len());

    // Reads go on: a page, and the last call acknowledged.
    let page = get(&app, "/api/calls?limit=5").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let last = get(&app, &format!("/api/calls/{}", acknowledged.last().unwrap())).await;
    assert_eq!(last.status, StatusCode::OK, "{}", last.text);
    drop(app);
    drop(store);

    // Reopened without the limit: every acknowledged call is there, once,
    // the refused one is not, and SQLite finds the file sound.
    let reopened = SqliteStore::open(&path).await.unwrap();
    assert_eq!(reopened.integrity_check().await.unwrap(), ["ok"]);
    let mut stored = Vec::new();
    let mut query = ListQuery { limit: 500, ..ListQuery::default() };
    loop {
        let page = reopened.list(&query).await.unwrap();
        stored.extend(page.items.iter().map(|c| c.id().to_string()));
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => break,
        }
    }
    stored.sort();
    acknowledged.sort();
    assert_eq!(stored, acknowledged, "exactly the acknowledged calls");
}
