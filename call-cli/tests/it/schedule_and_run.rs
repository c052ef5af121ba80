//! Scheduling, the worker, cancel and reschedule, through the binary.

use std::collections::BTreeSet;

use crate::{Calls, stand_in};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_call_is_placed_and_followed_to_completed() {
    let api = stand_in().await;
    let calls = Calls::new();
    let id = calls.schedule(&["+1 (415) 555-0100", "--name", "Ada"]).await;

    let run = calls
        .run(&["run", "--provider-url", api.url(), "--until-idle", "--poll-interval", "20ms"])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    // One log line per transition, in order.
    let mut transitions = run.stderr.lines().filter(|line| line.contains(&id));
    for expected in [
        "call_dispatched -> dispatching",
        "call_initiated -> initiated",
        "call_ringing -> ringing",
        "call_answered -> active",
        "call_ended -> completed",
    ] {
        let line = transitions.next().unwrap_or_else(|| panic!("no {expected}: {}", run.stderr));
        assert!(line.contains(expected) && line.contains("+14155550100"), "{line}");
    }
    assert!(run.stderr.contains("idle: every placed call has ended"), "{}", run.stderr);

    let table = calls.ok(&["list"]).await;
    let row = table.lines().find(|line| line.starts_with(&id)).unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[1..4], ["out", "+14155550100", "Ada"], "{table}");
    assert_eq!(cells[4], "completed", "{table}");
    assert_eq!(cells[7], "10s", "{table}");

    let call = calls.json(&["show", &id]).await;
    assert_eq!(call["status"], "completed");
    assert_eq!(call["duration_seconds"], 10);
    assert_eq!(call["attempts"], 1);
    assert_eq!(api.stats().by_number.get("+14155550100"), Some(&1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_one_database_place_each_call_once() {
    let api = stand_in().await;
    let calls = Calls::new();
    let numbers: Vec<String> = (0..30).map(|i| format!("+1415555{:04}", 100 + i)).collect();
    for number in &numbers {
        calls.schedule(&[number]).await;
    }
    let args = ["run", "--provider-url", api.url(), "--until-idle", "--poll-interval", "20ms"];
    let (first, second) = tokio::join!(calls.run(&args), calls.run(&args));
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(second.code, 0, "{}", second.stderr);

    let stats = api.stats();
    assert_eq!(stats.calls_placed, 30, "{stats:?}");
    assert_eq!(
        stats.by_number.keys().cloned().collect::<BTreeSet<_>>(),
        numbers.into_iter().collect()
    );
    assert!(stats.by_number.values().all(|&n| n == 1), "{stats:?}");
    let listed = calls.list().await;
    assert_eq!(listed.len(), 30);
    assert!(listed.iter().all(|c| c["status"] == "completed" && c["attempts"] == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_and_reschedule() {
    let calls = Calls::new();
    let id = calls.schedule(&["+14155550100", "--at", "2030-01-01 09:00"]).await;
    let moved = calls.json(&["reschedule", &id, "--at", "2030-01-02T10:30:00+01:00"]).await;
    assert_eq!(moved["scheduled_at"], "2030-01-02T09:30:00.000000Z");
    assert_eq!(moved["status"], "scheduled");

    let canceled = calls.json(&["cancel", &id]).await;
    assert_eq!(canceled["status"], "canceled");
    let events = calls.json(&["events", &id]).await;
    let types: Vec<&str> =
        events["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["call_scheduled", "call_rescheduled", "call_canceled"]);
    assert!(events["events"].as_array().unwrap().iter().all(|e| e["source"] == "cli"));

    // Neither can touch a canceled call, and refusing changes nothing.
    for args in [vec!["cancel", id.as_str()], vec!["reschedule", id.as_str(), "--in", "5m"]] {
        let refused = calls.run(&args).await;
        assert_eq!(refused.code, 1, "{args:?}: {refused:?}");
        assert!(refused.stderr.contains("not allowed in status canceled"), "{}", refused.stderr);
    }
    assert_eq!(calls.json(&["show", &id]).await, canceled);

    // The human form of the timeline.
    let timeline = calls.ok(&["events", &id]).await;
    assert!(timeline.lines().nth(2).unwrap().contains("call_rescheduled"), "{timeline}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_page_by_cursor_and_filter() {
    let calls = Calls::new();
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(calls.schedule(&[&format!("+1415555010{i}"), "--in", "1h"]).await);
    }
    let canceled = &ids[1];
    calls.ok(&["cancel", canceled]).await;

    let first = calls.json(&["list", "--limit", "3"]).await;
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let second = calls.json(&["list", "--limit", "3", "--cursor", &cursor]).await;
    assert!(second["next_cursor"].is_null());
    let paged: Vec<String> = [first, second]
        .iter()
        .flat_map(|page| page["calls"].as_array().unwrap().clone())
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(paged, newest_first);

    let ended = calls.json(&["list", "--status", "ended"]).await;
    assert_eq!(ended["calls"].as_array().unwrap().len(), 1);
    assert_eq!(&ended["calls"][0]["id"], canceled.as_str());
    let by_phone = calls.json(&["list", "--phone", "+1 415 555 0103"]).await;
    assert_eq!(by_phone["calls"][0]["id"], ids[3].as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_for_each_shell() {
    let calls = Calls::new();
    for shell in ["bash", "zsh", "fish"] {
        let script = calls.ok(&["completions", shell]).await;
        assert!(script.contains("reschedule") && script.contains("until-idle"), "{shell}");
    }
    assert!(!calls.db().exists(), "completions must not create a database");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_stops_gracefully_on_sigterm() {
    let api = stand_in().await;
    let calls = Calls::new();
    calls.schedule(&["+14155550100", "--in", "1h"]).await;
    let mut worker = calls
        .command(&["run", "--provider-url", api.url()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until it runs, then ask it to stop as a service manager would.
    let stderr = worker.stderr.take().unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stderr));
    let started = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains("worker started") {
                return true;
            }
        }
        false
    });
    assert!(started.await.unwrap(), "the worker logged its start");
    let pid = worker.id().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = tokio::time::timeout(std::time::Duration::from_secs(30), worker.wait())
        .await
        .expect("stopped within 30 s")
        .unwrap();
    assert!(status.success(), "{status}");
    let mut rest = String::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        rest.push_str(&line);
        rest.push('\n');
    }
    assert!(rest.contains("shutting down") && rest.contains("worker stopped"), "{rest}");
    // The scheduled call is untouched.
    assert_eq!(calls.list().await[0]["status"], "scheduled");
}

/// `calls schedule --idempotency-key`: a rerun prints the first call and
/// makes no other; the key with other options is refused, as is `--in`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_with_an_idempotency_key_schedules_once() {
    let calls = Calls::new();
    let args =
        ["schedule", "+14155550100", "--at", "2030-01-01T09:00:00Z", "--idempotency-key", "k1"];
    let first = calls.json(&args).await;
    let again = calls.run(&args).await;
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stderr.contains("this idempotency key was used before"), "{}", again.stderr);
    assert_eq!(calls.json(&args).await["id"], first["id"]);
    assert_eq!(calls.list().await.len(), 1);

    let other = [
        "schedule",
        "+14155550100",
        "--at",
        "2030-01-02T09:00:00.000000Z",
        "--idempotency-key",
        "k1",
    ];
    let refused = calls.run(&other).await;
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(refused.stderr.contains("was used for a different request"), "{}", refused.stderr);
    let relative =
        calls.run(&["schedule", "+14155550100", "--in", "5m", "--idempotency-key", "k2"]).await;
    assert_eq!(relative.code, 2, "{relative:?}");
    assert_eq!(calls.list().await.len(), 1, "nothing was made by a refusal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_schedule_places_nothing_until_resumed() {
    let api = stand_in().await;
    let calls = Calls::new();
    calls.ok(&["queue", "add", "sales"]).await;
    let paused = calls.json(&["pause"]).await;
    assert_eq!(paused["paused"], true, "{paused}");
    let sales = calls.json(&["pause", "--queue", "sales", "--for", "1h"]).await;
    assert_eq!(sales["pauses"][1]["queue_id"], "sales", "{sales}");
    assert!(sales["pauses"][1]["until"].is_string(), "{sales}");
    let table = calls.ok(&["dispatch"]).await;
    assert!(table.starts_with("dispatch: paused"), "{table}");
    assert!(table.contains("every call") && table.contains("queue sales"), "{table}");

    let held = calls.schedule(&["+14155550100"]).await;
    let args = ["run", "--provider-url", api.url(), "--until-idle", "--poll-interval", "20ms"];
    let run = calls.run(&args).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(calls.json(&["show", &held]).await["status"], "scheduled", "held by the pause");
    assert_eq!(api.stats().calls_placed, 0);

    let resumed = calls.json(&["resume"]).await;
    assert_eq!(resumed["paused"], false, "{resumed}");
    assert_eq!(resumed["pauses"][0]["queue_id"], "sales", "the queue's pause stays: {resumed}");
    let run = calls.run(&args).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(calls.json(&["show", &held]).await["status"], "completed");
    assert_eq!(api.stats().by_number.get("+14155550100"), Some(&1));
    let resumed = calls.json(&["resume", "--queue", "sales"]).await;
    assert_eq!(resumed["pauses"], serde_json::json!([]));
    assert!(calls.ok(&["dispatch"]).await.starts_with("dispatch: running"));
}

#[tokio::test]
async fn a_pause_is_refused_for_an_unknown_queue_or_a_past_end() {
    let calls = Calls::new();
    for (args, says) in [
        (&["pause", "--queue", "nowhere"][..], "unknown queue"),
        (&["pause", "--queue", "a b"][..], "queue"),
        (&["pause", "--until", "2001-01-01 09:00"][..], "not in the future"),
        (&["pause", "--until", "soon"][..], "--until"),
        (&["pause", "--for", "forever"][..], "--for"),
        (&["pause", "--until", "2030-01-01 09:00", "--for", "1h"][..], "cannot be used with"),
    ] {
        let ran = calls.run(args).await;
        assert_ne!(ran.code, 0, "{args:?}");
        assert!(ran.stderr.contains(says), "{args:?}: {}", ran.stderr);
    }
    assert!(calls.ok(&["dispatch"]).await.starts_with("dispatch: running"), "nothing recorded");
}

#[tokio::test]
async fn a_recurring_series_is_scheduled_listed_shown_and_canceled() {
    let calls = Calls::new();
    let first = calls
        .json(&[
            "schedule",
            "+33612345678",
            "--name",
            "Ada",
            "--at",
            "2030-01-01 00:00",
            "--cron",
            "0 9 * * MON-FRI",
            "--cron-tz",
            "Europe/Paris",
            "--count",
            "10",
        ])
        .await;
    assert_eq!(first["occurrence"], 1, "{first}");
    // Tuesday 1 January 2030, 09:00 in Paris (CET).
    assert_eq!(first["scheduled_at"], "2030-01-01T08:00:00.000000Z", "{first}");
    let series = first["series_id"].as_str().unwrap().to_owned();

    let listed = calls.json(&["series", "list"]).await;
    assert_eq!(listed["series"][0]["id"], series.as_str(), "{listed}");
    assert_eq!(listed["series"][0]["recurrence"]["count"], 10);
    let table = calls.ok(&["series", "list"]).await;
    assert!(table.contains("0 9 * * MON-FRI in Europe/Paris, 10 calls"), "{table}");
    let shown = calls.ok(&["series", "show", &series]).await;
    assert!(shown.contains(&series) && shown.contains("made      1 calls"), "{shown}");
    assert!(shown.contains(first["id"].as_str().unwrap()), "its calls are listed: {shown}");
    let only = calls.json(&["list", "--series", &series]).await;
    assert_eq!(only["calls"].as_array().unwrap().len(), 1);
    let field = calls.ok(&["show", first["id"].as_str().unwrap()]).await;
    assert!(field.contains(&format!("{series} (call 1)")), "{field}");

    let canceled = calls.json(&["series", "cancel", &series]).await;
    assert!(canceled["canceled_at"].is_string(), "{canceled}");
    assert_eq!(calls.json(&["show", first["id"].as_str().unwrap()]).await["status"], "canceled");
    let unknown = calls.run(&["series", "cancel", "nope"]).await;
    assert_eq!(unknown.code, 1, "{unknown:?}");
    assert!(unknown.stderr.contains("series nope not found"), "{}", unknown.stderr);
}

#[tokio::test]
async fn a_bad_recurrence_names_its_option_and_schedules_nothing() {
    let calls = Calls::new();
    let phone = "+14155550100";
    for (args, says) in [
        (&["schedule", phone, "--cron", "every day", "--cron-tz", "UTC"][..], "invalid --cron:"),
        (
            &["schedule", phone, "--cron", "0 9 * * *", "--cron-tz", "Paris"][..],
            "invalid --cron-tz:",
        ),
        (
            &["schedule", phone, "--cron", "0 9 * * *", "--cron-tz", "UTC", "--count", "0"][..],
            "invalid --count:",
        ),
        (
            &["schedule", phone, "--cron", "0 9 * * *", "--cron-tz", "UTC", "--cron-until", "soon"]
                [..],
            "--cron-until",
        ),
        (&["schedule", phone, "--cron", "0 9 * * *"][..], "--cron needs the zone"),
        (&["schedule", phone, "--count", "3"][..], "--cron"),
        (&["series", "show", "a b"][..], "invalid SERIES_ID"),
    ] {
        let ran = calls.run(args).await;
        assert_eq!(ran.code, 2, "{args:?}: {ran:?}");
        assert!(ran.stderr.contains(says), "{args:?}: {}", ran.stderr);
    }
    assert!(calls.list().await.is_empty(), "nothing was scheduled");
    let with_tz =
        calls.json(&["--tz", "Europe/Paris", "schedule", phone, "--cron", "@daily"]).await;
    assert_eq!(with_tz["occurrence"], 1, "--tz serves as the zone: {with_tz}");
}

#[tokio::test]
async fn a_calling_window_moves_the_due_time_and_bad_windows_name_their_option() {
    let calls = Calls::new();
    // Tuesday 1 January 2030, 07:00 in New York (EST): the window opens at 09:00.
    let call = calls
        .json(&[
            "schedule",
            "+1 212 555 0100",
            "--at",
            "2030-01-01T12:00:00Z",
            "--window",
            "09:00-20:00",
            "--window-days",
            "mon-fri",
        ])
        .await;
    assert_eq!(call["scheduled_at"], "2030-01-01T14:00:00.000000Z", "{call}");
    assert_eq!(
        call["calling_window"]["days"],
        serde_json::json!(["mon", "tue", "wed", "thu", "fri"])
    );
    let id = call["id"].as_str().unwrap();
    let shown = calls.ok(&["show", id]).await;
    assert!(shown.contains("09:00-20:00 mon,tue,wed,thu,fri in the number's zones"), "{shown}");
    let events = calls.ok(&["events", id]).await;
    assert!(events.contains("calling_window") && events.contains("America/New_York"), "{events}");

    // A zone of its own, and the default filling the hours it leaves out.
    let tokyo = calls
        .json(&[
            "--default-window",
            "08:00-21:00",
            "schedule",
            "+1 212 555 0100",
            "--at",
            "2030-01-01T14:00:00Z",
            "--window-tz",
            "Asia/Tokyo",
        ])
        .await;
    // 23:00 in Tokyo waits for 08:00 there, 23:00 UTC.
    assert_eq!(tokyo["scheduled_at"], "2030-01-01T23:00:00.000000Z", "{tokyo}");
    assert_eq!(tokyo["calling_window"]["time_zone"], "Asia/Tokyo");

    let phone = "+14155550100";
    for (args, says) in [
        (&["schedule", phone, "--window", "9 to 5"][..], "invalid --window:"),
        (&["schedule", phone, "--window", "20:00-09:00"][..], "invalid --window:"),
        (&["schedule", phone, "--window-days", "weekdays"][..], "invalid --window-days:"),
        (&["schedule", phone, "--window-tz", "Eastern"][..], "invalid --window-tz:"),
        (&["--default-window", "soon", "list"][..], "invalid --default-window:"),
        (&["--default-window-days", "xyz", "list"][..], "invalid --default-window-days:"),
    ] {
        let ran = calls.run(args).await;
        assert_eq!(ran.code, 2, "{args:?}: {ran:?}");
        assert!(ran.stderr.contains(says), "{args:?}: {}", ran.stderr);
    }
    // Never open in both of southern Idaho's zones at once: refused, nothing made.
    let ran = calls.run(&["schedule", "+1 208 200 1234", "--window", "09:00-09:30"]).await;
    assert_eq!(ran.code, 2, "{ran:?}");
    assert!(ran.stderr.contains("America/Boise, America/Los_Angeles"), "{}", ran.stderr);
    assert_eq!(calls.list().await.len(), 2, "only the two good calls");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_call_is_redialled_and_show_lists_every_attempt() {
    let options = call_provider_http::mock::MockOptions {
        time_scale: 0.01,
        busy: 1.0,
        ..call_provider_http::mock::MockOptions::default()
    };
    let api = call_provider_http::mock::MockCallApi::start(options).await.unwrap();
    let calls = Calls::new();
    let first = calls
        .json(&[
            "schedule",
            "+14155550100",
            "--redial",
            "busy,no_answer",
            "--redial-max",
            "2",
            "--redial-delay",
            "1s",
        ])
        .await;
    assert_eq!(
        first["redial"],
        serde_json::json!({"on": ["busy", "no_answer"], "max_attempts": 2, "delay": "1s"})
    );
    let id = first["id"].as_str().unwrap();
    let run = calls
        .run(&["run", "--provider-url", api.url(), "--until-idle", "--poll-interval", "20ms"])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(api.stats().by_number.get("+14155550100"), Some(&2), "dialled twice");

    let first = calls.json(&["show", id]).await;
    let second_id = first["redialed_as"].as_str().expect("redialled").to_owned();
    let second = calls.json(&["show", &second_id]).await;
    assert_eq!(second["redial_of"], id);
    assert_eq!(second["redial_attempt"], 2);
    assert_eq!(second["status"], "busy");
    assert_eq!(second["redialed_as"], serde_json::Value::Null, "two attempts at most");

    // The text of either attempt lists both, and the outcome of them all.
    let shown = calls.ok(&["show", &second_id]).await;
    assert!(shown.contains("busy, no_answer: up to 2 attempts, 1s apart"), "{shown}");
    assert!(shown.contains(&format!("2 of 2, redials {id}")), "{shown}");
    let rows: Vec<&str> = shown.lines().filter(|l| l.contains(" busy ")).collect();
    assert_eq!(rows.len(), 2, "{shown}");
    assert!(shown.contains("final outcome: busy"), "{shown}");
    let history = calls.ok(&["history", "+14155550100"]).await;
    assert!(history.contains("busy (attempt 2)"), "{history}");

    for (args, says) in [
        (&["schedule", "+14155550100", "--redial", "hangup"][..], "invalid --redial:"),
        (
            &["schedule", "+14155550100", "--redial", "busy", "--redial-max", "0"][..],
            "invalid --redial-max:",
        ),
        (
            &["schedule", "+14155550100", "--redial", "busy", "--redial-delay", "soon"][..],
            "invalid --redial-delay:",
        ),
        (&["schedule", "+14155550100", "--redial-max", "3"][..], "--redial"),
        (&["--default-redial-delay", "1m", "list"][..], "invalid --default-redial:"),
    ] {
        let ran = calls.run(args).await;
        assert_eq!(ran.code, 2, "{args:?}: {ran:?}");
        assert!(ran.stderr.contains(says), "{args:?}: {}", ran.stderr);
    }
    assert_eq!(calls.list().await.len(), 2, "nothing made by the refused commands");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listed_number_is_refused_and_a_call_scheduled_before_is_never_dialled() {
    let api = stand_in().await;
    let calls = Calls::new();
    // Scheduled first, listed a moment later, before any worker claims it.
    let early = calls.schedule(&["+14155550100"]).await;
    let other = calls.schedule(&["+14155550101"]).await;
    let entry =
        calls.json(&["dnc", "add", "+1 415 555 0100", "--reason", "asked not to be called"]).await;
    assert_eq!(entry["phone_number"], "+14155550100");
    assert_eq!(entry["reason"], "asked not to be called");
    let listed = calls.ok(&["dnc", "list"]).await;
    assert!(
        listed.contains("+14155550100") && listed.contains("asked not to be called"),
        "{listed}"
    );

    let refused = calls.run(&["schedule", "+14155550100"]).await;
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("is on the do-not-call list"), "{}", refused.stderr);

    let run = calls
        .run(&["run", "--provider-url", api.url(), "--until-idle", "--poll-interval", "20ms"])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let canceled = calls.json(&["show", &early]).await;
    assert_eq!(canceled["status"], "canceled");
    assert_eq!(canceled["end_reason"], "do_not_call");
    assert_eq!(calls.json(&["show", &other]).await["status"], "completed");
    assert_eq!(api.stats().by_number.get("+14155550100"), None, "never dialled");
    let events = calls.ok(&["events", &early]).await;
    assert!(events.contains("call_canceled") && events.contains("reason=do_not_call"), "{events}");

    // An import reports the listed row and makes the rest.
    let file = calls.path("dnc.csv");
    std::fs::write(&file, "phone_number,scheduled_at\n+14155550100,\n+14155550102,\n").unwrap();
    let whole = calls.run(&["import", file.to_str().unwrap()]).await;
    assert_ne!(whole.code, 0, "{whole:?}");
    assert!(
        whole.stderr.contains("line 2") && whole.stderr.contains("do-not-call"),
        "{}",
        whole.stderr
    );
    let imported = calls.json(&["import", "--skip-bad-rows", file.to_str().unwrap()]).await;
    assert_eq!(imported["scheduled"], 1, "{imported}");
    assert!(imported["rejected"].to_string().contains("do-not-call list"), "{imported}");

    let removed = calls.ok(&["dnc", "remove", "+14155550100"]).await;
    assert!(removed.contains("off the do-not-call list"), "{removed}");
    let again = calls.run(&["dnc", "remove", "+14155550100"]).await;
    assert_eq!(again.code, 1, "{again:?}");
    assert_eq!(calls.run(&["dnc", "add", "12345"]).await.code, 2, "a bad number is a usage error");
    calls.schedule(&["+14155550100"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_slower_than_the_lease_is_waited_for_while_the_lease_is_renewed() {
    // Every answer takes 2 s: two leases of 1 s (and within the 3 s a
    // status fetch waits). Two workers share the file, so a lapsed lease
    // would be taken for lost at once.
    let options = call_provider_http::mock::MockOptions {
        time_scale: 0.01,
        latency: std::time::Duration::from_secs(2),
        ..call_provider_http::mock::MockOptions::default()
    };
    let api = call_provider_http::mock::MockCallApi::start(options).await.unwrap();
    let calls = Calls::new();
    let id = calls.schedule(&["+14155550100"]).await;
    let args = [
        "run",
        "--provider-url",
        api.url(),
        "--until-idle",
        "--poll-interval",
        "20ms",
        "--lease",
        "1s",
        "--heartbeat",
        "300ms",
    ];
    let (first, second) = tokio::join!(calls.run(&args), calls.run(&args));
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(second.code, 0, "{}", second.stderr);
    let call = calls.json(&["show", &id]).await;
    assert_eq!(call["status"], "completed", "{call}");
    assert_eq!(call["flags"], serde_json::json!([]), "not taken for lost: {call}");
    assert_eq!(call["attempts"], 1);
    assert_eq!(api.stats().by_number.get("+14155550100"), Some(&1), "dialled once");
}

/// `calls run --metrics-listen`: the worker's figures in the Prometheus
/// text format, what the engine reported of the call it placed included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_serves_its_metrics() {
    let api = stand_in().await;
    let calls = Calls::new();
    calls.schedule(&["+14155550100"]).await;
    calls.schedule(&["+14155550101", "--in", "1h"]).await;
    let address = format!("127.0.0.1:{}", call_test_support::free_port());
    let args = [
        "run",
        "--provider-url",
        api.url(),
        "--poll-interval",
        "20ms",
        "--metrics-listen",
        &address,
    ];
    let mut worker = calls.command(&args).spawn().unwrap();
    let mut text = String::new();
    for _ in 0..300 {
        text = scrape(&address).await.unwrap_or_default();
        if text.lines().any(|l| l == "callwork_placement_latency_seconds_count 1") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    worker.kill().await.unwrap();
    for line in [
        "callwork_placement_latency_seconds_count 1",
        "callwork_claims_total 1",
        "callwork_provider_requests_total{operation=\"place\",outcome=\"ok\"} 1",
        "callwork_calls{status=\"completed\"} 0",
        "# TYPE callwork_placement_latency_seconds histogram",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} within 30 s:\n{text}");
    }
    // Counted when the worker started: the call due in an hour, at least.
    let scheduled =
        text.lines().find_map(|l| l.strip_prefix("callwork_calls{status=\"scheduled\"} "));
    assert!(scheduled.is_some_and(|n| n.parse::<u64>().unwrap() >= 1), "{text}");

    // An address that cannot be listened on is one line, and no worker.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = taken.local_addr().unwrap().to_string();
    let refused =
        calls.run(&["run", "--provider-url", api.url(), "--metrics-listen", &taken]).await;
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains(&format!("cannot serve metrics on {taken}")),
        "{}",
        refused.stderr
    );
}

/// `GET /metrics` over plain HTTP/1.0: the body, or `None` while nothing listens.
async fn scrape(address: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await.ok()?;
    stream.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n").await.ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.ok()?;
    Some(answer.split_once("\r\n\r\n")?.1.to_owned())
}
