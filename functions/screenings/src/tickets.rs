//! Tickets (one per seat of a screening) and the seat map.

use axum::extract::State;
use axum::http::StatusCode;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use shared::money::{Amount, price_problem};
use shared::openapi::{
    BadQuery, ErrorBody, JsonBody, NotFound, OptionalToken, PageParams, RoleOnly,
};
use shared::validate::Checks;
use shared::{
    Admin, AppState, Error, ErrorCode, Json, MaybeAuthUser, Page, Paginated, Path, Query, Result,
};
use utoipa::{IntoParams, ToSchema};

/// Whether a seat is booked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum SeatStatus {
    Free,
    Reserved,
}

impl SeatStatus {
    fn of(reserved: bool) -> Self {
        if reserved {
            SeatStatus::Reserved
        } else {
            SeatStatus::Free
        }
    }
}

/// A seat of the seat map.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Seat {
    ticket_id: i64,
    row: i32,
    seat: i32,
    /// Base price with the hall's surcharge, rounded half-up to cents.
    #[schema(value_type = String, examples("12.50"))]
    price: Decimal,
    status: SeatStatus,
}

/// A ticket: one seat of one screening.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Ticket {
    id: i64,
    screening_id: i64,
    row: i32,
    seat: i32,
    /// This seat's base price: its own, or the screening's.
    #[schema(value_type = String, examples("10.00"))]
    base_price: Decimal,
    /// Base price with the hall's surcharge, rounded half-up to cents.
    #[schema(value_type = String, examples("12.50"))]
    price: Decimal,
    status: SeatStatus,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SeatFilter {
    /// Only free or only booked seats.
    status: Option<SeatStatus>,
}

/// A screening's seat map.
///
/// `GET /screenings/{id}/seats?status=`: every seat with its final price, in one query.
#[utoipa::path(
    get, path = "/screenings/{id}/seats", tag = "tickets",
    params(("id" = i64, Path, description = "Screening id"), SeatFilter),
    security((), ("oauth2" = [])),
    responses((status = 200, description = "Every seat on sale, by row and seat", body = Vec<Seat>), OptionalToken, NotFound, BadQuery),
)]
pub(crate) async fn seat_map(
    State(state): State<AppState>,
    _: MaybeAuthUser,
    Path(id): Path<i64>,
    Query(filter): Query<SeatFilter>,
) -> Result<Json<Vec<Seat>>> {
    let reserved = filter.status.map(|status| status == SeatStatus::Reserved);
    let rows = sqlx::query_file!("sql/seat_map.sql", id, reserved,)
        .fetch_all(&state.db)
        .await?;
    if rows.is_empty() {
        return Err(Error::NotFound("screening"));
    }
    let seats = rows
        .into_iter()
        .filter_map(|r| {
            Some(Seat {
                ticket_id: r.ticket_id?,
                row: r.row?,
                seat: r.seat?,
                price: r.price?,
                status: SeatStatus::of(r.reserved?),
            })
        })
        .collect();
    Ok(Json(seats))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TicketFilter {
    /// Only the tickets of this screening.
    screening_id: Option<i64>,
}

/// List tickets.
///
/// `GET /tickets?screening_id=`: by screening, row and seat.
#[utoipa::path(
    get, path = "/tickets", tag = "tickets",
    params(PageParams, TicketFilter),
    security((), ("oauth2" = [])),
    responses((status = 200, description = "One page of tickets, by screening, row and seat", body = Paginated<Ticket>), OptionalToken, BadQuery),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    _: MaybeAuthUser,
    page: Page,
    Query(filter): Query<TicketFilter>,
) -> Result<Json<Paginated<Ticket>>> {
    let rows = sqlx::query_file!(
        "sql/tickets.sql",
        filter.screening_id,
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
            Some(Ticket {
                id: r.ticket_id?,
                screening_id: r.screening_id?,
                row: r.row_number?,
                seat: r.seat_number?,
                base_price: r.base_price?,
                price: r.price?,
                status: SeatStatus::of(r.reserved?),
            })
        },
    )))
}

