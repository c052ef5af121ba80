//! The dashboard in real headless Chromium: the `call-http` binary on a
//! real port with its embedded provider, driven through chromedriver
//! (WebDriver): scheduling through the form and watching a call reach
//! `completed` live, the API-key prompt, redials and the do-not-call list,
//! alerts, and the dashboard at a glance (the tables fitting at 1280 and
//! 1920 px, cancel and reschedule, the last hour's charts, agent figures).
//!
//! Needs Debian's `chromium` and `chromium-driver` (or `CHROMIUM` and
//! `CHROMEDRIVER` pointing at others); without them each test says in one
//! line that it skipped, and with `CALLWORK_REQUIRE_CHROMIUM=1` (as CI
//! sets it) it fails instead:
//!
//! ```sh
//! sudo apt-get install -y chromium chromium-driver
//! cargo test -p call-http --test browser
//! ```
//!
//! Screenshots go to `target/browser/`: `dashboard.png`, and
//! `dashboard-1280.png` and `dashboard-1920.png` at those window widths.

mod webdriver;

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::json;

use crate::webdriver::Browser;

/// A child process killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `call-http` binary on a free port, with `args`; its base URL.
fn start_server(db: &std::path::Path, args: &[&str]) -> (Process, String) {
    start_server_on("127.0.0.1:0", db, args)
}

/// The `call-http` binary listening on `listen`, with `args`; its base URL.
fn start_server_on(listen: &str, db: &std::path::Path, args: &[&str]) -> (Process, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_call-http"))
        .args(["--listen", listen, "--db"])
        .arg(db)
        .args(args)
        .env("RUST_LOG", "info")
        .env_remove("CALLS_PROVIDER_URL")
        .env_remove("CALLS_API_KEY")
        .stderr(Stdio::piped())
        .spawn()
        .expect("the call-http binary starts");
    let stderr = child.stderr.take().unwrap();
    let (found, address) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stderr).lines();
        let mut first = None;
        for line in lines.by_ref().map_while(Result::ok) {
            eprintln!("server: {line}");
            first.get_or_insert_with(|| line.clone());
            if let Some(rest) = line.split("dashboard at ").nth(1) {
                let url = rest.split_whitespace().next().unwrap().trim_end_matches('/').to_owned();
                let _ = found.send((first.clone().unwrap(), url));
            }
        }
    });
    let (first_line, url) =
        address.recv_timeout(Duration::from_secs(30)).expect("the server says where it listens");
    assert!(
        args.contains(&"--provider-url") || first_line.contains("--embedded-provider"),
        "the first log line names the provider: {first_line}"
    );
    (Process(child), url)
}

