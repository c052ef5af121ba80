//! Between calls and events and their rows: binding a batch as column
//! arrays, decoding a row.
//!
//! Every write binds its rows as one array per column and reads them back
//! with `UNNEST`, so one statement writes one row or a hundred thousand with
//! the same text and the same 34 (or 7) parameters: no statement is built
//! per batch size, and PostgreSQL's 65,535-parameter limit never splits a
//! batch.

use call_core::{
    AgentId, Call, CallEvent, CallId, CallParts, CallStatus, Direction, DoNotCall, EndReason,
    EventId, EventSource, EventType, Flags, HeldKey, IdempotencyKey, Lease, Media, Occurrence,
    PhoneNumber, QueueId, Recurrence, Series, SeriesId, WorkerId,
    alerts::{AlertRecord, AlertWrites},
    ports::StoreError,
    rules::AlertKind,
};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::{Postgres, Row, postgres::PgRow, query::Query};

use crate::sql;

pub(crate) type PgQuery<'q> = Query<'q, Postgres, sqlx::postgres::PgArguments>;

fn json(map: &Map<String, Value>) -> String {
    Value::Object(map.clone()).to_string()
}

fn text<T: ToString>(value: Option<&T>) -> Option<String> {
    value.map(ToString::to_string)
}

/// The calls of a batch as one array per column, in the order of `sql::call_columns!`.
#[derive(Default)]
pub(crate) struct CallArrays {
    id: Vec<String>,
    direction: Vec<&'static str>,
    to_number: Vec<Option<String>>,
    from_number: Vec<Option<String>>,
    customer_name: Vec<Option<String>>,
    workflow: Vec<Option<String>>,
    media: Vec<&'static str>,
    queue_id: Vec<Option<String>>,
    agent_id: Vec<Option<String>>,
    metadata: Vec<String>,
    status: Vec<&'static str>,
    scheduled_at: Vec<Option<DateTime<Utc>>>,
    external_id: Vec<Option<String>>,
    attempts: Vec<i32>,
    last_error: Vec<Option<String>>,
    created_at: Vec<DateTime<Utc>>,
    updated_at: Vec<DateTime<Utc>>,
    initiated_at: Vec<Option<DateTime<Utc>>>,
    routed_at: Vec<Option<DateTime<Utc>>>,
    answered_at: Vec<Option<DateTime<Utc>>>,
    held_at: Vec<Option<DateTime<Utc>>>,
    ended_at: Vec<Option<DateTime<Utc>>>,
    wait_seconds: Vec<Option<f64>>,
    hold_seconds: Vec<Option<f64>>,
    duration_seconds: Vec<Option<f64>>,
    end_reason: Vec<Option<&'static str>>,
    flags: Vec<i16>,
    deadline_at: Vec<Option<DateTime<Utc>>>,
    lease_worker: Vec<Option<String>>,
    lease_expires_at: Vec<Option<DateTime<Utc>>>,
    series_id: Vec<Option<String>>,
    occurrence: Vec<Option<i32>>,
    calling_window: Vec<Option<String>>,
    redial: Vec<Option<String>>,
    redial_attempt: Vec<i32>,
    redial_of: Vec<Option<String>>,
    redialed_as: Vec<Option<String>>,
    version: Vec<i64>,
}

