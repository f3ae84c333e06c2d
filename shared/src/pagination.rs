//! Pagination: `?limit=` (1–100, default 20) and `?offset=` (default 0), and the list
//! envelope `{items, total, limit, offset}`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};

use crate::error::{Error, FieldError};
use crate::extract::parse_urlencoded;

/// Default page size.
pub const DEFAULT_LIMIT: i64 = 20;
/// Largest page size.
pub const MAX_LIMIT: i64 = 100;

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
    #[param(minimum = 0)]
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
        if offset < 0 {
            errors.push(FieldError::new("offset", "must not be negative"));
        }
        if errors.is_empty() {
            Ok(Self { limit, offset })
        } else {
            Err(Error::Validation(errors))
        }
    }

    /// Wraps one page of items in the list envelope.
    pub fn wrap<T>(self, items: Vec<T>, total: i64) -> Paginated<T> {
        Paginated {
            items,
            total,
            limit: self.limit,
            offset: self.offset,
        }
    }

    /// Builds the envelope from the rows of a page query. Page queries join the count to the
    /// page (`from (select count(*) …) t left join lateral (… limit … offset …) on true`), so
    /// that one round trip answers both and a row arrives even when the page is empty: its
    /// item columns are then null, and `item` returns `None` for it.
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
    /// How many items the whole list has.
    pub total: i64,
    /// The page size asked for.
    pub limit: i64,
    /// The offset asked for.
    pub offset: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

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
        for (limit, offset, bad) in [(0, 0, 1), (101, 0, 1), (-1, -1, 2), (1, -5, 1)] {
            match Page::new(Some(limit), Some(offset)) {
                Err(Error::Validation(errors)) => assert_eq!(errors.len(), bad, "{limit} {offset}"),
                other => panic!("expected 422 for {limit}/{offset}, got {other:?}"),
            }
        }
    }
}
