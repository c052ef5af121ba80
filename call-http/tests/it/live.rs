//! The WebSocket on a real port: each change once, in order; resumed after a position, across a restart; slow subscribers caught up.

use std::time::Duration;

use call_http::{live::LiveMessage, router};
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

use crate::{builder, serve};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_message(socket: &mut Socket) -> LiveMessage {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message within 10 s")
            .expect("the socket is open")
            .unwrap();
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

async fn connect(url: &str) -> Socket {
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

/// The call ids and positions of the next `n` messages, which are call changes.
async fn changes(socket: &mut Socket, n: usize) -> Vec<(String, u64)> {
    let mut changes = Vec::new();
    for _ in 0..n {
        match next_message(socket).await {
            LiveMessage::CallChanged { seq, call, .. } => changes.push((call.id, seq)),
            other => panic!("unexpected {other:?}"),
        }
    }
    changes
}

async fn nothing_more(socket: &mut Socket) {
    let extra = tokio::time::timeout(Duration::from_millis(300), socket.next()).await;
    assert!(extra.is_err(), "an extra message: {extra:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_arrives_once_in_order() {
    let state = builder().api_key("k").build();
    let address = serve(router(state.clone())).await;
    let refused = tokio_tungstenite::connect_async(format!("ws://{address}/api/ws")).await;
    assert!(refused.is_err(), "no key, no socket");
    let (mut first, _) =
        tokio_tungstenite::connect_async(format!("ws://{address}/api/ws?api_key=k")).await.unwrap();
    let (mut second, _) =
        tokio_tungstenite::connect_async(format!("ws://{address}/api/ws?api_key=k")).await.unwrap();
    crate::eventually("both subscribed", || async { state.websocket_subscribers() == 2 }).await;

    let client = crate::client();
    let url = format!("http://{address}/api/calls");
    let call: serde_json::Value = client
        .post(&url)
        .header("x-api-key", "k")
        .json(&serde_json::json!({"phone_number": "+14155550100", "scheduled_at": "2030-01-01T09:00:00Z"}))
        .send().await.unwrap().json().await.unwrap();
    let id = call["id"].as_str().unwrap().to_owned();
    client.post(format!("{url}/{id}/cancel")).header("x-api-key", "k").send().await.unwrap();

    for socket in [&mut first, &mut second] {
        assert_eq!(next_message(socket).await, LiveMessage::Hello { seq: 0 }, "from the head");
        let mut seen = Vec::new();
        for _ in 0..2 {
            match next_message(socket).await {
                LiveMessage::CallChanged { call, events, .. } => {
                    assert_eq!(call.id, id);
                    seen.push((
                        call.status,
                        events.iter().map(|e| e.event_type.clone()).collect::<Vec<_>>(),
                    ));
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(
            seen,
            [
                ("scheduled".to_owned(), vec!["call_scheduled".to_owned()]),
                ("canceled".to_owned(), vec!["call_canceled".to_owned()]),
            ]
        );
        // Nothing more: each change once.
        let extra = tokio::time::timeout(Duration::from_millis(200), socket.next()).await;
        assert!(extra.is_err(), "an extra message: {extra:?}");
    }
    first.close(None).await.unwrap();
    crate::eventually("the closed subscriber is gone", || async {
        state.websocket_subscribers() == 1
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_slower_than_the_broadcast_is_caught_up_from_the_log() {
    let state = builder().live_capacity(8).build();
    let address = serve(router(state.clone())).await;
    let mut slow = connect(&format!("ws://{address}/api/ws")).await;
    assert_eq!(next_message(&mut slow).await, LiveMessage::Hello { seq: 0 });

    // One commit of 200 calls: the feed broadcasts their 200 messages at
    // once, far more than the subscriber's 8 slots, never waiting for it.
    let at = chrono::Utc::now() + chrono::TimeDelta::hours(1);
    let calls: Vec<call_core::NewCall> = (0..200)
        .map(|i| {
            let number = call_core::PhoneNumber::parse(&format!("+1415555{i:04}")).unwrap();
            call_core::NewCall::to(number).at(at)
        })
        .collect();
    let scheduled = state.engine().schedule_many(calls).await.unwrap();
    let received: Vec<String> =
        changes(&mut slow, 200).await.into_iter().map(|(id, _)| id).collect();
    let expected: Vec<String> = scheduled.iter().map(|c| c.id().to_string()).collect();
    assert_eq!(received, expected, "every change, in order, once");
    nothing_more(&mut slow).await;
}

/// The test of issue #17: a subscriber disconnects, 100 changes are made,
/// and on reconnecting after the last position it saw it receives exactly
/// those 100, in order, once; across a restart of the server too (a new
/// server on the same SQLite file).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_resumes_gets_exactly_what_it_missed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("calls.db");
    let open = || async {
        let store = call_store_sqlite::SqliteStore::open(&file).await.unwrap();
        let state = call_http::AppState::builder(std::sync::Arc::new(store)).build();
        (state.clone(), crate::serve(router(state)).await)
    };
    let schedule = |address: std::net::SocketAddr, i: usize| async move {
        let answer: serde_json::Value = crate::client()
            .post(format!("http://{address}/api/calls"))
            .json(&serde_json::json!({"phone_number": format!("+1415555{i:04}"), "scheduled_at": "2030-01-01T09:00:00Z"}))
            .send().await.unwrap().json().await.unwrap();
        answer["id"].as_str().unwrap().to_owned()
    };

    let (state, address) = open().await;
    let mut socket = connect(&format!("ws://{address}/api/ws")).await;
    assert_eq!(next_message(&mut socket).await, LiveMessage::Hello { seq: 0 });
    let first = schedule(address, 0).await;
    let seen = changes(&mut socket, 1).await;
    assert_eq!(seen[0].0, first);
    let last = seen[0].1;
    drop(socket);

    // 100 changes while away: 50 on this server, then 50 on a new one.
    let mut missed = Vec::new();
    for i in 1..=50 {
        missed.push(schedule(address, i).await);
    }
    state.close_connections();
    drop(state);
    let (_state, address) = open().await;
    for i in 51..=100 {
        missed.push(schedule(address, i).await);
    }

    let mut socket = connect(&format!("ws://{address}/api/ws?after={last}")).await;
    assert_eq!(next_message(&mut socket).await, LiveMessage::Hello { seq: last });
    let resumed = changes(&mut socket, 100).await;
    let ids: Vec<&str> = resumed.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, missed.iter().map(String::as_str).collect::<Vec<_>>(), "those 100, in order");
    assert!(resumed.windows(2).all(|w| w[0].1 < w[1].1), "positions grow");
    assert!(resumed[0].1 > last);
    nothing_more(&mut socket).await;

    // Live again after the replay, without a gap or a repeat.
    let next = schedule(address, 101).await;
    let live = changes(&mut socket, 1).await;
    assert_eq!(live[0].0, next);
    assert!(live[0].1 > resumed[99].1);
    nothing_more(&mut socket).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_outside_the_replay_window_is_told_to_reload() {
    let store = std::sync::Arc::new(call_core::testing::MemoryStore::new());
    let state = call_http::AppState::builder(store.clone()).replay_window(10).build();
    let address = serve(router(state.clone())).await;
    for i in 0..20 {
        let number = call_core::PhoneNumber::parse(&format!("+1415555{i:04}")).unwrap();
        let at = chrono::Utc::now() + chrono::TimeDelta::hours(1);
        state.engine().schedule(call_core::NewCall::to(number).at(at)).await.unwrap();
    }
    let head = call_core::ports::CallStore::log_head(store.as_ref()).await.unwrap();
    assert_eq!(head, 20);

    // Within the window: what was missed.
    let mut near = connect(&format!("ws://{address}/api/ws?after=12")).await;
    assert_eq!(next_message(&mut near).await, LiveMessage::Hello { seq: 12 });
    let replayed: Vec<u64> = changes(&mut near, 8).await.into_iter().map(|(_, s)| s).collect();
    assert_eq!(replayed, (13..=20).collect::<Vec<_>>());
    nothing_more(&mut near).await;

    // Further behind, or ahead of this log: reload, and the stream goes on from the head.
    for after in [5, 21] {
        let mut far = connect(&format!("ws://{address}/api/ws?after={after}")).await;
        match next_message(&mut far).await {
            LiveMessage::Reload { seq, reason } => {
                assert_eq!(seq, head);
                assert!(reason.contains(&format!("position {after}")), "{reason}");
            }
            other => panic!("unexpected {other:?}"),
        }
        nothing_more(&mut far).await;
    }

    // Not a position: a clear error, no socket.
    let refused = tokio_tungstenite::connect_async(format!("ws://{address}/api/ws?after=x")).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 422);
            let body: serde_json::Value =
                serde_json::from_slice(response.body().as_deref().unwrap()).unwrap();
            assert_eq!(body["error"]["field"], "after", "{body}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

/// Changes another process makes (a worker on another machine, `calls` on
/// the same file) reach this server's subscribers too, read from the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_another_process_makes_are_sent_too() {
    let store = std::sync::Arc::new(call_core::testing::MemoryStore::new());
    let state = call_http::AppState::builder(store.clone()).build();
    let address = serve(router(state)).await;
    let mut socket = connect(&format!("ws://{address}/api/ws")).await;
    assert_eq!(next_message(&mut socket).await, LiveMessage::Hello { seq: 0 });
    // Another engine on the same store: its notifications never reach this server.
    let other = call_core::Engine::builder(store).build();
    let number = call_core::PhoneNumber::parse("+14155550100").unwrap();
    let at = chrono::Utc::now() + chrono::TimeDelta::hours(1);
    let call = other.schedule(call_core::NewCall::to(number).at(at)).await.unwrap();
    let seen = changes(&mut socket, 1).await;
    assert_eq!(seen, [(call.id().to_string(), 1)]);
}
