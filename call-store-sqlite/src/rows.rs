//! Between calls and events and their rows: the column lists, binding, decoding.

use call_core::{
    AgentId, Call, CallEvent, CallId, CallParts, CallStatus, Direction, DoNotCall, EndReason,
    EventId, EventSource, EventType, Flags, HeldKey, IdempotencyKey, Lease, Media, Occurrence,
    PhoneNumber, QueueId, Recurrence, Series, SeriesId, WorkerId,
    alerts::{AlertRecord, AlertWrites},
    ports::StoreError,
    rules::AlertKind,
};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Map, Value};
use sqlx::{QueryBuilder, Row, Sqlite, query_builder::Separated, sqlite::SqliteRow};

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

/// Binds every column of `call`, in [`CALL_COLUMNS`] order.
pub(crate) fn bind_call(b: &mut Separated<'_, Sqlite, &str>, call: &Call) {
    let p = call.parts();
    b.push_bind(p.id.to_string())
        .push_bind(p.direction.as_str())
        .push_bind(p.to.as_ref().map(ToString::to_string))
        .push_bind(p.from.as_ref().map(ToString::to_string))
        .push_bind(p.customer_name.clone())
        .push_bind(p.workflow.clone())
        .push_bind(p.media.as_str())
        .push_bind(p.queue_id.as_ref().map(ToString::to_string))
        .push_bind(p.agent_id.as_ref().map(ToString::to_string))
        .push_bind(json(&p.metadata))
        .push_bind(p.status.as_str())
        .push_bind(opt_micros(p.scheduled_at))
        .push_bind(p.external_id.clone())
        .push_bind(i64::from(p.attempts))
        .push_bind(p.last_error.clone())
        .push_bind(micros(p.created_at))
        .push_bind(micros(p.updated_at))
        .push_bind(opt_micros(p.initiated_at))
        .push_bind(opt_micros(p.routed_at))
        .push_bind(opt_micros(p.answered_at))
        .push_bind(opt_micros(p.held_at))
        .push_bind(opt_micros(p.ended_at))
        .push_bind(p.wait_seconds)
        .push_bind(p.hold_seconds)
        .push_bind(p.duration_seconds)
        .push_bind(p.end_reason.map(EndReason::as_str))
        .push_bind(i64::from(p.flags.bits()))
        .push_bind(opt_micros(p.deadline_at))
        .push_bind(p.lease.as_ref().map(|l| l.worker.to_string()))
        .push_bind(p.lease.as_ref().map(|l| micros(l.expires_at)))
        .push_bind(p.occurrence.as_ref().map(|o| o.series_id.to_string()))
        .push_bind(p.occurrence.as_ref().map(|o| i64::from(o.number)))
        .push_bind(p.calling_window.as_ref().map(ToString::to_string))
        .push_bind(p.redial.as_ref().map(ToString::to_string))
        .push_bind(i64::from(p.redial_attempt))
        .push_bind(p.redial_of.as_ref().map(ToString::to_string))
        .push_bind(p.redialed_as.as_ref().map(ToString::to_string))
        .push_bind(p_version(p));
}

fn p_version(p: &CallParts) -> i64 {
    i64::try_from(p.version).unwrap_or(i64::MAX)
}

/// Binds every column of `event`, in [`EVENT_COLUMNS`] order.
pub(crate) fn bind_event(b: &mut Separated<'_, Sqlite, &str>, event: &CallEvent) {
    b.push_bind(event.id().to_string())
        .push_bind(event.call_id().to_string())
        .push_bind(event.event_type().as_str())
        .push_bind(micros(event.timestamp()))
        .push_bind(micros(event.recorded_at()))
        .push_bind(event.source().as_str())
        .push_bind(json(event.metadata()));
}

/// `INSERT INTO calls … VALUES …` for `calls`, one multi-row statement,
/// then their statuses added to `call_counts` ([`push_counts`]).
pub(crate) fn insert_calls(calls: &[Call]) -> QueryBuilder<Sqlite> {
    let mut b = QueryBuilder::new(format!("INSERT INTO calls ({CALL_COLUMNS}) "));
    b.push_values(calls, |mut row, call| bind_call(&mut row, call));
    b.push("; ");
    push_counts(&mut b, calls);
    b
}

