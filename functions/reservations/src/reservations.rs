//! Reading and cancelling reservations.

use axum::extract::State;
use serde::Deserialize;
use shared::openapi::{BadQuery, ErrorBody, NotFound, PageParams, SignedIn};
use shared::{
    AppState, AuthUser, Error, ErrorCode, Json, Page, Paginated, Path, Query, Result, Role,
};

use crate::model::{BookedSeat, PaymentMethod, Reservation, Row, Status, fetch};
use sqlx::types::Json as Jsonb;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReservationFilter {
    /// Only this customer's (staff; customers always see only their own).
    user_id: Option<i64>,
    /// Only reservations for this screening.
    screening_id: Option<i64>,
    /// Only reservations in this state (as it reads now: `lapsed` includes those whose
    /// `pay_by` has just passed).
    status: Option<Status>,
}

/// `GET /reservations?user_id=&screening_id=&status=`: newest first. A customer sees only
/// their own, whatever `user_id` says; cashiers and admins see everyone's.
#[utoipa::path(
    get, path = "/reservations", tag = "reservations",
    params(PageParams, ReservationFilter),
    security(("oauth2" = [])),
    responses(
        (status = 200, description = "One page of reservations, newest first", body = Paginated<Reservation>),
        (status = 403, description = "The token says cashier or admin, but the caller no longer is", body = ErrorBody),
        SignedIn, BadQuery,
    ),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: AuthUser,
    page: Page,
    Query(filter): Query<ReservationFilter>,
) -> Result<Json<Paginated<Reservation>>> {
    let user_id = if caller.role.is_staff() {
        filter.user_id
    } else {
        Some(caller.id)
    };
    let rows = sqlx::query_file!(
        "sql/reservations.sql",
        user_id,
        filter.screening_id,
        filter.status as Option<Status>,
        page.limit,
        page.offset,
        caller.id,
        caller.role.is_staff(),
        page.count_limit(),
    )
    .fetch_all(&state.db)
    .await?;
    Ok(Json(page.collect(
        rows,
        |row| row.total,
        |r| {
            Some(Reservation::from(Row {
                id: r.id?,
                status: r.status?,
                total_price: r.total_price?,
                created_at: r.created_at?,
                cancelled_at: r.cancelled_at,
                user_id: r.user_id?,
                user_username: r.user_username?,
                user_full_name: r.user_full_name?,
                booked_by_id: r.booked_by_id?,
                booked_by_username: r.booked_by_username?,
                booked_by_role: r.booked_by_role?,
                screening_id: r.screening_id?,
                screening_starts_at: r.screening_starts_at?,
                film_id: r.film_id?,
                film_title: r.film_title?,
                hall_id: r.hall_id?,
                hall_name: r.hall_name?,
                tickets: r.tickets?,
                pay_by: r.pay_by?,
                paid_at: r.paid_at,
                payment_method: r.payment_method,
                paid_by_id: r.paid_by_id,
                paid_by_username: r.paid_by_username,
                refunded: r.refunded?,
            }))
        },
    )))
}

/// `GET /reservations/{id}`: the owner or staff; for anyone else it does not exist.
#[utoipa::path(
    get, path = "/reservations/{id}", tag = "reservations",
    params(("id" = i64, Path, description = "Reservation id")),
    security(("oauth2" = [])),
    responses(
        (status = 200, description = "The reservation", body = Reservation),
        (status = 403, description = "The token says cashier or admin, but the caller no longer is", body = ErrorBody),
        SignedIn, NotFound,
    ),
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    caller: AuthUser,
    Path(id): Path<i64>,
) -> Result<Json<Reservation>> {
    let mut conn = state.db.acquire().await?;
    let reservation = fetch(&mut conn, id, Some(caller))
        .await?
        .ok_or(Error::NotFound("reservation"))?;
    if !caller.role.is_staff() && reservation.user_id() != caller.id {
        return Err(Error::NotFound("reservation"));
    }
    Ok(Json(reservation))
}

/// `POST /reservations/{id}/cancel`: the owner, a cashier or an admin, before the screening
/// starts. The seats are free again at once; the reservation stays, cancelled (and
/// `refunded` if it was paid). Lapsed ones, and ones with an admitted seat, stay as they are.
#[tracing::instrument(skip_all, fields(reservation_id = id, caller_id = caller.id))]
#[utoipa::path(
    post, path = "/reservations/{id}/cancel", tag = "reservations",
    params(("id" = i64, Path, description = "Reservation id")),
    security(("oauth2" = [])),
    responses(
        (status = 403, description = "The token says cashier or admin, but the caller no longer is", body = ErrorBody),
        (status = 200, description = "Cancelled; its seats are free again (`refunded` if it was paid)", body = Reservation),
        (status = 409, description = "Already cancelled, lapsed (`reservation_lapsed`), a seat admitted (`already_admitted`), or the screening has started", body = ErrorBody),
        SignedIn, NotFound,
    ),
)]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    caller: AuthUser,
    Path(id): Path<i64>,
) -> Result<Json<Reservation>> {
    let mut tx = state.db.begin().await?;
    let outcome = sqlx::query!(
        r#"with target as (
               select r.id, r.user_id, current_status(r.status, r.pay_by) as status,
                      s.starts_at > now() as upcoming, r.admitted_at is not null as admitted
               from reservations r join screenings s on s.id = r.screening_id
               where r.id = $1 and ($2 or r.user_id = $3) and authorize_claim($3, $2)
               for update of r
           ),
           cancelled as (
               update reservations r
               set status = 'cancelled', cancelled_at = now(), refunded = target.status = 'paid'
               from target
               where r.id = target.id and target.status in ('active', 'paid') and target.upcoming
                 and not target.admitted
               returning r.id
           ),
           freed as (
               update reservation_items set active = false
               where reservation_id in (select id from cancelled)
           )
           select target.status as "status!: Status", target.upcoming as "upcoming!",
                  target.admitted as "admitted!", exists (select 1 from cancelled) as "cancelled!"
           from target"#,
        id,
        caller.role.is_staff(),
        caller.id,
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound("reservation"))?;
    if !outcome.cancelled {
        return Err(match outcome.status {
            Status::Cancelled => Error::conflict(
                ErrorCode::ReservationCancelled,
                "the reservation is already cancelled",
            ),
            _ if !outcome.upcoming => Error::conflict(
                ErrorCode::ScreeningStarted,
                "the screening has already started",
            ),
            Status::Lapsed => Error::conflict(
                ErrorCode::ReservationLapsed,
                "the reservation lapsed unpaid; its seats are free already",
            ),
            _ => Error::conflict(
                ErrorCode::AlreadyAdmitted,
                "a seat of this reservation has been admitted; it can no longer be cancelled",
            ),
        });
    }
    let reservation = fetch(&mut tx, id, None)
        .await?
        .ok_or(Error::NotFound("reservation"))?;
    tx.commit().await?;
    tracing::info!("reservation cancelled");
    Ok(Json(reservation))
}
