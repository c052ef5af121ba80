//! `calls import`: many calls from a CSV file, checked whole then written a
//! thousand at a time, or the good rows only.

use crate::Calls;

const MIXED: &str = "\
phone_number,scheduled_at,customer_name,workflow,queue_id
+1 415 555 0100,2030-01-01 09:00,Ada,support,support
+14155550101,,Bob,,
12345,2030-01-01 09:00,Bad Number,,
+14155550102,next tuesday,Bad Time,,
+14155550103,2030-01-01T09:00:00Z,Unknown Queue,,nosuch
+14155550104,2030-01-01T10:00:00+01:00,Carol,sales,
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_or_nothing_refuses_the_file_naming_every_bad_row() {
    let calls = Calls::new();
    calls.ok(&["queue", "add", "support"]).await;
    let file = calls.path("calls.csv");
    std::fs::write(&file, MIXED).unwrap();

    let ran = calls.run(&["import", file.to_str().unwrap()]).await;
    assert_eq!(ran.code, 2, "{ran:?}");
    let lines: Vec<&str> = ran.stderr.lines().collect();
    assert_eq!(lines.len(), 4, "{}", ran.stderr);
    assert!(lines[0].starts_with("line 4: invalid phone number \"12345\""), "{}", lines[0]);
    assert!(lines[1].starts_with("line 5: invalid scheduled_at: \"next tuesday\""), "{}", lines[1]);
    assert!(lines[2].starts_with("line 6: unknown queue nosuch"), "{}", lines[2]);
    assert_eq!(
        lines[3],
        "calls: 3 of 6 rows are invalid; nothing was scheduled (--skip-bad-rows schedules the rest)"
    );
    assert!(calls.list().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_bad_rows_schedules_the_rest_and_reports_each_line() {
    let calls = Calls::new();
    calls.ok(&["queue", "add", "support"]).await;
    let file = calls.path("calls.csv");
    std::fs::write(&file, MIXED).unwrap();

    let summary = calls.json(&["import", file.to_str().unwrap(), "--skip-bad-rows"]).await;
    assert_eq!(summary["scheduled"], 3);
    let rejected: Vec<u64> = summary["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(rejected, [4, 5, 6]);

    let listed = calls.list().await;
    let mut names: Vec<&str> =
        listed.iter().map(|c| c["customer_name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["Ada", "Bob", "Carol"]);
    let ada = listed.iter().find(|c| c["customer_name"] == "Ada").unwrap();
    assert_eq!(
        (&ada["to"], &ada["scheduled_at"], &ada["queue_id"], &ada["workflow"]),
        (
            &"+14155550100".into(),
            &"2030-01-01T09:00:00.000000Z".into(),
            &"support".into(),
            &"support".into()
        )
    );
    let carol = listed.iter().find(|c| c["customer_name"] == "Carol").unwrap();
    assert_eq!(carol["scheduled_at"], "2030-01-01T09:00:00.000000Z");

    // The human summary.
    std::fs::write(&file, "+14155550105,2030-01-01 09:00\nnot a number\n").unwrap();
    let text = calls.ok(&["import", file.to_str().unwrap(), "--skip-bad-rows"]).await;
    assert_eq!(
        text,
        "scheduled 1 calls, skipped 1 rows:\n  line 2: invalid phone number \"not a number\": 'n' is not allowed in a phone number\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_without_a_header_reads_columns_in_order_and_every_row_is_scheduled() {
    let calls = Calls::new();
    let file = calls.path("calls.csv");
    let rows: String =
        (0..2_000).map(|i| format!("+1415555{:04},2030-01-01 09:00,Customer {i}\n", i)).collect();
    std::fs::write(&file, rows).unwrap();
    let text = calls.ok(&["import", file.to_str().unwrap()]).await;
    assert_eq!(text, "scheduled 2000 calls\n");
    assert_eq!(
        calls.json(&["list", "--limit", "500"]).await["calls"].as_array().unwrap().len(),
        500
    );
    assert_eq!(calls.list().await.len(), 2_000);

    std::fs::write(&file, "phone_number,when\n+14155550100,2030-01-01 09:00\n").unwrap();
    let ran = calls.run(&["import", file.to_str().unwrap()]).await;
    assert_eq!(ran.code, 2);
    assert!(ran.stderr.contains("unknown column \"when\""), "{}", ran.stderr);
}

/// A file imported twice, its rows keyed: the second run makes nothing
/// new and names the same calls; a row whose key made another request is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_rows_are_scheduled_once_however_often_the_file_is_imported() {
    let calls = Calls::new();
    let file = calls.path("keyed.csv");
    std::fs::write(
        &file,
        "phone_number,scheduled_at,customer_name,idempotency_key\n\
         +14155550100,2030-01-01T09:00:00Z,Ada,row-1\n\
         +14155550101,2030-01-01T09:00:00Z,Bob,row-2\n\
         +14155550102,2030-01-01T09:00:00Z,Carol,\n",
    )
    .unwrap();
    let first = calls.json(&["import", file.to_str().unwrap()]).await;
    assert_eq!((&first["scheduled"], &first["already_scheduled"]), (&3.into(), &0.into()));
    let again = calls.json(&["import", file.to_str().unwrap()]).await;
    assert_eq!((&again["scheduled"], &again["already_scheduled"]), (&1.into(), &2.into()));
    assert_eq!(again["call_ids"][0], first["call_ids"][0]);
    assert_eq!(again["call_ids"][1], first["call_ids"][1]);
    assert_eq!(calls.list().await.len(), 4, "only the unkeyed row was made again");
    let human = calls.ok(&["import", file.to_str().unwrap()]).await;
    assert!(
        human.contains(
            "scheduled 1 calls (2 rows were scheduled before, under the same idempotency keys)"
        ),
        "{human}"
    );

    std::fs::write(
        &file,
        "phone_number,scheduled_at,customer_name,idempotency_key\n\
         +14155550199,2030-01-01T09:00:00Z,Eve,row-1\n",
    )
    .unwrap();
    let ran = calls.run(&["import", file.to_str().unwrap()]).await;
    assert_eq!(ran.code, 2, "{ran:?}");
    assert!(
        ran.stderr.contains(
            "line 2: invalid idempotency_key: key \"row-1\" was used for a different request"
        ),
        "{}",
        ran.stderr
    );
    assert_eq!(calls.list().await.len(), 5, "nothing new");
}

/// Rows with a recurrence start series, each as `calls schedule --cron`;
/// a bad recurrence is reported on its line and the file is refused whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_with_a_recurrence_start_series() {
    let calls = Calls::new();
    let file = calls.path("series.csv");
    std::fs::write(
        &file,
        "phone_number,scheduled_at,recurrence_cron,recurrence_time_zone,recurrence_count\n\
         +33612345678,2030-01-01T00:00:00Z,0 9 * * MON-FRI,Europe/Paris,5\n\
         +33612345679,2030-01-01T00:00:00Z,,,\n",
    )
    .unwrap();
    let imported = calls.json(&["import", file.to_str().unwrap()]).await;
    assert_eq!(imported["scheduled"], 2, "{imported}");
    let series = calls.json(&["series", "list"]).await["series"].clone();
    assert_eq!(series.as_array().unwrap().len(), 1, "{series}");
    assert_eq!(series[0]["recurrence"]["count"], 5);
    let first = calls.json(&["list", "--series", series[0]["id"].as_str().unwrap()]).await;
    assert_eq!(first["calls"][0]["scheduled_at"], "2030-01-01T08:00:00.000000Z", "09:00 in Paris");

    std::fs::write(
        &file,
        "phone_number,recurrence_cron,recurrence_time_zone\n\
         +33612345670,0 9 * * *,Europe/Paris\n\
         +33612345671,0 9 * * *,Mars/Olympus\n",
    )
    .unwrap();
    let ran = calls.run(&["import", file.to_str().unwrap()]).await;
    assert_eq!(ran.code, 2, "{ran:?}");
    assert!(ran.stderr.contains("line 3: invalid recurrence.time_zone"), "{}", ran.stderr);
    assert_eq!(calls.list().await.len(), 2, "nothing of the refused file was scheduled");
}

/// Rows with a calling window wait for its opening; with --skip-bad-rows a
/// window that never opens is reported on its line and the rest is made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_with_a_calling_window_wait_for_its_opening() {
    let calls = Calls::new();
    let file = calls.path("windows.csv");
    std::fs::write(
        &file,
        "phone_number,scheduled_at,calling_window,calling_window_days,calling_window_time_zone\n\
         +12125550100,2030-01-01T12:00:00Z,09:00-20:00,mon-fri,\n\
         +12125550101,2030-01-01T12:00:00Z,09:00-20:00,,Europe/Paris\n\
         +12082001234,2030-01-01T12:00:00Z,09:00-09:30,,\n\
         +12125550102,2030-01-01T12:00:00Z,,weekdays,\n",
    )
    .unwrap();
    let ran = calls.run(&["import", file.to_str().unwrap()]).await;
    assert_eq!(ran.code, 2, "{ran:?}");
    assert!(ran.stderr.contains("line 5: invalid calling_window.days"), "{}", ran.stderr);
    assert!(calls.list().await.is_empty(), "nothing of the refused file was scheduled");

    let imported = calls.json(&["import", "--skip-bad-rows", file.to_str().unwrap()]).await;
    assert_eq!(imported["scheduled"], 2, "{imported}");
    let rejected = imported["rejected"].to_string();
    assert!(rejected.contains("America/Boise"), "line 4 never opens: {rejected}");
    let mut due: Vec<String> =
        calls.list().await.iter().map(|c| c["scheduled_at"].as_str().unwrap().to_owned()).collect();
    due.sort();
    // 12:00 UTC is 13:00 in Paris, inside its window; 07:00 in New York
    // waits for 09:00 there, 14:00 UTC.
    assert_eq!(due, ["2030-01-01T12:00:00.000000Z", "2030-01-01T14:00:00.000000Z"]);
}

/// Rows with a redial policy carry it; a bad one is reported on its line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_with_a_redial_policy_carry_it() {
    let calls = Calls::new();
    let file = calls.path("redial.csv");
    std::fs::write(
        &file,
        "phone_number,scheduled_at,redial,redial_max,redial_delay\n\
         +14155550100,2030-01-01T12:00:00Z,\"busy,no_answer\",5,1h\n\
         +14155550101,2030-01-01T12:00:00Z,failed,,\n\
         +14155550102,2030-01-01T12:00:00Z,,,\n\
         +14155550103,2030-01-01T12:00:00Z,busy,none,\n\
         +14155550104,2030-01-01T12:00:00Z,,3,\n",
    )
    .unwrap();
    let imported = calls.json(&["import", "--skip-bad-rows", file.to_str().unwrap()]).await;
    assert_eq!(imported["scheduled"], 3, "{imported}");
    let rejected = imported["rejected"].to_string();
    assert!(rejected.contains("invalid redial_max"), "line 5: {rejected}");
    assert!(rejected.contains("redial.on"), "line 6 has attempts without outcomes: {rejected}");
    let mut policies: Vec<(String, serde_json::Value)> = calls
        .list()
        .await
        .iter()
        .map(|c| (c["to"].as_str().unwrap().to_owned(), c["redial"].clone()))
        .collect();
    policies.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        policies,
        [
            (
                "+14155550100".to_owned(),
                serde_json::json!({"on": ["busy", "no_answer"], "max_attempts": 5, "delay": "1h"})
            ),
            (
                "+14155550101".to_owned(),
                serde_json::json!({"on": ["failed"], "max_attempts": 3, "delay": "10m"})
            ),
            ("+14155550102".to_owned(), serde_json::Value::Null),
        ]
    );
}

/// What people type: numbers without a country code read in the default
/// region, blank cells left out, and a name over its limit refused on its
/// line with the same words as `calls schedule` and the API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_as_people_type_them() {
    let calls = Calls::new();
    let file = calls.path("calls.csv");
    let long_name = "n".repeat(201);
    std::fs::write(
        &file,
        format!(
            "phone_number,scheduled_at,customer_name,workflow,queue_id\n\
             (415) 555-0100,2030-01-01 09:00,  ,   ,  \n\
             415.555.0101,,Ada,,\n\
             +44 20 7946 0958,,{long_name},,\n"
        ),
    )
    .unwrap();
    let path = file.to_str().unwrap();

    // Without a region the numbers without a country code are refused.
    let ran = calls.run(&["import", path]).await;
    assert_eq!(ran.code, 2, "{ran:?}");
    assert!(
        ran.stderr.contains("line 2: invalid phone number \"(415) 555-0100\""),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains(
            "line 4: invalid customer_name: is 201 characters long; at most 200 are allowed"
        ),
        "{}",
        ran.stderr
    );

    let imported = calls.json(&["--default-region", "US", "import", path, "--skip-bad-rows"]).await;
    assert_eq!(imported["scheduled"], 2, "{imported}");
    assert_eq!(imported["rejected"][0]["line"], 4, "{imported}");
    let listed = calls.list().await;
    let mut numbers: Vec<&str> = listed.iter().map(|c| c["to"].as_str().unwrap()).collect();
    numbers.sort();
    assert_eq!(numbers, ["+14155550100", "+14155550101"]);
    let blank = listed.iter().find(|c| c["to"] == "+14155550100").unwrap();
    for field in ["customer_name", "workflow", "queue_id"] {
        assert!(blank[field].is_null(), "{field}: {blank}");
    }

    // The same region reads `calls schedule`, `history` and `dnc`; CALLS_DEFAULT_REGION too.
    let made = calls.json(&["--default-region", "us", "schedule", "212-555-0142"]).await;
    assert_eq!(made["to"], "+12125550142", "{made}");
    let history = calls.json(&["--default-region", "US", "history", "(212) 555 0142"]).await;
    assert_eq!(history["phone_number"], "+12125550142", "{history}");
    let mut dnc = calls.command(&["dnc", "add", "2125550142"]);
    let listed: crate::Ran = dnc.env("CALLS_DEFAULT_REGION", "US").output().await.unwrap().into();
    assert_eq!(listed.code, 0, "{listed:?}");
    assert!(listed.stdout.contains("+12125550142"), "{listed:?}");
}

