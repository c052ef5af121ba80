//! The one query shape behind listings and histories: newest first by
//! (`created_at`, `id`) for listings and (`happened_at`, `id`) for
//! histories, keyset-paged, each filter served by an index.
//!
//! As in the SQLite store, a filter that is a set (several statuses, either
//! side of a number) is split into arms, each a walk down one index that
//! stops after `limit` rows; the arms are merged and cut to `limit`. So a
//! page costs about `arms × limit` rows read, however large the table, and
//! the planner is never left to choose between a filter and an order.

use call_core::{
    CallStatus, PhoneNumber, QueueId, SeriesId,
    ports::{Cursor, PageOrder},
};
use chrono::{DateTime, Utc};
use sqlx::{Postgres, QueryBuilder};

use crate::sql::CALL_SELECT;

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
    pub(crate) since: Option<DateTime<Utc>>,
    pub(crate) until: Option<DateTime<Utc>>,
    pub(crate) cursor: Option<&'a Cursor>,
    pub(crate) limit: usize,
}

enum Arm<'a> {
    /// The calls to a number, the statuses as a filter.
    To(&'a PhoneNumber),
    /// The calls from a number that are not also to it (those the `To` arm has).
    From(&'a PhoneNumber),
    /// One status.
    Status(CallStatus),
    /// The query's series, the other filters checked on each call.
    Series(&'a SeriesId),
    /// Everything (or the query's queue).
    All,
}

impl PageQuery<'_> {
    fn arms(&self) -> Vec<Arm<'_>> {
        if let Some(series) = self.series {
            // A series has few calls: one walk down its index.
            vec![Arm::Series(series)]
        } else if let Some(phone) = self.phone {
            vec![Arm::To(phone), Arm::From(phone)]
        } else if !self.statuses.is_empty() {
            self.statuses.iter().map(|s| Arm::Status(*s)).collect()
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
    pub(crate) fn build(&self) -> QueryBuilder<Postgres> {
        let mut b = QueryBuilder::new("");
        self.push(&mut b);
        b
    }

    /// Appends the statement to `b`.
    pub(crate) fn push(&self, b: &mut QueryBuilder<Postgres>) {
        let limit = i64::try_from(self.limit.max(1)).unwrap_or(i64::MAX);
        let arms = self.arms();
        let compound = arms.len() > 1;
        for (i, arm) in arms.iter().enumerate() {
            if i > 0 {
                b.push(" UNION ALL ");
            }
            b.push("(");
            self.push_arm(b, arm, limit);
            b.push(")");
        }
        if compound {
            b.push(format!(" ORDER BY {} DESC, id DESC LIMIT ", self.at())).push_bind(limit);
        }
    }

    fn push_arm(&self, b: &mut QueryBuilder<Postgres>, arm: &Arm<'_>, limit: i64) {
        // `happened_at` is selected too: a compound's ORDER BY names a
        // result column (`created_at` is one of the call's).
        let at = self.at();
        let extra = if self.order == PageOrder::Happened { ", happened_at" } else { "" };
        b.push(format!("SELECT {CALL_SELECT}{extra} FROM calls WHERE true"));
        match arm {
            Arm::To(phone) => {
                b.push(" AND to_number = ").push_bind(phone.to_string());
            }
            Arm::From(phone) => {
                b.push(" AND from_number = ").push_bind(phone.to_string());
                b.push(" AND to_number IS DISTINCT FROM ").push_bind(phone.to_string());
            }
            Arm::Status(status) => {
                b.push(" AND status = ").push_bind(status.as_str());
            }
            Arm::Series(series) => {
                b.push(" AND series_id = ").push_bind(series.to_string());
                if let Some(phone) = self.phone {
                    b.push(" AND (to_number = ")
                        .push_bind(phone.to_string())
                        .push(" OR from_number = ")
                        .push_bind(phone.to_string())
                        .push(")");
                }
            }
            Arm::All => {}
        }
        if matches!(arm, Arm::To(_) | Arm::From(_) | Arm::Series(_)) && !self.statuses.is_empty() {
            // Literals (the enum's own names), not a bound array: the planner
            // uses a partial index (the history's) only when it can prove the
            // index's WHERE from the query's, which a generic plan's
            // parameter never lets it.
            let list: Vec<String> =
                self.statuses.iter().map(|s| format!("'{}'", s.as_str())).collect();
            b.push(format!(" AND status IN ({})", list.join(", ")));
        }
        if let Some(queue) = self.queue {
            b.push(" AND queue_id = ").push_bind(queue.to_string());
        }
        if let Some(since) = self.since {
            b.push(format!(" AND {at} >= ")).push_bind(since);
        }
        if let Some(until) = self.until {
            b.push(format!(" AND {at} < ")).push_bind(until);
        }
        if let Some(cursor) = self.cursor {
            b.push(format!(" AND ({at}, id) < ("))
                .push_bind(cursor.at)
                .push(", ")
                .push_bind(cursor.id.to_string())
                .push(")");
        }
        b.push(format!(" ORDER BY {at} DESC, id DESC LIMIT ")).push_bind(limit);
    }
}