/// Adds new calls to the counts of their statuses (`call_counts`,
/// migration 0011), one statement for any number of calls: every insert
/// into `calls` goes through here or [`insert_calls`], in the insert's
/// transaction. A change of status is counted by the table's trigger; an
/// insert is counted here because a trigger would run once per row (it
/// cost `schedule_many` of 100,000 calls 40 % of its rate).
pub(crate) fn push_counts<'c>(
    b: &mut QueryBuilder<Sqlite>,
    calls: impl IntoIterator<Item = &'c Call>,
) {
    let mut counts: Vec<(&'static str, i64)> = Vec::new();
    for call in calls {
        let status = call.status().as_str();
        match counts.iter_mut().find(|(s, _)| *s == status) {
            Some((_, n)) => *n += 1,
            None => counts.push((status, 1)),
        }
    }
    if counts.is_empty() {
        return;
    }
    b.push("INSERT INTO call_counts (status, n) ");
    b.push_values(counts, |mut row, (status, n)| {
        row.push_bind(status).push_bind(n);
    });
    b.push(" ON CONFLICT (status) DO UPDATE SET n = n + excluded.n; ");
}

/// `INSERT INTO events … VALUES …` for `events`, one multi-row statement.
pub(crate) fn insert_events(events: &[CallEvent]) -> QueryBuilder<Sqlite> {
    let mut b = QueryBuilder::new(format!("INSERT INTO events ({EVENT_COLUMNS}) "));
    b.push_values(events, |mut row, event| bind_event(&mut row, event));
    b
}

/// A stored value the code cannot read: the file was written by something else.
pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("unreadable {what} in the database: {detail}"))
}

fn time(value: i64, column: &str) -> Result<DateTime<Utc>, StoreError> {
    Utc.timestamp_micros(value).single().ok_or_else(|| corrupt(column, value))
}

fn opt_time(row: &SqliteRow, column: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    get::<Option<i64>>(row, column)?.map(|v| time(v, column)).transpose()
}

fn get<'r, T: sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>>(
    row: &'r SqliteRow,
    column: &str,
) -> Result<T, StoreError> {
    row.try_get(column).map_err(|e| corrupt(column, e))
}

