//! Human output: tables, a call's fields, a timeline. JSON output is the
//! `call-wire` shapes, pretty-printed.

use call_core::PhoneNumber;
use call_wire::{
    ActivityJson, AlertJson, AlertsPage, AttemptsJson, CallJson, CallingWindowJson, DispatchJson,
    DoNotCallJson, DoNotCallPage, EventJson, HistoryJson, QueueJson, RedialJson, SeriesJson,
    SeriesPage, StatsJson,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::{
    table::Table,
    when::{Zone, show_seconds},
};

/// How a command's answer is printed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Output {
    /// JSON instead of tables.
    pub(crate) json: bool,
    /// The zone times are shown in.
    pub(crate) zone: Zone,
}

/// Pretty JSON and a newline.
pub(crate) fn json<T: Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("the wire shapes serialize");
    text.push('\n');
    text
}

const NONE: &str = "-";

fn or_none(value: Option<&str>) -> String {
    value.unwrap_or(NONE).to_owned()
}

fn seconds(value: Option<f64>) -> String {
    value.map_or_else(|| NONE.to_owned(), show_seconds)
}

/// The number on the other end from us: the callee of an outbound call,
/// the caller of an inbound one.
fn number(call: &CallJson) -> Option<&str> {
    if call.direction == "inbound" {
        call.from.as_deref().or(call.to.as_deref())
    } else {
        call.to.as_deref()
    }
}

/// The time that best says where a call is: when it is due while it waits,
/// else when it started.
fn when(call: &CallJson) -> Option<DateTime<Utc>> {
    if call.status == "scheduled" || call.status == "canceled" {
        call.scheduled_at
    } else {
        call.initiated_at.or(call.scheduled_at).or(Some(call.created_at))
    }
}

/// Calls as a table, and where the next page starts.
pub(crate) fn calls(calls: &[CallJson], next_cursor: Option<&str>, zone: Zone) -> String {
    if calls.is_empty() {
        return "no calls\n".to_owned();
    }
    let mut table =
        Table::new(&["ID", "DIR", "NUMBER", "NAME", "STATUS", "DUE/STARTED", "DURATION", "FLAGS"]);
    for call in calls {
        table.row(vec![
            call.id.clone(),
            if call.direction == "inbound" { "in" } else { "out" }.to_owned(),
            or_none(number(call)),
            or_none(call.customer_name.as_deref()),
            call.status.clone(),
            when(call).map_or_else(|| NONE.to_owned(), |t| zone.show(t)),
            seconds(call.duration_seconds),
            if call.flags.is_empty() { NONE.to_owned() } else { call.flags.join(",") },
        ]);
    }
    let mut out = table.render();
    if let Some(cursor) = next_cursor {
        out.push_str(&format!("more: --cursor {cursor}\n"));
    }
    out
}

/// One call, a field a line.
pub(crate) fn call(call: &CallJson, zone: Zone) -> String {
    let time = |t: Option<DateTime<Utc>>| t.map(|t| zone.show(t));
    let text = |s: &Option<String>| s.clone();
    let fields: Vec<(&str, Option<String>)> = vec![
        ("id", Some(call.id.clone())),
        ("status", Some(call.status.clone())),
        ("direction", Some(call.direction.clone())),
        ("to", text(&call.to)),
        ("from", text(&call.from)),
        ("name", text(&call.customer_name)),
        ("workflow", text(&call.workflow)),
        ("media", Some(call.media.clone())),
        ("queue", text(&call.queue_id)),
        ("agent", text(&call.agent_id)),
        ("scheduled", time(call.scheduled_at)),
        ("initiated", time(call.initiated_at)),
        ("answered", time(call.answered_at)),
        ("ended", time(call.ended_at)),
        ("wait", call.wait_seconds.map(show_seconds)),
        ("hold", call.hold_seconds.map(show_seconds)),
        ("duration", call.duration_seconds.map(show_seconds)),
        ("end reason", text(&call.end_reason)),
        ("flags", (!call.flags.is_empty()).then(|| call.flags.join(", "))),
        ("provider id", text(&call.external_id)),
        ("attempts", (call.attempts > 0).then(|| call.attempts.to_string())),
        ("last error", text(&call.last_error)),
        (
            "metadata",
            (!call.metadata.is_empty()).then(|| Value::Object(call.metadata.clone()).to_string()),
        ),
        (
            "series",
            call.series_id.as_ref().map(|s| match call.occurrence {
                Some(n) => format!("{s} (call {n})"),
                None => s.clone(),
            }),
        ),
        ("window", call.calling_window.as_ref().map(window)),
        ("redial", call.redial.as_ref().map(redial)),
        (
            "attempt",
            (call.redial.is_some() || call.redial_attempt > 1).then(|| {
                match (&call.redial, &call.redial_of) {
                    (Some(r), Some(of)) => {
                        format!("{} of {}, redials {of}", call.redial_attempt, r.max_attempts)
                    }
                    (Some(r), None) => format!("{} of {}", call.redial_attempt, r.max_attempts),
                    (None, _) => call.redial_attempt.to_string(),
                }
            }),
        ),
        ("redialed as", text(&call.redialed_as)),
        ("created", Some(zone.show(call.created_at))),
        ("updated", Some(zone.show(call.updated_at))),
        ("version", Some(call.version.to_string())),
    ];
    let width = fields.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (name, value) in fields {
        if let Some(value) = value {
            out.push_str(&format!("{name:<width$}  {value}\n"));
        }
    }
    out
}

