//! `calls`: schedule, follow and inspect calls, and run the worker, from the
//! command line. Every command works on one database (`--db`): a SQLite
//! file, or a PostgreSQL database shared with other processes and machines.

mod commands;
mod error;
mod import;
mod render;
mod run;
mod table;
mod when;

use std::{io::Write, path::PathBuf, process::ExitCode};

use clap::{Args, CommandFactory, Parser, Subcommand};

use call_wire::{
    DO_NOT_CALL_LIMIT_DEFAULT, DO_NOT_CALL_LIMIT_MAX, PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX,
};

use crate::error::CliError;

const EXIT_CODES: &str = "\
Exit codes: 0 done; 1 the command could not be carried out (unknown id, a \
transition that is not allowed, a database that cannot be opened); 2 the \
command line is wrong (an unknown option, an invalid number, time or JSON).

TIME is RFC 3339 (2026-12-01T09:30:00Z) or a local date-time (2026-12-01 09:30), \
read in --tz or the machine's zone. DURATION is like 90s, 5m, 2h, 1h30m.";

/// Schedule phone calls, follow them to their end, and see any number's history.
///
/// `calls schedule` puts a call on the schedule; `calls run` is the worker
/// that places due calls through the provider and follows them; the other
/// commands inspect and change what is in the database.
#[derive(Debug, Parser)]
#[command(name = "calls", version, after_help = EXIT_CODES, max_term_width = 100)]
pub(crate) struct Cli {
    /// The database: a SQLite file (created on first use) or a
    /// postgres://user:password@host/database URL; DATABASE_URL when
    /// neither this nor CALLS_DB is given, else ./calls.db.
    #[arg(long, global = true, env = "CALLS_DB", value_name = "PATH|URL")]
    db: Option<String>,

    /// PostgreSQL connections this process opens, at most (a SQLite file ignores it).
    #[arg(long, global = true, env = "CALLS_DB_POOL", default_value_t = 10, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    db_pool: u32,

    /// A SQLite file commits with synchronous=FULL: each commit waits for
    /// the disk, so a power loss loses no acknowledged write either (a
    /// killed process loses none without it). PostgreSQL ignores it.
    #[arg(long, global = true, env = "CALLS_FULL_SYNC")]
    full_sync: bool,

    /// Print JSON instead of tables: the shapes of the HTTP API.
    #[arg(long, global = true)]
    json: bool,

    /// The time zone local times are read and shown in (an IANA name such
    /// as Europe/Paris); the machine's when absent.
    #[arg(long, global = true, value_name = "ZONE")]
    tz: Option<String>,

    /// Place calls only between these local hours in the callee's time
    /// zone (e.g. 08:00-21:00), where a call does not say otherwise: for
    /// the calls scheduled and imported, and for those `calls run` places.
    #[arg(long, global = true, env = "CALLS_DEFAULT_WINDOW", value_name = "HH:MM-HH:MM")]
    default_window: Option<String>,

    /// Place calls only on these days (e.g. mon-fri), where a call does not say otherwise.
    #[arg(long, global = true, env = "CALLS_DEFAULT_WINDOW_DAYS", value_name = "DAYS")]
    default_window_days: Option<String>,

    /// Dial a call again when it ends with one of these OUTCOMES
    /// (busy,no_answer,failed), where a call does not say otherwise: for
    /// the calls scheduled and imported.
    #[arg(long, global = true, env = "CALLS_DEFAULT_REDIAL", value_name = "OUTCOMES")]
    default_redial: Option<String>,

    /// The most attempts of the default redial, the first dial included [default: 3].
    #[arg(long, global = true, env = "CALLS_DEFAULT_REDIAL_MAX", value_name = "N")]
    default_redial_max: Option<u32>,