/// `n` rows to distinct numbers, due in 2030, keyed `row-{i}` when `keyed`.
fn rows(n: usize, keyed: bool) -> String {
    let mut text = String::from("phone_number,scheduled_at,idempotency_key\n");
    for i in 0..n {
        let key = if keyed { format!("row-{i}") } else { String::new() };
        text.push_str(&format!("+1415555{i:04},2030-01-01T09:00:00Z,{key}\n"));
    }
    text
}

/// The file is imported a thousand rows to a transaction, but checked
/// whole first: a bad row near its end (one the engine refuses, not the
/// parser) leaves nothing scheduled, and nothing goes to stderr but the refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_file_is_checked_whole_before_any_row_is_scheduled() {
    let calls = Calls::new();
    calls.ok(&["dnc", "add", "+14155552400"]).await;
    let file = calls.path("calls.csv");
    std::fs::write(&file, rows(2_500, false)).unwrap();

    let lines = refused(&calls, &file).await;
    assert!(lines[0].starts_with("line 2402: "), "{}", lines[0]);
    assert!(lines[0].contains("do-not-call"), "{}", lines[0]);
    assert_eq!(
        lines[1],
        "calls: 1 of 2500 rows are invalid; nothing was scheduled (--skip-bad-rows schedules the rest)"
    );
    assert!(calls.list().await.is_empty(), "nothing of the refused file was scheduled");

    let ran = calls.run(&["import", file.to_str().unwrap(), "--skip-bad-rows"]).await;
    assert_eq!((ran.code, ran.stderr.as_str()), (0, ""), "no log lines: {ran:?}");
    assert_eq!(ran.stdout.lines().next(), Some("scheduled 2499 calls, skipped 1 rows:"));
    assert_eq!(count(&calls).await, 2_499);
}