impl CallArrays {
    pub(crate) fn of<'a>(calls: impl IntoIterator<Item = &'a Call>) -> CallArrays {
        let mut a = CallArrays::default();
        for call in calls {
            let p = call.parts();
            a.id.push(p.id.to_string());
            a.direction.push(p.direction.as_str());
            a.to_number.push(text(p.to.as_ref()));
            a.from_number.push(text(p.from.as_ref()));
            a.customer_name.push(p.customer_name.clone());
            a.workflow.push(p.workflow.clone());
            a.media.push(p.media.as_str());
            a.queue_id.push(text(p.queue_id.as_ref()));
            a.agent_id.push(text(p.agent_id.as_ref()));
            a.metadata.push(json(&p.metadata));
            a.status.push(p.status.as_str());
            a.scheduled_at.push(p.scheduled_at);
            a.external_id.push(p.external_id.clone());
            a.attempts.push(i32::try_from(p.attempts).unwrap_or(i32::MAX));
            a.last_error.push(p.last_error.clone());
            a.created_at.push(p.created_at);
            a.updated_at.push(p.updated_at);
            a.initiated_at.push(p.initiated_at);
            a.routed_at.push(p.routed_at);
            a.answered_at.push(p.answered_at);
            a.held_at.push(p.held_at);
            a.ended_at.push(p.ended_at);
            a.wait_seconds.push(p.wait_seconds);
            a.hold_seconds.push(p.hold_seconds);
            a.duration_seconds.push(p.duration_seconds);
            a.end_reason.push(p.end_reason.map(EndReason::as_str));
            a.flags.push(i16::from(p.flags.bits()));
            a.deadline_at.push(p.deadline_at);
            a.lease_worker.push(p.lease.as_ref().map(|l| l.worker.to_string()));
            a.lease_expires_at.push(p.lease.as_ref().map(|l| l.expires_at));
            a.series_id.push(p.occurrence.as_ref().map(|o| o.series_id.to_string()));
            a.occurrence
                .push(p.occurrence.as_ref().map(|o| i32::try_from(o.number).unwrap_or(i32::MAX)));
            a.calling_window.push(text(p.calling_window.as_ref()));
            a.redial.push(text(p.redial.as_ref()));
            a.redial_attempt.push(i32::try_from(p.redial_attempt).unwrap_or(i32::MAX));
            a.redial_of.push(text(p.redial_of.as_ref()));
            a.redialed_as.push(text(p.redialed_as.as_ref()));
            a.version.push(i64::try_from(p.version).unwrap_or(i64::MAX));
        }
        a
    }

    pub(crate) fn ids(&self) -> &[String] {
        &self.id
    }

    /// Binds the arrays as the next 38 parameters, in the order of `sql::call_columns!`.
    pub(crate) fn bind(self, q: PgQuery<'_>) -> PgQuery<'_> {
        q.bind(self.id)
            .bind(self.direction)
            .bind(self.to_number)
            .bind(self.from_number)
            .bind(self.customer_name)
            .bind(self.workflow)
            .bind(self.media)
            .bind(self.queue_id)
            .bind(self.agent_id)
            .bind(self.metadata)
            .bind(self.status)
            .bind(self.scheduled_at)
            .bind(self.external_id)
            .bind(self.attempts)
            .bind(self.last_error)
            .bind(self.created_at)
            .bind(self.updated_at)
            .bind(self.initiated_at)
            .bind(self.routed_at)
            .bind(self.answered_at)
            .bind(self.held_at)
            .bind(self.ended_at)
            .bind(self.wait_seconds)
            .bind(self.hold_seconds)
            .bind(self.duration_seconds)
            .bind(self.end_reason)
            .bind(self.flags)
            .bind(self.deadline_at)
            .bind(self.lease_worker)
            .bind(self.lease_expires_at)
            .bind(self.series_id)
            .bind(self.occurrence)
            .bind(self.calling_window)
            .bind(self.redial)
            .bind(self.redial_attempt)
            .bind(self.redial_of)
            .bind(self.redialed_as)
            .bind(self.version)
    }
}

/// The events of a batch as one array per column, in the order of the events table.
#[derive(Default)]
pub(crate) struct EventArrays {
    id: Vec<String>,
    call_id: Vec<String>,
    event_type: Vec<&'static str>,
    timestamp: Vec<DateTime<Utc>>,
    recorded_at: Vec<DateTime<Utc>>,
    source: Vec<&'static str>,
    metadata: Vec<String>,
}

impl EventArrays {
    pub(crate) fn of<'a>(events: impl IntoIterator<Item = &'a CallEvent>) -> EventArrays {
        let mut a = EventArrays::default();
        for event in events {
            a.id.push(event.id().to_string());
            a.call_id.push(event.call_id().to_string());
            a.event_type.push(event.event_type().as_str());
            a.timestamp.push(event.timestamp());
            a.recorded_at.push(event.recorded_at());
            a.source.push(event.source().as_str());
            a.metadata.push(json(event.metadata()));
        }
        a
    }

    pub(crate) fn ids(&self) -> &[String] {
        &self.id
    }

    /// Binds the arrays as the next 7 parameters, in the order of the events table.
    pub(crate) fn bind(self, q: PgQuery<'_>) -> PgQuery<'_> {
        q.bind(self.id)
            .bind(self.call_id)
            .bind(self.event_type)
            .bind(self.timestamp)
            .bind(self.recorded_at)
            .bind(self.source)
            .bind(self.metadata)
    }
}

