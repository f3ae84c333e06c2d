//! The screenings function's Router against a fresh database per test.

mod halls;
mod screenings;
mod tickets;

use axum::http::StatusCode;
use serde_json::{Value, json};
use shared::Role;
use shared::testing::{TestApp, count_statements, count_status, join_all};
use sqlx::PgPool;

struct Schedule {
    app: TestApp,
    admin: String,
    user: String,
    cashier: String,
    film: i64,
}

async fn schedule(pool: PgPool) -> Schedule {
    let app = TestApp::new(pool, ::screenings::router);
    let (_, admin) = app.user("admin", Role::Admin).await;
    let (_, user) = app.user("customer", Role::User).await;
    let (_, cashier) = app.user("cashier", Role::Cashier).await;
    let film = sqlx::query_scalar(
        "insert into films (title, age_rating, duration_minutes, release_year) values ('Heat', 'R', 170, 1995) returning id",
    )
    .fetch_one(app.db())
    .await
    .expect("film");
    Schedule {
        app,
        admin,
        user,
        cashier,
        film,
    }
}

/// An RFC 3339 time `hours` from now, on a whole minute.
fn in_hours(hours: i64) -> String {
    let at = chrono::Utc::now() + chrono::Duration::hours(hours);
    at.format("%Y-%m-%dT%H:%M:00+00:00").to_string()
}

impl Schedule {
    async fn screening(&self, hall: i64, starts_at: &str, price: &str) -> Value {
        let body = json!({"film_id": self.film, "hall_id": hall, "starts_at": starts_at, "base_price": price});
        self.app
            .post("/screenings", Some(&self.admin), body)
            .await
            .expect(StatusCode::CREATED)
            .clone()
    }

    async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("select count(*) from {table}"))
            .fetch_one(self.app.db())
            .await
            .expect("count")
    }
}

// ---- halls ----

// ---- screenings ----

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

// ---- seat map and tickets ----

/// Books the given tickets of a screening for a new customer, straight in the database.
async fn book(s: &Schedule, screening: i64, tickets: &[i64]) -> i64 {
    let (customer, _) = s
        .app
        .user(&format!("guest{}", tickets[0]), Role::User)
        .await;
    sqlx::query_scalar(
        "with r as (
             insert into reservations (user_id, booked_by, screening_id, total_price, pay_by)
             values ($1, $1, $2, 0, 'infinity') returning id
         ), items as (
             insert into reservation_items (reservation_id, ticket_id, row_number, seat_number, price, held_until)
             select r.id, t.id, t.row_number, t.seat_number, 0, 'infinity' from r, tickets t where t.id = any($3)
         )
         select id from r",
    )
    .bind(customer)
    .bind(screening)
    .bind(tickets)
    .fetch_one(s.app.db())
    .await
    .expect("booking")
}

// ---- current roles ----
