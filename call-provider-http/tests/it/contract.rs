//! The client against the stand-in on port 0: every status-code path.

use std::{net::SocketAddr, time::Duration};

use call_core::{
    CallId, PhoneNumber,
    ports::{CallProvider, PlaceCall, ProviderError, ProviderStatus},
};
use call_provider_http::{
    HttpProvider, HttpProviderConfig,
    mock::{MockCallApi, MockOptions},
};

fn request(number: &str) -> PlaceCall {
    PlaceCall { call_id: CallId::generate(), to: PhoneNumber::parse(number).unwrap(), from: None }
}

#[tokio::test]
async fn places_and_follows_a_call() {
    let api = MockCallApi::start(MockOptions { time_scale: 0.01, ..MockOptions::default() })
        .await
        .unwrap();
    let provider = HttpProvider::new(api.url()).unwrap();
    let placed = provider.place_call(&request("+14155550100")).await.unwrap();
    assert_eq!(placed.status, ProviderStatus::Initiated);
    assert_eq!(placed.duration_seconds, None);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let done = provider.fetch_call(&placed.external_id).await.unwrap();
    assert_eq!((done.status, done.duration_seconds), (ProviderStatus::Completed, Some(10.0)));
    assert_eq!(api.stats().by_number["+14155550100"], 1);
}

#[tokio::test]
async fn a_refusal_is_permanent_with_the_providers_message() {
    // The stand-in refuses numbers under 10 characters; E.164 allows them (+4930901820 is 11; this is 9).
    let api = MockCallApi::start(MockOptions::default()).await.unwrap();
    let provider = HttpProvider::new(api.url()).unwrap();
    let short = PlaceCall {
        call_id: CallId::generate(),
        to: PhoneNumber::from_e164("+35312345").unwrap(),
        from: None,
    };
    let error = provider.place_call(&short).await.unwrap_err();
    assert_eq!(error, ProviderError::Permanent { message: "Invalid phone number".into() });
}

#[tokio::test]
async fn an_unknown_call_is_not_found_even_after_a_restart() {
    let api = MockCallApi::start(MockOptions::default()).await.unwrap();
    let provider = HttpProvider::new(api.url()).unwrap();
    let error = provider.fetch_call("no-such-call").await.unwrap_err();
    assert_eq!(error, ProviderError::NotFound { external_id: "no-such-call".into() });

    let placed = provider.place_call(&request("+14155550100")).await.unwrap();
    let addr = api.addr();
    api.stop().await;
    // A new process on the same port knows nothing of the old one's calls.
    let restarted = MockCallApi::bind(addr, MockOptions::default()).await.unwrap();
    let error = provider.fetch_call(&placed.external_id).await.unwrap_err();
    assert!(matches!(error, ProviderError::NotFound { .. }), "{error}");
    drop(restarted);
}

#[tokio::test]
async fn server_errors_are_transient() {
    let api = MockCallApi::start(MockOptions { error_rate: 1.0, ..MockOptions::default() })
        .await
        .unwrap();
    let provider = HttpProvider::new(api.url()).unwrap();
    let error = provider.place_call(&request("+14155550100")).await.unwrap_err();
    assert_eq!(
        error,
        ProviderError::Transient {
            message: "Service unavailable (injected)".into(),
            retry_after: None
        }
    );
}

/// A client that gives up on a placement after 200 ms.
fn impatient(api: &MockCallApi) -> HttpProvider {
    let config = HttpProviderConfig {
        base_url: api.url().to_owned(),
        request_timeout: Duration::from_millis(200),
        ..HttpProviderConfig::default()
    };
    HttpProvider::with_config(config).unwrap()
}

#[tokio::test]
async fn a_placement_that_times_out_is_unanswered_whether_or_not_it_took_effect() {
    // A hang without effect and a call made but answered too late look the
    // same to the client: either may have dialled, so neither is Transient.
    let hanging =
        MockOptions { hang_rate: 1.0, hang_for: Duration::from_secs(5), ..MockOptions::default() };
    let late = MockOptions {
        late_answer_rate: 1.0,
        late_answer_by: Duration::from_secs(5),
        ..MockOptions::default()
    };
    for (options, placed) in [(hanging, 0), (late, 1)] {
        let api = MockCallApi::start(options).await.unwrap();
        let error = impatient(&api).place_call(&request("+14155550100")).await.unwrap_err();
        assert!(
            matches!(&error, ProviderError::Unanswered { message } if message.starts_with("timed out")),
            "{error:?}"
        );
        assert_eq!(api.stats().calls_placed, placed);
    }
}

