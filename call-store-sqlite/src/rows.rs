//! Between calls and events and their rows: the column lists, the values
//! the writer binds, and decoding from a row read by name ([`Named`]).

use call_core::{
    AgentId, Call, CallEvent, CallId, CallParts, CallStatus, Direction, DoNotCall, EndReason,
    EventId, EventSource, EventType, Flags, HeldKey, IdempotencyKey, Lease, Media, Occurrence,
    PhoneNumber, QueueId, Recurrence, Series, SeriesId, WorkerId, alerts::AlertRecord,
    ports::StoreError, rules::AlertKind,
};
use chrono::{DateTime, TimeZone, Utc};
use rusqlite::types::Value as Sql;
use serde_json::{Map, Value};

/// Every column of `calls`, in the order [`bind_call`] binds them.
pub(crate) const CALL_COLUMNS: &str = "id, direction, to_number, from_number, customer_name, \
    workflow, media, queue_id, agent_id, metadata, status, scheduled_at, external_id, attempts, \
    last_error, created_at, updated_at, initiated_at, routed_at, answered_at, held_at, ended_at, \
    wait_seconds, hold_seconds, duration_seconds, end_reason, flags, deadline_at, lease_worker, \
    lease_expires_at, series_id, occurrence, calling_window, redial, redial_attempt, redial_of, \
    redialed_as, version";

/// How many columns [`CALL_COLUMNS`] names; `version` is the last.
pub(crate) const N_CALL_COLUMNS: usize = 38;

/// Every column of `events` but `seq`, in the order [`bind_event`] binds them.
pub(crate) const EVENT_COLUMNS: &str =
    "id, call_id, type, timestamp, recorded_at, source, metadata";

/// How many columns [`EVENT_COLUMNS`] names.
pub(crate) const N_EVENT_COLUMNS: usize = 7;

pub(crate) fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn opt_micros(t: Option<DateTime<Utc>>) -> Option<i64> {
    t.map(micros)
}

fn json(map: &Map<String, Value>) -> String {
    Value::Object(map.clone()).to_string()
}

pub(crate) fn text(value: impl ToString) -> Sql {
    Sql::Text(value.to_string())
}

fn opt_text<T: ToString>(value: Option<T>) -> Sql {
    value.map_or(Sql::Null, text)
}

fn int(value: impl Into<i64>) -> Sql {
    Sql::Integer(value.into())
}

fn opt_int(value: Option<i64>) -> Sql {
    value.map_or(Sql::Null, Sql::Integer)
}

fn opt_real(value: Option<f64>) -> Sql {
    value.map_or(Sql::Null, Sql::Real)
}

/// Every column of `call`, in [`CALL_COLUMNS`] order.
pub(crate) fn call_values(call: &Call) -> [Sql; N_CALL_COLUMNS] {
    let p = call.parts();
    [
        text(&p.id),
        text(p.direction.as_str()),
        opt_text(p.to.as_ref()),
        opt_text(p.from.as_ref()),
        opt_text(p.customer_name.as_ref()),
        opt_text(p.workflow.as_ref()),
        text(p.media.as_str()),
        opt_text(p.queue_id.as_ref()),
        opt_text(p.agent_id.as_ref()),
        Sql::Text(json(&p.metadata)),
        text(p.status.as_str()),
        opt_int(opt_micros(p.scheduled_at)),
        opt_text(p.external_id.as_ref()),
        int(p.attempts),
        opt_text(p.last_error.as_ref()),
        int(micros(p.created_at)),
        int(micros(p.updated_at)),
        opt_int(opt_micros(p.initiated_at)),
        opt_int(opt_micros(p.routed_at)),
        opt_int(opt_micros(p.answered_at)),
        opt_int(opt_micros(p.held_at)),
        opt_int(opt_micros(p.ended_at)),
        opt_real(p.wait_seconds),
        opt_real(p.hold_seconds),
        opt_real(p.duration_seconds),
        opt_text(p.end_reason.map(EndReason::as_str)),
        int(p.flags.bits()),
        opt_int(opt_micros(p.deadline_at)),
        opt_text(p.lease.as_ref().map(|l| &l.worker)),
        opt_int(p.lease.as_ref().map(|l| micros(l.expires_at))),
        opt_text(p.occurrence.as_ref().map(|o| &o.series_id)),
        opt_int(p.occurrence.as_ref().map(|o| i64::from(o.number))),
        opt_text(p.calling_window.as_ref()),
        opt_text(p.redial.as_ref()),
        int(p.redial_attempt),
        opt_text(p.redial_of.as_ref()),
        opt_text(p.redialed_as.as_ref()),
        int(p_version(p)),
    ]
}