/// The attempts redials link, one a line, and the outcome of them all:
/// printed under a call that has more than one.
pub(crate) fn attempts(attempts: &AttemptsJson, zone: Zone) -> String {
    if attempts.attempts.len() < 2 {
        return String::new();
    }
    let mut table = Table::new(&["ATTEMPT", "WHEN", "OUTCOME", "CALL"]);
    for call in &attempts.attempts {
        table.row(vec![
            call.redial_attempt.to_string(),
            when(call).map_or_else(|| NONE.to_owned(), |t| zone.show(t)),
            call.status.clone(),
            call.id.clone(),
        ]);
    }
    let outcome = match &attempts.outcome {
        Some(outcome) => format!("final outcome: {outcome}"),
        None => "final outcome: not yet known, an attempt is still to come".to_owned(),
    };
    format!("\n{}{outcome}\n", table.render())
}

/// A redial policy as people read it: `busy, no_answer: up to 3 attempts, 10m apart`.
fn redial(r: &RedialJson) -> String {
    format!("{}: up to {} attempts, {} apart", r.on.join(", "), r.max_attempts, r.delay)
}

/// A call's audit log as a timeline: when, how long after the first
/// event, what, who said so, and its fields.
pub(crate) fn events(events: &[EventJson], zone: Zone) -> String {
    let Some(first) = events.first() else { return "no events\n".to_owned() };
    let mut table = Table::new(&["TIME", "AFTER", "EVENT", "SOURCE", "DETAILS"]);
    for event in events {
        let after = (event.timestamp - first.timestamp).num_milliseconds() as f64 / 1000.0;
        let details: Vec<String> = event
            .metadata
            .iter()
            .map(|(key, value)| match value {
                Value::String(s) => format!("{key}={s}"),
                other => format!("{key}={other}"),
            })
            .collect();
        table.row(vec![
            zone.show_precise(event.timestamp),
            format!("+{}", show_seconds(after.max(0.0))),
            event.event_type.clone(),
            event.source.clone(),
            details.join(" "),
        ]);
    }
    table.render()
}

/// A number's history: the four record types of DESIGN §2.
pub(crate) fn history(number: &PhoneNumber, records: &[HistoryJson], zone: Zone) -> String {
    if records.is_empty() {
        return format!("no calls for {number}\n");
    }
    let mut table = Table::new(&["WHEN", "TYPE", "OUTCOME", "COUNTERPARTY", "DURATION", "CALL"]);
    for record in records {
        let outcome = match record.redial_attempt {
            1 => record.outcome.clone(),
            n => format!("{} (attempt {n})", record.outcome),
        };
        table.row(vec![
            zone.show(record.created_at),
            record.record_type.clone(),
            outcome,
            or_none(record.counterparty.as_deref()),
            seconds(record.duration),
            record.call_id.clone(),
        ]);
    }
    format!("history of {number}\n{}", table.render())
}

/// The queue registry.
pub(crate) fn queues(queues: &[QueueJson], zone: Zone) -> String {
    if queues.is_empty() {
        return "no queues\n".to_owned();
    }
    let mut table = Table::new(&["QUEUE", "ADDED"]);
    for queue in queues {
        table.row(vec![queue.id.clone(), zone.show(queue.created_at)]);
    }
    table.render()
}

