//! The baseline of the per-request benchmark: bare axum + sqlx handlers, each running the
//! same single SQL statement as the API route it stands for, and nothing else: no
//! authentication, no validation, no error mapping, no middleware. The statements are the
//! functions' own: the same `sql/*.sql` files their `sqlx::query_file!` calls compile.
//!
//! | route | statement of |
//! |---|---|
//! | `GET /films/{id}` | `films::fetch` (films function) |
//! | `GET /films?limit=&offset=` | `films::list` (films function; no filters) |
//! | `GET /screenings/{id}/seats` | `tickets::seat_map` (screenings function) |
//! | `POST /reservations` `{"ticket_ids": [...]}` | `booking::book` (reservations function), for the user `BENCH_USER_ID` |
//!
//! `cinema-bench-bare <address>`; `DATABASE_URL`, `DB_POOL_MAX_CONNECTIONS` (default 2) and
//! `BENCH_USER_ID` (default 1) from the environment. The pool is sqlx's default apart from
//! its size, which is the functions' pool setting too.

use std::str::FromStr as _;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::types::Json as JsonColumn;
use sqlx::{PgPool, Row as _};

#[derive(Clone)]
struct Bare {
    db: PgPool,
    user_id: i64,
    /// The same hold limits as the reservations function's (`HOLD_LIMIT_SEATS`,
    /// `HOLD_LIMIT_PER_SCREENING`): the same statement, checking the same limits.
    hold_limits: shared::HoldLimits,
}

type Answer = Result<Json<Value>, (StatusCode, String)>;

fn failed(error: sqlx::Error) -> (StatusCode, String) {
    (StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
}

// The very statements the functions run (their `sqlx::query_file!` files).
const FILM: &str = include_str!("../../functions/films/sql/film.sql");
const FILMS: &str = include_str!("../../functions/films/sql/films.sql");
const SEATS: &str = include_str!("../../functions/screenings/sql/seat_map.sql");
const BOOK: &str = include_str!("../../functions/reservations/sql/book.sql");

/// A column by its field's name: the statements name their columns the way `sqlx::query_file!`
/// reads them (`"id?"`, `"age_rating: AgeRating"`), which is the field's name and a suffix.
fn column<'r, T>(row: &'r sqlx::postgres::PgRow, field: &str) -> Result<T, sqlx::Error>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    use sqlx::Column as _;
    let name = row
        .columns()
        .iter()
        .map(|column| column.name())
        .find(|name| {
            name.strip_prefix(field)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['?', '!', ':']))
        })
        .ok_or_else(|| sqlx::Error::ColumnNotFound(field.to_owned()))?;
    row.try_get(name)
}

fn film(row: &sqlx::postgres::PgRow) -> Result<Value, sqlx::Error> {
    Ok(json!({
        "id": column::<i64>(row, "id")?,
        "title": column::<String>(row, "title")?,
        "description": column::<String>(row, "description")?,
        "age_rating": column::<shared::films::AgeRating>(row, "age_rating")?,
        "duration_minutes": column::<i32>(row, "duration_minutes")?,
        "release_year": column::<i32>(row, "release_year")?,
        "genres": column::<JsonColumn<Value>>(row, "genres")?.0,
    }))
}

async fn get_film(State(bare): State<Bare>, Path(id): Path<i64>) -> Answer {
    let row = sqlx::query(FILM)
        .bind(id)
        .fetch_optional(&bare.db)
        .await
        .map_err(failed)?
        .ok_or((StatusCode::NOT_FOUND, String::new()))?;
    Ok(Json(film(&row).map_err(failed)?))
}

#[derive(Deserialize)]
struct PageQuery {
    limit: Option<i64>,
    offset: Option<i64>,
}