/// The columns (positions in [`CALL_COLUMNS`]) whose values differ between
/// two versions of a call.
pub(crate) fn changed_columns(before: &Call, after: &Call) -> Vec<usize> {
    let (before, after) = (call_values(before), call_values(after));
    (0..N_CALL_COLUMNS).filter(|&i| before[i] != after[i]).collect()
}

fn p_version(p: &CallParts) -> i64 {
    i64::try_from(p.version).unwrap_or(i64::MAX)
}

/// Every column of `event`, in [`EVENT_COLUMNS`] order.
pub(crate) fn event_values(event: &CallEvent) -> [Sql; N_EVENT_COLUMNS] {
    [
        text(event.id()),
        text(event.call_id()),
        text(event.event_type().as_str()),
        int(micros(event.timestamp())),
        int(micros(event.recorded_at())),
        text(event.source().as_str()),
        Sql::Text(json(event.metadata())),
    ]
}

/// How many of `calls` are in each status: what an insert adds to
/// `call_counts` (migration 0011). A change of status is counted by the
/// table's trigger; an insert is counted by the writer, once per insert,
/// because a trigger would run once per row (it cost `schedule_many` of
/// 100,000 calls 40 % of its rate).
pub(crate) fn status_counts<'c>(
    calls: impl IntoIterator<Item = &'c Call>,
) -> Vec<(&'static str, i64)> {
    let mut counts: Vec<(&'static str, i64)> = Vec::new();
    for call in calls {
        let status = call.status().as_str();
        match counts.iter_mut().find(|(s, _)| *s == status) {
            Some((_, n)) => *n += 1,
            None => counts.push((status, 1)),
        }
    }
    counts
}

/// Adds `?2` calls to the count of status `?1`.
pub(crate) const ADD_TO_COUNT: &str = "INSERT INTO call_counts (status, n) VALUES (?1, ?2) \
     ON CONFLICT (status) DO UPDATE SET n = n + excluded.n";

/// A stored value the code cannot read: the file was written by something else.
pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("unreadable {what} in the database: {detail}").into())
}

/// A row read by column name, through a map made once per statement:
/// rusqlite looks a name up by comparing it with every column's name
/// through SQLite, which cost a claim of 1,000 calls milliseconds (38
/// columns a row). The writer's and the readers' rows decode through it.
pub(crate) struct Named<'r> {
    pub(crate) row: &'r rusqlite::Row<'r>,
    pub(crate) columns: &'r ColumnIndex,
}

/// Where each column of a statement's rows is, by name.
pub(crate) struct ColumnIndex(std::collections::HashMap<String, usize>);

impl ColumnIndex {
    pub(crate) fn of(statement: &rusqlite::Statement<'_>) -> ColumnIndex {
        ColumnIndex(
            statement
                .column_names()
                .into_iter()
                .enumerate()
                .map(|(i, n)| (n.to_owned(), i))
                .collect(),
        )
    }
}

impl Named<'_> {
    fn get<T: rusqlite::types::FromSql>(&self, column: &str) -> Result<T, StoreError> {
        let index = *self.columns.0.get(column).ok_or_else(|| corrupt(column, "no such column"))?;
        self.row.get(index).map_err(|e| corrupt(column, e))
    }

    pub(crate) fn int(&self, column: &str) -> Result<Option<i64>, StoreError> {
        self.get(column)
    }

    pub(crate) fn real(&self, column: &str) -> Result<Option<f64>, StoreError> {
        self.get(column)
    }

    pub(crate) fn text(&self, column: &str) -> Result<Option<String>, StoreError> {
        self.get(column)
    }
}