    /// How long after an attempt ends the default redial dials again [default: 10m].
    #[arg(
        long,
        global = true,
        env = "CALLS_DEFAULT_REDIAL_DELAY",
        value_name = "DURATION",
        allow_hyphen_values = true
    )]
    default_redial_delay: Option<String>,

    /// Read numbers written without a country code (4155550100, (415)
    /// 555-0100) as numbers of this country: a two-letter code such as US.
    #[arg(long, global = true, env = "CALLS_DEFAULT_REGION", value_name = "COUNTRY")]
    default_region: Option<String>,

    /// More log lines on stderr: -v for debug, -vv for trace (RUST_LOG overrides).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Schedule a call to a number, now or later.
    Schedule(Box<ScheduleArgs>),
    /// List calls, newest first.
    List(ListArgs),
    /// Show one call, every field.
    Show {
        /// The call's id.
        call_id: String,
    },
    /// Show one call's audit log as a timeline.
    Events {
        /// The call's id.
        call_id: String,
    },
    /// Show every call a number took part in: completed or missed, inbound or outbound.
    History(HistoryArgs),
    /// Cancel a scheduled call.
    Cancel {
        /// The call's id.
        call_id: String,
    },
    /// Move a scheduled call to another time.
    Reschedule(RescheduleArgs),
    /// Record a call-centre lifecycle event, as an event source would send it.
    Event(EventArgs),
    /// Manage the queue registry.
    Queue {
        #[command(subcommand)]
        command: QueueCommand,
    },
    /// Show queue and agent metrics.
    Stats,
    /// Show the last minutes, one line each: calls that ended by outcome,
    /// and scheduled calls placed with how late they were placed.
    Activity {
        /// How many minutes, the one in progress included.
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=1440))]
        minutes: u32,
    },
    /// Stop placing calls, every call or one queue's, until `calls resume`
    /// or a time. Held calls stay scheduled; placed calls are followed on.
    /// Every worker on the database obeys it, and it survives restarts.
    Pause(PauseArgs),
    /// Lift a pause: of every call, or with --queue of that queue (a
    /// queue's own pause outlives resuming every call).
    Resume {
        /// The queue whose pause to lift.
        #[arg(long, value_name = "QUEUE")]
        queue: Option<String>,
    },
    /// Show whether calls are being placed, and the pauses in force.
    Dispatch,
    /// Alerts the rules raised (SLA breaches, long waits, long holds): list
    /// them, newest first, or acknowledge one.
    #[command(args_conflicts_with_subcommands = true)]
    Alerts {
        #[command(subcommand)]
        command: Option<AlertsCommand>,
        #[command(flatten)]
        list: AlertListArgs,
    },
    /// The do-not-call list: numbers no call is scheduled to or placed to.
    Dnc {
        #[command(subcommand)]
        command: DncCommand,
    },
    /// Recurring series, made with `calls schedule --cron`.
    Series {
        #[command(subcommand)]
        command: SeriesCommand,
    },
    /// Run the worker: place due calls through the provider and follow them to their end.
    Run(RunArgs),
    /// Schedule many calls from a CSV file: phone_number,scheduled_at[,customer_name,workflow,queue_id,idempotency_key,recurrence_cron,recurrence_time_zone,recurrence_count,recurrence_until,calling_window,calling_window_days,calling_window_time_zone,redial,redial_max,redial_delay].
    ///
    /// A row with an idempotency_key is scheduled once however often the
    /// file is imported (within 24 hours): importing it again after a
    /// failure makes only the calls that are missing. A row with a
    /// recurrence_cron is the first of a recurring series, as
    /// `calls schedule --cron`; calling_window (09:00-20:00), its _days
    /// (mon-fri) and _time_zone are `calls schedule --window` and its
    /// companions; redial ("busy,no_answer"), redial_max and redial_delay
    /// are `--redial` and its companions.
    ///
    /// Every row is checked before any is scheduled, so a file with a bad
    /// row schedules nothing (unless --skip-bad-rows). The rows are then
    /// written 1,000 to a transaction: should a row be refused while they
    /// are (its idempotency_key made another request, or its number was
    /// put on the do-not-call list since the check) or the database fail,
    /// the rows before its thousand stay scheduled, the error says how
    /// many, and nothing after it is written. Give the file an
    /// idempotency_key column and importing it again makes only the rest.
    Import(ImportArgs),
    /// Print shell completions.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// When a call is due: `--at TIME` or `--in DURATION`.
#[derive(Debug, Args)]
#[group(multiple = false)]
struct Due {
    /// Due at this TIME.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    at: Option<String>,
    /// Due after this DURATION from now.
    #[arg(long = "in", value_name = "DURATION", allow_hyphen_values = true)]
    r#in: Option<String>,
}

