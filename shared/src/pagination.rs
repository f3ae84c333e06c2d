//! Pagination: `?limit=` (1–100, default 20) and `?offset=` (0–10,000, default 0), and the
//! list envelope `{items, total, total_exact, limit, offset}`.
//!
//! A list never does work proportional to its whole table: it counts its items only up to
//! [`COUNT_AHEAD`] past the end of the page ([`Page::count_limit`]). `total` is exact when the
//! list ends before that (`total_exact: true`, the common case); otherwise it is a lower bound
//! (`total_exact: false`: at least `total` items match, more pages follow). Offsets stop at
//! [`MAX_OFFSET`]: deeper than that, a filter finds things sooner than paging does.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};

use crate::error::{Error, FieldError};
use crate::extract::parse_urlencoded;

/// Default page size.
pub const DEFAULT_LIMIT: i64 = 20;
/// Largest page size.
pub const MAX_LIMIT: i64 = 100;
/// Largest offset.
pub const MAX_OFFSET: i64 = 10_000;
/// How many items past the end of the page a list counts before it stops counting.
pub const COUNT_AHEAD: i64 = 200;

/// A validated page request; an extractor reading only `limit` and `offset` from the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// How many items at most.
    pub limit: i64,
    /// How many to skip.
    pub offset: i64,
}

/// The page parameters as they arrive in the query string; also their API description.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// How many items at most (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// How many items to skip (default 0).
    #[param(minimum = 0, maximum = 10000)]
    offset: Option<i64>,
}

impl Page {
    /// Checks the bounds, listing every bad parameter.
    pub fn new(limit: Option<i64>, offset: Option<i64>) -> Result<Self, Error> {
        let (limit, offset) = (limit.unwrap_or(DEFAULT_LIMIT), offset.unwrap_or(0));
        let mut errors = Vec::new();
        if !(1..=MAX_LIMIT).contains(&limit) {
            errors.push(FieldError::new(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        if !(0..=MAX_OFFSET).contains(&offset) {
            errors.push(FieldError::new(
                "offset",
                format!("must be between 0 and {MAX_OFFSET}"),
            ));
        }
        if errors.is_empty() {
            Ok(Self { limit, offset })
        } else {
            Err(Error::Validation(errors))
        }
    }

    /// How many items a page query counts at most: `select count(*) from (select … limit
    /// $count_limit)`. A count that reaches it is a lower bound.
    pub fn count_limit(self) -> i64 {
        self.offset + self.limit + COUNT_AHEAD
    }

    /// Wraps one page of items in the list envelope; `counted` is the page query's count, up
    /// to [`Page::count_limit`].
    pub fn wrap<T>(self, items: Vec<T>, counted: i64) -> Paginated<T> {
        Paginated {
            items,
            total: counted,
            total_exact: counted < self.count_limit(),
            limit: self.limit,
            offset: self.offset,
        }
    }

    /// Builds the envelope from the rows of a page query. Page queries join the count to the
    /// page (`from (select count(*) from (… limit $count_limit)) t left join lateral (… limit …
    /// offset …) on true`), so that one round trip answers both and a row arrives even when
    /// the page is empty: its item columns are then null, and `item` returns `None` for it.
    pub fn collect<R, T>(
        self,
        rows: Vec<R>,
        total: impl Fn(&R) -> i64,
        item: impl FnMut(R) -> Option<T>,
    ) -> Paginated<T> {
        let total = rows.first().map_or(0, total);
        self.wrap(rows.into_iter().filter_map(item).collect(), total)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Page {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        let raw: PageParams = parse_urlencoded(parts.uri.query().unwrap_or_default().as_bytes())?;
        Page::new(raw.limit, raw.offset)
    }
}

/// One page of a list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Paginated<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// How many items the whole list has when `total_exact`; otherwise at least this many.
    pub total: i64,
    /// Whether `total` is the exact count: lists count up to 200 items past the page's end.
    pub total_exact: bool,
    /// The page size asked for.
    pub limit: i64,
    /// The offset asked for.
    pub offset: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_that_reaches_the_limit_is_a_lower_bound() {
        let page = Page::new(Some(20), Some(40)).expect("valid");
        let exact = page.wrap(Vec::<()>::new(), 259);
        assert!(exact.total_exact);
        let capped = page.wrap(Vec::<()>::new(), 260);
        assert!(!capped.total_exact);
        assert_eq!(capped.total, 260);
    }

    #[test]
    fn bounds_are_checked_together() {
        assert_eq!(
            Page::new(None, None).expect("defaults"),
            Page {
                limit: 20,
                offset: 0
            }
        );
        assert_eq!(
            Page::new(Some(100), Some(5)).expect("max"),
            Page {
                limit: 100,
                offset: 5
            }
        );
        assert_eq!(
            Page::new(Some(1), Some(MAX_OFFSET))
                .expect("max offset")
                .count_limit(),
            MAX_OFFSET + 1 + COUNT_AHEAD
        );
        for (limit, offset, bad) in [
            (0, 0, 1),
            (101, 0, 1),
            (-1, -1, 2),
            (1, -5, 1),
            (1, 10_001, 1),
        ] {
            match Page::new(Some(limit), Some(offset)) {
                Err(Error::Validation(errors)) => assert_eq!(errors.len(), bad, "{limit} {offset}"),
                other => panic!("expected 422 for {limit}/{offset}, got {other:?}"),
            }
        }
    }
}
