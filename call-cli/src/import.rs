//! `calls import FILE.csv`: many calls at once, every bad row reported by line.

use std::{collections::HashSet, path::PathBuf};

use call_core::{
    CallingWindow, Engine, Error, IdempotencyKey, NewCall, PhoneNumber, QueueId, Scheduled,
};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::{
    ImportArgs,
    error::{CliError, describe},
    render,
    render::Output,
    when,
};

/// The columns, in the order a file without a header row gives them.
const COLUMNS: [&str; 16] = [
    "phone_number",
    "scheduled_at",
    "customer_name",
    "workflow",
    "queue_id",
    "idempotency_key",
    "recurrence_cron",
    "recurrence_time_zone",
    "recurrence_count",
    "recurrence_until",
    "calling_window",
    "calling_window_days",
    "calling_window_time_zone",
    "redial",
    "redial_max",
    "redial_delay",
];

/// Calls scheduled per batch with `--skip-bad-rows`.
const CHUNK: usize = 1_000;

/// `calls import`'s arguments.
pub(crate) struct ImportConfig {
    file: PathBuf,
    skip_bad_rows: bool,
    zone: when::Zone,
    /// Numbers written without a country code are read in it.
    region: Option<call_core::Region>,
}

impl ImportConfig {
    pub(crate) fn new(
        args: ImportArgs,
        zone: when::Zone,
        region: Option<call_core::Region>,
    ) -> ImportConfig {
        ImportConfig { file: args.file, skip_bad_rows: args.skip_bad_rows, zone, region }
    }
}

/// A row that was not scheduled, and why.
#[derive(Debug, Serialize)]
struct Rejected {
    line: u64,
    error: String,
}

/// What an import did.
#[derive(Debug, Serialize)]
struct Summary {
    /// New calls made.
    scheduled: usize,
    /// Rows whose idempotency key had made their call before (an import
    /// run again): nothing was made for them.
    already_scheduled: usize,
    rejected: Vec<Rejected>,
    /// The call of every row scheduled, new or made before, in file order.
    call_ids: Vec<String>,
}

/// A row that parsed, with its line for error reports.
struct Row {
    line: u64,
    call: NewCall,
}

pub(crate) async fn import(
    engine: &Engine,
    config: ImportConfig,
    out: &Output,
) -> Result<String, CliError> {
    let text = std::fs::read(&config.file)
        .map_err(|e| CliError::failure(format!("cannot read {}: {e}", config.file.display())))?;
    let known_queues: HashSet<QueueId> = engine.queues().await?.into_iter().map(|q| q.id).collect();
    let (rows, mut rejected) = parse(&text, config.zone, config.region, &known_queues)?;
    if !config.skip_bad_rows && !rejected.is_empty() {
        return Err(refusal(&rejected, rows.len() + rejected.len()));
    }
    let progress = progress_bar(rows.len() as u64, out.json);
    let mut scheduled: Vec<Scheduled> = Vec::with_capacity(rows.len());
    if config.skip_bad_rows {
        for chunk in rows.chunks(CHUNK) {
            let mut pending: Vec<&Row> = chunk.iter().collect();
            // Each refusal names one row: drop it and schedule the rest.
            loop {
                let calls = pending.iter().map(|row| row.call.clone()).collect();
                match engine.schedule_each(calls).await {
                    Ok(calls) => {
                        scheduled.extend(calls);
                        break;
                    }
                    Err(Error::Batch { index, error }) => {
                        let row = pending.remove(index);
                        rejected.push(Rejected { line: row.line, error: describe(&error) });
                        progress.inc(1);
                    }
                    Err(other) => return Err(other.into()),
                }
            }
            progress.inc(pending.len() as u64);
        }
        rejected.sort_by_key(|r| r.line);
    } else {
        progress.set_message("scheduling every row in one transaction");
        let calls = rows.iter().map(|row| row.call.clone()).collect();
        match engine.schedule_each(calls).await {
            Ok(calls) => scheduled.extend(calls),
            Err(Error::Batch { index, error }) => {
                let rejected = [Rejected { line: rows[index].line, error: describe(&error) }];
                progress.finish_and_clear();
                return Err(refusal(&rejected, rows.len()));
            }
            Err(other) => return Err(other.into()),
        }
        progress.inc(rows.len() as u64);
    }
    progress.finish_and_clear();
    let new = scheduled.iter().filter(|s| s.is_new()).count();
    let summary = Summary {
        scheduled: new,
        already_scheduled: scheduled.len() - new,
        rejected,
        call_ids: scheduled.iter().map(|s| s.call().id().to_string()).collect(),
    };
    Ok(if out.json { render::json(&summary) } else { human(&summary) })
}

fn human(summary: &Summary) -> String {
    let mut text = format!("scheduled {} calls", summary.scheduled);
    if summary.already_scheduled > 0 {
        text.push_str(&format!(
            " ({} rows were scheduled before, under the same idempotency keys)",
            summary.already_scheduled
        ));
    }
    if summary.rejected.is_empty() {
        text.push('\n');
    } else {
        text.push_str(&format!(", skipped {} rows:\n", summary.rejected.len()));
        for r in &summary.rejected {
            text.push_str(&format!("  line {}: {}\n", r.line, r.error));
        }
    }
    text
}

/// All-or-nothing refused: every bad row on stderr, then the one-line error.
fn refusal(rejected: &[Rejected], rows: usize) -> CliError {
    for r in rejected {
        eprintln!("line {}: {}", r.line, r.error);
    }
    CliError::usage(format!(
        "{} of {rows} rows are invalid; nothing was scheduled (--skip-bad-rows schedules the rest)",
        rejected.len()
    ))
}

