//! Webhooks against a local receiver: signed, retried, then dropped; never slowing the engine.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    http::{HeaderMap, StatusCode},
    routing::post,
};
use call_core::{NewCall, PhoneNumber};
use call_http::notify::{DELIVERY_HEADER, SIGNATURE_HEADER, WebhookConfig, WebhookNotifier, sign};

use crate::{builder, eventually, recorder, serve};

/// What the receiver got: (delivery id, signature, body).
type Received = Arc<Mutex<Vec<(String, Option<String>, String)>>>;

/// A receiver that fails the first `failures` requests with 500.
async fn receiver(failures: usize) -> (reqwest::Url, Received) {
    let received: Received = Arc::default();
    let log = received.clone();
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            async move {
                let mut log = log.lock().unwrap();
                let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
                log.push((
                    header(DELIVERY_HEADER).unwrap(),
                    header(SIGNATURE_HEADER),
                    String::from_utf8(body.to_vec()).unwrap(),
                ));
                if log.len() <= failures {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let address = serve(app).await;
    (format!("http://{address}/hook").parse().unwrap(), received)
}

fn config(url: reqwest::Url) -> WebhookConfig {
    WebhookConfig {
        secret: Some("whsec".into()),
        backoff: Duration::from_millis(10),
        ..WebhookConfig::new(vec![url])
    }
}

// On the test's thread, as every test that reads the recorder.
#[tokio::test]
async fn notifications_are_signed_and_retried_until_delivered() {
    let recorder = recorder();
    let _local = metrics::set_default_local_recorder(&recorder);
    let (url, received) = receiver(2).await;
    let builder = builder();
    let webhooks = WebhookNotifier::new(config(url)).unwrap();
    let state = builder.webhooks(webhooks).build();
    state.live_start().await.unwrap();
    let call = state
        .engine()
        .schedule(
            NewCall::to(PhoneNumber::parse("+14155550100").unwrap())
                .at(chrono::Utc::now() + chrono::TimeDelta::hours(1)),
        )
        .await
        .unwrap();

    eventually("delivered on the third attempt", || async { received.lock().unwrap().len() == 3 })
        .await;
    let received = received.lock().unwrap().clone();
    // One delivery, three attempts, the same id and body each time.
    assert!(received.iter().all(|r| r.0 == received[0].0 && r.2 == received[0].2));
    let (_, signature, body) = &received[0];
    assert_eq!(signature.as_deref(), Some(sign(b"whsec", body.as_bytes()).as_str()));
    let message: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(message["type"], "call_changed");
    assert_eq!(message["call"]["id"], call.id().as_str());

    // The receiver logs the third attempt before it answers it; the
    // notifier counts the delivery once the answer is back.
    let delivered = "callwork_webhook_deliveries_total{outcome=\"delivered\"} 1";
    eventually("the delivery counted", || async { recorder.handle().render().contains(delivered) })
        .await;
    let metrics = recorder.handle().render();
    assert!(metrics.contains(delivered), "{metrics}");
    assert!(
        metrics.contains("callwork_webhook_deliveries_total{outcome=\"retried\"} 2"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_dead_endpoint_is_retried_three_times_then_dropped() {
    let recorder = recorder();
    let _local = metrics::set_default_local_recorder(&recorder);
    let (url, received) = receiver(usize::MAX).await;
    let builder = builder();
    let webhooks = WebhookNotifier::new(config(url)).unwrap();
    let state = builder.webhooks(webhooks).build();
    state.live_start().await.unwrap();
    state
        .engine()
        .schedule(
            NewCall::to(PhoneNumber::parse("+14155550100").unwrap())
                .at(chrono::Utc::now() + chrono::TimeDelta::hours(1)),
        )
        .await
        .unwrap();
    let dropped = "callwork_webhook_deliveries_total{outcome=\"dropped\"} 1";
    eventually("dropped", || async { recorder.handle().render().contains(dropped) }).await;
    assert_eq!(received.lock().unwrap().len(), 4, "one attempt and three retries");
}

#[tokio::test]
async fn a_hanging_endpoint_never_slows_the_engine() {
    let recorder = recorder();
    let _local = metrics::set_default_local_recorder(&recorder);
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            held.push(socket);
        }
    });
    let builder = builder();
    let config = WebhookConfig {
        timeout: Duration::from_secs(30),
        ..WebhookConfig::new(vec![format!("http://{address}/hook").parse().unwrap()])
    };
    let webhooks = WebhookNotifier::new(config).unwrap();
    let state = builder.live_capacity(16).webhooks(webhooks).build();
    state.live_start().await.unwrap();
    for i in 0..100 {
        let number = PhoneNumber::parse(&format!("+1415555{i:04}")).unwrap();
        // Each schedule returns although the endpoint holds every delivery.
        tokio::time::timeout(
            Duration::from_secs(5),
            state
                .engine()
                .schedule(NewCall::to(number).at(chrono::Utc::now() + chrono::TimeDelta::hours(1))),
        )
        .await
        .expect("the engine does not wait on webhooks")
        .unwrap();
    }
    // Nothing is dropped for being slow: the endpoint's delivery waits on
    // its first POST, and resumes from the log when it gets an answer.
    let metrics = recorder.handle().render();
    assert!(!metrics.contains("outcome=\"dropped\""), "{metrics}");
}

/// An endpoint slower than the live stream's capacity falls behind the
/// broadcast, resumes from the audit log where it stopped, and so gets
/// every message, in order, once, each with its position.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_endpoint_gets_every_message_in_order_once() {
    let received: Received = Arc::default();
    let log = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let log = log.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                log.lock().unwrap().push((String::new(), None, body));
                StatusCode::NO_CONTENT
            }
        }),
    );
    let address = serve(app).await;
    let builder = builder();
    let url = format!("http://{address}/hook").parse().unwrap();
    let webhooks = WebhookNotifier::new(config(url)).unwrap();
    let state = builder.live_capacity(4).webhooks(webhooks).build();
    state.live_start().await.unwrap();
    let mut scheduled = Vec::new();
    for i in 0..60 {
        let number = PhoneNumber::parse(&format!("+1415555{i:04}")).unwrap();
        let at = chrono::Utc::now() + chrono::TimeDelta::hours(1);
        scheduled.push(state.engine().schedule(NewCall::to(number).at(at)).await.unwrap());
    }
    eventually("all delivered", || async { received.lock().unwrap().len() >= 60 }).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let bodies: Vec<serde_json::Value> = received
        .lock()
        .unwrap()
        .iter()
        .map(|(_, _, body)| serde_json::from_str(body).unwrap())
        .collect();
    let ids: Vec<&str> = bodies.iter().map(|b| b["call"]["id"].as_str().unwrap()).collect();
    let expected: Vec<&str> = scheduled.iter().map(|c| c.id().as_str()).collect();
    assert_eq!(ids, expected, "every call's message, in order, once");
    let seqs: Vec<u64> = bodies.iter().map(|b| b["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "positions grow: {seqs:?}");
}
