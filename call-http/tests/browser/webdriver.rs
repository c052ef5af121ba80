//! Headless Chromium through chromedriver, driven with `fantoccini` (the
//! W3C WebDriver protocol), behind the few verbs the dashboard tests use.

use std::{
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use crate::Process;

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
    client: Client,
    _driver: Process,
}

fn program(env: &str, default: &str) -> String {
    std::env::var(env).unwrap_or_else(|_| default.to_owned())
}

/// Whether chromium and chromedriver are here, found once per run; says
/// once, in one line, what is skipped when they are not, and fails instead
/// when `CALLWORK_REQUIRE_CHROMIUM` is set.
pub(crate) fn available() -> bool {
    static FOUND: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *FOUND.get_or_init(|| {
        let runs = |env: &str, default: &str| {
            Command::new(program(env, default))
                .arg("--version")
                .output()
                .is_ok_and(|output| output.status.success())
        };
        let found =
            runs("CHROMEDRIVER", "/usr/bin/chromedriver") && runs("CHROMIUM", "/usr/bin/chromium");
        if !found {
            call_test_support::missing(
                "CALLWORK_REQUIRE_CHROMIUM",
                "the browser tests need chromium and chromedriver (apt-get install chromium chromium-driver)",
            );
        }
        found
    })
}

impl Browser {
    /// Starts chromedriver on a free port and opens a headless Chromium
    /// session with its profile in `profile_root`.
    pub(crate) async fn start(profile_root: &Path) -> Browser {
        let port = call_test_support::free_port();
        let driver = Command::new(program("CHROMEDRIVER", "/usr/bin/chromedriver"))
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (apt-get install chromium-driver), or CHROMEDRIVER names it");
        let driver = Process(driver);
        let profile = profile_root.join("chromium-profile");
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| f.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({"binary": program("CHROMIUM", "/usr/bin/chromium"), "args": args}),
        );
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities);
        // chromedriver takes a moment to listen.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let client = loop {
            match builder.connect(&format!("http://127.0.0.1:{port}")).await {
                Ok(client) => break client,
                Err(error) => {
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "no session from chromedriver: {error}"
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        Browser { client, _driver: driver }
    }

    pub(crate) async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("webdriver: go to {url}: {e}"));
    }

    /// Runs JavaScript in the page; its return value.
    pub(crate) async fn script(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("webdriver: script {script}: {e}"))
    }

    async fn element(&self, css: &str) -> Element {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("webdriver: no element {css}: {e}"))
    }

    /// Types as a user would, key by key.
    pub(crate) async fn type_into(&self, css: &str, text: &str) {
        let element = self.element(css).await;
        element.send_keys(text).await.unwrap_or_else(|e| panic!("webdriver: type into {css}: {e}"));
    }

    pub(crate) async fn clear(&self, css: &str) {
        let element = self.element(css).await;
        element.clear().await.unwrap_or_else(|e| panic!("webdriver: clear {css}: {e}"));
    }

    pub(crate) async fn click(&self, css: &str) {
        let element = self.element(css).await;
        element.click().await.unwrap_or_else(|e| panic!("webdriver: click {css}: {e}"));
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
            let pixels = |n: i64| u32::try_from(n).expect("a window size in pixels");
            self.client
                .set_window_size(pixels(size.0), pixels(size.1))
                .await
                .unwrap_or_else(|e| panic!("webdriver: resize the window: {e}"));
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
        let png =
            self.client.screenshot().await.unwrap_or_else(|e| panic!("webdriver: screenshot: {e}"));
        std::fs::write(path, png).unwrap();
    }

    pub(crate) async fn quit(&self) {
        self.client.clone().close().await.unwrap_or_else(|e| panic!("webdriver: quit: {e}"));
    }
}
