//! Just enough of the W3C WebDriver protocol, over reqwest, to drive
//! headless Chromium through chromedriver.

use std::{
    net::TcpListener,
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::Process;

/// The key WebDriver answers element references under.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Flags that keep Chromium quiet on a machine without internet, as root.
const CHROMIUM_FLAGS: [&str; 10] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1440,1000",
];

/// A browser session.
pub(crate) struct Browser {
    client: reqwest::Client,
    session: String,
    _driver: Process,
}

fn program(env: &str, default: &str) -> String {
    std::env::var(env).unwrap_or_else(|_| default.to_owned())
}

impl Browser {
    /// Starts chromedriver on a free port and opens a headless Chromium
    /// session with its profile in `profile_root`.
    pub(crate) async fn start(profile_root: &Path) -> Browser {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new(program("CHROMEDRIVER", "/usr/bin/chromedriver"))
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (apt-get install chromium-driver), or CHROMEDRIVER names it");
        let driver = Process(driver);
        let client = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let ready = client.get(format!("{base}/status")).send().await.ok();
            if let Some(response) = ready
                && response.json::<Value>().await.is_ok_and(|v| v["value"]["ready"] == true)
            {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = profile_root.join("chromium-profile");
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| f.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": program("CHROMIUM", "/usr/bin/chromium"), "args": args},
        }}});
        let answer: Value = client
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {answer}"))
            .to_owned();
        Browser { client, session: format!("{base}/session/{session}"), _driver: driver }
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let request = self.client.request(method, format!("{}{path}", self.session));
        let request = if body.is_null() { request } else { request.json(&body) };
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        if answer["value"]["error"].is_string() {
            panic!("webdriver {path}: {}", answer["value"]);
        }
        answer["value"].clone()
    }

    pub(crate) async fn goto(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", json!({"url": url})).await;
    }

    /// Runs JavaScript in the page; its return value.
    pub(crate) async fn script(&self, script: &str) -> Value {
        self.command(reqwest::Method::POST, "/execute/sync", json!({"script": script, "args": []}))
            .await
    }

    async fn element(&self, css: &str) -> String {
        let found = self
            .command(
                reqwest::Method::POST,
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        found[ELEMENT].as_str().unwrap().to_owned()
    }

    /// Types as a user would, key by key.
    pub(crate) async fn type_into(&self, css: &str, text: &str) {
        let element = self.element(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            json!({"text": text}),
        )
        .await;
    }

    pub(crate) async fn clear(&self, css: &str) {
        let element = self.element(css).await;
        self.command(reqwest::Method::POST, &format!("/element/{element}/clear"), json!({})).await;
    }

    pub(crate) async fn click(&self, css: &str) {
        let element = self.element(css).await;
        self.command(reqwest::Method::POST, &format!("/element/{element}/click"), json!({})).await;
    }

    /// Waits up to 30 s for `script` to return a value other than null or false.
    pub(crate) async fn wait_for_value(&self, what: &str, script: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let value = self.script(script).await;
            if !(value.is_null() || value == json!(false)) {
                return value;
            }
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) async fn wait_for(&self, what: &str, script: &str) {
        self.wait_for_value(what, script).await;
    }

    /// Makes the page's viewport `width` × `height` CSS pixels: sets the
    /// window, then corrects by what the window's frame takes.
    pub(crate) async fn set_viewport(&self, width: i64, height: i64) {
        let mut size = (width, height);
        for _ in 0..3 {
            self.command(
                reqwest::Method::POST,
                "/window/rect",
                json!({"width": size.0, "height": size.1}),
            )
            .await;
            let inner = self.script("return [window.innerWidth, window.innerHeight]").await;
            let (w, h) = (inner[0].as_i64().unwrap(), inner[1].as_i64().unwrap());
            if (w, h) == (width, height) {
                return;
            }
            size = (size.0 + width - w, size.1 + height - h);
        }
        let inner = self.script("return [window.innerWidth, window.innerHeight]").await;
        panic!("the viewport is {inner}, not {width}×{height}");
    }

    /// Saves a PNG of the window.
    pub(crate) async fn screenshot(&self, path: &Path) {
        let png = self.command(reqwest::Method::GET, "/screenshot", Value::Null).await;
        let bytes =
            base64::engine::general_purpose::STANDARD.decode(png.as_str().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    pub(crate) async fn quit(&self) {
        self.command(reqwest::Method::DELETE, "", Value::Null).await;
    }
}