/// A statement built a piece at a time, with the values its `?` bind.
#[derive(Debug, Default)]
pub(crate) struct Statement {
    pub(crate) sql: String,
    pub(crate) params: Vec<Sql>,
}

impl Statement {
    pub(crate) fn new(sql: impl Into<String>) -> Statement {
        Statement { sql: sql.into(), params: Vec::new() }
    }

    pub(crate) fn push(&mut self, sql: impl AsRef<str>) -> &mut Statement {
        self.sql.push_str(sql.as_ref());
        self
    }

    /// A `?` bound to `value`.
    pub(crate) fn push_bind(&mut self, value: impl Into<Sql>) -> &mut Statement {
        self.sql.push('?');
        self.params.push(value.into());
        self
    }
}

pub(crate) fn required<T>(value: Option<T>, column: &str) -> Result<T, StoreError> {
    value.ok_or_else(|| corrupt(column, "NULL"))
}

pub(crate) fn int_of(row: &Named<'_>, column: &str) -> Result<i64, StoreError> {
    required(row.int(column)?, column)
}

pub(crate) fn text_of(row: &Named<'_>, column: &str) -> Result<String, StoreError> {
    required(row.text(column)?, column)
}

fn time(value: i64, column: &str) -> Result<DateTime<Utc>, StoreError> {
    Utc.timestamp_micros(value).single().ok_or_else(|| corrupt(column, value))
}

pub(crate) fn time_of(row: &Named<'_>, column: &str) -> Result<DateTime<Utc>, StoreError> {
    time(int_of(row, column)?, column)
}

pub(crate) fn opt_time(row: &Named<'_>, column: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    row.int(column)?.map(|v| time(v, column)).transpose()
}