fn target_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_schedules_a_call_and_shows_it_complete_live() {
    if !webdriver::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (server, base) = start_server(&dir.path().join("calls.db"), &[]);
    let browser = Browser::start(dir.path()).await;

    browser.goto(&format!("{base}/")).await;
    browser
        .wait_for(
            "the live connection",
            "return document.getElementById('connection').dataset.state === 'live'",
        )
        .await;

    // Field-level validation from the server's 422.
    browser.type_into("#phone_number", "12345").await;
    browser.click("#schedule-submit").await;
    let message = browser
        .wait_for_value("the phone number's error", "return document.querySelector('.field-error[data-for=phone_number]').textContent || null")
        .await;
    assert!(
        message.as_str().unwrap().contains("must start with + and the country code"),
        "{message}"
    );

    // A good call: scheduled now, through the form.
    browser.clear("#phone_number").await;
    browser.type_into("#phone_number", "+1 415 555 0100").await;
    browser.type_into("#customer_name", "Ada Browser").await;
    browser.type_into("#workflow", "reminder").await;
    browser.click("#schedule-submit").await;
    browser
        .wait_for(
            "the form's confirmation",
            "return document.getElementById('schedule-result').className === 'result ok'",
        )
        .await;
    let field_error = browser
        .script("return document.querySelector('.field-error[data-for=phone_number]').textContent")
        .await;
    assert_eq!(field_error, json!(""), "the error is cleared");

    // The row reaches completed without a reload: the WebSocket brings each change.
    let row = "[...document.querySelectorAll('#calls tbody tr')].find(r => r.textContent.includes('Ada Browser'))";
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let status = browser.script(&format!("const r = {row}; return r ? r.querySelector('.status [data-status]').dataset.status : null")).await;
        if let Some(status) = status.as_str()
            && seen.last().map(String::as_str) != Some(status)
        {
            seen.push(status.to_owned());
        }
        if status == json!("completed") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "not completed within 60 s; seen {seen:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen.len() >= 3, "the row changed live through the call's statuses: {seen:?}");
    assert_eq!(
        browser.script("return performance.getEntriesByType('navigation').length").await,
        json!(1),
        "no reload"
    );
    let duration =
        browser.script(&format!("return {row}.querySelector('.duration').textContent")).await;
    assert_eq!(duration, json!("10s"));

    // Its timeline.
    browser.script(&format!("{row}.click(); return null")).await;
    let events = browser
        .wait_for_value(
            "the timeline",
            "const items = [...document.querySelectorAll('#timeline-events li')].map(li => li.dataset.type); return items.includes('call_ended') ? items : null",
        )
        .await;
    let events: Vec<&str> =
        events.as_array().unwrap().iter().map(|e| e.as_str().unwrap()).collect();
    for expected in [
        "call_scheduled",
        "call_dispatched",
        "call_initiated",
        "call_ringing",
        "call_answered",
        "call_ended",
    ] {
        assert!(events.contains(&expected), "{expected} in {events:?}");
    }
    let screenshot = target_dir().join("dashboard.png");
    browser.screenshot(&screenshot).await;

    // An answer lost on its way back (the server took the call, then the
    // connection dropped): pressing Schedule again makes no second call,
    // because the form sends the same Idempotency-Key.
    browser.type_into("#phone_number", "+1 415 555 0111").await;
    browser.type_into("#customer_name", "Lost Answer").await;
    browser
        .script(
            "const real = window.fetch; window.fetch = async (...args) => { \
               await real(...args); window.fetch = real; throw new TypeError('network error'); }; \
             return null",
        )
        .await;
    browser.click("#schedule-submit").await;
    browser
        .wait_for(
            "the lost answer's error",
            "return document.getElementById('schedule-result').className === 'result error'",
        )
        .await;
    browser.click("#schedule-submit").await;
    browser
        .wait_for(
            "the retry's confirmation",
            "return document.getElementById('schedule-result').className === 'result ok'",
        )
        .await;
    let booked = browser
        .script("return fetch('/api/calls?phone=%2B14155550111').then(r => r.json()).then(b => b.calls.length)")
        .await;
    assert_eq!(booked, json!(1), "one call for the request sent twice");

    // The dispatch switch: paused, a call scheduled now stays scheduled;
    // resumed, it is placed.
    browser
        .wait_for(
            "the dispatch state",
            "return document.getElementById('dispatch').dataset.state === 'running'",
        )
        .await;
    browser.click("#dispatch-toggle").await;
    browser
        .wait_for(
            "the pause",
            "return document.getElementById('dispatch').dataset.state === 'paused'",
        )
        .await;
    let state = browser
        .script("return fetch('/api/dispatch').then(r => r.json()).then(b => b.paused)")
        .await;
    assert_eq!(state, json!(true), "the server is paused");
    browser.type_into("#phone_number", "+1 415 555 0122").await;
    browser.type_into("#customer_name", "Held Caller").await;
    browser.click("#schedule-submit").await;
    browser
        .wait_for(
            "the held call's confirmation",
            "return document.getElementById('schedule-result').className === 'result ok'",
        )
        .await;
    let held = "[...document.querySelectorAll('#calls tbody tr')].find(r => r.textContent.includes('Held Caller'))";
    let held_status = format!(
        "const r = {held}; return r ? r.querySelector('.status [data-status]').dataset.status : null"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(browser.script(&held_status).await, json!("scheduled"), "held while paused");
    browser.screenshot(&target_dir().join("dashboard-paused.png")).await;
    browser.click("#dispatch-toggle").await;
    browser
        .wait_for(
            "the resume",
            "return document.getElementById('dispatch').dataset.state === 'running'",
        )
        .await;
    browser
        .wait_for(
            "the held call placed once resumed",
            &format!("const r = {held}; return !!r && r.querySelector('.status [data-status]').dataset.status !== 'scheduled'"),
        )
        .await;
    // A pause asked elsewhere shows without a reload.
    browser
        .script("return fetch('/api/dispatch/pause', {method: 'POST'}).then(r => r.status)")
        .await;
    browser
        .wait_for(
            "a pause from elsewhere",
            "return document.getElementById('dispatch').dataset.state === 'paused'",
        )
        .await;
    browser.click("#dispatch-toggle").await;
    browser
        .wait_for(
            "the second resume",
            "return document.getElementById('dispatch').dataset.state === 'running'",
        )
        .await;

    // A repeating call: a bad custom cron is refused on its field; a daily
    // repeat at the form's time makes a series in the browser's zone.
    browser.type_into("#phone_number", "+1 415 555 0133").await;
    browser.type_into("#customer_name", "Daily Caller").await;
    let choose = |value: &str| {
        format!(
            "const s = document.getElementById('repeat'); s.value = '{value}'; \
             s.dispatchEvent(new Event('change')); return null"
        )
    };
    browser.script(&choose("cron")).await;
    browser.type_into("#cron", "every day").await;
    browser.click("#schedule-submit").await;
    let message = browser
        .wait_for_value("the cron's error", "return document.querySelector('.field-error[data-for=\"recurrence.cron\"]').textContent || null")
        .await;
    assert!(message.as_str().unwrap().contains("is not a cron expression"), "{message}");
    browser.script(&choose("daily")).await;
    assert_eq!(
        browser.script("return document.getElementById('repeat_count').hidden").await,
        json!(false),
        "a repeat shows how many times"
    );
    browser.type_into("#repeat_count", "3").await;
    browser.click("#schedule-submit").await;
    let confirmation = browser
        .wait_for_value(
            "the series' confirmation",
            "const r = document.getElementById('schedule-result'); return r.className === 'result ok' && r.textContent ? r.textContent : null",
        )
        .await;
    assert!(confirmation.as_str().unwrap().contains("the first of series"), "{confirmation}");
    let series =
        browser.script("return fetch('/api/series').then(r => r.json()).then(b => b.series)").await;
    assert_eq!(series.as_array().unwrap().len(), 1, "{series}");
    assert_eq!(series[0]["recurrence"]["count"], 3, "{series}");
    let zone = browser.script("return Intl.DateTimeFormat().resolvedOptions().timeZone").await;
    assert_eq!(series[0]["recurrence"]["time_zone"], zone, "read in the browser's zone");
    let marker = browser
        .wait_for_value(
            "the occurrence's marker",
            "const r = [...document.querySelectorAll('#calls tbody tr')].find(r => r.textContent.includes('Daily Caller')); \
             return r ? r.querySelector('.series').textContent : null",
        )
        .await;
    assert_eq!(marker, json!(" ↻1"));

    // Calling hours: a window that ends before it starts is refused on its
    // field; an hour that starts two hours or more from now in the callee's
    // zone (Los Angeles, for +1 415), or ended hours ago, moves the call to
    // its opening, hours away whatever the time, and the form says so. (Weekdays or weekends alone put the opening minutes away late on a
    // Friday or a Sunday there.)
    browser.type_into("#phone_number", "+1 415 555 0144").await;
    browser.type_into("#customer_name", "Window Caller").await;
    browser
        .script(
            "document.getElementById('window_start').value = '20:00';              document.getElementById('window_end').value = '09:00'; return null",
        )
        .await;
    browser.click("#schedule-submit").await;
    let message = browser
        .wait_for_value("the window's error", "return document.querySelector('.field-error[data-for=\"calling_window.end\"]').textContent || null")
        .await;
    assert!(message.as_str().unwrap().contains("must start before it ends"), "{message}");
    let hours = browser
        .script(
            "const hour = Number(new Intl.DateTimeFormat('en-US', {timeZone: 'America/Los_Angeles', hour: '2-digit', hourCycle: 'h23'}).format(new Date())); \
             const start = hour + 4 <= 23 ? hour + 3 : hour - 4; \
             const hh = (h) => String(h).padStart(2, '0') + ':00'; \
             document.getElementById('window_start').value = hh(start); \
             document.getElementById('window_end').value = hh(start + 1); \
             document.getElementById('window_days').value = ''; \
             return hh(start) + '–' + hh(start + 1)",
        )
        .await;
    browser.click("#schedule-submit").await;
    let confirmation = browser
        .wait_for_value(
            "the window's confirmation",
            "const r = document.getElementById('schedule-result'); return r.className === 'result ok' && r.textContent.includes('+14155550144') ? r.textContent : null",
        )
        .await;
    assert!(
        confirmation.as_str().unwrap().contains("waits for its calling hours"),
        "{confirmation}"
    );
    let waiting = browser
        .script("return fetch('/api/calls?phone=%2B14155550144').then(r => r.json()).then(b => b.calls)")
        .await;
    let due = waiting[0]["scheduled_at"].as_str().expect("a due time");
    let due = chrono::DateTime::parse_from_rfc3339(due).unwrap();
    assert!(
        due > chrono::Utc::now() + chrono::TimeDelta::minutes(1),
        "moved to the opening: {due}"
    );
    let marker = browser
        .wait_for_value(
            "the window's marker",
            "const r = [...document.querySelectorAll('#calls tbody tr')].find(r => r.textContent.includes('Window Caller')); \
             return r && r.querySelector('.window') ? r.querySelector('.window').title : null",
        )
        .await;
    let hours = hours.as_str().expect("the hours chosen");
    assert!(marker.as_str().unwrap().starts_with(&format!("rings {hours}")), "{marker}");

    // The number's history page.
    browser.goto(&format!("{base}/calls/%2B14155550100")).await;
    let history = browser
        .wait_for_value("the history", "const t = document.querySelector('#history tbody').textContent; return t.includes('Completed') ? t : null")
        .await;
    assert!(history.as_str().unwrap().contains("Completed Inbound"), "{history}");
    browser.screenshot(&target_dir().join("history.png")).await;
    browser.quit().await;

    // SIGTERM: a graceful shutdown, exit code 0.
    let mut server = server;
    let pid = server.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "the server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    println!("screenshot: {}", screenshot.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_asks_for_the_api_key_once() {
    if !webdriver::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_server, base) = start_server(&dir.path().join("calls.db"), &["--api-key", "s3cret"]);
    let browser = Browser::start(dir.path()).await;
    browser.goto(&format!("{base}/")).await;
    browser.wait_for("the key prompt", "return document.getElementById('key-dialog').open").await;

    browser.type_into("#key-input", "wrong").await;
    browser.click("#key-form button").await;
    let message = browser
        .wait_for_value("the refusal", "const d = document.getElementById('key-dialog'); return d.open && document.getElementById('key-message').textContent.includes('refused') ? true : null")
        .await;
    assert_eq!(message, json!(true));

    browser.clear("#key-input").await;
    browser.type_into("#key-input", "s3cret").await;
    browser.click("#key-form button").await;
    browser
        .wait_for(
            "the live connection with the key",
            "return document.getElementById('connection').dataset.state === 'live'",
        )
        .await;
    browser.type_into("#phone_number", "+14155550100").await;
    browser.click("#schedule-submit").await;
    browser
        .wait_for(
            "the call in the table",
            "return document.querySelectorAll('#calls tbody tr').length === 1",
        )
        .await;
    assert_eq!(
        browser.script("return document.getElementById('key-dialog').open").await,
        json!(false)
    );
    browser.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_redials_a_busy_call_and_keeps_a_do_not_call_list() {
    if !webdriver::available() {
        return;
    }
    // A provider whose every call ends busy, quickly.
    let options = call_provider_http::mock::MockOptions {
        time_scale: 0.01,
        busy: 1.0,
        ..call_provider_http::mock::MockOptions::default()
    };
    let provider = call_provider_http::mock::MockCallApi::start(options).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_server, base) =
        start_server(&dir.path().join("calls.db"), &["--provider-url", provider.url()]);
    let browser = Browser::start(dir.path()).await;
    browser.goto(&format!("{base}/")).await;
    browser
        .wait_for(
            "the live connection",
            "return document.getElementById('connection').dataset.state === 'live'",
        )
        .await;

    // A delay that is not one is refused on its field.
    browser.type_into("#phone_number", "+1 415 555 0166").await;
    browser.type_into("#customer_name", "Busy Caller").await;
    browser.click("input[name=redial_on][value=busy]").await;
    browser.clear("#redial_delay").await;
    browser.type_into("#redial_delay", "soon").await;
    browser.click("#schedule-submit").await;
    let message = browser
        .wait_for_value("the delay's error", "return document.querySelector('.field-error[data-for=\"redial.delay\"]').textContent || null")
        .await;
    assert!(message.as_str().unwrap().contains("is not a duration"), "{message}");

    // Busy twice: two attempts, the second marked and linked, and the
    // first's timeline lists both with the final outcome.
    browser.clear("#redial_max").await;
    browser.type_into("#redial_max", "2").await;
    browser.clear("#redial_delay").await;
    browser.type_into("#redial_delay", "1s").await;
    browser.click("#schedule-submit").await;
    browser
        .wait_for(
            "the form's confirmation",
            "const r = document.getElementById('schedule-result'); return r.className === 'result ok'",
        )
        .await;
    let marker = browser
        .wait_for_value(
            "the second attempt, busy",
            "const r = [...document.querySelectorAll('#calls tbody tr')].find(r => r.querySelector('.redial-mark') && r.textContent.includes('↺2')); \
             return r && r.querySelector('.status').textContent.startsWith('busy') ? r.querySelector('.redial-mark').textContent : null",
        )
        .await;
    assert_eq!(marker, json!(" ↺2"));
    browser
        .script(
            "[...document.querySelectorAll('#calls tbody tr')].find(r => r.textContent.includes('redialled')).click(); return null",
        )
        .await;
    let attempts = browser
        .wait_for_value(
            "the attempts line",
            "const a = document.getElementById('attempts'); return a && a.textContent.includes('final outcome') ? a.textContent : null",
        )
        .await;
    assert_eq!(attempts, json!("Attempts: 1 busy · 2 busy — final outcome: busy"));
    assert_eq!(provider.stats().by_number.get("+14155550166"), Some(&2), "dialled twice");
    browser.screenshot(&target_dir().join("redial.png")).await;

    // The do-not-call list: a bad number is refused in its panel; a listed
    // one shows there, and scheduling a call to it is refused on the
    // number's field; removed, it can be called again.
    browser.type_into("#dnc-phone", "12345").await;
    browser.click("#dnc-submit").await;
    let refused = browser
        .wait_for_value("the list's refusal", "const r = document.getElementById('dnc-result'); return r.className === 'result error' ? r.textContent : null")
        .await;
    assert!(refused.as_str().unwrap().contains("country code"), "{refused}");
    browser.clear("#dnc-phone").await;
    browser.type_into("#dnc-phone", "+1 415 555 0177").await;
    browser.type_into("#dnc-reason", "asked not to be called").await;
    browser.click("#dnc-submit").await;
    browser
        .wait_for(
            "the listed number",
            "return !!document.querySelector('#dnc-list li[data-phone=\"+14155550177\"]')",
        )
        .await;
    browser.type_into("#phone_number", "+1 415 555 0177").await;
    browser.script("document.querySelectorAll('input[name=redial_on]').forEach(c => c.checked = false); return null").await;
    browser.click("#schedule-submit").await;
    let message = browser
        .wait_for_value("the schedule's refusal", "return document.querySelector('.field-error[data-for=phone_number]').textContent || null")
        .await;
    assert!(message.as_str().unwrap().contains("do-not-call list"), "{message}");
    browser.screenshot(&target_dir().join("dnc.png")).await;
    browser.click("#dnc-list li[data-phone=\"+14155550177\"] button").await;
    browser
        .wait_for(
            "the number off the list",
            "return !document.querySelector('#dnc-list li[data-phone=\"+14155550177\"]')",
        )
        .await;
    let listed = browser
        .script("return fetch('/api/dnc').then(r => r.json()).then(b => b.entries.length)")
        .await;
    assert_eq!(listed, json!(0), "removed on the server");
    browser.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_lists_open_alerts_on_load_and_acknowledges_with_one_click() {
    if !webdriver::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_server, base) = start_server(&dir.path().join("calls.db"), &[]);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let event = |body: serde_json::Value| {
        let (client, url) = (client.clone(), format!("{base}/api/events"));
        async move {
            let answer = client.post(url).json(&body).send().await.unwrap();
            assert!(answer.status().is_success(), "{}", answer.text().await.unwrap());
        }
    };
    // Raised before the page is opened: answered after a 45 s wait.
    event(json!({"event_type": "call_initiated", "call_id": "late"})).await;
    event(json!({"event_type": "call_answered", "call_id": "late", "wait_time": 45})).await;

    let browser = Browser::start(dir.path()).await;
    browser.goto(&format!("{base}/")).await;
    let shown = browser
        .wait_for_value(
            "the open alert, listed on load",
            "const li = document.querySelector('#alerts li'); return li ? li.textContent : null",
        )
        .await;
    assert!(shown.as_str().unwrap().contains("long wait on call late"), "{shown}");
    // A reload that changes nothing (the live connection opening does one)
    // keeps the very button a supervisor may be pressing.
    let kept = browser
        .script(
            "const button = document.querySelector('#alerts li button.ack'); \
             return loadAlerts().then(() => document.querySelector('#alerts li button.ack') === button)",
        )
        .await;
    assert_eq!(kept, json!(true), "an unchanged alert keeps its element");
    browser.click("#alerts li button.ack").await;
    browser
        .wait_for(
            "the acknowledgement",
            "const li = document.querySelector('#alerts li'); return !!li && li.textContent.includes('acknowledged by dashboard')",
        )
        .await;
    browser.screenshot(&target_dir().join("alerts.png")).await;
    // Live: the call ends, its alert closes, and the panel empties.
    browser
        .wait_for(
            "the live connection",
            "return document.getElementById('connection').dataset.state === 'live'",
        )
        .await;
    event(json!({"event_type": "call_ended", "call_id": "late"})).await;
    browser
        .wait_for(
            "the closed alert gone",
            "return document.querySelectorAll('#alerts li').length === 0 && !document.getElementById('alerts-empty').hidden",
        )
        .await;
    let kept = client.get(format!("{base}/api/alerts")).send().await.unwrap();
    let kept: serde_json::Value = kept.json().await.unwrap();
    assert_eq!(kept["alerts"][0]["acknowledged_by"], "dashboard", "{kept}");
    assert_eq!(kept["alerts"][0]["closed_by"], "call_ended", "{kept}");
    browser.quit().await;
}

