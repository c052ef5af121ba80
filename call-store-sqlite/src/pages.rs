//! The one query shape behind listings and histories: newest first by
//! (`created_at`, `id`) for listings and (`happened_at`, `id`) for
//! histories, keyset-paged, each filter served by an index.
//!
//! A filter that is a set (several statuses, either side of a number) is
//! split into arms, each a walk down one index that stops after `limit`
//! rows; the arms are merged and cut to `limit`. So a page costs about
//! `arms × limit` rows read, however large the table, and never a scan.

use call_core::{
    CallStatus, PhoneNumber, QueueId, SeriesId,
    ports::{Cursor, PageOrder},
};

use crate::rows::{CALL_COLUMNS, Statement, micros};

/// What a page asks for.
pub(crate) struct PageQuery<'a> {
    /// Which moment orders the page, and which `since`, `until` and the
    /// cursor are about.
    pub(crate) order: PageOrder,
    /// Any of these statuses; any status when empty.
    pub(crate) statuses: &'a [CallStatus],
    pub(crate) queue: Option<&'a QueueId>,
    /// Calls with this number on either side.
    pub(crate) phone: Option<&'a PhoneNumber>,
    /// The occurrences of this series.
    pub(crate) series: Option<&'a SeriesId>,
    /// The order's moment in `[since, until)`.
    pub(crate) since: Option<chrono::DateTime<chrono::Utc>>,
    pub(crate) until: Option<chrono::DateTime<chrono::Utc>>,
    pub(crate) cursor: Option<&'a Cursor>,
    pub(crate) limit: usize,
}

enum Arm<'a> {
    /// One side of a number (its column), the statuses as a filter.
    Number(&'static str, &'a PhoneNumber),
    /// One status.
    Status(CallStatus),
    /// The query's series, the statuses as a filter.
    Series(&'a SeriesId),
    /// The query's queue.
    Queue,
    /// Everything.
    All,
}

impl PageQuery<'_> {
    fn arms(&self) -> Vec<Arm<'_>> {
        if let Some(series) = self.series {
            // A series has few calls: one walk, the other filters checked on each.
            vec![Arm::Series(series)]
        } else if let Some(phone) = self.phone {
            vec![Arm::Number("to_number", phone), Arm::Number("from_number", phone)]
        } else if !self.statuses.is_empty() {
            self.statuses.iter().map(|s| Arm::Status(*s)).collect()
        } else if self.queue.is_some() {
            vec![Arm::Queue]
        } else {
            vec![Arm::All]
        }
    }

    /// The column of the order's moment.
    fn at(&self) -> &'static str {
        match self.order {
            PageOrder::Created => "created_at",
            PageOrder::Happened => "happened_at",
        }
    }

    /// The statement.
    pub(crate) fn build(&self) -> Statement {
        let limit = i64::try_from(self.limit.max(1)).unwrap_or(i64::MAX);
        let arms = self.arms();
        let mut b = Statement::default();
        let compound = arms.len() > 1;
        for (i, arm) in arms.iter().enumerate() {
            if i > 0 {
                b.push(" UNION ");
            }
            if compound {
                b.push("SELECT * FROM (");
            }
            self.push_arm(&mut b, arm, limit);
            if compound {
                b.push(")");
            }
        }
        if compound {
            b.push(format!(" ORDER BY {} DESC, id DESC LIMIT ", self.at())).push_bind(limit);
        }
        b
    }

    fn push_arm(&self, b: &mut Statement, arm: &Arm<'_>, limit: i64) {
        let index = match (arm, self.order) {
            (Arm::Number("to_number", _), PageOrder::Happened) => "calls_history_to",
            (Arm::Number(_, _), PageOrder::Happened) => "calls_history_from",
            (Arm::Number("to_number", _), PageOrder::Created) => "calls_by_to",
            (Arm::Number(_, _), PageOrder::Created) => "calls_by_from",
            (Arm::Status(_), _) => "calls_by_status",
            (Arm::Series(_), _) => "calls_by_series",
            (Arm::Queue, _) => "calls_by_queue",
            (Arm::All, _) => "calls_by_created",
        };
        // `happened_at` is selected too: a compound's ORDER BY names a
        // result column (`created_at` is one of the call's).
        let at = self.at();
        let extra = if self.order == PageOrder::Happened { ", happened_at" } else { "" };
        b.push(format!("SELECT {CALL_COLUMNS}{extra} FROM calls INDEXED BY {index} WHERE 1"));
        match arm {
            Arm::Number(column, phone) => {
                b.push(format!(" AND {column} = ")).push_bind(phone.to_string());
                self.push_statuses(b);
            }
            Arm::Series(series) => {
                b.push(" AND series_id = ").push_bind(series.to_string());
                self.push_statuses(b);
                if let Some(phone) = self.phone {
                    b.push(" AND (to_number = ")
                        .push_bind(phone.to_string())
                        .push(" OR from_number = ")
                        .push_bind(phone.to_string())
                        .push(")");
                }
            }
            Arm::Status(status) => {
                b.push(" AND status = ").push_bind(status.as_str().to_owned());
            }
            Arm::Queue | Arm::All => {}
        }
        if let Some(queue) = self.queue {
            b.push(" AND queue_id = ").push_bind(queue.to_string());
        }
        if let Some(since) = self.since {
            b.push(format!(" AND {at} >= ")).push_bind(micros(since));
        }
        if let Some(until) = self.until {
            b.push(format!(" AND {at} < ")).push_bind(micros(until));
        }
        if let Some(cursor) = self.cursor {
            b.push(format!(" AND ({at}, id) < ("))
                .push_bind(micros(cursor.at))
                .push(", ")
                .push_bind(cursor.id.to_string())
                .push(")");
        }
        b.push(format!(" ORDER BY {at} DESC, id DESC LIMIT ")).push_bind(limit);
    }

    /// ` AND status IN ('…', …)` for the query's statuses, when it has any.
    ///
    /// Written as literals (they are the enum's own names), not bound: SQLite
    /// uses a partial index only when the query's WHERE holds the index's
    /// own terms, and it cannot see a bound value. The history indexes of
    /// migration 0008 are partial on [`call_core::HISTORY_STATUSES`], in that order.
    fn push_statuses(&self, b: &mut Statement) {
        if !self.statuses.is_empty() {
            let list: Vec<String> =
                self.statuses.iter().map(|s| format!("'{}'", s.as_str())).collect();
            b.push(format!(" AND status IN ({})", list.join(", ")));
        }
    }
}
