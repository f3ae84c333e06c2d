//! The baseline of the per-request benchmark: bare axum + sqlx handlers, each running the
//! same single SQL statement as the API route it stands for, and nothing else: no
//! authentication, no validation, no error mapping, no middleware. The statements are
//! copies of the ones the functions run; keep them in step when those change.
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
use sqlx::types::Json as Jsonb;
use sqlx::{PgPool, Row as _};

#[derive(Clone)]
struct Bare {
    db: PgPool,
    user_id: i64,
}

type Answer = Result<Json<Value>, (StatusCode, String)>;

fn failed(error: sqlx::Error) -> (StatusCode, String) {
    (StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
}

const FILM: &str = r#"select f.id, f.title, f.description, f.age_rating,
          f.duration_minutes, f.release_year,
          coalesce((select json_agg(json_build_object('id', g.id, 'title', g.title) order by lower(g.title), g.id)
                    from film_genres fg join genres g on g.id = fg.genre_id
                    where fg.film_id = f.id), '[]') as genres
   from films f where f.id = $1"#;

const FILMS: &str = r#"with matching as (
       select f.* from films f
       where ($1::text is null or f.title ilike $1)
         and ($2::bigint is null or exists (select 1 from film_genres fg where fg.film_id = f.id and fg.genre_id = $2))
         and ($3::age_rating is null or f.age_rating = $3)
   )
   select t.total, f.id, f.title, f.description,
          f.age_rating, f.duration_minutes,
          f.release_year, f.genres
   from (select count(*) as total from matching) t
   left join lateral (
       select m.*,
              coalesce((select json_agg(json_build_object('id', g.id, 'title', g.title) order by lower(g.title), g.id)
                        from film_genres fg join genres g on g.id = fg.genre_id
                        where fg.film_id = m.id), '[]') as genres
       from matching m
       order by lower(m.title), m.id
       limit $4 offset $5
   ) f on true"#;

const SEATS: &str = r#"select td.ticket_id, td.row_number, td.seat_number, td.price, td.reserved
   from screenings s
   left join ticket_details td on td.screening_id = s.id and ($2::boolean is null or td.reserved = $2)
   where s.id = $1
   order by td.row_number, td.seat_number"#;

const BOOK: &str = r#"with wanted as (select unnest($3::bigint[]) as id),
        seats as (
            select t.id, t.screening_id, t.row_number, t.seat_number, s.starts_at,
                   seat_price(coalesce(t.base_price, s.base_price), h.surcharge_percent) as price
            from tickets t
            join screenings s on s.id = t.screening_id
            join halls h on h.id = s.hall_id
            where t.id = any($3)
        ),
        checks as (
            select array(select w.id from wanted w where not exists (select 1 from seats where seats.id = w.id)
                         order by w.id) as unknown,
                   (select count(distinct screening_id) from seats) as screenings,
                   (select role from users where id = $1) as customer_role,
                   coalesce((select bool_or(starts_at <= now()) from seats), false) as started,
                   array(select ri.ticket_id from reservation_items ri
                         where ri.ticket_id = any($3) and ri.active order by 1) as taken
        ),
        reservation as (
            insert into reservations (user_id, booked_by, screening_id, total_price)
            select $1, $2, (select min(screening_id) from seats), (select sum(price) from seats)
            from checks
            where cardinality(unknown) = 0 and screenings = 1 and customer_role = 'user'
              and not started and cardinality(taken) = 0
            returning id
        ),
        items as (
            insert into reservation_items (reservation_id, ticket_id, row_number, seat_number, price)
            select reservation.id, seats.id, seats.row_number, seats.seat_number, seats.price
            from reservation, seats
            order by seats.id
        )
   select (select id from reservation) as reservation_id
   from checks"#;

fn film(row: &sqlx::postgres::PgRow) -> Result<Value, sqlx::Error> {
    Ok(json!({
        "id": row.try_get::<i64, _>("id")?,
        "title": row.try_get::<String, _>("title")?,
        "description": row.try_get::<String, _>("description")?,
        // An enum: its binary form is its label.
        "age_rating": row.try_get_unchecked::<String, _>("age_rating")?,
        "duration_minutes": row.try_get::<i32, _>("duration_minutes")?,
        "release_year": row.try_get::<i32, _>("release_year")?,
        "genres": row.try_get::<Jsonb<Value>, _>("genres")?.0,
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
    let rows = sqlx::query(FILMS)
        .bind(None::<String>)
        .bind(None::<i64>)
        .bind(None::<shared::films::AgeRating>)
        .bind(limit)
        .bind(offset)
        .fetch_all(&bare.db)
        .await
        .map_err(failed)?;
    let total = match rows.first() {
        Some(row) => row.try_get::<i64, _>("total").map_err(failed)?,
        None => 0,
    };
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        if row
            .try_get::<Option<i64>, _>("id")
            .map_err(failed)?
            .is_some()
        {
            items.push(film(row).map_err(failed)?);
        }
    }
    Ok(Json(
        json!({"items": items, "total": total, "limit": limit, "offset": offset}),
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
        let Some(ticket_id) = row.try_get::<Option<i64>, _>("ticket_id").map_err(failed)? else {
            continue;
        };
        let reserved: bool = row.try_get("reserved").map_err(failed)?;
        seats.push(json!({
            "ticket_id": ticket_id,
            "row": row.try_get::<i32, _>("row_number").map_err(failed)?,
            "seat": row.try_get::<i32, _>("seat_number").map_err(failed)?,
            "price": row.try_get::<Decimal, _>("price").map_err(failed)?.to_string(),
            "status": if reserved { "reserved" } else { "free" },
        }));
    }
    Ok(Json(Value::Array(seats)))
}

#[derive(Deserialize)]
struct Booking {
    ticket_ids: Vec<i64>,
}

async fn book(State(bare): State<Bare>, Json(booking): Json<Booking>) -> Answer {
    let row = sqlx::query(BOOK)
        .bind(bare.user_id)
        .bind(bare.user_id)
        .bind(&booking.ticket_ids)
        .fetch_one(&bare.db)
        .await
        .map_err(failed)?;
    match row
        .try_get::<Option<i64>, _>("reservation_id")
        .map_err(failed)?
    {
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
    let db = PgPoolOptions::new()
        .max_connections(pool_size)
        .connect_lazy_with(options);
    let app = Router::new()
        .route("/films", get(list_films))
        .route("/films/{id}", get(get_film))
        .route("/screenings/{id}/seats", get(seat_map))
        .route("/reservations", post(book))
        .with_state(Bare { db, user_id });
    let listener = tokio::net::TcpListener::bind(&address).await?;
    eprintln!("serving the bare baseline at http://{address}");
    axum::serve(listener, app).await?;
    Ok(())
}
