//! `calls import FILE.csv`: many calls at once, every bad row reported by line.

use std::{collections::HashSet, path::PathBuf};

use call_core::{CallingWindow, Engine, Error, NewCall, QueueId, Scheduled};
use call_wire::ScheduleRequest;
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

/// Rows checked, or scheduled, together: one transaction each. Bounds
/// what an import holds in memory, whatever the file's size.
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
#[derive(Debug, Default, Serialize)]
struct Summary {
    /// New calls made.
    scheduled: usize,
    /// Rows whose idempotency key had made their call before (an import
    /// run again): nothing was made for them.
    already_scheduled: usize,
    rejected: Vec<Rejected>,
    /// The call of every row scheduled, new or made before, in file order
    /// (kept for `--json` only: a million ids are tens of megabytes).
    call_ids: Vec<String>,
}

impl Summary {
    /// Rows scheduled so far, new calls or made before.
    fn n_scheduled(&self) -> usize {
        self.scheduled + self.already_scheduled
    }
}

/// A row that parsed, with its line for error reports.
struct Row {
    line: u64,
    call: NewCall,
}

/// Without `--skip-bad-rows`, two passes over the file, each a chunk at a
/// time: the first checks every row (its fields, then the engine's own
/// checks through [`Engine::check_each`]: the queue, the due time, the
/// window, the do-not-call list) and writes nothing, so a file with a bad
/// row schedules nothing; the second schedules the rows a chunk a
/// transaction. With it, one pass schedules each chunk's good rows.
pub(crate) async fn import(
    engine: &Engine,
    config: ImportConfig,
    out: &Output,
) -> Result<String, CliError> {
    let known_queues: HashSet<QueueId> = engine.queues().await?.into_iter().map(|q| q.id).collect();
    let mut summary = Summary::default();
    // Rows in the file, once the first pass has counted them.
    let mut n_rows = None;
    if !config.skip_bad_rows {
        let mut rows = Rows::open(&config, &known_queues)?;
        let progress = progress_bar(rows.size, out.json, "checking every row");
        let mut n_good = 0;
        while let Some(chunk) = rows.next_chunk(&mut summary.rejected)? {
            n_good += chunk.len();
            settle(engine, chunk, &mut summary.rejected, Pass::Check).await?;
            progress.set_position(rows.position());
        }
        progress.finish_and_clear();
        summary.rejected.sort_by_key(|r| r.line);
        if !summary.rejected.is_empty() {
            return Err(refusal(&summary.rejected, n_good + rows.n_rejected));
        }
        n_rows = Some(n_good);
    }
    let mut rows = Rows::open(&config, &known_queues)?;
    let progress = progress_bar(rows.size, out.json, "scheduling");
    let pass = if config.skip_bad_rows { Pass::ScheduleGood } else { Pass::ScheduleAll };
    loop {
        let line = rows.next_line();
        let chunk = rows.next_chunk(&mut summary.rejected)?;
        let end = chunk.is_none();
        // Without --skip-bad-rows, a row refused on the way (the file
        // changed since the first pass) stops the import before its chunk.
        let scheduled = match chunk {
            Some(chunk) if n_rows.is_none() || summary.rejected.is_empty() => {
                let done = summary.n_scheduled();
                settle(engine, chunk, &mut summary.rejected, pass).await.map_err(|error| {
                    // The database failed half-way: say what stays.
                    if done == 0 {
                        return error;
                    }
                    error.map_message(|message| format!("{message}; {}", stopped_at(line, done)))
                })?
            }
            _ => Vec::new(),
        };
        if let Some(n_rows) = n_rows
            && !summary.rejected.is_empty()
        {
            // Refused for what the first pass cannot see (a key held for
            // another request), or the file changed since: earlier chunks stay.
            progress.finish_and_clear();
            return Err(stopped(&summary, line, n_rows));
        }
        if end {
            break;
        }
        for s in &scheduled {
            summary.scheduled += usize::from(s.is_new());
            summary.already_scheduled += usize::from(!s.is_new());
            if out.json {
                summary.call_ids.push(s.call().id().to_string());
            }
        }
        progress.set_position(rows.position());
    }
    progress.finish_and_clear();
    if summary.n_scheduled() == 0 && summary.rejected.is_empty() {
        return Err(CliError::usage("the file has no rows to import"));
    }
    summary.rejected.sort_by_key(|r| r.line);
    Ok(if out.json { render::json(&summary) } else { human(&summary) })
}

/// What [`settle`] does with a chunk.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Checks every row, writing nothing.
    Check,
    /// Schedules every row or, at the first refusal, none.
    ScheduleAll,
    /// Schedules the rows that are not refused.
    ScheduleGood,
}

