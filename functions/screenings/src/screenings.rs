//! Screenings: a film in a hall at a time, with a ticket for every seat.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, FixedOffset, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use shared::error::violated;
use shared::films::AgeRating;
use shared::money::{Amount, price_problem};
use shared::validate::Checks;
use shared::{
    Admin, AppState, Error, ErrorCode, Json, MaybeAuthUser, Page, Paginated, Path, Query, Result,
    constraints,
};
use sqlx::PgConnection;

use crate::halls::HallKind;
use shared::openapi::{
    BadQuery, ErrorBody, JsonBody, NotFound, OptionalToken, PageParams, RoleOnly,
};
use utoipa::{IntoParams, ToSchema};

/// The film of a screening.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FilmSummary {
    id: i64,
    title: String,
    age_rating: AgeRating,
    duration_minutes: i32,
}

/// The hall of a screening.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HallSummary {
    id: i64,
    name: String,
    kind: HallKind,
}

/// A screening: a film in a hall at a time, with its seats counted.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Screening {
    id: i64,
    film: FilmSummary,
    hall: HallSummary,
    starts_at: DateTime<Utc>,
    /// The start plus the film's duration.
    ends_at: DateTime<Utc>,
    /// The price of a seat before the hall's surcharge.
    #[schema(value_type = String, examples("10.00"))]
    base_price: Decimal,
    /// Seats on sale.
    seats_total: i64,
    /// Seats on sale and not booked.
    seats_free: i64,
    /// Set once the screening is cancelled: it is no longer bookable, and every reservation
    /// for it was cancelled (paid ones refunded).
    cancelled_at: Option<DateTime<Utc>>,
}

/// A `screening_details` row; the view is the one definition of what a screening shows.
struct Row {
    id: i64,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    base_price: Decimal,
    film_id: i64,
    film_title: String,
    film_age_rating: AgeRating,
    film_duration_minutes: i32,
    hall_id: i64,
    hall_name: String,
    hall_kind: HallKind,
    seats_total: i64,
    seats_free: i64,
    cancelled_at: Option<DateTime<Utc>>,
}

impl From<Row> for Screening {
    fn from(row: Row) -> Self {
        Screening {
            id: row.id,
            film: FilmSummary {
                id: row.film_id,
                title: row.film_title,
                age_rating: row.film_age_rating,
                duration_minutes: row.film_duration_minutes,
            },
            hall: HallSummary {
                id: row.hall_id,
                name: row.hall_name,
                kind: row.hall_kind,
            },
            starts_at: row.starts_at,
            ends_at: row.ends_at,
            base_price: row.base_price,
            seats_total: row.seats_total,
            seats_free: row.seats_free,
            cancelled_at: row.cancelled_at,
        }
    }
}

/// One screening, in one query.
pub(crate) async fn fetch(db: &mut PgConnection, id: i64) -> Result<Option<Screening>> {
    let row = sqlx::query_as!(
        Row,
        r#"select id as "id!", starts_at as "starts_at!", ends_at as "ends_at!", base_price as "base_price!",
                  film_id as "film_id!", film_title as "film_title!", film_age_rating as "film_age_rating!: AgeRating",
                  film_duration_minutes as "film_duration_minutes!", hall_id as "hall_id!", hall_name as "hall_name!",
                  hall_kind as "hall_kind!: HallKind", seats_total as "seats_total!", seats_free as "seats_free!",
                  cancelled_at
           from screening_details where id = $1"#,
        id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(Screening::from))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ScreeningFilter {
    /// Only screenings of this film.
    film_id: Option<i64>,
    /// Only screenings in this hall.
    hall_id: Option<i64>,
    /// Only screenings starting at or after this time (RFC 3339 with an offset). Without it,
    /// the screenings that have not ended yet: pass an earlier `from` for past ones.
    #[serde(default, deserialize_with = "shared::extract::query_timestamp")]
    from: Option<DateTime<FixedOffset>>,
    /// Only screenings starting before this time (RFC 3339 with an offset).
    #[serde(default, deserialize_with = "shared::extract::query_timestamp")]
    to: Option<DateTime<FixedOffset>>,
}

/// List screenings.
///
/// `GET /screenings?film_id=&hall_id=&from=&to=`: by start time; `from` ≤ start < `to`, and
/// without `from` the screenings that have not ended.
#[utoipa::path(
    get, path = "/screenings", tag = "screenings",
    params(PageParams, ScreeningFilter),
    security((), ("oauth2" = [])),
    responses((status = 200, description = "One page of screenings, by start time (without `from`: those not ended yet)", body = Paginated<Screening>), OptionalToken, BadQuery),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    _: MaybeAuthUser,
    page: Page,
    Query(filter): Query<ScreeningFilter>,
) -> Result<Json<Paginated<Screening>>> {
    if let (Some(from), Some(to)) = (filter.from, filter.to) {
        Checks::new()
            .check("to", to < from, "must not be before from")
            .finish()?;
    }
    let rows = sqlx::query_file!(
        "sql/screenings.sql",
        filter.film_id,
        filter.hall_id,
        filter.from,
        filter.to,
        page.limit,
        page.offset,
        page.count_limit(),
    )
    .fetch_all(&state.db)
    .await?;
    Ok(Json(page.collect(
        rows,
        |row| row.total,
        |r| {
            Some(Screening::from(Row {
                id: r.id?,
                starts_at: r.starts_at?,
                ends_at: r.ends_at?,
                base_price: r.base_price?,
                film_id: r.film_id?,
                film_title: r.film_title?,
                film_age_rating: r.film_age_rating?,
                film_duration_minutes: r.film_duration_minutes?,
                hall_id: r.hall_id?,
                hall_name: r.hall_name?,
                hall_kind: r.hall_kind?,
                seats_total: r.seats_total?,
                seats_free: r.seats_free?,
                cancelled_at: r.cancelled_at,
            }))
        },
    )))
}

