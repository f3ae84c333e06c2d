//! `POST /reservations/{id}/pay`: a held reservation paid at the till.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use shared::openapi::{ErrorBody, JsonBody, NotFound, RoleOnly};
use shared::{AppState, AuthUser, Error, ErrorCode, Json, Path, Result, Staff};
use sqlx::PgConnection;
use utoipa::ToSchema;

use crate::model::{PaymentMethod, Reservation, Status, fetch};
use crate::{idempotency, online};

/// How the customer paid.
#[derive(Deserialize, ToSchema)]
pub(crate) struct PaymentBody {
    /// `cash` or `card` (online payments are made through checkout).
    method: PaymentMethod,
}

/// Pays reservation `id`, taken by `cashier`, and reads it back; with the PaymentIntent of the
/// checkout it had open, if any.
async fn pay_and_read(
    db: &mut PgConnection,
    id: i64,
    cashier: AuthUser,
    method: PaymentMethod,
) -> Result<(Reservation, Option<String>)> {
    let outcome = sqlx::query_file!("sql/pay.sql", id, cashier.id, method as PaymentMethod)
        .fetch_optional(&mut *db)
        .await?
        .ok_or(Error::NotFound("reservation"))?;
    if !outcome.paid {
        return Err(refusal(outcome.status, outcome.upcoming));
    }
    tracing::info!(reservation_id = id, ?method, "reservation paid");
    let reservation = fetch(db, id, None)
        .await?
        .ok_or(Error::NotFound("reservation"))?;
    Ok((reservation, outcome.open_checkout))
}

/// Why a reservation in `status` could not be paid.
fn refusal(status: Status, upcoming: bool) -> Error {
    match status {
        Status::Paid => Error::conflict(ErrorCode::AlreadyPaid, "the reservation is paid already"),
        Status::Cancelled => Error::conflict(
            ErrorCode::ReservationCancelled,
            "the reservation is cancelled",
        ),
        _ if !upcoming => Error::conflict(
            ErrorCode::ScreeningStarted,
            "the screening has already started",
        ),
        Status::Lapsed => Error::conflict(
            ErrorCode::ReservationLapsed,
            "the reservation was not paid by its pay-by time and has lapsed; its seats are free",
        ),
        Status::Active => Error::conflict(
            ErrorCode::Conflict,
            "the reservation changed meanwhile; read it again",
        ),
    }
}

/// Pay a reservation at the till.
///
/// `POST /reservations/{id}/pay` (cashier or admin): the customer pays at the till; the
/// reservation becomes `paid` and each seat gets its pass.
#[utoipa::path(
    post, path = "/reservations/{id}/pay", tag = "reservations",
    params(
        ("id" = i64, Path, description = "Reservation id"),
        ("Idempotency-Key" = Option<String>, Header,
         description = "1–255 visible ASCII characters. A repeat with the same key gets the first answer again, with `Idempotent-Replayed: true`"),
    ),
    request_body = PaymentBody,
    security(("oauth2" = [])),
    responses(
        (status = 200, description = "Paid; `tickets[].code` holds each seat's pass", body = Reservation,
         headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored answer to an earlier request with the same key"))),
        (status = 409, description = "Paid already (`already_paid`), cancelled, lapsed (`reservation_lapsed`), or the screening has started", body = ErrorBody),
        RoleOnly, NotFound, JsonBody,
    ),
)]
#[tracing::instrument(skip_all, fields(reservation_id = id, caller_id = cashier.id))]
pub(crate) async fn pay(
    State(state): State<AppState>,
    Staff(cashier): Staff,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Json(body): Json<PaymentBody>,
) -> Result<Response> {
    let key = idempotency::key(&headers)?;
    let method = body.method;
    if method == PaymentMethod::Online {
        return Err(Error::invalid(
            "method",
            "online payments are made through checkout",
        ));
    }
    let fingerprint = Sha256::digest(format!("pay:{id}:{method:?}"));
    let mut open_checkout = None;
    let response = idempotency::respond(
        &state.db,
        cashier.id,
        key,
        &fingerprint,
        StatusCode::OK,
        async |db| {
            let (reservation, checkout) = pay_and_read(db, id, cashier, method).await?;
            open_checkout = checkout;
            Ok(reservation)
        },
    )
    .await?;
    // Paid at the till while in checkout: the PaymentIntent is cancelled, or, if it succeeded
    // meanwhile, refunded (the till's payment is the one kept).
    online::close_if_open(&state, open_checkout.as_deref()).await;
    Ok(response)
}
