//! Each command: read its arguments, call the engine, render the answer.

use std::sync::Arc;

use call_core::{
    CallId, CallingWindow, Config, Engine, EventId, EventSource, NewCall, PhoneNumber, QueueId,
    Redial, Region, SeriesId, ValidationError,
    alerts::{AlertCursor, AlertQuery},
    ports::{HistoryQuery, ListQuery},
};
use call_wire::{
    ActivityJson, AlertJson, AlertsPage, CallJson, CallPage, DispatchJson, DoNotCallJson,
    DoNotCallPage, EventList, EventRequest, HistoryJson, HistoryPage, ListRequest, QueueList,
    RecurrenceJson, Removed, ScheduleRequest, SeriesCalls, SeriesJson, SeriesPage, StatsJson,
};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::{
    AlertsCommand, Cli, Command, DncCommand, Due, EventArgs, HistoryArgs, ListArgs, QueueCommand,
    Repeat, ScheduleArgs, SeriesCommand,
    error::CliError,
    render::{self, Output},
    when::{self, Bound, Zone},
};

/// Runs the command and returns what to print.
pub(crate) async fn execute(cli: Cli) -> Result<String, CliError> {
    let zone = Zone::new(cli.tz.as_deref())?;
    let out = Output { json: cli.json, zone };
    if let Command::Completions { shell } = cli.command {
        let mut buffer = Vec::new();
        clap_complete::generate(shell, &mut crate::command(), "calls", &mut buffer);
        return Ok(String::from_utf8_lossy(&buffer).into_owned());
    }
    // Check what can be checked before the database is touched (or created).
    let default_region = cli
        .default_region
        .as_deref()
        .map(|r| Region::parse("--default-region", r))
        .transpose()
        .map_err(|e| CliError::usage(format!("invalid --default-region: {}", e.message())))?;
    let command = Checked::new(cli.command, zone, default_region)?;
    let default_window = CallingWindow::from_flags(
        cli.default_window.as_deref(),
        cli.default_window_days.as_deref(),
        None,
    )
    .map_err(|e| window_error(&e, "--default-window"))?;
    let default_redial = Redial::from_flags(
        cli.default_redial.as_deref(),
        cli.default_redial_max,
        cli.default_redial_delay.as_deref(),
    )
    .map_err(|e| redial_error(&e, "--default-redial"))?;
    let config = Config { default_window, default_redial, default_region, ..Config::default() };
    let database = call_db::Database::resolve(cli.db.as_deref());
    let options = call_db::OpenOptions { pool_size: Some(cli.db_pool), full_sync: cli.full_sync };
    let engine = open(&database, &options, config).await?;
    match command {
        Checked::Schedule(new_call) => {
            let scheduled = engine.schedule_once(*new_call).await.map_err(|error| match error {
                call_core::Error::Validation(e) => {
                    call_core::Error::Validation(as_option(e, &SCHEDULE_OPTIONS))
                }
                other => other,
            })?;
            if !scheduled.is_new() && !out.json {
                tracing::warn!("this idempotency key was used before: this is the call it made");
            }
            Ok(out.call(scheduled.call()))
        }
        Checked::List(query) => {
            let page = engine.list(&query).await?;
            Ok(out.calls(&page))
        }
        Checked::Show(id) => {
            let call = out.call(&engine.get(&id).await?);
            if out.json {
                return Ok(call);
            }
            let attempts = call_wire::AttemptsJson::new(&engine.attempts(&id).await?);
            Ok(call + &render::attempts(&attempts, out.zone))
        }
        Checked::Events(id) => {
            let events = engine.events(&id).await?;
            Ok(out.events(&events))
        }
        Checked::History(number, query) => {
            let mut all = HistoryPage {
                phone_number: number.as_str().to_owned(),
                records: Vec::new(),
                next_cursor: None,
            };
            let mut query = query;
            loop {
                let page = engine.history(&number, &query).await?;
                all.records.extend(page.items.iter().map(HistoryJson::from));
                match page.next_cursor {
                    Some(cursor) => query.cursor = Some(cursor),
                    None => break,
                }
            }
            Ok(out.history(&number, &all))
        }
        Checked::Cancel(id) => Ok(out.call(&engine.cancel(&id).await?)),
        Checked::Reschedule(id, at) => Ok(out.call(&engine.reschedule(&id, at).await?)),
        Checked::Event(event) => {
            let ingested = engine.ingest(event).await?;
            if ingested.duplicate && !out.json {
                tracing::warn!("this event_id was recorded before: nothing changed");
            }
            Ok(out.call(&ingested.call))
        }
        Checked::QueueAdd(id) => {
            let queue = engine.add_queue(id).await?;
            Ok(out.queues(&QueueList::from(std::slice::from_ref(&queue))))
        }
        Checked::QueueList => Ok(out.queues(&QueueList::from(engine.queues().await?.as_slice()))),
        Checked::QueueRemove(id) => {
            if engine.remove_queue(&id).await? {
                Ok(out.removed(&id))
            } else {
                Err(CliError::failure(format!("queue {id} not found")))
            }
        }
        Checked::Stats => Ok(out.stats(&StatsJson::from(&engine.stats().await?))),
        Checked::Activity(minutes) => {
            let activity = ActivityJson::from(&engine.activity(minutes).await?);
            Ok(if out.json {
                render::json(&activity)
            } else {
                render::activity(&activity, out.zone)
            })
        }
        Checked::Pause(queue, until) => Ok(out.dispatch(&engine.pause(queue, until).await?)),
        Checked::Resume(queue) => Ok(out.dispatch(&engine.resume(queue.as_ref()).await?)),
        Checked::Dispatch => Ok(out.dispatch(&engine.pauses().await?)),
        Checked::DncAdd(phone, reason) => {
            let (entry, new) = engine.add_do_not_call(phone, reason.as_deref()).await?;
            if !new && !out.json {
                tracing::warn!("{} was listed already: its entry stands", entry.phone);
            }
            let entry = DoNotCallJson::from(&entry);
            Ok(if out.json {
                render::json(&entry)
            } else {
                render::do_not_call_entry(&entry, out.zone)
            })
        }
        Checked::Alerts(query) => {
            let page = AlertsPage::from(&engine.alerts(&query).await?);
            Ok(if out.json { render::json(&page) } else { render::alerts(&page, out.zone) })
        }
        Checked::AlertAck(id, by) => {
            let alert = AlertJson::from(&engine.acknowledge_alert(&id, &by).await?);
            Ok(if out.json {
                render::json(&alert)
            } else {
                render::alerts_of(&[alert], None, out.zone)
            })
        }
        Checked::DncList(after, limit) => {
            let entries = engine.list_do_not_call(after.as_ref(), limit).await?;
            let page = DoNotCallPage::new(&entries, limit);
            Ok(if out.json {
                render::json(&page)
            } else {
                render::do_not_call_list(&page, out.zone)
            })
        }
        Checked::DncRemove(phone) => {
            if !engine.remove_do_not_call(&phone).await? {
                return Err(CliError::failure(format!("{phone} is not on the do-not-call list")));
            }
            Ok(if out.json {
                render::json(&Removed { removed: phone.as_str().to_owned() })
            } else {
                format!("{phone} is off the do-not-call list\n")
            })
        }
        Checked::SeriesList(before, limit) => {
            let series = engine.list_series(before.as_ref(), limit).await?;
            let page = SeriesPage::new(&series, limit);
            Ok(if out.json { render::json(&page) } else { render::series_list(&page, out.zone) })
        }
        Checked::SeriesShow(id) => {
            let series = engine.series(&id).await?;
            let query = ListQuery { series: Some(id), limit: 1000, ..ListQuery::default() };
            let shown = SeriesCalls::new(&series, &engine.list(&query).await?.items);
            Ok(if out.json {
                render::json(&shown)
            } else {
                render::series(&shown.series, &shown.calls, out.zone)
            })
        }
        Checked::SeriesCancel(id) => {
            let series = SeriesJson::from(&engine.cancel_series(&id).await?);
            Ok(if out.json {
                render::json(&series)
            } else {
                render::series(&series, &[], out.zone)
            })
        }
        Checked::Run(run) => crate::run::run(engine, run).await.map(|()| String::new()),
        Checked::Import(import) => crate::import::import(&engine, import, &out).await,
    }
}