/// The insert of calls with their events, as one statement ([`sql::INSERT`]),
/// and their ids, for naming a duplicate should it be refused.
pub(crate) fn insert_statement(
    calls: &[Call],
    events: &[CallEvent],
) -> (PgQuery<'static>, Vec<String>, Vec<String>) {
    let call_arrays = CallArrays::of(calls);
    let event_arrays = EventArrays::of(events);
    let call_ids = call_arrays.ids().to_vec();
    let event_ids = event_arrays.ids().to_vec();
    (event_arrays.bind(call_arrays.bind(sqlx::query(sql::INSERT))), call_ids, event_ids)
}

/// The statement that inserts `calls` without events ([`sql::INSERT_CALLS`]), and their ids.
pub(crate) fn insert_calls_statement(calls: &[Call]) -> (PgQuery<'static>, Vec<String>) {
    let call_arrays = CallArrays::of(calls);
    let call_ids = call_arrays.ids().to_vec();
    (call_arrays.bind(sqlx::query(sql::INSERT_CALLS)), call_ids)
}

/// A stored value the code cannot read: the database was written by something else.
pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("unreadable {what} in the database: {detail}").into())
}

fn get<'r, T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>>(
    row: &'r PgRow,
    column: &str,
) -> Result<T, StoreError> {
    row.try_get(column).map_err(|e| corrupt(column, e))
}

fn parsed<T, E: std::fmt::Display>(
    row: &PgRow,
    column: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, StoreError> {
    let text: String = get(row, column)?;
    parse(&text).map_err(|e| corrupt(column, e))
}

fn opt_parsed<T, E: std::fmt::Display>(
    row: &PgRow,
    column: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, StoreError> {
    let text: Option<String> = get(row, column)?;
    text.map(|t| parse(&t).map_err(|e| corrupt(column, e))).transpose()
}

fn metadata(row: &PgRow, column: &str) -> Result<Map<String, Value>, StoreError> {
    parsed(row, column, |text| match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("not a JSON object".to_owned()),
        Err(e) => Err(e.to_string()),
    })
}

/// A do-not-call entry from a row of `do_not_call`.
pub(crate) fn do_not_call_from_row(row: &PgRow) -> Result<DoNotCall, StoreError> {
    Ok(DoNotCall {
        phone: parsed(row, "phone", PhoneNumber::from_e164)?,
        added_at: get(row, "added_at")?,
        reason: get(row, "reason")?,
    })
}

/// A call from a row holding `sql::CALL_SELECT`.
pub(crate) fn call_from_row(row: &PgRow) -> Result<Call, StoreError> {
    let lease = match (
        get::<Option<String>>(row, "lease_worker")?,
        get::<Option<DateTime<Utc>>>(row, "lease_expires_at")?,
    ) {
        (Some(worker), Some(expires_at)) => Some(Lease {
            worker: WorkerId::parse(worker).map_err(|e| corrupt("lease_worker", e))?,
            expires_at,
        }),
        _ => None,
    };
    let attempts: i32 = get(row, "attempts")?;
    let flags: i16 = get(row, "flags")?;
    let version: i64 = get(row, "version")?;
    let redial_attempt: i32 = get(row, "redial_attempt")?;
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
        scheduled_at: get(row, "scheduled_at")?,
        external_id: get(row, "external_id")?,
        attempts: u32::try_from(attempts).map_err(|e| corrupt("attempts", e))?,
        last_error: get(row, "last_error")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        initiated_at: get(row, "initiated_at")?,
        routed_at: get(row, "routed_at")?,
        answered_at: get(row, "answered_at")?,
        held_at: get(row, "held_at")?,
        ended_at: get(row, "ended_at")?,
        wait_seconds: get(row, "wait_seconds")?,
        hold_seconds: get(row, "hold_seconds")?,
        duration_seconds: get(row, "duration_seconds")?,
        end_reason: opt_parsed(row, "end_reason", EndReason::parse)?,
        flags: Flags::from_bits(u8::try_from(flags).map_err(|e| corrupt("flags", e))?),
        deadline_at: get(row, "deadline_at")?,
        lease,
        occurrence: occurrence(row)?,
        calling_window: opt_parsed(row, "calling_window", str::parse)?,
        redial: opt_parsed(row, "redial", str::parse)?,
        redial_attempt: u32::try_from(redial_attempt).map_err(|e| corrupt("redial_attempt", e))?,
        redial_of: opt_parsed(row, "redial_of", |s| CallId::parse(s))?,
        redialed_as: opt_parsed(row, "redialed_as", |s| CallId::parse(s))?,
        version: u64::try_from(version).map_err(|e| corrupt("version", e))?,
    }))
}