async fn fetch(db: &sqlx::PgPool, id: i64) -> Result<Option<Ticket>> {
    let row = sqlx::query!(
        r#"select ticket_id as "ticket_id!", screening_id as "screening_id!", row_number as "row_number!",
                  seat_number as "seat_number!", base_price as "base_price!", price as "price!", reserved as "reserved!"
           from ticket_details where ticket_id = $1"#,
        id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| Ticket {
        id: r.ticket_id,
        screening_id: r.screening_id,
        row: r.row_number,
        seat: r.seat_number,
        base_price: r.base_price,
        price: r.price,
        status: SeatStatus::of(r.reserved),
    }))
}

/// Read a ticket.
///
/// `GET /tickets/{id}`: one seat of a screening, with its price and state.
#[utoipa::path(
    get, path = "/tickets/{id}", tag = "tickets",
    params(("id" = i64, Path, description = "Ticket id")),
    security((), ("oauth2" = [])),
    responses((status = 200, description = "The ticket", body = Ticket), OptionalToken, NotFound),
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    _: MaybeAuthUser,
    Path(id): Path<i64>,
) -> Result<Json<Ticket>> {
    fetch(&state.db, id)
        .await?
        .map(Json)
        .ok_or(Error::NotFound("ticket"))
}

/// This seat's own base price.
#[derive(Deserialize, ToSchema)]
pub(crate) struct TicketChanges {
    /// 0–999999.99, at most two decimal places.
    #[schema(value_type = Amount, required = true)]
    base_price: Option<Amount>,
}

/// Set a seat's own base price.
///
/// `PATCH /tickets/{id}` (admin): this seat's own base price.
#[utoipa::path(
    patch, path = "/tickets/{id}", tag = "tickets",
    params(("id" = i64, Path, description = "Ticket id")),
    request_body = TicketChanges,
    security(("oauth2" = [])),
    responses((status = 200, description = "The repriced ticket", body = Ticket), RoleOnly, NotFound, JsonBody),
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<i64>,
    Json(body): Json<TicketChanges>,
) -> Result<Json<Ticket>> {
    let base_price = body.base_price.map(|a| a.0);
    Checks::new()
        .check("base_price", base_price.is_none(), "this field is required")
        .add("base_price", base_price.and_then(price_problem))
        .finish()?;
    let updated = sqlx::query!(
        "update tickets set base_price = $2 where id = $1 and authorize($3, 'admin')",
        id,
        base_price,
        admin.id
    )
    .execute(&state.db)
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(Error::NotFound("ticket"));
    }
    fetch(&state.db, id)
        .await?
        .map(Json)
        .ok_or(Error::NotFound("ticket"))
}

/// Withdraw a seat from sale.
///
/// `DELETE /tickets/{id}` (admin): withdraws the seat from sale; refused while it is booked.
#[utoipa::path(
    delete, path = "/tickets/{id}", tag = "tickets",
    params(("id" = i64, Path, description = "Ticket id")),
    security(("oauth2" = [])),
    responses(
        (status = 204, description = "Withdrawn from sale"),
        (status = 409, description = "The seat is booked", body = ErrorBody),
        RoleOnly, NotFound,
    ),
)]
#[tracing::instrument(skip_all, fields(ticket_id = id))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    let mut tx = state.db.begin().await?;
    // Lock the ticket first: a booking of it in flight holds it (its foreign key), so the
    // check, a statement of its own with a fresh snapshot, runs after that booking is settled.
    sqlx::query_scalar!(
        "select id from tickets where id = $1 and authorize($2, 'admin') for update",
        id,
        admin.id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound("ticket"))?;
    let reserved = sqlx::query_scalar!(
        r#"select exists (select 1 from reservation_items where ticket_id = $1 and active) as "reserved!""#,
        id
    )
    .fetch_one(&mut *tx)
    .await?;
    if reserved {
        return Err(Error::conflict(
            ErrorCode::TicketReserved,
            "the seat is booked; cancel the reservation first",
        ));
    }
    sqlx::query!("delete from tickets where id = $1", id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