/// Read a screening.
///
/// `GET /screenings/{id}`: one screening, with its film, hall and free seats.
#[utoipa::path(
    get, path = "/screenings/{id}", tag = "screenings",
    params(("id" = i64, Path, description = "Screening id")),
    security((), ("oauth2" = [])),
    responses((status = 200, description = "The screening", body = Screening), OptionalToken, NotFound),
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    _: MaybeAuthUser,
    Path(id): Path<i64>,
) -> Result<Json<Screening>> {
    let mut conn = state.db.acquire().await?;
    fetch(&mut conn, id)
        .await?
        .map(Json)
        .ok_or(Error::NotFound("screening"))
}

/// A new screening.
#[derive(Deserialize, ToSchema)]
pub(crate) struct ScreeningBody {
    #[schema(value_type = i64, required = true)]
    film_id: Option<i64>,
    #[schema(value_type = i64, required = true)]
    hall_id: Option<i64>,
    /// In the future (at most five years ahead), with an offset.
    #[schema(value_type = DateTime<FixedOffset>, required = true)]
    starts_at: Option<DateTime<FixedOffset>>,
    /// 0–999999.99, at most two decimal places.
    #[schema(value_type = Amount, required = true)]
    base_price: Option<Amount>,
}

pub(crate) fn overlap() -> Error {
    Error::conflict(
        ErrorCode::ScreeningOverlap,
        "another screening in this hall overlaps this time",
    )
}

/// How far ahead screenings may be scheduled.
const MAX_YEARS_AHEAD: i64 = 5;

pub(crate) fn check_start(checks: &mut Checks, starts_at: Option<DateTime<FixedOffset>>) {
    let now = Utc::now();
    checks
        .check(
            "starts_at",
            starts_at.is_some_and(|s| s <= now),
            "must be in the future",
        )
        .check(
            "starts_at",
            starts_at.is_some_and(|s| s > now + chrono::Duration::days(365 * MAX_YEARS_AHEAD)),
            "must be at most 5 years ahead",
        );
}

/// Schedule a screening.
///
/// `POST /screenings` (admin): the screening and a ticket for every seat of its hall, in one
/// statement. Overlaps are refused by the database's exclusion constraint (409). The hall's
/// row is locked first, so concurrent schedulings of one hall queue instead of deadlocking
/// on each other's uncommitted screenings.
#[utoipa::path(
    post, path = "/screenings", tag = "screenings",
    request_body = ScreeningBody,
    security(("oauth2" = [])),
    responses(
        (status = 201, description = "Scheduled, with a ticket for every seat", body = Screening),
        (status = 409, description = "Another screening in the hall overlaps", body = ErrorBody),
        RoleOnly, JsonBody,
    ),
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn create(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Json(body): Json<ScreeningBody>,
) -> Result<(StatusCode, Json<Screening>)> {
    const REQUIRED: &str = "this field is required";
    let base_price = body.base_price.map(|a| a.0);
    let mut checks = Checks::new();
    checks
        .check("film_id", body.film_id.is_none(), REQUIRED)
        .check("hall_id", body.hall_id.is_none(), REQUIRED)
        .check("starts_at", body.starts_at.is_none(), REQUIRED)
        .check("base_price", base_price.is_none(), REQUIRED)
        .add("base_price", base_price.and_then(price_problem));
    check_start(&mut checks, body.starts_at);
    checks.finish()?;

    let mut tx = state.db.begin().await?;
    let created = sqlx::query!(
        r#"with film as (select id, duration_minutes from films where id = $1 and authorize($5, 'admin') for share),
                hall as (select id, rows, seats_per_row from halls where id = $2 for no key update),
                screening as (
                    insert into screenings (film_id, hall_id, starts_at, ends_at, base_price)
                    select film.id, hall.id, $3::timestamptz, $3::timestamptz + make_interval(mins => film.duration_minutes), $4::numeric
                    from film, hall
                    returning id
                ),
                seats as (
                    insert into tickets (screening_id, row_number, seat_number)
                    select screening.id, r, s
                    from screening, hall, generate_series(1, hall.rows) r, generate_series(1, hall.seats_per_row) s
                )
           select (select id from screening) as screening_id,
                  exists (select 1 from film) as "film_exists!",
                  exists (select 1 from hall) as "hall_exists!""#,
        body.film_id,
        body.hall_id,
        body.starts_at,
        base_price,
        admin.id,
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(|error| match violated(&error) {
        Some(constraints::SCREENINGS_NO_OVERLAP) => overlap(),
        // The film was deleted while this screening was being scheduled.
        Some(constraints::SCREENINGS_FILM) => {
            Error::invalid("film_id", "no such film")
        }
        _ => error.into(),
    })?;
    let Some(id) = created.screening_id else {
        let mut checks = Checks::new();
        checks
            .check("film_id", !created.film_exists, "no such film")
            .check("hall_id", !created.hall_exists, "no such hall");
        checks.finish()?;
        return Err(Error::Internal(anyhow::anyhow!(
            "screening not created though film and hall exist"
        )));
    };
    let screening = fetch(&mut tx, id)
        .await?
        .ok_or(Error::NotFound("screening"))?;
    tx.commit().await?;
    tracing::info!(screening_id = id, "screening scheduled");
    Ok((StatusCode::CREATED, Json(screening)))
}
