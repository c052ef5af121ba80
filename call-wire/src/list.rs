//! Which calls to list, as both interfaces take it.

use call_core::{
    PhoneNumber, QueueId, Region, SeriesId, StatusFilter, ValidationError,
    ports::{Cursor, ListQuery},
};

use crate::{PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX};

/// A page of calls to list: `GET /api/calls`'s query string and `calls
/// list`'s options, checked once, by [`ListRequest::into_query`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListRequest {
    /// Statuses or groups (`pending`, `waiting`, `live`, `ended`); any when empty.
    pub status: Vec<String>,
    /// Only this queue's calls.
    pub queue: Option<String>,
    /// Only the calls this number took part in.
    pub phone: Option<String>,
    /// Only the occurrences of this recurring series.
    pub series_id: Option<String>,
    /// At most this many, 1 to [`PAGE_LIMIT_MAX`]; [`PAGE_LIMIT_DEFAULT`] when absent.
    pub limit: Option<usize>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
}

impl ListRequest {
    /// Checks every value and builds the store's query; a number written
    /// without a country code is read in `region`.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on the first invalid field, named as in this
    /// struct (`status`, `queue`, `phone`, `series_id`, `limit`, `cursor`).
    pub fn into_query(self, region: Option<Region>) -> Result<ListQuery, ValidationError> {
        let limit = self.limit.unwrap_or(PAGE_LIMIT_DEFAULT);
        if !(1..=PAGE_LIMIT_MAX).contains(&limit) {
            return Err(ValidationError::new(
                "limit",
                format!("must be a whole number from 1 to {PAGE_LIMIT_MAX}, got {limit}"),
            ));
        }
        Ok(ListQuery {
            statuses: self
                .status
                .iter()
                .map(|s| StatusFilter::parse(s).map_err(|e| e.for_field("status")))
                .collect::<Result<_, _>>()?,
            queue: self
                .queue
                .map(|q| QueueId::parse(q).map_err(|e| e.for_field("queue")))
                .transpose()?,
            phone: self.phone.map(|p| PhoneNumber::parse_in("phone", &p, region)).transpose()?,
            series: self
                .series_id
                .map(|s| SeriesId::parse(s).map_err(|e| e.for_field("series_id")))
                .transpose()?,
            limit,
            cursor: self
                .cursor
                .map(|c| Cursor::parse(&c).map_err(|e| e.for_field("cursor")))
                .transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_bad_value_names_its_field() {
        let refused = |edit: fn(&mut ListRequest)| {
            let mut request = ListRequest::default();
            edit(&mut request);
            request.into_query(None).map(|_| ()).map_err(|e| e.field())
        };
        assert_eq!(refused(|_| {}), Ok(()));
        assert_eq!(refused(|r| r.status = vec!["sleeping".into()]), Err("status"));
        assert_eq!(refused(|r| r.queue = Some("a queue".into())), Err("queue"));
        assert_eq!(refused(|r| r.phone = Some("12345".into())), Err("phone"));
        assert_eq!(refused(|r| r.series_id = Some("a series".into())), Err("series_id"));
        assert_eq!(refused(|r| r.limit = Some(0)), Err("limit"));
        assert_eq!(refused(|r| r.limit = Some(PAGE_LIMIT_MAX + 1)), Err("limit"));
        assert_eq!(refused(|r| r.cursor = Some("garbage".into())), Err("cursor"));
        let query = ListRequest { status: vec!["ended".into()], ..ListRequest::default() }
            .into_query(None)
            .unwrap();
        assert_eq!(query.limit, PAGE_LIMIT_DEFAULT);
        assert_eq!(query.statuses.len(), 1);
    }
}