/// A row refused while the rows are written (its key made another request,
/// which only the write finds) stops the import there: the thousands
/// before it stay, the error says so, and importing the file again with
/// that row fixed makes only the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_refused_while_writing_stops_the_import_and_says_what_was_scheduled() {
    let calls = Calls::new();
    calls
        .schedule(&[
            "+12125550100",
            "--at",
            "2030-01-01T09:00:00Z",
            "--idempotency-key",
            "row-2100",
        ])
        .await;
    let file = calls.path("calls.csv");
    std::fs::write(&file, rows(2_500, true)).unwrap();

    let lines = refused(&calls, &file).await;
    assert!(
        lines[0].starts_with(
            "line 2102: invalid idempotency_key: key \"row-2100\" was used for a different request"
        ),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with(
            "calls: stopped at line 2002: the 2000 rows before it were scheduled, it and the rest were not"
        ),
        "{}",
        lines[1]
    );
    assert_eq!(count(&calls).await, 1 + 2_000);

    let fixed = rows(2_500, true).replace(",row-2100\n", ",row-2100-again\n");
    std::fs::write(&file, fixed).unwrap();
    let again = calls.json(&["import", file.to_str().unwrap()]).await;
    assert_eq!((&again["scheduled"], &again["already_scheduled"]), (&500.into(), &2_000.into()));
    assert_eq!(again["call_ids"].as_array().unwrap().len(), 2_500);
    assert_eq!(count(&calls).await, 1 + 2_500);
}

/// Imports `file` without --skip-bad-rows, which must be refused (exit 2)
/// in two lines on stderr: the refused row's, then the error's.
async fn refused(calls: &Calls, file: &std::path::Path) -> Vec<String> {
    let ran = calls.run(&["import", file.to_str().unwrap()]).await;
    assert_eq!(ran.code, 2, "{ran:?}");
    let lines: Vec<String> = ran.stderr.lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2, "{}", ran.stderr);
    lines
}

/// How many calls the database holds.
async fn count(calls: &Calls) -> u64 {
    use call_core::ports::CallStore;
    let store = call_store_sqlite::SqliteStore::open(calls.db()).await.unwrap();
    store.count_by_status().await.unwrap().iter().map(|(_, n)| n).sum()
}