#[tokio::test]
async fn a_connection_cut_after_the_call_was_made_is_unanswered() {
    let lost = MockOptions { lost_answer_rate: 1.0, ..MockOptions::default() };
    let api = MockCallApi::start(lost).await.unwrap();
    let provider = HttpProvider::new(api.url()).unwrap();
    let error = provider.place_call(&request("+14155550100")).await.unwrap_err();
    assert!(matches!(&error, ProviderError::Unanswered { .. }), "{error:?}");
    let stats = api.stats();
    assert_eq!((stats.calls_placed, stats.lost_answers), (1, 1), "made, then its answer lost");
}

#[tokio::test]
async fn a_hanging_status_fetch_gives_up_sooner_than_a_placement() {
    // Hangs for 5 s, then answers 504: within the 10 s request timeout,
    // past the 200 ms fetch timeout.
    let hanging =
        MockOptions { hang_rate: 1.0, hang_for: Duration::from_secs(5), ..MockOptions::default() };
    let api = MockCallApi::start(hanging).await.unwrap();
    let config = HttpProviderConfig {
        base_url: api.url().to_owned(),
        fetch_timeout: Duration::from_millis(200),
        ..HttpProviderConfig::default()
    };
    let provider = HttpProvider::with_config(config).unwrap();
    let error = provider.fetch_call("any").await.unwrap_err();
    assert!(
        matches!(&error, ProviderError::Unanswered { message } if message.starts_with("timed out")),
        "the fetch timed out rather than waiting for the 504: {error:?}"
    );
}

#[tokio::test]
async fn nobody_listening_is_transient() {
    // Bind and drop, so the port is free and refuses connections.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let provider = HttpProvider::new(&format!("http://127.0.0.1:{port}")).unwrap();
    let error = provider.place_call(&request("+14155550100")).await.unwrap_err();
    assert!(
        matches!(&error, ProviderError::Transient { message, .. } if message.starts_with("could not connect")),
        "{error:?}"
    );
}

/// A one-route server answering every request with `status`, `headers` and `body`.
async fn canned(
    status: u16,
    headers: &'static [(&'static str, &'static str)],
    body: &'static str,
) -> SocketAddr {
    use axum::{http::StatusCode, response::IntoResponse};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(move || async move {
        let mut response = (StatusCode::from_u16(status).unwrap(), body).into_response();
        for (name, value) in headers {
            response.headers_mut().insert(*name, value.parse().unwrap());
        }
        response
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

#[tokio::test]
async fn what_real_providers_answer() {
    let check = |status: u16,
                 headers: &'static [(&'static str, &'static str)],
                 body: &'static str| async move {
        let addr = canned(status, headers, body).await;
        let provider = HttpProvider::new(&format!("http://{addr}")).unwrap();
        (provider.place_call(&request("+14155550100")).await, provider.fetch_call("c1").await)
    };
    let (placed, _) = check(429, &[("retry-after", "7")], r#"{"error": "slow down"}"#).await;
    assert_eq!(
        placed.unwrap_err(),
        ProviderError::Transient {
            message: "slow down".into(),
            retry_after: Some(Duration::from_secs(7))
        }
    );

    let (placed, _) = check(502, &[], "<html>bad gateway</html>").await;
    assert_eq!(
        placed.unwrap_err(),
        ProviderError::Transient {
            message: "HTTP 502: <html>bad gateway</html>".into(),
            retry_after: None
        }
    );

    let (placed, _) = check(401, &[], r#"{"error": "bad credentials"}"#).await;
    assert_eq!(placed.unwrap_err(), ProviderError::Permanent { message: "bad credentials".into() });

    let twilio = r#"{"success": true, "call": {"id": "CA1", "status": "in-progress", "to": "+14155550100",
        "created_at": "2025-11-01T14:00:00+00:00", "price": null}}"#;
    let (placed, fetched) = check(200, &[], twilio).await;
    assert_eq!(placed.unwrap().status, ProviderStatus::Connected);
    assert_eq!(fetched.unwrap().external_id, "CA1");

    let (_, fetched) =
        check(200, &[], r#"{"success": true, "call": {"id": "c1", "status": "teleported"}}"#).await;
    assert!(
        matches!(fetched.unwrap_err(), ProviderError::Invalid { message } if message.contains("teleported"))
    );

    let (placed, _) = check(201, &[], "not json").await;
    assert!(matches!(placed.unwrap_err(), ProviderError::Invalid { .. }));
}