#[derive(Debug, Args)]
struct ScheduleArgs {
    /// The number to call, in international form (+1 415 555 0100).
    phone: String,
    #[command(flatten)]
    due: Due,
    /// The customer's name.
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// The workflow: support, sales, reminder…
    #[arg(long)]
    workflow: Option<String>,
    /// The queue; it must be in the registry (`calls queue add`).
    #[arg(long, value_name = "QUEUE")]
    queue: Option<String>,
    /// voice or video.
    #[arg(long)]
    media: Option<String>,
    /// The caller ID to call from; the provider's choice when absent.
    #[arg(long, value_name = "PHONE")]
    from: Option<String>,
    /// Makes a retry safe: run again with the same KEY and the same
    /// options, it prints the call the first run made instead of making
    /// another (for 24 hours). Takes --at, not --in, whose time moves.
    #[arg(long, value_name = "KEY", conflicts_with = "in")]
    idempotency_key: Option<String>,
    #[command(flatten)]
    repeat: Repeat,
    #[command(flatten)]
    window: Window,
    #[command(flatten)]
    redial: RedialArgs,
}

/// Dialling a call again by its outcome.
#[derive(Debug, Args)]
struct RedialArgs {
    /// Dial again when it ends with one of these OUTCOMES: busy, no_answer,
    /// failed (by the provider), as busy,no_answer. Each attempt is a call
    /// of its own; `calls show` lists them.
    #[arg(long, value_name = "OUTCOMES")]
    redial: Option<String>,
    /// The most attempts, the first dial included [default: 3].
    #[arg(long, value_name = "N", requires = "redial")]
    redial_max: Option<u32>,
    /// How long after an attempt ends to dial again [default: 10m].
    #[arg(long, value_name = "DURATION", requires = "redial", allow_hyphen_values = true)]
    redial_delay: Option<String>,
}

/// The local hours and days a call may ring in; each part optional, the
/// parts left out taken from --default-window.
#[derive(Debug, Args)]
struct Window {
    /// Ring only between these local HOURS (09:00-20:00); a due time
    /// outside them moves to the next opening.
    #[arg(long, value_name = "HH:MM-HH:MM")]
    window: Option<String>,
    /// Ring only on these DAYS (mon-fri, or sat,sun).
    #[arg(long, value_name = "DAYS")]
    window_days: Option<String>,
    /// The IANA zone --window is read in; the number's own zones (all of
    /// them, where it may be in several) when absent.
    #[arg(long, value_name = "ZONE")]
    window_tz: Option<String>,
}

/// Makes a scheduled call the first of a recurring series.
#[derive(Debug, Args)]
struct Repeat {
    /// Repeat the call on this cron EXPR (minute hour day month weekday,
    /// as "0 9 * * MON-FRI", or @daily), read in --cron-tz. The first
    /// call falls at the first firing at or after --at (or now); each next
    /// one is made when the one before it is placed.
    #[arg(long, value_name = "EXPR")]
    cron: Option<String>,
    /// The IANA zone --cron is read in (09:00 stays 09:00 there across
    /// clock changes); --tz when absent.
    #[arg(long, value_name = "ZONE", requires = "cron")]
    cron_tz: Option<String>,
    /// Make at most N calls in all.
    #[arg(long, value_name = "N", requires = "cron")]
    count: Option<u32>,
    /// Make no call after this TIME.
    #[arg(long, value_name = "TIME", requires = "cron", allow_hyphen_values = true)]
    cron_until: Option<String>,
}

#[derive(Debug, Args)]
struct PauseArgs {
    /// Only this queue's calls; every call when absent.
    #[arg(long, value_name = "QUEUE")]
    queue: Option<String>,
    /// Lift the pause by itself at this TIME.
    #[arg(long, value_name = "TIME", conflicts_with = "for", allow_hyphen_values = true)]
    until: Option<String>,
    /// Lift the pause by itself after this DURATION.
    #[arg(long = "for", value_name = "DURATION", allow_hyphen_values = true)]
    r#for: Option<String>,
}