fn progress_bar(len: u64, hidden: bool) -> ProgressBar {
    if hidden {
        return ProgressBar::hidden();
    }
    // Draws only when stderr is a terminal.
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}") {
        bar.set_style(style);
    }
    bar
}

/// Reads every row; a file that is not CSV at all is an error, a bad row is a rejection.
fn parse(
    bytes: &[u8],
    zone: when::Zone,
    region: Option<call_core::Region>,
    known_queues: &HashSet<QueueId>,
) -> Result<(Vec<Row>, Vec<Rejected>), CliError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(bytes);
    let mut columns: Vec<&str> = COLUMNS.to_vec();
    let mut rows = Vec::new();
    let mut rejected = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                rejected.push(Rejected { line, error: format!("not CSV: {e}") });
                continue;
            }
        };
        let line = record.position().map_or(index as u64 + 1, |p| p.line());
        if index == 0 && record.get(0).is_some_and(|f| f.eq_ignore_ascii_case("phone_number")) {
            columns = header(&record)?;
            continue;
        }
        match row(&record, &columns, zone, region, known_queues) {
            Ok(call) => rows.push(Row { line, call }),
            Err(error) => rejected.push(Rejected { line, error }),
        }
    }
    if rows.is_empty() && rejected.is_empty() {
        return Err(CliError::usage("the file has no rows to import"));
    }
    Ok((rows, rejected))
}

fn header(record: &csv::StringRecord) -> Result<Vec<&'static str>, CliError> {
    let mut columns = Vec::new();
    for name in record {
        let column = COLUMNS.iter().find(|c| c.eq_ignore_ascii_case(name)).ok_or_else(|| {
            CliError::usage(format!(
                "unknown column {name:?} in the header row; columns are: {}",
                COLUMNS.join(", ")
            ))
        })?;
        if columns.contains(column) {
            return Err(CliError::usage(format!(
                "column {column} appears twice in the header row"
            )));
        }
        columns.push(*column);
    }
    Ok(columns)
}

fn row(
    record: &csv::StringRecord,
    columns: &[&str],
    zone: when::Zone,
    region: Option<call_core::Region>,
    known_queues: &HashSet<QueueId>,
) -> Result<NewCall, String> {
    if record.len() > columns.len() {
        return Err(format!("{} fields, expected at most {}", record.len(), columns.len()));
    }
    let field = |name: &str| {
        columns
            .iter()
            .position(|c| *c == name)
            .and_then(|i| record.get(i))
            .filter(|value| !value.is_empty())
    };
    let number = field("phone_number").ok_or("phone_number is empty")?;
    let number = PhoneNumber::parse_in("phone_number", number, region);
    let mut call = NewCall::to(number.map_err(|e| describe(&e))?);
    if let Some(at) = field("scheduled_at") {
        call = call.at(when::parse_time("scheduled_at", at, zone).map_err(|e| e.to_string())?);
    }
    if let Some(name) = field("customer_name") {
        call = call.customer_name(name);
    }
    if let Some(workflow) = field("workflow") {
        call = call.workflow(workflow);
    }
    if let Some(queue) = field("queue_id") {
        let queue = QueueId::parse(queue).map_err(|e| describe(&e))?;
        if !known_queues.contains(&queue) {
            return Err(format!("unknown queue {queue}; add it with `calls queue add {queue}`"));
        }
        call = call.queue(queue);
    }
    if let Some(key) = field("idempotency_key") {
        call = call.idempotency_key(IdempotencyKey::parse(key).map_err(|e| describe(&e))?);
    }
    if let Some(cron) = field("recurrence_cron") {
        // The row's zone, else --tz's; the machine's zone has no name to keep.
        let time_zone = match (field("recurrence_time_zone"), zone) {
            (Some(name), _) => name.to_owned(),
            (None, when::Zone::Named(tz)) => tz.name().to_owned(),
            (None, when::Zone::Local) => {
                return Err("recurrence_cron needs recurrence_time_zone (or --tz)".to_owned());
            }
        };
        let count = field("recurrence_count")
            .map(|n| {
                n.parse::<u32>()
                    .map_err(|_| format!("invalid recurrence_count: {n:?} is not a count"))
            })
            .transpose()?;
        let until = field("recurrence_until")
            .map(|t| when::parse_time("recurrence_until", t, zone).map_err(|e| e.to_string()))
            .transpose()?;
        let recurrence =
            call_core::Recurrence::new(cron, &time_zone, count, until).map_err(|e| describe(&e))?;
        call = call.recurrence(recurrence);
    } else if let Some(other) = ["recurrence_time_zone", "recurrence_count", "recurrence_until"]
        .into_iter()
        .find(|c| field(c).is_some())
    {
        return Err(format!("{other} is given without recurrence_cron"));
    }
    let (hours, days, time_zone) =
        (field("calling_window"), field("calling_window_days"), field("calling_window_time_zone"));
    if hours.is_some() || days.is_some() || time_zone.is_some() {
        let window = CallingWindow::from_flags(hours, days, time_zone).map_err(|e| describe(&e))?;
        call = call.calling_window(window);
    }
    let max = field("redial_max")
        .map(|n| n.parse::<u32>().map_err(|_| format!("invalid redial_max: {n:?} is not a count")))
        .transpose()?;
    let redial = call_core::Redial::from_flags(field("redial"), max, field("redial_delay"))
        .map_err(|e| describe(&e))?;
    if let Some(redial) = redial {
        call = call.redial(redial);
    }
    // The engine checks these too; checked here, a long value is reported
    // on its own line with the others instead of failing its chunk.
    call.check_limits().map_err(|e| describe(&e))?;
    Ok(call)
}