/// Issue #17: a restart of the server loses nothing on an open page. The
/// server is killed; while it is down, calls are scheduled on its database
/// file; it starts again on the same port, and the page, resuming after
/// the last message it saw, shows them without reloading.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_misses_nothing_across_a_restart_of_the_server() {
    if !webdriver::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("calls.db");
    let port = call_test_support::free_port();
    let listen = format!("127.0.0.1:{port}");
    let (server, base) = start_server_on(&listen, &db, &["--no-worker"]);
    let browser = Browser::start(dir.path()).await;
    browser.goto(&format!("{base}/")).await;
    let live = "return document.getElementById('connection').dataset.state === 'live'";
    browser.wait_for("the live connection", live).await;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let answer = client
        .post(format!("{base}/api/calls"))
        .json(&json!({"phone_number": "+14155550100", "customer_name": "Before", "scheduled_at": "2030-01-01T09:00:00Z"}))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success());
    let row = |name: &str| {
        format!(
            "return [...document.querySelectorAll('#calls tbody tr')].some(r => r.textContent.includes('{name}'))"
        )
    };
    browser.wait_for("the first call, live", &row("Before")).await;
    // Count the page's reloads of the calls table from here on.
    browser
        .script(
            "window.callsReloads = 0; const fetched = window.fetch; \
             window.fetch = (url, options) => { \
               if (String(url).startsWith('/api/calls?') || String(url) === '/api/calls') window.callsReloads += 1; \
               return fetched(url, options); }; return true",
        )
        .await;

    drop(server);
    browser
        .wait_for(
            "the page sees the server gone",
            "return document.getElementById('connection').dataset.state === 'offline'",
        )
        .await;
    {
        let store = call_store_sqlite::SqliteStore::open(&db).await.unwrap();
        let engine = call_core::Engine::builder(std::sync::Arc::new(store)).build();
        for i in 1..=5 {
            let number = call_core::PhoneNumber::parse(&format!("+1415555010{i}")).unwrap();
            let at = chrono::Utc::now() + chrono::TimeDelta::hours(1);
            let call =
                call_core::NewCall::to(number).at(at).customer_name(format!("While away {i}"));
            engine.schedule(call).await.unwrap();
        }
    }
    let (_server, _) = start_server_on(&listen, &db, &["--no-worker"]);
    browser.wait_for("the live connection again", live).await;
    for i in 1..=5 {
        browser
            .wait_for(&format!("call {i} made while away"), &row(&format!("While away {i}")))
            .await;
    }
    let reloads = browser.script("return window.callsReloads").await;
    assert_eq!(reloads, json!(0), "resumed from the stream, not reloaded");
    browser.quit().await;
}