/// Opens the database and builds an engine on `config` whose events say `cli`.
pub(crate) async fn open(
    database: &call_db::Database,
    options: &call_db::OpenOptions,
    config: Config,
) -> Result<Engine, CliError> {
    let store = database.open(options).await?;
    let config = Config { source: EventSource::Cli, ..config };
    Ok(Engine::builder(store).config(config).notifier(Arc::new(crate::run::TransitionLog)).build())
}

/// A command whose arguments were all checked.
enum Checked {
    Schedule(Box<NewCall>),
    List(ListQuery),
    Show(CallId),
    Events(CallId),
    History(PhoneNumber, HistoryQuery),
    Cancel(CallId),
    Reschedule(CallId, DateTime<Utc>),
    Event(call_core::IncomingEvent),
    QueueAdd(QueueId),
    QueueList,
    QueueRemove(QueueId),
    Stats,
    Activity(u32),
    Pause(Option<QueueId>, Option<DateTime<Utc>>),
    Resume(Option<QueueId>),
    Dispatch,
    DncAdd(PhoneNumber, Option<String>),
    DncList(Option<PhoneNumber>, usize),
    DncRemove(PhoneNumber),
    SeriesList(Option<SeriesId>, usize),
    SeriesShow(SeriesId),
    SeriesCancel(SeriesId),
    Alerts(AlertQuery),
    AlertAck(EventId, String),
    Run(crate::run::RunConfig),
    Import(crate::import::ImportConfig),
}

