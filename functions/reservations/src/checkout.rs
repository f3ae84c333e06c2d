//! Checkout: a customer's hold paid online with a PaymentIntent.

use axum::extract::State;
use shared::openapi::{ErrorBody, NotFound, SignedIn};
use shared::{AppState, AuthUser, Error, ErrorCode, Json, Path, Result};

use crate::model::{Checkout, Reservation, Status, fetch};
use crate::online;

/// Opens checkout for `reservation` (active, with none open): a PaymentIntent for its total,
/// created once per reservation (the provider's idempotency key is derived from it), and the
/// checkout row that ties the two. Answers the reservation with its checkout. Two statements
/// at most, outside any transaction: the provider is never called while a lock is held.
pub(crate) async fn open(state: &AppState, mut reservation: Reservation) -> Result<Reservation> {
    if reservation.checkout.is_some() {
        return Ok(reservation);
    }
    let payments = &state.payments;
    if !payments.available() {
        return Err(online::unavailable(
            shared::stripe::ProviderError::Unavailable,
        ));
    }
    let currency = &payments.settings.currency;
    let amount = shared::stripe::minor_units(reservation.total_price(), currency)
        .filter(|amount| *amount > 0)
        .ok_or_else(|| {
            Error::conflict(
                ErrorCode::Conflict,
                format!("this reservation's total cannot be charged in {currency}"),
            )
        })?;
    let key = format!(
        "checkout-{}-{}",
        reservation.id,
        reservation.created_at().timestamp_micros()
    );
    let intent = payments
        .create_intent(reservation.id, amount, key)
        .await
        .map_err(online::unavailable)?;
    let client_secret = intent.client_secret.clone().ok_or_else(|| {
        online::unavailable(shared::stripe::ProviderError::Unreachable {
            reason: "the PaymentIntent has no client secret".into(),
        })
    })?;
    // The first checkout of the reservation stands: a concurrent one's PaymentIntent is the same
    // one (same idempotency key), or, at a provider without idempotency, never shown.
    let checkout = sqlx::query!(
        r#"with opened as (
               insert into checkouts (reservation_id, payment_intent_id, client_secret, amount, currency)
               select r.id, $2, $3, $4, $5 from reservations r
               where r.id = $1 and current_status(r.status, r.pay_by) = 'active'
               on conflict (reservation_id) do nothing
               returning payment_intent_id, client_secret, amount, currency
           )
           select payment_intent_id as "payment_intent_id!", client_secret as "client_secret!",
                  amount as "amount!", currency as "currency!"
           from opened
           union all
           select c.payment_intent_id, c.client_secret, c.amount, c.currency
           from checkouts c where c.reservation_id = $1 and c.closed_at is null
             and not exists (select 1 from opened)"#,
        reservation.id,
        intent.id,
        client_secret,
        amount,
        currency,
    )
    .fetch_optional(&state.db)
    .await?;
    match checkout {
        Some(row) => {
            reservation.checkout = Some(Checkout {
                provider: "stripe".into(),
                payment_intent_id: row.payment_intent_id,
                client_secret: row.client_secret,
                amount: row.amount,
                currency: row.currency,
                expires_at: reservation.pay_by(),
            });
            tracing::info!(reservation_id = reservation.id, "checkout opened");
            Ok(reservation)
        }
        // It lapsed or was paid or cancelled meanwhile, or another checkout is committing now.
        None => Err(Error::conflict(
            ErrorCode::Conflict,
            "the reservation changed meanwhile; read it again",
        )),
    }
}

/// Start or resume paying online.
///
/// `POST /reservations/{id}/checkout` (the owner): starts, or resumes, paying an active hold
/// online. The same PaymentIntent while it is open; `pay_by` never moves.
#[utoipa::path(
    post, path = "/reservations/{id}/checkout", tag = "reservations",
    params(("id" = i64, Path, description = "Reservation id")),
    security(("oauth2" = [])),
    responses(
        (status = 200, description = "The reservation with its open `checkout`: pay `checkout.client_secret` with the provider's card element before `checkout.expires_at`", body = Reservation),
        (status = 409, description = "Paid already (`already_paid`), cancelled, or lapsed (`reservation_lapsed`)", body = ErrorBody),
        (status = 503, description = "Online payments are not configured, or the provider cannot be reached (`payments_unavailable`); nothing changed", body = ErrorBody),
        SignedIn, NotFound,
    ),
)]
#[tracing::instrument(skip_all, fields(reservation_id = id, caller_id = caller.id))]
pub(crate) async fn checkout(
    State(state): State<AppState>,
    caller: AuthUser,
    Path(id): Path<i64>,
) -> Result<Json<Reservation>> {
    let reservation = {
        let mut conn = state.db.acquire().await?;
        fetch(&mut conn, id, Some(caller)).await?
    }
    .filter(|r| r.user_id() == caller.id)
    .ok_or(Error::NotFound("reservation"))?;
    match reservation.status() {
        Status::Active => {}
        Status::Paid => {
            return Err(Error::conflict(
                ErrorCode::AlreadyPaid,
                "the reservation is paid already",
            ));
        }
        Status::Cancelled => {
            return Err(Error::conflict(
                ErrorCode::ReservationCancelled,
                "the reservation is cancelled",
            ));
        }
        Status::Lapsed => {
            return Err(Error::conflict(
                ErrorCode::ReservationLapsed,
                "the reservation was not paid by its pay-by time and has lapsed; its seats are free",
            ));
        }
    }
    Ok(Json(open(&state, reservation).await?))
}