pub(crate) fn parsed<T, E: std::fmt::Display>(
    row: &Named<'_>,
    column: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, StoreError> {
    let text = text_of(row, column)?;
    parse(&text).map_err(|e| corrupt(column, e))
}

fn opt_parsed<T, E: std::fmt::Display>(
    row: &Named<'_>,
    column: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, StoreError> {
    let text = row.text(column)?;
    text.map(|t| parse(&t).map_err(|e| corrupt(column, e))).transpose()
}

/// A count: a non-negative integer that fits `T`.
pub(crate) fn count_of<T: TryFrom<i64>>(row: &Named<'_>, column: &str) -> Result<T, StoreError>
where
    T::Error: std::fmt::Display,
{
    T::try_from(int_of(row, column)?).map_err(|e| corrupt(column, e))
}

fn metadata(row: &Named<'_>, column: &str) -> Result<Map<String, Value>, StoreError> {
    parsed(row, column, |text| match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("not a JSON object".to_owned()),
        Err(e) => Err(e.to_string()),
    })
}

/// A held key from a row of `idempotency_keys`.
pub(crate) fn held_key_from_row(row: &Named<'_>) -> Result<HeldKey, StoreError> {
    Ok(HeldKey {
        key: parsed(row, "key", |k| IdempotencyKey::parse(k))?,
        fingerprint: text_of(row, "fingerprint")?,
        call_id: parsed(row, "call_id", |id| CallId::parse(id))?,
        expires_at: time_of(row, "expires_at")?,
    })
}

/// A call from a row holding [`CALL_COLUMNS`].
pub(crate) fn call_from_row(row: &Named<'_>) -> Result<Call, StoreError> {
    let lease = match (row.text("lease_worker")?, opt_time(row, "lease_expires_at")?) {
        (Some(worker), Some(expires_at)) => Some(Lease {
            worker: WorkerId::parse(worker).map_err(|e| corrupt("lease_worker", e))?,
            expires_at,
        }),
        _ => None,
    };
    Ok(Call::from_parts(CallParts {
        id: parsed(row, "id", |s| CallId::parse(s))?,
        direction: parsed(row, "direction", Direction::parse)?,
        to: opt_parsed(row, "to_number", PhoneNumber::from_e164)?,
        from: opt_parsed(row, "from_number", PhoneNumber::from_e164)?,
        customer_name: row.text("customer_name")?,
        workflow: row.text("workflow")?,
        media: parsed(row, "media", Media::parse)?,
        queue_id: opt_parsed(row, "queue_id", |s| QueueId::parse(s))?,
        agent_id: opt_parsed(row, "agent_id", |s| AgentId::parse(s))?,
        metadata: metadata(row, "metadata")?,
        status: parsed(row, "status", CallStatus::parse)?,
        scheduled_at: opt_time(row, "scheduled_at")?,
        external_id: row.text("external_id")?,
        attempts: count_of(row, "attempts")?,
        last_error: row.text("last_error")?,
        created_at: time_of(row, "created_at")?,
        updated_at: time_of(row, "updated_at")?,
        initiated_at: opt_time(row, "initiated_at")?,
        routed_at: opt_time(row, "routed_at")?,
        answered_at: opt_time(row, "answered_at")?,
        held_at: opt_time(row, "held_at")?,
        ended_at: opt_time(row, "ended_at")?,
        wait_seconds: row.real("wait_seconds")?,
        hold_seconds: row.real("hold_seconds")?,
        duration_seconds: row.real("duration_seconds")?,
        end_reason: opt_parsed(row, "end_reason", EndReason::parse)?,
        flags: Flags::from_bits(count_of(row, "flags")?),
        deadline_at: opt_time(row, "deadline_at")?,
        lease,
        occurrence: occurrence(row)?,
        calling_window: opt_parsed(row, "calling_window", str::parse)?,
        redial: opt_parsed(row, "redial", str::parse)?,
        redial_attempt: count_of(row, "redial_attempt")?,
        redial_of: opt_parsed(row, "redial_of", |s| CallId::parse(s))?,
        redialed_as: opt_parsed(row, "redialed_as", |s| CallId::parse(s))?,
        version: count_of(row, "version")?,
    }))
}

/// A do-not-call entry from a row of `do_not_call`.
pub(crate) fn do_not_call_from_row(row: &Named<'_>) -> Result<DoNotCall, StoreError> {
    Ok(DoNotCall {
        phone: parsed(row, "phone", PhoneNumber::from_e164)?,
        added_at: time_of(row, "added_at")?,
        reason: row.text("reason")?,
    })
}

fn occurrence(row: &Named<'_>) -> Result<Option<Occurrence>, StoreError> {
    let Some(series_id) = opt_parsed(row, "series_id", |s| SeriesId::parse(s))? else {
        return Ok(None);
    };
    Ok(Some(Occurrence { series_id, number: count_of(row, "occurrence")? }))
}

macro_rules! series_columns {
    () => {
        "id, cron, time_zone, count, until, created_at, canceled_at, occurrences"
    };
}

/// Every column of `series`.
pub(crate) const SERIES_COLUMNS: &str = series_columns!();

/// The series with id `?`.
pub(crate) const SERIES_BY_ID: &str =
    concat!("SELECT ", series_columns!(), " FROM series WHERE id = ?");

/// The series with ids before `?` (every id sorts before U+FFFF, which
/// serves for the first page), newest first, at most `?`.
pub(crate) const SERIES_PAGE: &str =
    concat!("SELECT ", series_columns!(), " FROM series WHERE id < ? ORDER BY id DESC LIMIT ?");

/// Marks series `?2` canceled at `?1` unless it was; answers it.
pub(crate) const CANCEL_SERIES: &str = concat!(
    "UPDATE series SET canceled_at = coalesce(canceled_at, ?) WHERE id = ? RETURNING ",
    series_columns!()
);

/// Every column of `series`, in [`SERIES_COLUMNS`] order.
pub(crate) fn series_values(series: &Series) -> [Sql; 8] {
    let r = &series.recurrence;
    [
        text(&series.id),
        text(r.cron()),
        text(r.time_zone().name()),
        opt_int(r.count().map(i64::from)),
        opt_int(opt_micros(r.until())),
        int(micros(series.created_at)),
        opt_int(opt_micros(series.canceled_at)),
        int(series.occurrences),
    ]
}

/// A series from a row holding [`SERIES_COLUMNS`].
pub(crate) fn series_from_row(row: &Named<'_>) -> Result<Series, StoreError> {
    let count: Option<i64> = row.int("count")?;
    let count = count.map(u32::try_from).transpose().map_err(|e| corrupt("count", e))?;
    let cron = text_of(row, "cron")?;
    let time_zone = text_of(row, "time_zone")?;
    let recurrence = Recurrence::new(&cron, &time_zone, count, opt_time(row, "until")?)
        .map_err(|e| corrupt("series", e))?;
    Ok(Series {
        id: parsed(row, "id", |s| SeriesId::parse(s))?,
        recurrence,
        created_at: time_of(row, "created_at")?,
        canceled_at: opt_time(row, "canceled_at")?,
        occurrences: count_of(row, "occurrences")?,
    })
}

/// An event from a row holding [`EVENT_COLUMNS`].
pub(crate) fn event_from_row(row: &Named<'_>) -> Result<CallEvent, StoreError> {
    Ok(CallEvent::new(
        parsed(row, "id", |s| EventId::parse(s))?,
        parsed(row, "call_id", |s| CallId::parse(s))?,
        parsed(row, "type", EventType::parse)?,
        time_of(row, "timestamp")?,
        time_of(row, "recorded_at")?,
        parsed(row, "source", EventSource::parse)?,
        metadata(row, "metadata")?,
    ))
}

/// The columns of `alerts`, in the order [`alert_values`] and
/// [`alert_from_row`] take them.
pub(crate) const ALERT_COLUMNS: &str = "id, call_id, kind, raised_at, queue_id, agent_id, seconds, \
     threshold_seconds, acknowledged_at, acknowledged_by, closed_at, closed_by";

/// Every column of a raised alert, in [`ALERT_COLUMNS`] order.
pub(crate) fn alert_values(alert: &AlertRecord) -> [Sql; 12] {
    [
        text(&alert.id),
        text(&alert.call_id),
        text(alert.kind.as_str()),
        int(micros(alert.raised_at)),
        opt_text(alert.queue_id.as_ref()),
        opt_text(alert.agent_id.as_ref()),
        Sql::Real(alert.seconds),
        Sql::Real(alert.threshold_seconds),
        opt_int(opt_micros(alert.acknowledged_at)),
        opt_text(alert.acknowledged_by.as_ref()),
        opt_int(opt_micros(alert.closed_at)),
        opt_text(alert.closed_by.map(|t| t.as_str())),
    ]
}

/// Acknowledges alert `?3` by `?2` at `?1`, unless it was.
pub(crate) const ACKNOWLEDGE_ALERT: &str = "UPDATE alerts SET acknowledged_at = ?1, \
     acknowledged_by = ?2 WHERE id = ?3 AND acknowledged_at IS NULL";

/// Closes the open alerts of call `?3` of the `n_kinds` kinds bound after
/// it, at `?1` by event type `?2`, on the partial index of open alerts by
/// call (see the plan check).
pub(crate) fn close_alerts(n_kinds: usize) -> String {
    let kinds = vec!["?"; n_kinds.max(1)].join(", ");
    format!(
        "UPDATE alerts INDEXED BY alerts_open_of_call SET closed_at = ?1, closed_by = ?2 \
         WHERE call_id = ?3 AND closed_at IS NULL AND kind IN ({kinds})"
    )
}

pub(crate) fn alert_from_row(row: &Named<'_>) -> Result<AlertRecord, StoreError> {
    Ok(AlertRecord {
        id: parsed(row, "id", |t| EventId::parse(t))?,
        call_id: parsed(row, "call_id", |t| CallId::parse(t))?,
        kind: parsed(row, "kind", AlertKind::parse)?,
        raised_at: time_of(row, "raised_at")?,
        queue_id: opt_parsed(row, "queue_id", |q| QueueId::parse(q))?,
        agent_id: opt_parsed(row, "agent_id", |a| AgentId::parse(a))?,
        seconds: required(row.real("seconds")?, "seconds")?,
        threshold_seconds: required(row.real("threshold_seconds")?, "threshold_seconds")?,
        acknowledged_at: opt_time(row, "acknowledged_at")?,
        acknowledged_by: row.text("acknowledged_by")?,
        closed_at: opt_time(row, "closed_at")?,
        closed_by: opt_parsed(row, "closed_by", EventType::parse)?,
    })
}