/// Whether calls are being placed, and the pauses in force.
pub(crate) fn dispatch(state: &DispatchJson, zone: Zone) -> String {
    let mut text = match (state.paused, state.pauses.len()) {
        (true, _) => "dispatch: paused: no call is placed\n".to_owned(),
        (false, 0) => "dispatch: running: due calls are placed\n".to_owned(),
        (false, _) => "dispatch: running, but for the paused queues below\n".to_owned(),
    };
    if !state.pauses.is_empty() {
        let mut table = Table::new(&["PAUSED", "SINCE", "UNTIL"]);
        for pause in &state.pauses {
            table.row(vec![
                pause
                    .queue_id
                    .as_ref()
                    .map_or_else(|| "every call".to_owned(), |q| format!("queue {q}")),
                zone.show(pause.paused_at),
                pause.until.map_or_else(|| "resumed".to_owned(), |t| zone.show(t)),
            ]);
        }
        text.push('\n');
        text.push_str(&table.render());
    }
    text
}

/// A calling window as people read it: `09:00-20:00 mon-fri in
/// America/New_York`, or `in the number's zones` without a zone of its own.
fn window(w: &CallingWindowJson) -> String {
    let hours = format!(
        "{}-{}",
        w.start.as_deref().unwrap_or("00:00"),
        w.end.as_deref().unwrap_or("24:00")
    );
    let days = w.days.as_ref().map_or_else(|| "every day".to_owned(), |d| d.join(","));
    let zone = w.time_zone.as_deref().unwrap_or("the number's zones");
    format!("{hours} {days} in {zone}")
}

/// How often a series repeats and how it ends: `0 9 * * MON-FRI in
/// Europe/Paris, 10 calls`.
fn repeats(series: &SeriesJson) -> String {
    let r = &series.recurrence;
    let mut text = format!("{} in {}", r.cron, r.time_zone);
    if let Some(count) = r.count {
        text.push_str(&format!(", {count} calls"));
    }
    if let Some(until) = &r.until {
        text.push_str(&format!(", until {until}"));
    }
    text
}

/// Recurring series as a table, and where the next page starts.
pub(crate) fn series_list(page: &SeriesPage, zone: Zone) -> String {
    if page.series.is_empty() {
        return "no series\n".to_owned();
    }
    let mut table = Table::new(&["SERIES", "REPEATS", "MADE", "CREATED", "CANCELED"]);
    for series in &page.series {
        table.row(vec![
            series.id.clone(),
            repeats(series),
            series.occurrences.to_string(),
            zone.show(series.created_at),
            series.canceled_at.map_or_else(|| NONE.to_owned(), |t| zone.show(t)),
        ]);
    }
    let mut out = table.render();
    if let Some(cursor) = &page.next_cursor {
        out.push_str(&format!("more: --cursor {cursor}\n"));
    }
    out
}

/// A do-not-call entry, on one line.
pub(crate) fn do_not_call_entry(entry: &DoNotCallJson, zone: Zone) -> String {
    let reason = entry.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
    format!(
        "{} is on the do-not-call list since {}{reason}\n",
        entry.phone_number,
        zone.show(entry.added_at)
    )
}

/// A page of the do-not-call list.
pub(crate) fn do_not_call_list(page: &DoNotCallPage, zone: Zone) -> String {
    if page.entries.is_empty() {
        return "the do-not-call list is empty\n".to_owned();
    }
    let mut table = Table::new(&["NUMBER", "LISTED", "REASON"]);
    for entry in &page.entries {
        table.row(vec![
            entry.phone_number.clone(),
            zone.show(entry.added_at),
            or_none(entry.reason.as_deref()),
        ]);
    }
    let mut out = table.render();
    if let Some(cursor) = &page.next_cursor {
        out.push_str(&format!("more: --cursor {cursor}\n"));
    }
    out
}

/// A page of alerts, newest first.
pub(crate) fn alerts(page: &AlertsPage, zone: Zone) -> String {
    if page.alerts.is_empty() {
        return "no alerts\n".to_owned();
    }
    alerts_of(&page.alerts, page.next_cursor.as_deref(), zone)
}