async fn list_films(State(bare): State<Bare>, Query(page): Query<PageQuery>) -> Answer {
    let (limit, offset) = (page.limit.unwrap_or(20), page.offset.unwrap_or(0));
    let count_limit = shared::Page { limit, offset }.count_limit();
    let rows = sqlx::query(FILMS)
        .bind(None::<String>)
        .bind(None::<i64>)
        .bind(None::<shared::films::AgeRating>)
        .bind(limit)
        .bind(offset)
        .bind(count_limit)
        .fetch_all(&bare.db)
        .await
        .map_err(failed)?;
    let total = match rows.first() {
        Some(row) => column::<i64>(row, "total").map_err(failed)?,
        None => 0,
    };
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        if column::<Option<i64>>(row, "id").map_err(failed)?.is_some() {
            items.push(film(row).map_err(failed)?);
        }
    }
    Ok(Json(
        json!({"items": items, "total": total, "total_exact": total < count_limit,
            "limit": limit, "offset": offset}),
    ))
}

async fn seat_map(State(bare): State<Bare>, Path(id): Path<i64>) -> Answer {
    let rows = sqlx::query(SEATS)
        .bind(id)
        .bind(None::<bool>)
        .fetch_all(&bare.db)
        .await
        .map_err(failed)?;
    if rows.is_empty() {
        return Err((StatusCode::NOT_FOUND, String::new()));
    }
    let mut seats = Vec::with_capacity(rows.len());
    for row in &rows {
        let Some(ticket_id) = column::<Option<i64>>(row, "ticket_id").map_err(failed)? else {
            continue;
        };
        let reserved: bool = column(row, "reserved").map_err(failed)?;
        seats.push(json!({
            "ticket_id": ticket_id,
            "row": column::<i32>(row, "row").map_err(failed)?,
            "seat": column::<i32>(row, "seat").map_err(failed)?,
            "price": column::<Decimal>(row, "price").map_err(failed)?.to_string(),
            "status": if reserved { "reserved" } else { "free" },
        }));
    }
    Ok(Json(Value::Array(seats)))
}

#[derive(Deserialize)]
struct Booking {
    ticket_ids: Vec<i64>,
    /// The customer (the benchmark spreads bookings over many); `BENCH_USER_ID` by default.
    user_id: Option<i64>,
}

async fn book(State(bare): State<Bare>, Json(booking): Json<Booking>) -> Answer {
    let customer = booking.user_id.unwrap_or(bare.user_id);
    let row = sqlx::query(BOOK)
        .bind(customer)
        .bind(customer)
        .bind(&booking.ticket_ids)
        // Booked by the customer themself: no staff claim, held unpaid for 30 minutes, within
        // the hold limits the reservations function has.
        .bind(false)
        .bind(None::<&str>)
        .bind(30_i32)
        .bind(bare.hold_limits.seats)
        .bind(bare.hold_limits.per_screening)
        .bind(None::<i32>)
        .fetch_one(&bare.db)
        .await
        .map_err(failed)?;
    match column::<Option<i64>>(&row, "reservation_id").map_err(failed)? {
        Some(id) => Ok(Json(json!({"id": id}))),
        None => Err((StatusCode::CONFLICT, String::new())),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let address = std::env::args()
        .nth(1)
        .ok_or("usage: cinema-bench-bare <address>")?;
    let options = PgConnectOptions::from_str(&std::env::var("DATABASE_URL")?)?;
    let pool_size = std::env::var("DB_POOL_MAX_CONNECTIONS").map_or(Ok(2), |v| v.parse())?;
    let user_id = std::env::var("BENCH_USER_ID").map_or(Ok(1), |v| v.parse())?;
    let hold_limits = shared::Settings::from_env(&shared::config::ProcessEnv)?.hold_limits;
    let db = PgPoolOptions::new()
        .max_connections(pool_size)
        .connect_lazy_with(options);
    let app = Router::new()
        .route("/films", get(list_films))
        .route("/films/{id}", get(get_film))
        .route("/screenings/{id}/seats", get(seat_map))
        .route("/reservations", post(book))
        .with_state(Bare {
            db,
            user_id,
            hold_limits,
        });
    let listener = tokio::net::TcpListener::bind(&address).await?;
    eprintln!("serving the bare baseline at http://{address}");
    axum::serve(listener, app).await?;
    Ok(())
}
