//! Run with: cargo run -p examples --example custom_provider
//!
//! How to plug in your own telephony provider: implement `CallProvider` for
//! its API. This one speaks a Twilio-shaped API — form-encoded
//! `POST /2010-04-01/Accounts/{sid}/Calls.json` with `To`, `From` and `Url`,
//! JSON answers with `sid` and `status`, HTTP Basic auth — and classifies
//! its failures the way the engine needs: connect errors, 429 and 5xx are
//! `Transient` (retried with backoff); a timeout or a cut connection once the
//! request was sent is `Unanswered` (the provider may have dialled, so the
//! engine does not send it again); other 4xx `Permanent`, an unknown call
//! `NotFound`, an unreadable answer `Invalid`.
//!
//! So that it runs anywhere, `main` starts a small local imitation of that
//! API (`fake_twilio`), whose calls answer after 1 s and end after 3 s, and
//! places two calls through it with the engine and the in-memory store.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::Context;
use async_trait::async_trait;
use call_core::{
    Engine, NewCall, PhoneNumber, WorkerConfig,
    ports::{CallProvider, PlaceCall, ProviderCall, ProviderError, ProviderStatus},
    testing::MemoryStore,
};

/// A `CallProvider` for a Twilio-shaped REST API.
struct TwilioLikeProvider {
    http: reqwest::Client,
    base_url: String,
    account_sid: String,
    auth_token: String,
    /// The caller id to present when a call names none.
    default_from: String,
    /// Where the provider fetches call instructions (TwiML) from.
    instructions_url: String,
}

/// The part of the provider's call resource this provider reads.
#[derive(serde::Deserialize)]
struct CallResource {
    sid: String,
    status: String,
    /// Seconds, as a string, once the call ended.
    duration: Option<String>,
}

#[derive(serde::Deserialize)]
struct ErrorResource {
    message: String,
}

impl TwilioLikeProvider {
    fn calls_url(&self) -> String {
        format!("{}/2010-04-01/Accounts/{}/Calls", self.base_url, self.account_sid)
    }

    /// Reads an answer: the call on 2xx, otherwise the error its status means.
    async fn read(
        response: reqwest::Response,
        sid: Option<&str>,
    ) -> Result<ProviderCall, ProviderError> {
        let status = response.status();
        let body = response.bytes().await.map_err(|e| transport(&e))?;
        if status.is_success() {
            let call: CallResource = serde_json::from_slice(&body).map_err(|e| {
                ProviderError::Invalid { message: format!("unreadable call resource: {e}") }
            })?;
            return Ok(ProviderCall {
                external_id: call.sid,
                status: map_status(&call.status)?,
                duration_seconds: call.duration.and_then(|d| d.parse().ok()),
            });
        }
        let message = serde_json::from_slice::<ErrorResource>(&body)
            .map(|e| e.message)
            .unwrap_or_else(|_| format!("HTTP {status}"));
        Err(match status.as_u16() {
            404 if sid.is_some() => {
                ProviderError::NotFound { external_id: sid.unwrap_or_default().to_owned() }
            }
            429 | 500..=599 => ProviderError::Transient { message, retry_after: None },
            _ => ProviderError::Permanent { message },
        })
    }
}

/// No answer: only a failed connection proves the request never arrived.
fn transport(error: &reqwest::Error) -> ProviderError {
    if error.is_connect() {
        ProviderError::Transient { message: error.to_string(), retry_after: None }
    } else {
        ProviderError::Unanswered { message: error.to_string() }
    }
}

/// Twilio's call statuses, onto the core's.
fn map_status(status: &str) -> Result<ProviderStatus, ProviderError> {
    Ok(match status {
        "queued" => ProviderStatus::Queued,
        "initiated" => ProviderStatus::Initiated,
        "ringing" => ProviderStatus::Ringing,
        "in-progress" => ProviderStatus::Connected,
        "completed" => ProviderStatus::Completed,
        "busy" => ProviderStatus::Busy,
        "no-answer" => ProviderStatus::NoAnswer,
        "failed" => ProviderStatus::Failed,
        "canceled" => ProviderStatus::Canceled,
        other => {
            return Err(ProviderError::Invalid {
                message: format!("unknown call status {other:?}"),
            });
        }
    })
}