/// Alerts as a table, and where the next page starts.
pub(crate) fn alerts_of(alerts: &[AlertJson], next_cursor: Option<&str>, zone: Zone) -> String {
    let mut table =
        Table::new(&["ID", "KIND", "RAISED", "CALL", "QUEUE", "FIGURE", "ACKNOWLEDGED", "CLOSED"]);
    for alert in alerts {
        table.row(vec![
            alert.id.clone(),
            alert.kind.clone(),
            zone.show(alert.raised_at),
            alert.call_id.clone(),
            or_none(alert.queue_id.as_deref()),
            format!(
                "{} (limit {})",
                show_seconds(alert.seconds),
                show_seconds(alert.threshold_seconds)
            ),
            match (&alert.acknowledged_by, alert.acknowledged_at) {
                (Some(by), Some(at)) => format!("{by}, {}", zone.show(at)),
                _ => NONE.to_owned(),
            },
            match (&alert.closed_by, alert.closed_at) {
                (Some(by), Some(at)) => format!("{by}, {}", zone.show(at)),
                _ => "open".to_owned(),
            },
        ]);
    }
    let mut out = table.render();
    if let Some(cursor) = next_cursor {
        out.push_str(&format!("more: --cursor {cursor}\n"));
    }
    out
}

/// One series, a field a line, then its calls.
pub(crate) fn series(series: &SeriesJson, calls: &[CallJson], zone: Zone) -> String {
    let mut out = format!(
        "id        {}\nrepeats   {}\nmade      {} calls\ncreated   {}\n",
        series.id,
        repeats(series),
        series.occurrences,
        zone.show(series.created_at)
    );
    if let Some(canceled) = series.canceled_at {
        out.push_str(&format!("canceled  {}\n", zone.show(canceled)));
    }
    if !calls.is_empty() {
        out.push('\n');
        out.push_str(&self::calls(calls, None, zone));
    }
    out
}

/// The last minutes, oldest first: outcomes and placement lateness.
pub(crate) fn activity(activity: &ActivityJson, zone: Zone) -> String {
    // Lateness is usually milliseconds: shown to the millisecond under a minute.
    let late = |v: Option<f64>| match v {
        None => NONE.to_owned(),
        Some(v) if v < 60.0 => format!("{v:.3}s"),
        Some(v) => show_seconds(v),
    };
    let mut table = Table::new(&[
        "MINUTE",
        "COMPLETED",
        "MISSED",
        "FAILED",
        "PLACED",
        "AVG LATENESS",
        "MAX LATENESS",
    ]);
    for m in &activity.minutes {
        table.row(vec![
            zone.show(m.minute),
            m.completed.to_string(),
            m.missed.to_string(),
            m.failed.to_string(),
            m.placed.to_string(),
            late(m.average_lateness_seconds),
            late(m.max_lateness_seconds),
        ]);
    }
    table.render()
}

/// Queue and agent metrics.
pub(crate) fn stats(stats: &StatsJson) -> String {
    let percent =
        |v: Option<f64>| v.map_or_else(|| NONE.to_owned(), |v| format!("{:.0}%", v * 100.0));
    let mut queues = Table::new(&[
        "QUEUE",
        "OFFERED",
        "ANSWERED",
        "ABANDONED",
        "SERVICE LEVEL",
        "AVG ANSWER",
        "AVG HOLD",
    ]);
    for q in &stats.queues {
        queues.row(vec![
            q.queue_id.clone(),
            q.offered.to_string(),
            q.answered.to_string(),
            q.abandoned.to_string(),
            percent(q.service_level),
            seconds(q.average_speed_of_answer),
            seconds(q.average_hold_seconds),
        ]);
    }
    let mut agents = Table::new(&["AGENT", "ANSWERED", "AVG WAIT", "AVG TALK", "HOLD", "REROUTES"]);
    for a in &stats.agents {
        agents.row(vec![
            a.agent_id.clone(),
            a.answered.to_string(),
            seconds(a.average_wait_seconds),
            seconds(a.average_talk_seconds),
            show_seconds(a.hold_seconds),
            a.reroutes.to_string(),
        ]);
    }
    let mut out =
        if queues.is_empty() { "no queue activity\n".to_owned() } else { queues.render() };
    out.push('\n');
    out.push_str(&if agents.is_empty() {
        "no agent activity\n".to_owned()
    } else {
        agents.render()
    });
    out
}
