//! `/socket.io/` with a real Socket.IO client, `python-socketio`, on a real
//! port: the key rules of `/api/ws`, and every change and alert once, in
//! commit order per call.

use std::{process::Stdio, time::Duration};

use call_http::router;
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, BufReader, Lines},
    process::{Child, ChildStdout, Command},
};

use crate::{builder, client, serve};

/// A client that connects (with `auth.api_key` and `auth.after` when given
/// them), prints a JSON line when connected or refused, then one per event
/// (`hello` uncounted) until it has `want` of them.
const CLIENT: &str = r#"
import asyncio, json, sys, socketio
url, key, want, after = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]

def say(value):
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()

async def main():
    # The asyncio client runs each event's handler as a task, in the order
    # the events arrive, so what it prints is the order the server sent.
    sio = socketio.AsyncClient(reconnection=False)
    got, done, reason = [], asyncio.Event(), []
    def on(name):
        async def handler(data):
            say({"event": name, "data": data})
            got.append(name)
            if len(got) >= want:
                done.set()
        sio.on(name, handler)
    on("call_update"); on("alert"); on("reload")
    async def hello(data):
        say({"event": "hello", "data": data})
    sio.on("hello", hello)
    async def connect_error(data):
        reason.append(data)
    sio.on("connect_error", connect_error)
    try:
        auth = {"api_key": key} if key else {}
        if after:
            auth["after"] = int(after)
        await sio.connect(url, auth=auth or None, wait_timeout=10)
    except socketio.exceptions.ConnectionError as error:
        say({"refused": str(error), "reason": reason})
        return
    say({"connected": True})
    try:
        await asyncio.wait_for(done.wait(), 30)
    finally:
        await sio.disconnect()

asyncio.run(main())
"#;

/// Whether `python-socketio` can be imported; says in one line what is skipped when not.
fn client_installed() -> bool {
    let installed = std::process::Command::new("python3")
        .args(["-c", "import socketio, aiohttp"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        call_test_support::missing(
            "CALLWORK_REQUIRE_SOCKETIO",
            "the Socket.IO test needs python-socketio (pip install python-socketio aiohttp)",
        );
    }
    installed
}

struct Subscriber {
    _child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Subscriber {
    fn start(url: &str, key: &str, want: usize) -> Subscriber {
        Subscriber::spawn(url, key, want, None)
    }

    /// One that resumes after position `after` (`auth.after`).
    fn start_after(url: &str, key: &str, want: usize, after: u64) -> Subscriber {
        Subscriber::spawn(url, key, want, Some(after))
    }

    fn spawn(url: &str, key: &str, want: usize, after: Option<u64>) -> Subscriber {
        let after = after.map_or_else(String::new, |a| a.to_string());
        let mut child = Command::new("python3")
            .args(["-c", CLIENT, url, key, &want.to_string(), &after])
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Subscriber { _child: child, lines }
    }

    async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(30), self.lines.next_line())
            .await
            .expect("the client said nothing for 30 s")
            .unwrap()
            .expect("the client exited");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: the client printed {line:?}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_io_client_gets_every_change_and_alert_once_in_order() {
    if !client_installed() {
        return;
    }
    let state = builder().api_key("s3cret").build();
    let address = serve(router(state)).await;
    let base = format!("http://{address}");

    // The key rules of /api/ws: none or a wrong one is refused.
    for key in ["", "wrong"] {
        let refused = Subscriber::start(&base, key, 1).next().await;
        assert!(refused["refused"].is_string(), "{refused}");
        assert!(refused["reason"].to_string().contains("unauthorized"), "{refused}");
    }
    // In the query string, as a browser may bring it.
    let mut by_query = Subscriber::start(&format!("{base}?api_key=s3cret"), "", 1);
    assert_eq!(by_query.next().await, json!({"connected": true}));

    let mut subscriber = Subscriber::start(&base, "s3cret", 6);
    assert_eq!(subscriber.next().await, json!({"connected": true}));
    let http = client();
    let post = |path: &str, body: Value| {
        let request = http.post(format!("{base}{path}")).header("x-api-key", "s3cret").json(&body);
        async move {
            let answer = request.send().await.unwrap();
            assert!(answer.status().is_success(), "{}", answer.text().await.unwrap());
        }
    };
    post(
        "/api/calls",
        json!({"phone_number": "+14155550100", "scheduled_at": "2030-01-01T09:00:00Z"}),
    )
    .await;
    post("/api/events", json!({"event_type": "call_initiated", "call_id": "in-1"})).await;
    post("/api/events", json!({"event_type": "call_answered", "call_id": "in-1", "wait_time": 45}))
        .await;
    post("/api/events", json!({"event_type": "call_ended", "call_id": "in-1"})).await;

    let hello = subscriber.next().await;
    assert_eq!(hello["event"], "hello", "{hello}");
    let mut received = Vec::new();
    for _ in 0..6 {
        received.push(subscriber.next().await);
    }
    let summary: Vec<(String, String)> = received
        .iter()
        .map(|m| {
            let data = &m["data"];
            let what = data["status"].as_str().or(data["kind"].as_str()).unwrap_or_default();
            (m["event"].as_str().unwrap().to_owned(), what.to_owned())
        })
        .collect();
    let expected = [
        ("call_update", "scheduled"),
        ("call_update", "initiated"),
        ("call_update", "active"),
        ("alert", "long_wait"),
        // The answer's change went on after its alert: the call flagged long_wait.
        ("call_update", "active"),
        ("call_update", "completed"),
    ];
    let expected: Vec<(String, String)> =
        expected.iter().map(|(e, w)| ((*e).to_owned(), (*w).to_owned())).collect();
    assert_eq!(summary, expected, "once each, in commit order: {received:?}");
    assert_eq!(received[1]["data"]["id"], "in-1", "the call's JSON");
    assert_eq!(received[3]["data"]["call_id"], "in-1", "the alert's JSON");
    assert!(received[3]["data"]["id"].is_string() && received[3]["data"]["open"] == true);
    let seqs: Vec<u64> = received.iter().map(|m| m["data"]["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "each with its position: {seqs:?}");
    assert_eq!(received[4]["data"]["flags"], json!(["long_wait"]));
    // The other subscriber got its hello too, then stopped asking.
    assert_eq!(by_query.next().await["event"], "hello");

    // Resuming after the alert: exactly what came after it.
    let mut resumed = Subscriber::start_after(&base, "s3cret", 3, seqs[3]);
    assert_eq!(resumed.next().await, json!({"connected": true}));
    let hello = resumed.next().await;
    assert_eq!(hello, json!({"event": "hello", "data": {"seq": seqs[3]}}));
    for want in &received[4..] {
        let got = resumed.next().await;
        assert_eq!((&got["event"], &got["data"]["seq"]), (&want["event"], &want["data"]["seq"]));
    }
}
