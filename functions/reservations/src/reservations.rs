//! Reading and cancelling reservations.

use axum::extract::State;
use serde::Deserialize;
use shared::openapi::{BadQuery, ErrorBody, NotFound, PageParams, SignedIn};
use shared::{
    AppState, AuthUser, Error, ErrorCode, Json, Page, Paginated, Path, Query, Result, Role,
};

use crate::model::{
    BookedSeat, Checkout, PaymentMethod, RefundInfo, RefundStatus, Reservation, Row, Status, fetch,
};
use crate::online;
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
    /// Only reservations with a refund of an online payment in this state (`failed`: the
    /// refunds staff should follow up).
    refund_status: Option<RefundStatus>,
}

/// List reservations.
///
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
        filter.refund_status.map(RefundStatus::as_str),
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
                checkout: r.checkout,
                refund: r.refund,
            }))
        },
    )))
}

/// Read a reservation.
///
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
    // In checkout, the provider may know more than its webhook has said (a webhook may never
    // arrive): ask it, and read the reservation again if that changed anything. A provider
    // that cannot be reached leaves the reservation as the database has it.
    drop(conn);
    if let Some(checkout) = &reservation.checkout {
        match online::refresh(&state, &checkout.payment_intent_id).await {
            Ok(true) => {
                let mut conn = state.db.acquire().await?;
                return fetch(&mut conn, id, None)
                    .await?
                    .ok_or(Error::NotFound("reservation"))
                    .map(Json);
            }
            Ok(false) => {}
            Err(error) => tracing::warn!(%error, "checkout not refreshed"),
        }
    }
    Ok(Json(reservation))
}

/// Cancel a reservation.
///
/// `POST /reservations/{id}/cancel`: the owner, a cashier or an admin, before the screening
/// starts. The seats are free again at once; the reservation stays, cancelled. Paid at the
/// till, it is `refunded` in cash; paid online, its payment is refunded at the provider
/// (`refund`), which customers may ask for until `REFUND_CUTOFF_MINUTES` (120) before the
/// start and staff until the start. Lapsed ones, and ones with an admitted seat, stay as they
/// are.
#[tracing::instrument(skip_all, fields(reservation_id = id, caller_id = caller.id))]
#[utoipa::path(
    post, path = "/reservations/{id}/cancel", tag = "reservations",
    params(("id" = i64, Path, description = "Reservation id")),
    security(("oauth2" = [])),
    responses(
        (status = 403, description = "The token says cashier or admin, but the caller no longer is", body = ErrorBody),
        (status = 200, description = "Cancelled; its seats are free again (`refunded` if it was paid at the till; `refund` if it was paid online)", body = Reservation),
        (status = 409, description = "Already cancelled, lapsed (`reservation_lapsed`), a seat admitted (`already_admitted`), the screening has started, or too close to it for a customer to cancel an online purchase (`refund_window_closed`)", body = ErrorBody),
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
                      s.starts_at > now() as upcoming, r.admitted_at is not null as admitted,
                      r.status = 'paid' and r.payment_method = 'online' as online,
                      $2 or s.starts_at - make_interval(mins => $4) > now() as refundable
               from reservations r join screenings s on s.id = r.screening_id
               where r.id = $1 and ($2 or r.user_id = $3) and authorize_claim($3, $2)
               for update of r
           ),
           cancelled as (
               update reservations r
               set status = 'cancelled', cancelled_at = now(),
                   refunded = target.status = 'paid' and not target.online
               from target
               where r.id = target.id and target.status in ('active', 'paid') and target.upcoming
                 and not target.admitted and (not target.online or target.refundable)
               returning r.id
           ),
           freed as (
               update reservation_items set active = false
               where reservation_id in (select id from cancelled)
           ),
           refund as (
               insert into refunds (reservation_id, payment_intent_id, amount, currency, reason)
               select c.reservation_id, c.payment_intent_id, c.amount, c.currency, 'requested_by_customer'
               from checkouts c join target on target.id = c.reservation_id
               where target.online and c.outcome = 'paid' and c.reservation_id in (select id from cancelled)
               on conflict do nothing
               returning payment_intent_id
           )
           select target.status as "status!: Status", target.upcoming as "upcoming!",
                  target.admitted as "admitted!", target.online as "online!",
                  target.refundable as "refundable!", exists (select 1 from cancelled) as "cancelled!",
                  (select payment_intent_id from refund) as refund_intent,
                  (select c.payment_intent_id from checkouts c
                   where c.reservation_id = target.id and c.closed_at is null) as open_checkout
           from target"#,
        id,
        caller.role.is_staff(),
        caller.id,
        state.payments.settings.refund_cutoff_minutes,
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
            _ if outcome.admitted => Error::conflict(
                ErrorCode::AlreadyAdmitted,
                "a seat of this reservation has been admitted; it can no longer be cancelled",
            ),
            _ => Error::conflict(
                ErrorCode::RefundWindowClosed,
                format!(
                    "online purchases can be cancelled until {} minutes before the screening; ask at the box office",
                    state.payments.settings.refund_cutoff_minutes
                ),
            ),
        });
    }
    tx.commit().await?;
    tracing::info!("reservation cancelled");
    // The provider is called once the cancellation has committed; what it leaves undone,
    // reconciliation finishes.
    if let Some(payment_intent) = &outcome.refund_intent {
        online::send_refund(&state, payment_intent).await?;
    }
    online::close_if_open(&state, outcome.open_checkout.as_deref()).await;
    let mut conn = state.db.acquire().await?;
    let reservation = fetch(&mut conn, id, None)
        .await?
        .ok_or(Error::NotFound("reservation"))?;
    Ok(Json(reservation))
}