#[async_trait]
impl CallProvider for TwilioLikeProvider {
    async fn place_call(&self, request: &PlaceCall) -> Result<ProviderCall, ProviderError> {
        let from = request.from.as_ref().map_or(self.default_from.clone(), |f| f.to_string());
        let form = [
            ("To", request.to.as_str()),
            ("From", from.as_str()),
            ("Url", self.instructions_url.as_str()),
        ];
        let body: String = url_encode(&form);
        let response = self
            .http
            .post(format!("{}.json", self.calls_url()))
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| transport(&e))?;
        TwilioLikeProvider::read(response, None).await
    }

    async fn fetch_call(&self, external_id: &str) -> Result<ProviderCall, ProviderError> {
        let response = self
            .http
            .get(format!("{}/{external_id}.json", self.calls_url()))
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .send()
            .await
            .map_err(|e| transport(&e))?;
        TwilioLikeProvider::read(response, Some(external_id)).await
    }
}

fn url_encode(pairs: &[(&str, &str)]) -> String {
    let encode = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

/// A small local imitation of the Twilio-shaped API: calls answer at 1 s
/// and end at 3 s. Returns its base URL.
async fn fake_twilio() -> anyhow::Result<String> {
    use axum::{
        Json, Router,
        extract::{Path, State},
        http::StatusCode,
        routing::{get, post},
    };
    type Calls = Arc<Mutex<HashMap<String, Instant>>>;
    fn resource(sid: &str, started: Instant) -> serde_json::Value {
        let elapsed = started.elapsed();
        let (status, duration) = match elapsed.as_secs_f64() {
            t if t < 1.0 => ("ringing", None),
            t if t < 3.0 => ("in-progress", None),
            _ => ("completed", Some("2")),
        };
        serde_json::json!({ "sid": sid, "status": status, "duration": duration })
    }
    let calls: Calls = Arc::default();
    let app = Router::new()
        .route(
            "/2010-04-01/Accounts/{account}/Calls.json",
            post(|State(calls): State<Calls>, body: String| async move {
                if !body.contains("To=%2B") {
                    let error = serde_json::json!({ "message": "The 'To' number is not a valid phone number." });
                    return (StatusCode::BAD_REQUEST, Json(error));
                }
                let mut calls = calls.lock().unwrap_or_else(|e| e.into_inner());
                let sid = format!("CA{:032x}", calls.len() + 1);
                calls.insert(sid.clone(), Instant::now());
                (StatusCode::CREATED, Json(serde_json::json!({ "sid": sid, "status": "queued", "duration": null })))
            }),
        )
        .route(
            "/2010-04-01/Accounts/{account}/Calls/{file}",
            get(|State(calls): State<Calls>, Path((_account, file)): Path<(String, String)>| async move {
                let sid = file.trim_end_matches(".json").to_owned();
                let started = calls.lock().unwrap_or_else(|e| e.into_inner()).get(&sid).copied();
                match started {
                    Some(started) => (StatusCode::OK, Json(resource(&sid, started))),
                    None => (StatusCode::NOT_FOUND, Json(serde_json::json!({ "message": "not found" }))),
                }
            }),
        )
        .with_state(calls);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let base_url = fake_twilio().await?;
    println!("a Twilio-shaped API imitation at {base_url}");
    let provider = Arc::new(TwilioLikeProvider {
        http: reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?,
        base_url,
        account_sid: "AC0123456789abcdef".into(),
        auth_token: "secret".into(),
        default_from: "+14155550000".into(),
        instructions_url: "https://example.com/twiml/reminder.xml".into(),
    });

    let engine = Engine::builder(Arc::new(MemoryStore::new())).build();
    let config =
        WorkerConfig { poll_interval: Duration::from_millis(250), ..WorkerConfig::default() };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(engine.worker(provider, config)?.run(async {
        let _ = stopped.await;
    }));

    let calls = engine
        .schedule_many(vec![
            NewCall::to(PhoneNumber::parse("+1 212 555 0142")?).customer_name("Grace"),
            NewCall::to(PhoneNumber::parse("+44 20 7946 0958")?).customer_name("Alan"),
        ])
        .await?;
    for call in &calls {
        while !engine.get(call.id()).await?.status().is_terminal() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    stop.send(()).ok();
    worker.await.context("the worker panicked")?;

    for call in &calls {
        let call = engine.get(call.id()).await?;
        let events: Vec<String> =
            engine.events(call.id()).await?.iter().map(|e| e.event_type().to_string()).collect();
        println!(
            "{} ({}) via {}: {} — {}",
            call.to().map(|n| n.to_string()).unwrap_or_default(),
            call.customer_name().unwrap_or("-"),
            call.external_id().unwrap_or("-"),
            call.status(),
            events.join(" → ")
        );
    }
    Ok(())
}