impl Checked {
    /// Checks `command`: times read in `zone`, numbers without a country
    /// code in `region`.
    fn new(command: Command, zone: Zone, region: Option<Region>) -> Result<Checked, CliError> {
        let phone = |field, text: &str| PhoneNumber::parse_in(field, text, region);
        Ok(match command {
            Command::Schedule(args) => Checked::Schedule(Box::new(new_call(*args, zone, region)?)),
            Command::List(args) => Checked::List(list_query(args, region)?),
            Command::Show { call_id } => Checked::Show(call_id_arg(call_id)?),
            Command::Events { call_id } => Checked::Events(call_id_arg(call_id)?),
            Command::History(args) => history_query(args, zone, region)?,
            Command::Cancel { call_id } => Checked::Cancel(call_id_arg(call_id)?),
            Command::Reschedule(args) => {
                let at = due(&args.due, zone)?.ok_or_else(|| {
                    CliError::usage("reschedule needs the new time: --at TIME or --in DURATION")
                })?;
                Checked::Reschedule(call_id_arg(args.call_id)?, at)
            }
            Command::Event(args) => Checked::Event(event(args, region)?),
            Command::Queue { command } => match command {
                QueueCommand::Add { queue_id } => Checked::QueueAdd(QueueId::parse(queue_id)?),
                QueueCommand::List => Checked::QueueList,
                QueueCommand::Remove { queue_id } => {
                    Checked::QueueRemove(QueueId::parse(queue_id)?)
                }
            },
            Command::Stats => Checked::Stats,
            Command::Activity { minutes } => Checked::Activity(minutes),
            Command::Pause(args) => {
                let until = at_or_after(
                    ("--until", args.until.as_deref()),
                    ("--for", args.r#for.as_deref()),
                    zone,
                )?;
                Checked::Pause(queue_arg(args.queue)?, until)
            }
            Command::Resume { queue } => Checked::Resume(queue_arg(queue)?),
            Command::Dispatch => Checked::Dispatch,
            Command::Series { command } => match command {
                SeriesCommand::List { limit, cursor } => {
                    let cursor = cursor.map(|c| series_arg(&c, "--cursor")).transpose()?;
                    Checked::SeriesList(cursor, limit)
                }
                SeriesCommand::Show { series_id } => {
                    Checked::SeriesShow(series_arg(&series_id, "SERIES_ID")?)
                }
                SeriesCommand::Cancel { series_id } => {
                    Checked::SeriesCancel(series_arg(&series_id, "SERIES_ID")?)
                }
            },
            Command::Alerts { command: None, list } => Checked::Alerts(AlertQuery {
                open: list.open,
                queue: queue_arg(list.queue)?,
                limit: list.limit,
                cursor: list
                    .cursor
                    .as_deref()
                    .map(|c| AlertCursor::parse(c).map_err(|e| e.for_field("--cursor")))
                    .transpose()?,
            }),
            Command::Alerts { command: Some(AlertsCommand::Ack { alert_id, by }), .. } => {
                let id = EventId::parse(alert_id).map_err(|e| e.for_field("alert id"))?;
                // Who runs the tool, as a shell knows them; "cli" when it cannot say.
                let by = by
                    .or_else(|| std::env::var("USER").ok().filter(|u| !u.trim().is_empty()))
                    .unwrap_or_else(|| "cli".to_owned());
                Checked::AlertAck(id, by)
            }
            Command::Dnc { command } => match command {
                DncCommand::Add { phone: number, reason } => {
                    Checked::DncAdd(phone("phone_number", &number)?, reason)
                }
                DncCommand::List { limit, cursor } => {
                    let cursor = cursor.map(|c| phone("--cursor", &c)).transpose()?;
                    Checked::DncList(cursor, limit)
                }
                DncCommand::Remove { phone: number } => {
                    Checked::DncRemove(phone("phone_number", &number)?)
                }
            },
            Command::Run(args) => Checked::Run(crate::run::RunConfig::new(args)?),
            Command::Import(args) => {
                Checked::Import(crate::import::ImportConfig::new(args, zone, region))
            }
            Command::Completions { .. } => unreachable!("answered before the database is opened"),
        })
    }
}

fn series_arg(id: &str, name: &str) -> Result<SeriesId, CliError> {
    SeriesId::parse(id).map_err(|e| CliError::usage(format!("invalid {name}: {}", e.message())))
}

/// `--queue`.
fn queue_arg(queue: Option<String>) -> Result<Option<QueueId>, CliError> {
    Ok(queue.map(|q| QueueId::parse(q).map_err(|e| e.for_field("--queue"))).transpose()?)
}

fn call_id_arg(id: String) -> Result<CallId, CliError> {
    Ok(CallId::parse(id).map_err(|e| e.for_field("call id"))?)
}

/// The due time of `--at` or `--in`; `None` when neither is given.
pub(crate) fn due(due: &Due, zone: Zone) -> Result<Option<DateTime<Utc>>, CliError> {
    at_or_after(("--at", due.at.as_deref()), ("--in", due.r#in.as_deref()), zone)
}

/// A moment given as a TIME or as a DURATION from now, each with its flag;
/// `None` when neither is given.
fn at_or_after(
    (at_flag, at): (&str, Option<&str>),
    (after_flag, after): (&str, Option<&str>),
    zone: Zone,
) -> Result<Option<DateTime<Utc>>, CliError> {
    if let Some(at) = at {
        return when::parse_time(at_flag, at, zone).map(Some);
    }
    if let Some(after) = after {
        if let Some(forward) = after.trim().strip_prefix('-') {
            return Err(CliError::usage(format!(
                "invalid {after_flag}: {after:?} is in the past: {after_flag} counts forward from now, as in {after_flag} {forward}"
            )));
        }
        let too_far = || CliError::usage(format!("invalid {after_flag}: too far in the future"));
        let after = when::parse_duration(after_flag, after)?;
        let after = chrono::Duration::from_std(after).map_err(|_| too_far())?;
        return Utc::now().checked_add_signed(after).map(Some).ok_or_else(too_far);
    }
    Ok(None)
}

/// The options of `calls schedule`, by the request field each fills.
const SCHEDULE_OPTIONS: [(&str, &str); 7] = [
    ("queue_id", "--queue"),
    ("customer_name", "--name"),
    ("workflow", "--workflow"),
    ("media", "--media"),
    ("from", "--from"),
    ("idempotency_key", "--idempotency-key"),
    ("scheduled_at", "--at"),
];

/// A refusal naming the option the person typed (`--queue`), not the
/// request field it filled (`queue_id`), by a command's `options`.
fn as_option(error: ValidationError, options: &[(&str, &'static str)]) -> ValidationError {
    match options.iter().find(|(field, _)| *field == error.field()) {
        Some((_, option)) => error.for_field(option),
        None => error,
    }
}

fn new_call(args: ScheduleArgs, zone: Zone, region: Option<Region>) -> Result<NewCall, CliError> {
    // The same checks as `POST /api/calls`; the time is the CLI's own
    // (local times, --in), so it is read here.
    let request = ScheduleRequest {
        phone_number: args.phone,
        customer_name: args.name,
        workflow: args.workflow,
        queue_id: args.queue,
        media: args.media,
        from: args.from,
        idempotency_key: args.idempotency_key,
        ..ScheduleRequest::default()
    };
    let mut call = request.into_new_call(region).map_err(|e| as_option(e, &SCHEDULE_OPTIONS))?;
    if let Some(recurrence) = recurrence(args.repeat, zone)? {
        call = call.recurrence(recurrence);
    }
    let w = args.window;
    if w.window.is_some() || w.window_days.is_some() || w.window_tz.is_some() {
        let window = CallingWindow::from_flags(
            w.window.as_deref(),
            w.window_days.as_deref(),
            w.window_tz.as_deref(),
        )
        .map_err(|e| window_error(&e, "--window"))?;
        call = call.calling_window(window);
    }
    let r = args.redial;
    let redial = Redial::from_flags(r.redial.as_deref(), r.redial_max, r.redial_delay.as_deref())
        .map_err(|e| redial_error(&e, "--redial"))?;
    if let Some(redial) = redial {
        call = call.redial(redial);
    }
    Ok(match due(&args.due, zone)? {
        Some(at) => call.at(at),
        None => call,
    })
}

/// `--cron` and its companions, checked as `POST /api/calls` checks a
/// `recurrence`, errors naming the options.
fn recurrence(repeat: Repeat, zone: Zone) -> Result<Option<call_core::Recurrence>, CliError> {
    let Some(cron) = repeat.cron else { return Ok(None) };
    let time_zone = match (repeat.cron_tz, zone) {
        (Some(name), _) => name,
        (None, Zone::Named(tz)) => tz.name().to_owned(),
        (None, Zone::Local) => {
            return Err(CliError::usage(
                "--cron needs the zone it is read in: --cron-tz Europe/Paris (or --tz)",
            ));
        }
    };
    let until =
        repeat.cron_until.map(|t| when::parse_time("--cron-until", &t, zone)).transpose()?;
    let json = RecurrenceJson {
        cron,
        time_zone,
        count: repeat.count,
        until: until.map(call_core::time::rfc3339),
    };
    json.to_recurrence().map(Some).map_err(|e| {
        let flag = match e.field() {
            "recurrence.time_zone" => "--cron-tz",
            "recurrence.count" => "--count",
            "recurrence.until" => "--cron-until",
            _ => "--cron",
        };
        CliError::usage(format!("invalid {flag}: {}", e.message()))
    })
}

/// A window's error as a usage error naming the flag of the part that is
/// wrong: `flag`, `flag-days` or `flag-tz`.
fn window_error(error: &ValidationError, flag: &str) -> CliError {
    let part = match error.field() {
        "calling_window.days" => "-days",
        "calling_window.time_zone" => "-tz",
        _ => "",
    };
    CliError::usage(format!("invalid {flag}{part}: {}", error.message()))
}

/// A redial policy's error as a usage error naming the option of the part
/// that is wrong: `--redial-max` for the attempts.
fn redial_error(error: &ValidationError, flag: &str) -> CliError {
    let part = match error.field() {
        "redial.max_attempts" => "-max",
        "redial.delay" => "-delay",
        _ => "",
    };
    CliError::usage(format!("invalid {flag}{part}: {}", error.message()))
}

/// The options of `calls list`, by the request field each fills.
const LIST_OPTIONS: [(&str, &str); 6] = [
    ("status", "--status"),
    ("queue", "--queue"),
    ("phone", "--phone"),
    ("series_id", "--series"),
    ("limit", "--limit"),
    ("cursor", "--cursor"),
];

/// `calls list`'s options, checked as `GET /api/calls` checks its query.
fn list_query(args: ListArgs, region: Option<Region>) -> Result<ListQuery, CliError> {
    let request = ListRequest {
        status: args.status,
        queue: args.queue,
        phone: args.phone,
        series_id: args.series,
        limit: Some(args.limit),
        cursor: args.cursor,
    };
    Ok(request.into_query(region).map_err(|e| as_option(e, &LIST_OPTIONS))?)
}

fn history_query(
    args: HistoryArgs,
    zone: Zone,
    region: Option<Region>,
) -> Result<Checked, CliError> {
    let number = PhoneNumber::parse_in("phone_number", &args.phone, region)?;
    let bound = |flag, value: Option<String>, which| {
        value.map(|v| when::parse_bound(flag, &v, zone, which)).transpose()
    };
    let query = HistoryQuery {
        since: bound("--since", args.since, Bound::Start)?,
        until: bound("--until", args.until, Bound::End)?,
        limit: 500,
        cursor: None,
    };
    if let (Some(since), Some(until)) = (query.since, query.until)
        && since >= until
    {
        return Err(CliError::usage("invalid --until: it is not after --since"));
    }
    Ok(Checked::History(number, query))
}

/// `calls event TYPE --call ID --data JSON`: the flat event JSON of the HTTP API.
fn event(args: EventArgs, region: Option<Region>) -> Result<call_core::IncomingEvent, CliError> {
    let mut fields = match args.data.as_deref().map(serde_json::from_str::<Value>).transpose() {
        Ok(None) => Map::new(),
        Ok(Some(Value::Object(fields))) => fields,
        Ok(Some(other)) => {
            return Err(CliError::usage(format!(
                "invalid --data: expected a JSON object such as '{{\"agent_id\": \"a7\"}}', got {other}"
            )));
        }
        Err(e) => return Err(CliError::usage(format!("invalid --data: not JSON: {e}"))),
    };
    fields.insert("event_type".into(), Value::String(args.event_type));
    fields.insert("call_id".into(), Value::String(args.call_id));
    let request: EventRequest = serde_json::from_value(Value::Object(fields))
        .map_err(|e| CliError::usage(format!("invalid --data: {e}")))?;
    Ok(request.into_incoming(EventSource::Cli, region)?)
}

impl Output {
    fn call(&self, call: &call_core::Call) -> String {
        let json = CallJson::from(call);
        if self.json { render::json(&json) } else { render::call(&json, self.zone) }
    }

    fn calls(&self, page: &call_core::ports::Page<call_core::Call>) -> String {
        let page = CallPage::from(page);
        if self.json {
            render::json(&page)
        } else {
            render::calls(&page.calls, page.next_cursor.as_deref(), self.zone)
        }
    }

    fn events(&self, events: &[call_core::CallEvent]) -> String {
        let list = EventList::from(events);
        if self.json { render::json(&list) } else { render::events(&list.events, self.zone) }
    }

    /// Every page of a number's history, as one page with no next.
    fn history(&self, number: &PhoneNumber, history: &HistoryPage) -> String {
        if self.json {
            render::json(history)
        } else {
            render::history(number, &history.records, self.zone)
        }
    }

    fn queues(&self, queues: &QueueList) -> String {
        if self.json { render::json(queues) } else { render::queues(&queues.queues, self.zone) }
    }

    fn removed(&self, id: &QueueId) -> String {
        if self.json {
            render::json(&Removed { removed: id.as_str().to_owned() })
        } else {
            format!("removed queue {id}\n")
        }
    }

    fn dispatch(&self, pauses: &[call_core::Pause]) -> String {
        let state = DispatchJson::new(pauses);
        if self.json { render::json(&state) } else { render::dispatch(&state, self.zone) }
    }

    fn stats(&self, stats: &StatsJson) -> String {
        if self.json { render::json(stats) } else { render::stats(stats) }
    }
}
