//! `POST /reservations`: booking 1–10 seats of one screening, all or nothing.
//!
//! The booking is one SQL statement: it prices the seats, checks every rule, and inserts the
//! reservation and its items only if all hold. That the same seat is never sold twice is not
//! this code's promise but the database's: a partial unique index allows one active item per
//! ticket, so of any number of concurrent bookings of a seat exactly one commits.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse as _, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use shared::error::{ErrorExtras, HoldScope, violated};
use shared::openapi::{ErrorBody, JsonBody, SignedIn};
use shared::stripe::ProviderError;
use shared::validate::Checks;
use shared::{AppState, AuthUser, Error, ErrorCode, Json, Result, Role, constraints, rules};
use sqlx::PgConnection;
use utoipa::ToSchema;

use crate::model::{PaymentMethod, Reservation, fetch};
use crate::{checkout, idempotency, online};

/// Seats to book, all of one screening.
#[derive(Deserialize, ToSchema)]
pub(crate) struct BookingBody {
    /// 1–10 distinct tickets of one screening.
    #[schema(value_type = Vec<i64>, required = true, min_items = 1, max_items = 10)]
    ticket_ids: Option<Vec<i64>>,
    /// The customer (cashiers and admins book for customers); a customer's own id by default.
    user_id: Option<i64>,
    /// Sold and paid at the till in one request (cashiers and admins): the reservation is
    /// `paid` at once and each seat has its pass (`cash` or `card`). Without it the seats are
    /// held until `pay_by`.
    payment_method: Option<PaymentMethod>,
    /// A customer paying online: the hold lapses `CHECKOUT_HOLD_MINUTES` (10) from now, or at
    /// its usual `pay_by` if earlier, and the answer carries its `checkout`.
    #[serde(default)]
    checkout: bool,
}

/// A booking request that passed the checks that need no database.
struct Booking {
    customer: i64,
    booked_by: AuthUser,
    ticket_ids: Vec<i64>,
    payment: Option<PaymentMethod>,
    checkout: bool,
}

impl Booking {
    fn parse(body: BookingBody, caller: AuthUser) -> Result<Self> {
        let ids = body.ticket_ids.unwrap_or_default();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        Checks::new()
            .check(
                "ticket_ids",
                ids.len() < *rules::BOOKING_SEATS.start(),
                "at least one ticket is required",
            )
            .check(
                "ticket_ids",
                ids.len() > *rules::BOOKING_SEATS.end(),
                &format!(
                    "at most {} tickets per reservation",
                    rules::BOOKING_SEATS.end()
                ),
            )
            .check(
                "ticket_ids",
                sorted.len() != ids.len(),
                "a ticket may appear only once",
            )
            .finish()?;
        let customer = body.user_id.unwrap_or(caller.id);
        // A customer books only for themself, and pays at the till or online; staff book for
        // customers, and sell at the till.
        if caller.role == Role::User && (customer != caller.id || body.payment_method.is_some()) {
            return Err(Error::Forbidden);
        }
        if body.checkout && (caller.role != Role::User || body.payment_method.is_some()) {
            return Err(Error::invalid(
                "checkout",
                "checkout is for customers paying online for their own booking",
            ));
        }
        if body.payment_method == Some(PaymentMethod::Online) {
            return Err(Error::invalid(
                "payment_method",
                "online payments are made through checkout",
            ));
        }
        Ok(Self {
            customer,
            booked_by: caller,
            ticket_ids: sorted,
            payment: body.payment_method,
            checkout: body.checkout,
        })
    }

    /// What makes two requests "the same request" for an idempotency key.
    fn fingerprint(&self) -> Vec<u8> {
        let mut request = format!("{}:{:?}", self.customer, self.ticket_ids);
        if let Some(method) = self.payment {
            request.push_str(&format!(":{method:?}"));
        }
        if self.checkout {
            request.push_str(":checkout");
        }
        Sha256::digest(request).to_vec()
    }
}

/// What the booking statement answers: the new reservation, or which rules the request broke.
struct Outcome {
    reservation_id: Option<i64>,
    unknown: Vec<i64>,
    screenings: i64,
    customer_role: Option<Role>,
    started: bool,
    cancelled: bool,
    pay_by_passed: bool,
    taken: Vec<Option<i64>>,
    hold_limit_exceeded: Option<String>,
}