/// The tables' overflow at this width: which scroll sideways (by their
/// wrapper's id or first header), and which calls table cells end past its
/// panel's edge.
const TABLE_FIT: &str = "const wrap = document.getElementById('calls-wrap'); \
     const edge = wrap.getBoundingClientRect().right; \
     const cut = [...document.querySelectorAll('#calls th, #calls td')] \
       .filter(c => c.getBoundingClientRect().right > edge + 0.5).map(c => c.textContent); \
     const scrolls = [...document.querySelectorAll('.table-wrap')] \
       .filter(w => w.scrollWidth > w.clientWidth).map(w => w.id || w.querySelector('th').textContent); \
     return {width: window.innerWidth, scrolls: scrolls, cut: cut, \
       table: Math.round(wrap.clientWidth), rows: document.querySelectorAll('#calls tbody tr').length}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_at_a_glance_from_1280_to_1920_px() {
    if !webdriver::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_server, base) = start_server(&dir.path().join("calls.db"), &[]);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let send = |method: reqwest::Method, path: &str, body: serde_json::Value| {
        let (client, url) = (client.clone(), format!("{base}{path}"));
        async move {
            let answer = client.request(method, url).json(&body).send().await.unwrap();
            let status = answer.status();
            let body: serde_json::Value = answer.json().await.unwrap();
            assert!(status.is_success(), "{status}: {body}");
            body
        }
    };
    let post = |path: &str, body| send(reqwest::Method::POST, path, body);
    let get = |path: &str| {
        let (client, url) = (client.clone(), format!("{base}{path}"));
        async move { client.get(url).send().await.unwrap().json::<serde_json::Value>().await.unwrap() }
    };
    let ago = |seconds: i64| {
        (chrono::Utc::now() - chrono::TimeDelta::seconds(seconds))
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    };

    // The widest rows there are: the longest name allowed, every mark
    // (series, calling window, redial), a date not today; and a call the
    // rules flagged three times, with over an hour of talk.
    let tomorrow = (chrono::Utc::now() + chrono::TimeDelta::days(1)).to_rfc3339();
    let long_name = "Wolfeschlegelsteinhausenbergerdorff ".repeat(6)[..200].to_owned();
    let wide = post(
        "/api/calls",
        json!({"phone_number": "+44 20 7183 8750", "scheduled_at": tomorrow, "customer_name": long_name,
               "workflow": "reminder", "recurrence": {"cron": "0 9 * * MON-FRI", "time_zone": "Europe/London"},
               "calling_window": {"start": "09:00", "end": "20:00"},
               "redial": {"on": ["busy", "no_answer"], "max_attempts": 3, "delay": "10m"}}),
    )
    .await;
    let to_cancel = wide["id"].as_str().unwrap().to_owned();
    let later = post(
        "/api/calls",
        json!({"phone_number": "+1 415 555 0123", "scheduled_at": tomorrow, "customer_name": "Grace Later"}),
    )
    .await;
    let to_move = later["id"].as_str().unwrap().to_owned();
    // The agent joins by transfer once answered: a routing would set the
    // 15 s answer deadline, long past for backdated events, and the worker
    // could re-route the call before the answer is posted.
    let flagged = [
        json!({"event_type": "call_initiated", "call_id": "flagged", "from": "+14155550177",
               "to": "+14155550100", "timestamp": ago(7200)}),
        json!({"event_type": "call_answered", "call_id": "flagged", "timestamp": ago(7155)}),
        json!({"event_type": "call_transferred", "call_id": "flagged", "agent_id": "ann", "timestamp": ago(7154)}),
        json!({"event_type": "call_hold", "call_id": "flagged", "timestamp": ago(7150)}),
        json!({"event_type": "call_resumed", "call_id": "flagged", "timestamp": ago(7080)}),
        json!({"event_type": "call_ended", "call_id": "flagged", "timestamp": ago(1800)}),
    ];
    // Ann's second call is answered and still going: her average talk time
    // is the ended call's alone.
    let talking = [
        json!({"event_type": "call_initiated", "call_id": "talking", "from": "+14155550178", "timestamp": ago(30)}),
        json!({"event_type": "call_answered", "call_id": "talking", "timestamp": ago(25)}),
        json!({"event_type": "call_transferred", "call_id": "talking", "agent_id": "ann", "timestamp": ago(24)}),
    ];
    for event in flagged.into_iter().chain(talking) {
        post("/api/events", event).await;
    }
    // Three calls due now, which the embedded provider places and ends.
    for n in 0..3 {
        post("/api/calls", json!({"phone_number": format!("+1 415 555 02{n:02}")})).await;
    }

    let browser = Browser::start(dir.path()).await;
    browser.set_viewport(1280, 1000).await;
    browser.goto(&format!("{base}/")).await;
    browser
        .wait_for(
            "the live connection",
            "return document.getElementById('connection').dataset.state === 'live'",
        )
        .await;

    // Agent figures: Ann answered two calls, one of which ended after
    // 5,355 s of talk (1h29m); the one still going does not halve it.
    let talk = browser
        .wait_for_value(
            "ann's row",
            "const td = document.querySelector('#agents tr[data-agent=ann] td.talk'); return td ? td.textContent : null",
        )
        .await;
    let stats = get("/api/stats").await;
    assert_eq!(stats["agents"][0]["answered"], 2, "{stats}");
    assert_eq!(stats["agents"][0]["average_talk_seconds"], 5355.0, "{stats}");
    assert_eq!(talk, json!("1h29m"));

    // The charts: the three calls end (and the flagged one, half an hour
    // ago, is there already), and the bars follow without a reload.
    let totals = "const t = o => Number(document.querySelector(`#outcome-totals [data-total=${o}]`)?.textContent || 0); \
                  return t('completed') + t('missed') + t('failed')";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    while browser.script(totals).await.as_u64().unwrap_or(0) < 4 {
        assert!(tokio::time::Instant::now() < deadline, "the charts did not show 4 ended calls");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let activity = get("/api/stats/activity").await;
    let minutes = activity["minutes"].as_array().unwrap();
    let sum = |field: &str| minutes.iter().map(|m| m[field].as_u64().unwrap()).sum::<u64>();
    let drawn = browser
        .script(
            "const sum = o => [...document.querySelectorAll(`#outcome-chart rect[data-outcome=${o}]`)] \
               .reduce((n, r) => n + Number(r.dataset.count), 0); \
             return [sum('completed'), sum('missed'), sum('failed'), \
               document.querySelectorAll('#lateness-chart circle.average-dot').length]",
        )
        .await;
    assert_eq!(
        drawn.as_array().unwrap()[..3],
        [json!(sum("completed")), json!(sum("missed")), json!(sum("failed"))],
        "the bars are the API's figures: {activity}"
    );
    assert!(sum("placed") >= 3, "three calls placed: {activity}");
    assert!(drawn[3].as_u64().unwrap() >= 1, "lateness is drawn: {drawn}");
    assert_eq!(
        browser.script("return performance.getEntriesByType('navigation').length").await,
        json!(1),
        "no reload"
    );

    // Cancel from the row: asked once, then done. A reload that changes
    // nothing keeps the row's button, so a live update never takes it from
    // under the pointer.
    let row = |id: &str| format!("#calls tr[data-id='{id}']");
    let kept = browser
        .script(&format!(
            "const button = document.querySelector(\"{0} button[data-action=cancel]\"); \
             return loadCalls().then(() => document.querySelector(\"{0} button[data-action=cancel]\") === button)",
            row(&to_cancel)
        ))
        .await;
    assert_eq!(kept, json!(true), "an unchanged row keeps its element");
    browser.click(&format!("{} button[data-action=cancel]", row(&to_cancel))).await;
    browser.wait_for("the dialog", "return document.getElementById('call-dialog').open").await;
    browser.click("#call-dialog-confirm").await;
    browser
        .wait_for(
            "the canceled row",
            &format!("return document.querySelector(\"{} [data-status]\")?.dataset.status === 'canceled'", row(&to_cancel)),
        )
        .await;
    let canceled = get(&format!("/api/calls/{to_cancel}")).await;
    assert_eq!(canceled["status"], "canceled");
    let actions = browser
        .script(&format!("return document.querySelectorAll(\"{} button\").length", row(&to_cancel)))
        .await;
    assert_eq!(actions, json!(0), "a canceled call has no actions");

    // Reschedule from the timeline: a time in the past is refused in the
    // dialog and changes nothing; a good one moves the call.
    browser.click(&row(&to_move)).await;
    browser
        .wait_for(
            "the timeline's actions",
            "return !!document.querySelector('#timeline button[data-action=reschedule]')",
        )
        .await;
    browser.click("#timeline button[data-action=reschedule]").await;
    browser.wait_for("the dialog", "return document.getElementById('call-dialog').open").await;
    browser
        .script(
            "document.getElementById('call-dialog-at').value = '2001-01-01T09:00:00'; return null",
        )
        .await;
    browser.click("#call-dialog-confirm").await;
    let refused = browser
        .wait_for_value(
            "the refusal",
            "return document.getElementById('call-dialog-error').textContent || null",
        )
        .await;
    assert!(refused.as_str().unwrap().contains("past"), "{refused}");
    let unchanged = get(&format!("/api/calls/{to_move}")).await;
    assert_eq!(unchanged["scheduled_at"], later["scheduled_at"], "nothing changed");
    browser
        .script(
            "document.getElementById('call-dialog-at').value = '2030-01-02T03:04:05'; return null",
        )
        .await;
    browser.click("#call-dialog-confirm").await;
    let expected = browser.script("return new Date('2030-01-02T03:04:05').toISOString()").await;
    browser
        .wait_for(
            "the reschedule in the timeline",
            "return [...document.querySelectorAll('#timeline-events li')].some(li => li.dataset.type === 'call_rescheduled')",
        )
        .await;
    let moved = get(&format!("/api/calls/{to_move}")).await;
    let moved_at =
        chrono::DateTime::parse_from_rfc3339(moved["scheduled_at"].as_str().unwrap()).unwrap();
    let expected_at = chrono::DateTime::parse_from_rfc3339(expected.as_str().unwrap()).unwrap();
    assert_eq!(moved_at, expected_at, "{moved}");
    assert!(
        !browser
            .script("return document.getElementById('call-dialog').open")
            .await
            .as_bool()
            .unwrap()
    );

    // Live: one more call ends while the page is open, and the chart counts it.
    let before = browser.script(totals).await.as_u64().unwrap();
    post("/api/calls", json!({"phone_number": "+1 415 555 0299"})).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    while browser.script(totals).await.as_u64().unwrap_or(0) <= before {
        assert!(tokio::time::Instant::now() < deadline, "the charts did not count the new call");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The table fits its panel at both ends of the range, the widest rows shown.
    // Tall enough that the screenshot holds every panel.
    for width in [1280, 1920] {
        browser.set_viewport(width, 1700).await;
        browser.screenshot(&target_dir().join(format!("dashboard-{width}.png"))).await;
        let fit = browser.script(TABLE_FIT).await;
        assert_eq!(fit["width"], json!(width), "{fit}");
        assert!(fit["rows"].as_u64().unwrap() >= 7, "{fit}");
        assert_eq!(fit["scrolls"], json!([]), "tables scroll sideways at {width} px: {fit}");
        assert_eq!(fit["cut"], json!([]), "cells cut off at {width} px: {fit}");
    }
    browser.quit().await;
}
