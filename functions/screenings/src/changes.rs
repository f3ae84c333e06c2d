//! Changing a screening once scheduled: moving it (its holds move with it), cancelling it (its
//! reservations are cancelled and refunded, the screening kept), deleting one scheduled by
//! mistake (never its reservations).

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, FixedOffset};
use serde::Deserialize;
use shared::money::{Amount, price_problem};
use shared::openapi::{ErrorBody, JsonBody, NotFound, RoleOnly};
use shared::validate::Checks;
use shared::{Admin, AppState, Error, ErrorCode, Json, Path, Result, ResultExt, constraints};
use sqlx::PgConnection;
use utoipa::ToSchema;

use crate::screenings::{Screening, check_start, fetch, overlap};

/// Locks screening `id` for a change by `admin` (admins only, by their role now): a booking of
/// it under way (which holds it for share) commits first, and the statements that follow in
/// the transaction, each with a snapshot taken after this, see its reservation. `None` when
/// there is no such screening (or it was deleted).
async fn lock(db: &mut PgConnection, id: i64, admin: i64) -> Result<()> {
    sqlx::query_scalar!(
        "select id from screenings where id = $1 and deleted_at is null and authorize($2, 'admin') for update",
        id,
        admin
    )
    .fetch_optional(db)
    .await?
    .map(|_| ())
    .ok_or(Error::NotFound("screening"))
}

/// A new start time or base price (or both).
#[derive(Deserialize, ToSchema)]
pub(crate) struct ScreeningChanges {
    starts_at: Option<DateTime<FixedOffset>>,
    base_price: Option<Amount>,
}

/// Move or reprice a screening.
///
/// `PATCH /screenings/{id}` (admin): move it (it must not have started, and the new time
/// must be in the future) or change its base price. Film and hall are fixed: schedule a
/// new screening instead. Moving it moves every unpaid hold's `pay_by` by as much, in the same
/// statement; a hold that has lapsed stays lapsed.
#[utoipa::path(
    patch, path = "/screenings/{id}", tag = "screenings",
    params(("id" = i64, Path, description = "Screening id")),
    request_body = ScreeningChanges,
    security(("oauth2" = [])),
    responses(
        (status = 200, description = "The changed screening", body = Screening),
        (status = 409, description = "It has started or is cancelled, or the new time overlaps another screening", body = ErrorBody),
        RoleOnly, NotFound, JsonBody,
    ),
)]
#[tracing::instrument(skip_all, fields(screening_id = id))]
pub(crate) async fn update(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<i64>,
    Json(body): Json<ScreeningChanges>,
) -> Result<Json<Screening>> {
    let base_price = body.base_price.map(|a| a.0);
    let mut checks = Checks::new();
    checks.add("base_price", base_price.and_then(price_problem));
    check_start(&mut checks, body.starts_at);
    checks.finish()?;

    let mut tx = state.db.begin().await?;
    lock(&mut tx, id, admin.id).await?;
    let updated = sqlx::query_file!("sql/move.sql", id, body.starts_at, base_price, admin.id)
        .fetch_one(&mut *tx)
        .await
        .on_constraint(constraints::SCREENINGS_NO_OVERLAP, overlap)?;
    if !updated.found {
        return Err(Error::NotFound("screening"));
    }
    if updated.cancelled {
        return Err(cancelled());
    }
    if !updated.updated {
        return Err(Error::conflict(
            ErrorCode::ScreeningStarted,
            "the screening has already started",
        ));
    }
    let screening = fetch(&mut tx, id)
        .await?
        .ok_or(Error::NotFound("screening"))?;
    tx.commit().await?;
    Ok(Json(screening))
}

fn cancelled() -> Error {
    Error::conflict(ErrorCode::ScreeningCancelled, "the screening is cancelled")
}

/// Delete a screening.
///
/// `DELETE /screenings/{id}` (admin): a screening scheduled by mistake. Refused while it has a
/// reservation that holds seats or was paid (cancel the screening instead: its customers are
/// refunded and its history kept). With only lapsed or unpaid cancelled reservations it leaves
/// the schedule, its seats withdrawn, and stays as their record; with none, it is gone.
#[utoipa::path(
    delete, path = "/screenings/{id}", tag = "screenings",
    params(("id" = i64, Path, description = "Screening id")),
    security(("oauth2" = [])),
    responses(
        (status = 204, description = "Deleted, with its tickets"),
        (status = 409, description = "It has reservations that hold seats or were paid (`screening_has_reservations`): cancel it instead", body = ErrorBody),
        RoleOnly, NotFound,
    ),
)]
#[tracing::instrument(skip_all, fields(screening_id = id))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    let mut tx = state.db.begin().await?;
    // The screening first, then each of its reservations: a booking, payment or cancellation
    // under way settles first, and the check sees how it ended.
    lock(&mut tx, id, admin.id).await?;
    let history = sqlx::query!(
        r#"with booked as (
               select current_status(r.status, r.pay_by) as status, r.paid_at is not null as paid
               from reservations r where r.screening_id = $1 for update of r
           )
           select count(*) as "reservations!",
                  count(*) filter (where not (status = 'lapsed' or (status = 'cancelled' and not paid))) as "kept!"
           from booked"#,
        id,
    )
    .fetch_one(&mut *tx)
    .await?;
    if history.kept > 0 {
        return Err(Error::conflict(
            ErrorCode::ScreeningHasReservations,
            "the screening has reservations that hold seats or were paid; cancel it instead",
        ));
    }
    // Reservations are never deleted with their screening (the foreign key refuses): one with
    // history leaves the schedule and its seats are withdrawn (the bookings keep row and seat).
    sqlx::query!(
        "with hidden as (
             update screenings set deleted_at = now() where id = $1 and $2 returning id
         ), withdrawn as (
             delete from tickets where screening_id in (select id from hidden)
         )
         delete from screenings where id = $1 and not $2",
        id,
        history.reservations > 0,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Cancel a screening.
///
/// `POST /screenings/{id}/cancel` (admin): the screening will not take place. Every reservation
/// that holds seats is cancelled in the same statement: unpaid holds end, paid ones are
/// `refunded`, and their passes are void. The screening stays, with `cancelled_at`, no longer
/// bookable; its hall's time is free again. Possible until it ends.
#[utoipa::path(
    post, path = "/screenings/{id}/cancel", tag = "screenings",
    params(("id" = i64, Path, description = "Screening id")),
    security(("oauth2" = [])),
    responses(
        (status = 200, description = "Cancelled, with every reservation for it", body = Screening),
        (status = 409, description = "It is cancelled already (`screening_cancelled`) or has ended (`screening_started`)", body = ErrorBody),
        RoleOnly, NotFound,
    ),
)]
#[tracing::instrument(skip_all, fields(screening_id = id))]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<i64>,
) -> Result<Json<Screening>> {
    let mut tx = state.db.begin().await?;
    lock(&mut tx, id, admin.id).await?;
    let outcome = sqlx::query_file!("sql/cancel.sql", id, admin.id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(Error::NotFound("screening"))?;
    if outcome.was_cancelled {
        return Err(cancelled());
    }
    if !outcome.cancelled {
        return Err(Error::conflict(
            ErrorCode::ScreeningStarted,
            "the screening has ended",
        ));
    }
    let screening = fetch(&mut tx, id)
        .await?
        .ok_or(Error::NotFound("screening"))?;
    tx.commit().await?;
    tracing::info!(reservations = outcome.reservations, "screening cancelled");
    Ok(Json(screening))
}