#[derive(Debug, Args)]
struct ListArgs {
    /// Only calls in this status or group (pending, waiting, live, ended); repeatable.
    #[arg(long, value_name = "STATUS")]
    status: Vec<String>,
    /// Only calls in this queue.
    #[arg(long, value_name = "QUEUE")]
    queue: Option<String>,
    /// Only calls this number took part in.
    #[arg(long, value_name = "PHONE")]
    phone: Option<String>,
    /// Only the calls of this recurring series.
    #[arg(long, value_name = "SERIES_ID")]
    series: Option<String>,
    /// At most this many calls.
    #[arg(long, default_value_t = PAGE_LIMIT_DEFAULT, value_parser = page_limit(PAGE_LIMIT_MAX))]
    limit: usize,
    /// Continue after a previous page (its `next_cursor`).
    #[arg(long)]
    cursor: Option<String>,
}

#[derive(Debug, Args)]
struct HistoryArgs {
    /// The number, in any common international format.
    phone: String,
    /// Calls that took place (were placed) from this DATE (its whole day) or TIME.
    #[arg(long, value_name = "DATE", allow_hyphen_values = true)]
    since: Option<String>,
    /// Calls that took place up to this DATE (its whole day included) or TIME.
    #[arg(long, value_name = "DATE", allow_hyphen_values = true)]
    until: Option<String>,
}

#[derive(Debug, Args)]
struct RescheduleArgs {
    /// The call's id.
    call_id: String,
    #[command(flatten)]
    due: Due,
}

#[derive(Debug, Args)]
struct EventArgs {
    /// The event: call_initiated, call_routed, call_answered, call_hold,
    /// call_resumed, call_transferred, call_retransfer, call_ended, call_failed…
    event_type: String,
    /// The call it concerns; call_initiated for an unknown id creates an inbound call.
    #[arg(long = "call", value_name = "CALL_ID")]
    call_id: String,
    /// The event's fields as a JSON object, e.g. '{"agent_id": "a7"}'.
    #[arg(long, value_name = "JSON")]
    data: Option<String>,
}

#[derive(Debug, Subcommand)]
enum QueueCommand {
    /// Add a queue to the registry.
    Add {
        /// The queue's id.
        queue_id: String,
    },
    /// List the registry.
    List,
    /// Remove a queue from the registry.
    Remove {
        /// The queue's id.
        queue_id: String,
    },
}

#[derive(Debug, Subcommand)]
enum AlertsCommand {
    /// Acknowledge an alert: who did is kept with it and written in its
    /// call's audit log. The first acknowledgement stands.
    Ack {
        /// The alert's id (the ID column of `calls alerts`).
        alert_id: String,
        /// Who acknowledges it [default: the user running calls].
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
    },
}

#[derive(Debug, Args)]
struct AlertListArgs {
    /// Only the open alerts: those whose cause (a wait, a hold, a live call) goes on.
    #[arg(long)]
    open: bool,
    /// Only the alerts of calls in this queue.
    #[arg(long, value_name = "QUEUE")]
    queue: Option<String>,
    /// At most this many.
    #[arg(long, default_value_t = PAGE_LIMIT_DEFAULT, value_parser = page_limit(PAGE_LIMIT_MAX))]
    limit: usize,
    /// Start after this position (the `more:` line of the previous page).
    #[arg(long)]
    cursor: Option<String>,
}

#[derive(Debug, Subcommand)]
enum DncCommand {
    /// Put a number on the list: scheduling a call to it is refused from
    /// now on, and a call scheduled before is canceled when it falls due.
    Add {
        /// The number, in international form (+1 415 555 0100).
        phone: String,
        /// Why, kept with the entry.
        #[arg(long)]
        reason: Option<String>,
    },
    /// List the numbers, in number order.
    List {
        /// At most this many.
        #[arg(long, default_value_t = DO_NOT_CALL_LIMIT_DEFAULT, value_parser = page_limit(DO_NOT_CALL_LIMIT_MAX))]
        limit: usize,
        /// Start after this number (the `more:` line of the previous page).
        #[arg(long, value_name = "PHONE")]
        cursor: Option<String>,
    },
    /// Take a number off the list.
    Remove {
        /// The number.
        phone: String,
    },
}