/// Runs the booking statement; returns the new reservation's id or the rule it broke.
/// When a race is lost, the seats taken are read again: on `db`, or, if the failed statement
/// has aborted the transaction `db` is in, on another connection of the pool.
async fn book(db: &mut PgConnection, state: &AppState, booking: &Booking) -> Result<i64> {
    let outcome = sqlx::query_file_as!(
        Outcome,
        "sql/book.sql",
        booking.customer,
        booking.booked_by.id,
        &booking.ticket_ids,
        booking.booked_by.role.is_staff(),
        booking.payment as Option<PaymentMethod>,
        state.pay_by_minutes,
        state.hold_limits.seats,
        state.hold_limits.per_screening,
        booking
            .checkout
            .then_some(state.payments.settings.checkout_minutes),
    )
    .fetch_one(&mut *db)
    .await;
    let outcome = match outcome {
        Ok(outcome) => outcome,
        // Lost a race for a seat: another booking committed it between our check and insert
        // (or, booking overlapping seats, the database broke a deadlock between the two).
        Err(e)
            if violated(&e) == Some(constraints::RESERVATION_ITEMS_ACTIVE_TICKET)
                || matches!(&e, sqlx::Error::Database(db) if db.code().as_deref() == Some("40P01")) =>
        {
            // Outside a transaction the failed statement left the connection usable: ask it.
            // Inside one (an idempotent booking's savepoint) the transaction is aborted until
            // rolled back, so another connection answers.
            let taken = if sqlx::Connection::is_in_transaction(&*db) {
                taken_now(&booking.ticket_ids, &mut *state.db.acquire().await?).await?
            } else {
                taken_now(&booking.ticket_ids, db).await?
            };
            return Err(seats_taken(taken));
        }
        // A seat withdrawn, or its screening deleted, while this booking was being made.
        Err(e)
            if matches!(
                violated(&e),
                Some(constraints::RESERVATION_ITEMS_TICKET | constraints::RESERVATIONS_SCREENING)
            ) =>
        {
            return Err(Error::invalid(
                "ticket_ids",
                "these tickets are no longer on sale",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    match outcome.reservation_id {
        Some(id) => Ok(id),
        None => Err(refusal(outcome, booking, state)),
    }
}

/// Why the booking statement booked nothing: the first rule, in the order a customer can act on
/// them, that the request broke.
fn refusal(outcome: Outcome, booking: &Booking, state: &AppState) -> Error {
    let Some(customer_role) = outcome.customer_role else {
        return Error::invalid("user_id", "no such user");
    };
    if !outcome.unknown.is_empty() {
        return Error::invalid(
            "ticket_ids",
            format!("these tickets do not exist: {:?}", outcome.unknown),
        );
    }
    if outcome.screenings > 1 {
        return Error::invalid("ticket_ids", "all tickets must be for one screening");
    }
    if customer_role != Role::User {
        return Error::conflict(
            ErrorCode::CustomerNotAUser,
            "bookings are made for customers, not for staff",
        );
    }
    if outcome.started {
        return Error::conflict(
            ErrorCode::ScreeningStarted,
            "the screening has already started",
        );
    }
    if outcome.cancelled {
        return Error::conflict(ErrorCode::ScreeningCancelled, "the screening is cancelled");
    }
    if outcome.pay_by_passed && booking.payment.is_none() {
        return Error::conflict(
            ErrorCode::PayByPassed,
            "seats for this screening are no longer held unpaid; buy them at the till",
        );
    }
    if let Some(scope) = outcome.hold_limit_exceeded {
        return hold_limit_reached(&scope, &state.hold_limits);
    }
    seats_taken(outcome.taken.into_iter().flatten().collect())
}

/// 409 `hold_limit_reached`, naming the limit (`scope`: `screening` or `total`).
fn hold_limit_reached(scope: &str, limits: &shared::HoldLimits) -> Error {
    let scope = if scope == "screening" {
        HoldScope::Screening
    } else {
        HoldScope::Total
    };
    let (limit, detail) = if scope == HoldScope::Screening {
        (
            limits.per_screening,
            format!(
                "you may hold at most {} unpaid seats of one screening; pay for some first",
                limits.per_screening
            ),
        )
    } else {
        (
            limits.seats,
            format!(
                "you may hold at most {} unpaid seats of screenings to come; pay for some first",
                limits.seats
            ),
        )
    };
    Error::Conflict {
        code: ErrorCode::HoldLimitReached,
        detail,
        extra: ErrorExtras {
            limit: Some(limit),
            scope: Some(scope),
            ..ErrorExtras::default()
        }
        .into_extra(),
    }
}

async fn taken_now(ticket_ids: &[i64], db: &mut PgConnection) -> Result<Vec<i64>> {
    let taken = sqlx::query_scalar!(
        r#"select ticket_id as "ticket_id!" from reservation_items
           where ticket_id = any($1) and holds_seat(active, held_until) order by 1"#,
        ticket_ids
    )
    .fetch_all(db)
    .await?;
    Ok(taken)
}

fn seats_taken(ticket_ids: Vec<i64>) -> Error {
    Error::Conflict {
        code: ErrorCode::SeatsTaken,
        detail: "some of these seats are already booked; nothing was booked".into(),
        extra: ErrorExtras {
            ticket_ids: Some(ticket_ids),
            ..ErrorExtras::default()
        }
        .into_extra(),
    }
}

/// Books and reads the reservation back as the API shows it.
async fn book_and_read(
    db: &mut PgConnection,
    state: &AppState,
    booking: &Booking,
) -> Result<Reservation> {
    let id = book(db, state, booking).await?;
    tracing::info!(
        reservation_id = id,
        paid = booking.payment.is_some(),
        "seats booked"
    );
    fetch(db, id, None)
        .await?
        .ok_or(Error::NotFound("reservation"))
}

/// Book seats.
///
/// `POST /reservations`: unpaid, the seats are held until the reservation's `pay_by`; with
/// `payment_method` (cashiers and admins, at the till) it is paid at once. A customer may hold
/// at most `HOLD_LIMIT_PER_SCREENING` (10) unpaid seats of one screening and `HOLD_LIMIT_SEATS`
/// (20) of all screenings to come; staff are not limited.
#[utoipa::path(
    post, path = "/reservations", tag = "reservations",
    params(
        ("Idempotency-Key" = Option<String>, Header,
         description = "1–255 visible ASCII characters. A repeat with the same key gets the first answer again, with `Idempotent-Replayed: true`"),
    ),
    request_body = BookingBody,
    security(("oauth2" = [])),
    responses(
        (status = 201, description = "Booked", body = Reservation,
         headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored answer to an earlier request with the same key"))),
        (status = 403, description = "A customer may book only for themself, and not pay in the request (`payment_method` is for the till)", body = ErrorBody),
        (status = 409, description = "A seat is taken (`ticket_ids` lists which), the screening has started or is cancelled, unpaid bookings for it have closed (`pay_by_passed`), the customer is staff, or a customer booking unpaid would hold more seats than allowed (`hold_limit_reached`, with `limit` and `scope`: `screening` or `total`)", body = ErrorBody),
        SignedIn, JsonBody,
    ),
)]
#[tracing::instrument(skip_all, fields(caller_id = caller.id))]
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: AuthUser,
    headers: HeaderMap,
    Json(body): Json<BookingBody>,
) -> Result<Response> {
    let key = idempotency::key(&headers)?;
    let booking = Booking::parse(body, caller)?;
    if booking.checkout && !state.payments.available() {
        return Err(online::unavailable(ProviderError::Unavailable));
    }
    let answer = idempotency::answer(
        &state.db,
        caller.id,
        key,
        &booking.fingerprint(),
        StatusCode::CREATED,
        async |db| book_and_read(db, &state, &booking).await,
    )
    .await?;
    if !booking.checkout || answer.status != StatusCode::CREATED {
        return Ok(answer.into_response());
    }
    // The hold has committed; its checkout opens now, with no lock held while the provider
    // answers. A retry with the same key finds the same hold and the same checkout.
    let id = answer.body["id"]
        .as_i64()
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("a booking answered without its id")))?;
    let reservation = {
        let mut conn = state.db.acquire().await?;
        fetch(&mut conn, id, None).await?
    }
    .ok_or(Error::NotFound("reservation"))?;
    let reservation = checkout::open(&state, reservation).await?;
    let mut response = (StatusCode::CREATED, Json(reservation)).into_response();
    if answer.replayed {
        idempotency::mark_replayed(&mut response);
    }
    Ok(response)
}
