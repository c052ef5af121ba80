//! The engine from call-core, this client and the stand-in at a fast time scale.

use std::{sync::Arc, time::Duration};

use call_core::{
    CallStatus, Engine, EventType, NewCall, PhoneNumber, RetryPolicy, WorkerConfig,
    testing::MemoryStore,
};
use call_provider_http::{
    HttpProvider,
    mock::{MockCallApi, MockOptions},
};

async fn until<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !done().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_calls_are_placed_once_and_followed_to_completion() {
    // 10 contract seconds take 200 ms.
    let api = MockCallApi::start(MockOptions { time_scale: 0.02, ..MockOptions::default() })
        .await
        .unwrap();
    let engine = Engine::builder(Arc::new(MemoryStore::new())).build();
    let provider = Arc::new(HttpProvider::new(api.url()).unwrap());
    let config =
        WorkerConfig { poll_interval: Duration::from_millis(20), ..WorkerConfig::default() };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(engine.worker(provider, config).unwrap().run(async {
        let _ = stopped.await;
    }));

    let numbers: Vec<PhoneNumber> =
        (0..20).map(|n| PhoneNumber::parse(&format!("+1415555{n:04}")).unwrap()).collect();
    let due = chrono::Utc::now() + chrono::TimeDelta::milliseconds(300);
    let calls = engine
        .schedule_many(numbers.iter().map(|n| NewCall::to(n.clone()).at(due)).collect())
        .await
        .unwrap();

    until("every call completed", || async {
        let mut done = 0;
        for call in &calls {
            done +=
                usize::from(engine.get(call.id()).await.unwrap().status() == CallStatus::Completed);
        }
        done == calls.len()
    })
    .await;
    for call in &calls {
        let call = engine.get(call.id()).await.unwrap();
        assert_eq!(call.duration_seconds(), Some(10.0));
        assert!(call.initiated_at().unwrap() >= due, "not placed before its time");
        let types: Vec<EventType> =
            engine.events(call.id()).await.unwrap().iter().map(|e| e.event_type()).collect();
        assert_eq!(
            types,
            [
                EventType::CallScheduled,
                EventType::CallDispatched,
                EventType::CallInitiated,
                EventType::CallRinging,
                EventType::CallAnswered,
                EventType::CallEnded,
                EventType::SurveyRequested,
            ],
            "{}",
            call.id()
        );
    }
    let stats = api.stats();
    assert_eq!(stats.calls_placed, 20);
    for number in &numbers {
        assert_eq!(stats.by_number[number.as_str()], 1, "{number} dialled exactly once");
    }
    stop.send(()).unwrap();
    worker.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_and_each_call_placed_once() {
    let flaky = MockOptions { time_scale: 0.02, error_rate: 0.3, ..MockOptions::default() };
    let api = MockCallApi::start(flaky).await.unwrap();
    let engine = Engine::builder(Arc::new(MemoryStore::new())).build();
    let provider = Arc::new(HttpProvider::new(api.url()).unwrap());
    let retry = RetryPolicy {
        attempts: 8,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
    };
    let config =
        WorkerConfig { poll_interval: Duration::from_millis(20), retry, ..WorkerConfig::default() };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(engine.worker(provider, config).unwrap().run(async {
        let _ = stopped.await;
    }));
    let numbers: Vec<PhoneNumber> =
        (0..20).map(|n| PhoneNumber::parse(&format!("+1415555{n:04}")).unwrap()).collect();
    let calls = engine
        .schedule_many(numbers.iter().map(|n| NewCall::to(n.clone())).collect())
        .await
        .unwrap();
    until("every call ended", || async {
        let mut ended = 0;
        for call in &calls {
            ended += usize::from(engine.get(call.id()).await.unwrap().status().is_terminal());
        }
        ended == calls.len()
    })
    .await;
    let stats = api.stats();
    assert!(stats.injected_errors > 0, "faults were injected");
    for number in &numbers {
        assert!(
            stats.by_number.get(number.as_str()).copied().unwrap_or(0) <= 1,
            "{number} dialled at most once"
        );
    }
    let completed = {
        let mut n = 0;
        for call in &calls {
            n +=
                usize::from(engine.get(call.id()).await.unwrap().status() == CallStatus::Completed);
        }
        n
    };
    // With 8 attempts at 30 % failure, a call fails only after 8 straight errors.
    assert_eq!(completed as u64, stats.calls_placed, "every placed call was followed to its end");
    stop.send(()).unwrap();
    worker.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_callbacks_move_calls_without_polling() {
    use axum::{body::Bytes, extract::State, http::HeaderMap, routing::post};
    use call_provider_http::parse_callback;

    let engine = Engine::builder(Arc::new(MemoryStore::new())).build();
    // The receiving end, as a server would mount it: parse, then apply.
    let receiver = axum::Router::new()
        .route(
            "/callback",
            post(|State(engine): State<Engine>, headers: HeaderMap, body: Bytes| async move {
                let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
                let update = parse_callback(content_type, &body).expect("a readable callback");
                engine.provider_update(&update).await.expect("applied");
            }),
        )
        .with_state(engine.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let callback_url = format!("http://{}/callback", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });

    let options = MockOptions {
        time_scale: 0.02,
        callback_url: Some(callback_url),
        ..MockOptions::default()
    };
    let api = MockCallApi::start(options).await.unwrap();
    let provider = Arc::new(HttpProvider::new(api.url()).unwrap());
    // Polling off: only the callbacks can move the call past `initiated`.
    let config =
        WorkerConfig { poll_interval: Duration::from_secs(3600), ..WorkerConfig::default() };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(engine.worker(provider, config).unwrap().run(async {
        let _ = stopped.await;
    }));
    let call =
        engine.schedule(NewCall::to(PhoneNumber::parse("+14155550100").unwrap())).await.unwrap();
    until("completed by callbacks", || async {
        engine.get(call.id()).await.unwrap().status() == CallStatus::Completed
    })
    .await;
    let done = engine.get(call.id()).await.unwrap();
    assert_eq!(done.duration_seconds(), Some(10.0));
    let types: Vec<EventType> =
        engine.events(call.id()).await.unwrap().iter().map(|e| e.event_type()).collect();
    assert!(
        types.contains(&EventType::CallRinging) && types.contains(&EventType::CallAnswered),
        "{types:?}"
    );
    stop.send(()).unwrap();
    worker.await.unwrap();
}