fn occurrence(row: &PgRow) -> Result<Option<Occurrence>, StoreError> {
    let Some(series_id) = opt_parsed(row, "series_id", |s| SeriesId::parse(s))? else {
        return Ok(None);
    };
    let number: i32 = get(row, "occurrence")?;
    let number = u32::try_from(number).map_err(|e| corrupt("occurrence", e))?;
    Ok(Some(Occurrence { series_id, number }))
}

/// The insert of `series` ([`sql::INSERT_SERIES`]).
pub(crate) fn insert_series(series: &[Series]) -> PgQuery<'static> {
    let int = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    sqlx::query(sql::INSERT_SERIES)
        .bind(series.iter().map(|s| s.id.to_string()).collect::<Vec<_>>())
        .bind(series.iter().map(|s| s.recurrence.cron().to_owned()).collect::<Vec<_>>())
        .bind(series.iter().map(|s| s.recurrence.time_zone().name()).collect::<Vec<_>>())
        .bind(series.iter().map(|s| s.recurrence.count().map(int)).collect::<Vec<_>>())
        .bind(series.iter().map(|s| s.recurrence.until()).collect::<Vec<_>>())
        .bind(series.iter().map(|s| s.created_at).collect::<Vec<_>>())
        .bind(series.iter().map(|s| s.canceled_at).collect::<Vec<_>>())
        .bind(series.iter().map(|s| int(s.occurrences)).collect::<Vec<_>>())
}

/// A series from a row of `series`.
pub(crate) fn series_from_row(row: &PgRow) -> Result<Series, StoreError> {
    let count: Option<i32> = get(row, "count")?;
    let count = count.map(u32::try_from).transpose().map_err(|e| corrupt("count", e))?;
    let cron: String = get(row, "cron")?;
    let time_zone: String = get(row, "time_zone")?;
    let recurrence = Recurrence::new(&cron, &time_zone, count, get(row, "until")?)
        .map_err(|e| corrupt("series", e))?;
    let occurrences: i32 = get(row, "occurrences")?;
    Ok(Series {
        id: parsed(row, "id", |s| SeriesId::parse(s))?,
        recurrence,
        created_at: get(row, "created_at")?,
        canceled_at: get(row, "canceled_at")?,
        occurrences: u32::try_from(occurrences).map_err(|e| corrupt("occurrences", e))?,
    })
}

/// A held key from a row of `idempotency_keys`.
pub(crate) fn held_key_from_row(row: &PgRow) -> Result<HeldKey, StoreError> {
    Ok(HeldKey {
        key: parsed(row, "key", |s| IdempotencyKey::parse(s))?,
        fingerprint: get(row, "fingerprint")?,
        call_id: parsed(row, "call_id", |s| CallId::parse(s))?,
        expires_at: get(row, "expires_at")?,
    })
}

/// An event from a row holding every column of `events` (metadata as text).
pub(crate) fn event_from_row(row: &PgRow) -> Result<CallEvent, StoreError> {
    Ok(CallEvent::new(
        parsed(row, "id", |s| EventId::parse(s))?,
        parsed(row, "call_id", |s| CallId::parse(s))?,
        parsed(row, "type", EventType::parse)?,
        get(row, "timestamp")?,
        get(row, "recorded_at")?,
        parsed(row, "source", EventSource::parse)?,
        metadata(row, "metadata")?,
    ))
}