/// Checks or schedules a chunk's rows through the engine. Each refusal
/// names one row, which is added to `rejected`; unless the pass is
/// [`Pass::ScheduleAll`], it is dropped and the rest tried again. Answers
/// what was scheduled, in row order.
async fn settle(
    engine: &Engine,
    mut pending: Vec<Row>,
    rejected: &mut Vec<Rejected>,
    pass: Pass,
) -> Result<Vec<Scheduled>, CliError> {
    loop {
        let calls: Vec<NewCall> = pending.iter().map(|row| row.call.clone()).collect();
        let done = match pass {
            Pass::Check => engine.check_each(calls).await.map(|()| Vec::new()),
            Pass::ScheduleAll | Pass::ScheduleGood => engine.schedule_each(calls).await,
        };
        match done {
            Ok(scheduled) => return Ok(scheduled),
            Err(Error::Batch { index, error }) => {
                let row = pending.remove(index);
                rejected.push(Rejected { line: row.line, error: describe(&error) });
                if pass == Pass::ScheduleAll {
                    return Ok(Vec::new());
                }
            }
            Err(other) => return Err(other.into()),
        }
    }
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

/// A row refused while scheduling, after every row was checked: the rows
/// of the chunks before `line` (where the refused row's chunk starts)
/// stay scheduled.
fn stopped(summary: &Summary, line: u64, n_rows: usize) -> CliError {
    let done = summary.n_scheduled();
    if done == 0 {
        return refusal(&summary.rejected, n_rows);
    }
    for r in &summary.rejected {
        eprintln!("line {}: {}", r.line, r.error);
    }
    CliError::usage(format!(
        "{}; rows with an idempotency_key are not scheduled again when the file is imported again",
        stopped_at(line, done)
    ))
}

/// What an import stopped at `line` leaves, `done` rows in.
fn stopped_at(line: u64, done: usize) -> String {
    format!(
        "stopped at line {line}: the {done} rows before it were scheduled, it and the rest were not"
    )
}

fn progress_bar(bytes: u64, hidden: bool, what: &'static str) -> ProgressBar {
    if hidden {
        return ProgressBar::hidden();
    }
    // Draws only when stderr is a terminal. The length is the file's
    // size: the reader's offset tells how far it is, without counting rows first.
    let bar = ProgressBar::new(bytes).with_message(what);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {percent:>3}% {msg}") {
        bar.set_style(style);
    }
    bar
}

/// The rows of a CSV file, read a chunk at a time.
struct Rows<'a> {
    reader: csv::Reader<std::fs::File>,
    /// The file's size in bytes.
    size: u64,
    columns: Vec<&'static str>,
    zone: when::Zone,
    region: Option<call_core::Region>,
    known_queues: &'a HashSet<QueueId>,
    /// Records read, the header row included.
    n_records: usize,
    /// Rows refused while parsing.
    n_rejected: usize,
}

impl<'a> Rows<'a> {
    fn open(
        config: &ImportConfig,
        known_queues: &'a HashSet<QueueId>,
    ) -> Result<Rows<'a>, CliError> {
        let cannot_read = |e: std::io::Error| {
            CliError::failure(format!("cannot read {}: {e}", config.file.display()))
        };
        let file = std::fs::File::open(&config.file).map_err(cannot_read)?;
        let size = file.metadata().map_err(cannot_read)?.len();
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .comment(Some(b'#'))
            .from_reader(file);
        Ok(Rows {
            reader,
            size,
            columns: COLUMNS.to_vec(),
            zone: config.zone,
            region: config.region,
            known_queues,
            n_records: 0,
            n_rejected: 0,
        })
    }

    /// How far into the file the reader is, in bytes.
    fn position(&self) -> u64 {
        self.reader.position().byte()
    }

    /// The line the next record starts on.
    fn next_line(&self) -> u64 {
        self.reader.position().line()
    }

    /// The next [`CHUNK`] rows that parse, each bad row on the way added to
    /// `rejected`; `None` at the end of the file. A file that is not CSV
    /// at all is an error; a bad row is a rejection.
    fn next_chunk(&mut self, rejected: &mut Vec<Rejected>) -> Result<Option<Vec<Row>>, CliError> {
        let mut rows = Vec::with_capacity(CHUNK);
        let mut record = csv::StringRecord::new();
        while rows.len() < CHUNK {
            let index = self.n_records;
            match self.reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => self.n_records += 1,
                Err(e) => {
                    self.n_records += 1;
                    self.n_rejected += 1;
                    let line = e.position().map_or(0, |p| p.line());
                    rejected.push(Rejected { line, error: format!("not CSV: {e}") });
                    continue;
                }
            }
            let line = record.position().map_or(index as u64 + 1, |p| p.line());
            if index == 0 && record.get(0).is_some_and(|f| f.eq_ignore_ascii_case("phone_number")) {
                self.columns = header(&record)?;
                continue;
            }
            match row(&record, &self.columns, self.zone, self.region, self.known_queues) {
                Ok(call) => rows.push(Row { line, call }),
                Err(error) => {
                    self.n_rejected += 1;
                    rejected.push(Rejected { line, error });
                }
            }
        }
        Ok((!rows.is_empty()).then_some(rows))
    }
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
    // The row's plain fields are the request `POST /api/calls` and
    // `calls schedule` check; its times, recurrence, window and redial are
    // read here, as `calls schedule` reads its options (local times).
    let request = ScheduleRequest {
        phone_number: field("phone_number").ok_or("phone_number is empty")?.to_owned(),
        customer_name: field("customer_name").map(str::to_owned),
        workflow: field("workflow").map(str::to_owned),
        queue_id: field("queue_id").map(str::to_owned),
        idempotency_key: field("idempotency_key").map(str::to_owned),
        ..ScheduleRequest::default()
    };
    let mut call = request.into_new_call(region).map_err(|e| describe(&e))?;
    if let Some(queue) = call.queue_id()
        && !known_queues.contains(queue)
    {
        return Err(format!("unknown queue {queue}; add it with `calls queue add {queue}`"));
    }
    if let Some(at) = field("scheduled_at") {
        call = call.at(when::parse_time("scheduled_at", at, zone).map_err(|e| e.to_string())?);
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
