//! The WebSocket on a real port: each change once, in order; slow subscribers dropped.

use std::time::Duration;

use call_http::{live::LiveMessage, router};
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::{Message, protocol::frame::coding::CloseCode};

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
        let mut seen = Vec::new();
        for _ in 0..2 {
            match next_message(socket).await {
                LiveMessage::CallChanged { call, events } => {
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
async fn a_subscriber_that_falls_behind_is_dropped_with_a_reason() {
    let state = builder().live_capacity(8).build();
    let address = serve(router(state.clone())).await;
    let (mut slow, _) =
        tokio_tungstenite::connect_async(format!("ws://{address}/api/ws")).await.unwrap();
    crate::eventually("subscribed", || async { state.websocket_subscribers() == 1 }).await;

    // The engine publishes far more than the subscriber's 8 slots, never waiting for it.
    let engine = state.engine().clone();
    let started = std::time::Instant::now();
    for i in 0..200 {
        let number = call_core::PhoneNumber::parse(&format!("+1415555{:04}", i)).unwrap();
        engine
            .schedule(
                call_core::NewCall::to(number).at(chrono::Utc::now() + chrono::TimeDelta::hours(1)),
            )
            .await
            .unwrap();
    }
    let published = started.elapsed();

    let mut received = 0;
    let close = loop {
        match tokio::time::timeout(Duration::from_secs(10), slow.next())
            .await
            .expect("closed within 10 s")
        {
            Some(Ok(Message::Text(_))) => received += 1,
            Some(Ok(Message::Close(frame))) => break frame.expect("a close frame with a reason"),
            Some(Ok(_)) => {}
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(close.code, CloseCode::Again);
    assert!(close.reason.starts_with("too slow: missed"), "{}", close.reason);
    assert!(received < 200, "received {received}");
    println!("200 schedules with a stalled subscriber took {published:?}");
}