/// The columns of `alerts`, as [`alert_from_row`] reads them.
pub(crate) const ALERT_COLUMNS: &str = "id, call_id, kind, raised_at, queue_id, agent_id, seconds, \
     threshold_seconds, acknowledged_at, acknowledged_by, closed_at, closed_by";

pub(crate) fn alert_from_row(row: &PgRow) -> Result<AlertRecord, StoreError> {
    Ok(AlertRecord {
        id: parsed(row, "id", |t| EventId::parse(t))?,
        call_id: parsed(row, "call_id", |t| CallId::parse(t))?,
        kind: parsed(row, "kind", AlertKind::parse)?,
        raised_at: get(row, "raised_at")?,
        queue_id: get::<Option<String>>(row, "queue_id")?
            .map(|q| QueueId::parse(q).map_err(|e| corrupt("queue_id", e)))
            .transpose()?,
        agent_id: get::<Option<String>>(row, "agent_id")?
            .map(|a| AgentId::parse(a).map_err(|e| corrupt("agent_id", e)))
            .transpose()?,
        seconds: get(row, "seconds")?,
        threshold_seconds: get(row, "threshold_seconds")?,
        acknowledged_at: get(row, "acknowledged_at")?,
        acknowledged_by: get(row, "acknowledged_by")?,
        closed_at: get(row, "closed_at")?,
        closed_by: get::<Option<String>>(row, "closed_by")?
            .map(|t| EventType::parse(&t).map_err(|e| corrupt("closed_by", e)))
            .transpose()?,
    })
}

/// Writes what a batch of events does to alerts, in the caller's transaction.
pub(crate) async fn write_alerts(
    conn: &mut sqlx::PgConnection,
    writes: &AlertWrites,
) -> Result<(), sqlx::Error> {
    if !writes.raised.is_empty() {
        let mut b =
            sqlx::QueryBuilder::<Postgres>::new(format!("INSERT INTO alerts ({ALERT_COLUMNS}) "));
        b.push_values(&writes.raised, |mut row, alert| {
            row.push_bind(alert.id.to_string())
                .push_bind(alert.call_id.to_string())
                .push_bind(alert.kind.as_str())
                .push_bind(alert.raised_at)
                .push_bind(alert.queue_id.as_ref().map(ToString::to_string))
                .push_bind(alert.agent_id.as_ref().map(ToString::to_string))
                .push_bind(alert.seconds)
                .push_bind(alert.threshold_seconds)
                .push_bind(alert.acknowledged_at)
                .push_bind(alert.acknowledged_by.clone())
                .push_bind(alert.closed_at)
                .push_bind(alert.closed_by.map(|t| t.as_str()));
        });
        b.build().execute(&mut *conn).await?;
    }
    for (id, by, at) in &writes.acknowledged {
        sqlx::query(ACKNOWLEDGE_ALERT)
            .bind(id.as_str())
            .bind(by)
            .bind(at)
            .execute(&mut *conn)
            .await?;
    }
    for closing in &writes.closed {
        let kinds: Vec<&str> = closing.kinds.iter().map(|k| k.as_str()).collect();
        sqlx::query(CLOSE_ALERTS)
            .bind(closing.call_id.as_str())
            .bind(kinds)
            .bind(closing.at)
            .bind(closing.by.as_str())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// `$1` alert, `$2` by, `$3` at: the first acknowledgement stands.
pub(crate) const ACKNOWLEDGE_ALERT: &str = "UPDATE alerts SET acknowledged_at = $3, \
     acknowledged_by = $2 WHERE id = $1 AND acknowledged_at IS NULL";

/// `$1` call, `$2` kinds, `$3` at, `$4` the event type that closes them.
pub(crate) const CLOSE_ALERTS: &str = "UPDATE alerts SET closed_at = $3, closed_by = $4 \
     WHERE call_id = $1 AND closed_at IS NULL AND kind = ANY($2)";
