//! `GET /reports/sales`: what sold, by screening, film or day, for a manager.

use axum::extract::State;
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use shared::openapi::{BadQuery, RoleOnly};
use shared::validate::Checks;
use shared::{Admin, AppState, Error, Json, Query, Result, rules};
use utoipa::{IntoParams, ToSchema};

use crate::model::{HallRef, Named};

/// What one row of a report stands for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum GroupBy {
    Screening,
    Film,
    #[default]
    Day,
}

impl GroupBy {
    fn as_str(self) -> &'static str {
        match self {
            Self::Screening => "screening",
            Self::Film => "film",
            Self::Day => "day",
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SalesQuery {
    /// Screenings that start at or after this instant (RFC 3339 with an offset).
    #[serde(default, deserialize_with = "shared::extract::query_timestamp")]
    #[param(required = true, value_type = DateTime<Utc>)]
    from: Option<DateTime<FixedOffset>>,
    /// … and before this one; at most 366 days after `from`.
    #[serde(default, deserialize_with = "shared::extract::query_timestamp")]
    #[param(required = true, value_type = DateTime<Utc>)]
    to: Option<DateTime<FixedOffset>>,
    /// One row per screening, per film, or per day (UTC); `day` by default.
    group_by: Option<GroupBy>,
}

/// Seats and money of a group of screenings.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Sales {
    /// Seats on sale.
    seats_total: i64,
    /// Seats of paid reservations.
    seats_paid: i64,
    /// Seats held by reservations not yet paid (and not lapsed).
    seats_held: i64,
    /// Seats whose pass was admitted at the door.
    seats_admitted: i64,
    /// Money paid and not refunded.
    #[schema(value_type = String, examples("1250.00"))]
    revenue: Decimal,
}

/// The screening a row of a report by screening is for.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReportScreening {
    id: i64,
    starts_at: DateTime<Utc>,
    film: Named,
    hall: HallRef,
}

/// One group's sales: its key (`screening`, `film` or `day`, as grouped) and figures.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SalesRow {
    #[serde(skip_serializing_if = "Option::is_none")]
    screening: Option<ReportScreening>,
    #[serde(skip_serializing_if = "Option::is_none")]
    film: Option<Named>,
    #[serde(skip_serializing_if = "Option::is_none")]
    day: Option<NaiveDate>,
    #[serde(flatten)]
    sales: Sales,
}

/// A sales report.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SalesReport {
    group_by: GroupBy,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    /// One row per group, in order of time (films by title).
    rows: Vec<SalesRow>,
    /// The whole period.
    totals: Sales,
}

/// Sales report.
///
/// `GET /reports/sales?from=&to=&group_by=` (admin): one statement over the period's
/// screenings.
#[utoipa::path(
    get, path = "/reports/sales", tag = "reports",
    params(SalesQuery),
    security(("oauth2" = [])),
    responses(
        (status = 200, description = "The period's sales", body = SalesReport),
        RoleOnly, BadQuery,
    ),
)]
pub(crate) async fn sales(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Query(query): Query<SalesQuery>,
) -> Result<Json<SalesReport>> {
    let span = query.from.zip(query.to).map(|(from, to)| to - from);
    Checks::new()
        .check("from", query.from.is_none(), "is required")
        .check("to", query.to.is_none(), "is required")
        .check(
            "to",
            span.is_some_and(|span| span <= chrono::Duration::zero()),
            "must be after from",
        )
        .check(
            "to",
            span.is_some_and(|span| span > chrono::Duration::days(rules::REPORT_DAYS_MAX)),
            &format!("a report spans at most {} days", rules::REPORT_DAYS_MAX),
        )
        .finish()?;
    let (Some(from), Some(to)) = (query.from, query.to) else {
        return Err(Error::invalid("from", "is required"));
    };
    let (from, to) = (from.to_utc(), to.to_utc());
    let group_by = query.group_by.unwrap_or_default();
    let rows = sqlx::query_file!("sql/sales.sql", from, to, group_by.as_str(), admin.id)
        .fetch_all(&state.db)
        .await?;
    let mut groups = Vec::with_capacity(rows.len());
    let mut totals = None;
    for mut r in rows {
        // Cents always shown: PostgreSQL sends a zero sum without its scale.
        r.revenue.rescale(2);
        let sales = Sales {
            seats_total: r.seats_total,
            seats_paid: r.seats_paid,
            seats_held: r.seats_held,
            seats_admitted: r.seats_admitted,
            revenue: r.revenue,
        };
        if r.total {
            totals = Some(sales);
            continue;
        }
        let film = r
            .film_id
            .zip(r.film_title)
            .map(|(id, title)| Named { id, title });
        let mut row = SalesRow {
            screening: None,
            film: None,
            day: None,
            sales,
        };
        match group_by {
            GroupBy::Screening => {
                row.screening = r
                    .screening_id
                    .zip(r.starts_at)
                    .zip(film)
                    .zip(r.hall_id.zip(r.hall_name))
                    .map(
                        |(((id, starts_at), film), (hall_id, hall_name))| ReportScreening {
                            id,
                            starts_at,
                            film,
                            hall: HallRef {
                                id: hall_id,
                                name: hall_name,
                            },
                        },
                    );
            }
            GroupBy::Film => row.film = film,
            GroupBy::Day => row.day = r.day,
        }
        groups.push(row);
    }
    let totals = totals.ok_or_else(|| Error::Internal(anyhow::anyhow!("no totals row")))?;
    Ok(Json(SalesReport {
        group_by,
        from,
        to,
        rows: groups,
        totals,
    }))
}