#[derive(Debug, Subcommand)]
enum SeriesCommand {
    /// List recurring series, newest first.
    List {
        /// At most this many.
        #[arg(long, default_value_t = PAGE_LIMIT_DEFAULT, value_parser = page_limit(PAGE_LIMIT_MAX))]
        limit: usize,
        /// Start after this series id (the `more:` line of the previous page).
        #[arg(long, value_name = "SERIES_ID")]
        cursor: Option<String>,
    },
    /// Show a series and its calls.
    Show {
        /// The series' id.
        series_id: String,
    },
    /// Cancel a series: no call is made after this, and the one waiting
    /// to be placed is canceled.
    Cancel {
        /// The series' id.
        series_id: String,
    },
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The provider's base URL.
    #[arg(
        long,
        env = "CALLS_PROVIDER_URL",
        default_value = "http://localhost:5000",
        value_name = "URL"
    )]
    provider_url: String,
    /// Exit once every call placed through the provider has ended and none
    /// falls due within 60 s.
    #[arg(long)]
    until_idle: bool,
    /// Provider requests per second, at most; no limit when absent.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    calls_per_second: Option<f64>,
    /// How often each placed call's status is fetched from the provider.
    #[arg(long, default_value = "1s", value_name = "DURATION", allow_hyphen_values = true)]
    poll_interval: String,
    /// How long a claim on a call lasts unless renewed: at least three
    /// heartbeats. A call whose worker died while placing it is failed with
    /// `outcome_unknown` once its claim expires.
    #[arg(long, default_value = "60s", value_name = "DURATION", allow_hyphen_values = true)]
    lease: String,
    /// How often the worker renews the claims of the calls it is still
    /// placing, so a slow provider does not outlast them; a placement whose
    /// claim cannot be renewed is stopped before the claim expires.
    #[arg(long, default_value = "10s", value_name = "DURATION", allow_hyphen_values = true)]
    heartbeat: String,
    /// Serve the worker's metrics in the Prometheus text format at
    /// http://ADDR/metrics (placement latency, claims, provider requests,
    /// retries, redials, alerts, calls by status).
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<std::net::SocketAddr>,
}

#[derive(Debug, Args)]
struct ImportArgs {
    /// The CSV file; a header row naming the columns is optional.
    file: PathBuf,
    /// Schedule the good rows and report the bad ones, instead of
    /// scheduling nothing when any row is bad.
    #[arg(long)]
    skip_bad_rows: bool,
}

/// `--limit` of a page: 1 to `max`, the bound the API takes too.
fn page_limit(max: usize) -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::new().range(1..=max as u64)
}

fn main() -> ExitCode {
    // A defect must still end in one line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("calls: internal error: {info}; please report it");
    }));
    let cli = Cli::parse();
    init_logs(&cli);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return fail(&CliError::failure(format!("cannot start: {e}"))),
    };
    match runtime.block_on(commands::execute(cli)) {
        Ok(output) => match print(&output) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&CliError::failure(format!("cannot write the output: {e}"))),
        },
        Err(e) => fail(&e),
    }
}

fn fail(error: &CliError) -> ExitCode {
    eprintln!("calls: {error}");
    error.exit_code()
}

/// Writes the whole output; a closed pipe (`calls list | head`) is not an error.
fn print(output: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(output.as_bytes()).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

fn init_logs(cli: &Cli) {
    use tracing_subscriber::EnvFilter;
    let default = match (cli.verbose, &cli.command) {
        (0, Command::Run(_)) => "warn,calls=info",
        (0, _) => "warn",
        (1, _) => "info,calls=debug,call_core=debug",
        _ => "debug,calls=trace,call_core=trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(cli.verbose > 0)
        .init();
}

/// The `clap` command, for completions.
fn command() -> clap::Command {
    Cli::command()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_consistent() {
        super::command().debug_assert();
    }

    #[test]
    fn full_sync_is_a_flag_of_every_command() {
        use clap::Parser;
        let cli = super::Cli::try_parse_from(["calls", "stats", "--full-sync"]).unwrap();
        assert!(cli.full_sync);
        assert!(!super::Cli::try_parse_from(["calls", "stats"]).unwrap().full_sync);
    }
}