fn parsed<T, E: std::fmt::Display>(
    row: &SqliteRow,
    column: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, StoreError> {
    let text: String = get(row, column)?;
    parse(&text).map_err(|e| corrupt(column, e))
}

fn opt_parsed<T, E: std::fmt::Display>(
    row: &SqliteRow,
    column: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, StoreError> {
    let text: Option<String> = get(row, column)?;
    text.map(|t| parse(&t).map_err(|e| corrupt(column, e))).transpose()
}

fn metadata(row: &SqliteRow, column: &str) -> Result<Map<String, Value>, StoreError> {
    parsed(row, column, |text| match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("not a JSON object".to_owned()),
        Err(e) => Err(e.to_string()),
    })
}

/// A held key from a row of `idempotency_keys`.
pub(crate) fn held_key_from_row(row: &SqliteRow) -> Result<HeldKey, StoreError> {
    Ok(HeldKey {
        key: parsed(row, "key", |k| IdempotencyKey::parse(k))?,
        fingerprint: get(row, "fingerprint")?,
        call_id: parsed(row, "call_id", |id| CallId::parse(id))?,
        expires_at: time(get(row, "expires_at")?, "expires_at")?,
    })
}

/// A call from a row holding [`CALL_COLUMNS`].
pub(crate) fn call_from_row(row: &SqliteRow) -> Result<Call, StoreError> {
    let lease =
        match (get::<Option<String>>(row, "lease_worker")?, opt_time(row, "lease_expires_at")?) {
            (Some(worker), Some(expires_at)) => Some(Lease {
                worker: WorkerId::parse(worker).map_err(|e| corrupt("lease_worker", e))?,
                expires_at,
            }),
            _ => None,
        };
    let count = |column: &str| -> Result<u64, StoreError> {
        let value: i64 = get(row, column)?;
        u64::try_from(value).map_err(|e| corrupt(column, e))
    };
    Ok(Call::from_parts(CallParts {
        id: parsed(row, "id", |s| CallId::parse(s))?,
        direction: parsed(row, "direction", Direction::parse)?,
        to: opt_parsed(row, "to_number", PhoneNumber::from_e164)?,
        from: opt_parsed(row, "from_number", PhoneNumber::from_e164)?,
        customer_name: get(row, "customer_name")?,
        workflow: get(row, "workflow")?,
        media: parsed(row, "media", Media::parse)?,
        queue_id: opt_parsed(row, "queue_id", |s| QueueId::parse(s))?,
        agent_id: opt_parsed(row, "agent_id", |s| AgentId::parse(s))?,
        metadata: metadata(row, "metadata")?,
        status: parsed(row, "status", CallStatus::parse)?,
        scheduled_at: opt_time(row, "scheduled_at")?,
        external_id: get(row, "external_id")?,
        attempts: u32::try_from(count("attempts")?).map_err(|e| corrupt("attempts", e))?,
        last_error: get(row, "last_error")?,
        created_at: time(get(row, "created_at")?, "created_at")?,
        updated_at: time(get(row, "updated_at")?, "updated_at")?,
        initiated_at: opt_time(row, "initiated_at")?,
        routed_at: opt_time(row, "routed_at")?,
        answered_at: opt_time(row, "answered_at")?,
        held_at: opt_time(row, "held_at")?,
        ended_at: opt_time(row, "ended_at")?,
        wait_seconds: get(row, "wait_seconds")?,
        hold_seconds: get(row, "hold_seconds")?,
        duration_seconds: get(row, "duration_seconds")?,
        end_reason: opt_parsed(row, "end_reason", EndReason::parse)?,
        flags: Flags::from_bits(u8::try_from(count("flags")?).map_err(|e| corrupt("flags", e))?),
        deadline_at: opt_time(row, "deadline_at")?,
        lease,
        occurrence: occurrence(row)?,
        calling_window: opt_parsed(row, "calling_window", str::parse)?,
        redial: opt_parsed(row, "redial", str::parse)?,
        redial_attempt: u32::try_from(count("redial_attempt")?)
            .map_err(|e| corrupt("redial_attempt", e))?,
        redial_of: opt_parsed(row, "redial_of", |s| CallId::parse(s))?,
        redialed_as: opt_parsed(row, "redialed_as", |s| CallId::parse(s))?,
        version: count("version")?,
    }))
}

/// A do-not-call entry from a row of `do_not_call`.
pub(crate) fn do_not_call_from_row(row: &SqliteRow) -> Result<DoNotCall, StoreError> {
    Ok(DoNotCall {
        phone: parsed(row, "phone", PhoneNumber::from_e164)?,
        added_at: time(get(row, "added_at")?, "added_at")?,
        reason: get(row, "reason")?,
    })
}

fn occurrence(row: &SqliteRow) -> Result<Option<Occurrence>, StoreError> {
    let Some(series_id) = opt_parsed(row, "series_id", |s| SeriesId::parse(s))? else {
        return Ok(None);
    };
    let number: i64 = get(row, "occurrence")?;
    let number = u32::try_from(number).map_err(|e| corrupt("occurrence", e))?;
    Ok(Some(Occurrence { series_id, number }))
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

/// Binds every column of `series`, in [`SERIES_COLUMNS`] order.
pub(crate) fn bind_series(b: &mut Separated<'_, Sqlite, &str>, series: &Series) {
    let r = &series.recurrence;
    b.push_bind(series.id.to_string())
        .push_bind(r.cron().to_owned())
        .push_bind(r.time_zone().name())
        .push_bind(r.count().map(i64::from))
        .push_bind(opt_micros(r.until()))
        .push_bind(micros(series.created_at))
        .push_bind(opt_micros(series.canceled_at))
        .push_bind(i64::from(series.occurrences));
}

/// A series from a row holding [`SERIES_COLUMNS`].
pub(crate) fn series_from_row(row: &SqliteRow) -> Result<Series, StoreError> {
    let count: Option<i64> = get(row, "count")?;
    let count = count.map(u32::try_from).transpose().map_err(|e| corrupt("count", e))?;
    let cron: String = get(row, "cron")?;
    let time_zone: String = get(row, "time_zone")?;
    let recurrence = Recurrence::new(&cron, &time_zone, count, opt_time(row, "until")?)
        .map_err(|e| corrupt("series", e))?;
    let occurrences: i64 = get(row, "occurrences")?;
    Ok(Series {
        id: parsed(row, "id", |s| SeriesId::parse(s))?,
        recurrence,
        created_at: time(get(row, "created_at")?, "created_at")?,
        canceled_at: opt_time(row, "canceled_at")?,
        occurrences: u32::try_from(occurrences).map_err(|e| corrupt("occurrences", e))?,
    })
}

/// An event from a row holding [`EVENT_COLUMNS`].
pub(crate) fn event_from_row(row: &SqliteRow) -> Result<CallEvent, StoreError> {
    Ok(CallEvent::new(
        parsed(row, "id", |s| EventId::parse(s))?,
        parsed(row, "call_id", |s| CallId::parse(s))?,
        parsed(row, "type", EventType::parse)?,
        time(get(row, "timestamp")?, "timestamp")?,
        time(get(row, "recorded_at")?, "recorded_at")?,
        parsed(row, "source", EventSource::parse)?,
        metadata(row, "metadata")?,
    ))
}

/// The columns of `alerts`, in the order [`alert_from_row`] reads them.
pub(crate) const ALERT_COLUMNS: &str = "id, call_id, kind, raised_at, queue_id, agent_id, seconds, \
     threshold_seconds, acknowledged_at, acknowledged_by, closed_at, closed_by";

/// Appends to `b` the statements that write `writes` (each ending in `;`),
/// for a batch that already holds the events behind them.
pub(crate) fn push_alert_writes(b: &mut QueryBuilder<Sqlite>, writes: &AlertWrites) {
    if !writes.raised.is_empty() {
        b.push(format!("INSERT INTO alerts ({ALERT_COLUMNS}) "));
        b.push_values(&writes.raised, |mut row, alert| {
            row.push_bind(alert.id.to_string())
                .push_bind(alert.call_id.to_string())
                .push_bind(alert.kind.as_str())
                .push_bind(micros(alert.raised_at))
                .push_bind(alert.queue_id.as_ref().map(ToString::to_string))
                .push_bind(alert.agent_id.as_ref().map(ToString::to_string))
                .push_bind(alert.seconds)
                .push_bind(alert.threshold_seconds)
                .push_bind(opt_micros(alert.acknowledged_at))
                .push_bind(alert.acknowledged_by.clone())
                .push_bind(opt_micros(alert.closed_at))
                .push_bind(alert.closed_by.map(|t| t.as_str()));
        });
        b.push("; ");
    }
    for (id, by, at) in &writes.acknowledged {
        b.push("UPDATE alerts SET acknowledged_at = ")
            .push_bind(micros(*at))
            .push(", acknowledged_by = ")
            .push_bind(by.clone())
            .push(" WHERE id = ")
            .push_bind(id.to_string())
            .push(" AND acknowledged_at IS NULL; ");
    }
    for closing in &writes.closed {
        b.push(CLOSE_ALERTS);
        b.push_bind(micros(closing.at))
            .push(", closed_by = ")
            .push_bind(closing.by.as_str())
            .push(" WHERE call_id = ")
            .push_bind(closing.call_id.to_string())
            .push(" AND closed_at IS NULL AND kind IN (");
        let mut kinds = b.separated(", ");
        for kind in &closing.kinds {
            kinds.push_bind(kind.as_str());
        }
        b.push("); ");
    }
}

/// The start of the statement that closes a call's open alerts, on the
/// partial index of open alerts by call (see the plan check).
pub(crate) const CLOSE_ALERTS: &str =
    "UPDATE alerts INDEXED BY alerts_open_of_call SET closed_at = ";

pub(crate) fn alert_from_row(row: &SqliteRow) -> Result<AlertRecord, StoreError> {
    Ok(AlertRecord {
        id: parsed(row, "id", |t| EventId::parse(t))?,
        call_id: parsed(row, "call_id", |t| CallId::parse(t))?,
        kind: parsed(row, "kind", AlertKind::parse)?,
        raised_at: time(get(row, "raised_at")?, "raised_at")?,
        queue_id: get::<Option<String>>(row, "queue_id")?
            .map(|q| QueueId::parse(q).map_err(|e| corrupt("queue_id", e)))
            .transpose()?,
        agent_id: get::<Option<String>>(row, "agent_id")?
            .map(|a| AgentId::parse(a).map_err(|e| corrupt("agent_id", e)))
            .transpose()?,
        seconds: get(row, "seconds")?,
        threshold_seconds: get(row, "threshold_seconds")?,
        acknowledged_at: opt_time(row, "acknowledged_at")?,
        acknowledged_by: get(row, "acknowledged_by")?,
        closed_at: opt_time(row, "closed_at")?,
        closed_by: get::<Option<String>>(row, "closed_by")?
            .map(|t| EventType::parse(&t).map_err(|e| corrupt("closed_by", e)))
            .transpose()?,
    })
}
