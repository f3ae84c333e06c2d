//! The reservations function's Router against a fresh database per test.

mod booking;
mod box_office;
mod history;
mod holds;
mod online;
mod reservations;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use shared::Role;
use shared::testing::{TestApp, TestResponse, count_statements, join_all};
use sqlx::PgPool;

struct Cinema {
    app: TestApp,
    /// A screening tomorrow in hall 4 (vip, +52 %), base price 10.00.
    screening: i64,
    /// Its tickets, by (row - 1) * 10 + (seat - 1).
    tickets: Vec<i64>,
    admin: String,
    cashier: (i64, String),
    alice: (i64, String),
    bob: (i64, String),
}

async fn cinema(pool: PgPool) -> Cinema {
    cinema_with(pool, &shared::testing::settings()).await
}

/// A cinema whose customers may hold any number of seats (races that book many rounds).
async fn cinema_without_hold_limits(pool: PgPool) -> Cinema {
    let mut settings = shared::testing::settings();
    settings.hold_limits = shared::HoldLimits {
        seats: 1000,
        per_screening: 1000,
    };
    cinema_with(pool, &settings).await
}

async fn cinema_with(pool: PgPool, settings: &shared::Settings) -> Cinema {
    cinema_from(TestApp::with_settings(
        pool,
        ::reservations::router,
        settings,
    ))
    .await
}

/// A cinema with its users and tomorrow's screening, around `app`.
async fn cinema_from(app: TestApp) -> Cinema {
    let (_, admin) = app.user("admin", Role::Admin).await;
    let cashier = app.user("cashier", Role::Cashier).await;
    let alice = app.user("alice", Role::User).await;
    let bob = app.user("bob", Role::User).await;
    let screening = screening(&app, 4, "1 day").await;
    let tickets = tickets(&app, screening).await;
    Cinema {
        app,
        screening,
        tickets,
        admin,
        cashier,
        alice,
        bob,
    }
}

async fn screening(app: &TestApp, hall: i64, from_now: &str) -> i64 {
    sqlx::query_scalar(
        "with film as (
             insert into films (title, age_rating, duration_minutes, release_year)
             values ('Film ' || gen_random_uuid(), 'PG', 120, 2020) returning id
         ), screening as (
             insert into screenings (film_id, hall_id, starts_at, ends_at, base_price)
             select film.id, $1, now() + $2::interval, now() + $2::interval + interval '2 hours', 10.00 from film
             returning id
         ), seats as (
             insert into tickets (screening_id, row_number, seat_number)
             select screening.id, r, s from screening, generate_series(1, 7) r, generate_series(1, 10) s
         )
         select id from screening",
    )
    .bind(hall)
    .bind(from_now)
    .fetch_one(app.db())
    .await
    .expect("screening")
}

async fn tickets(app: &TestApp, screening: i64) -> Vec<i64> {
    sqlx::query_scalar(
        "select id from tickets where screening_id = $1 order by row_number, seat_number",
    )
    .bind(screening)
    .fetch_all(app.db())
    .await
    .expect("tickets")
}

impl Cinema {
    async fn book(&self, token: &str, body: Value) -> TestResponse {
        self.app.post("/reservations", Some(token), body).await
    }

    /// Alice's reservation of the first seat; its id.
    async fn alice_books_the_first_seat(&self) -> i64 {
        let booked = self
            .book(&self.alice.1, json!({"ticket_ids": [self.tickets[0]]}))
            .await;
        booked.expect(StatusCode::CREATED)["id"]
            .as_i64()
            .expect("id")
    }

    async fn active_items(&self) -> i64 {
        sqlx::query_scalar("select count(*) from reservation_items where active")
            .fetch_one(self.app.db())
            .await
            .expect("count")
    }

    async fn reservations(&self) -> i64 {
        sqlx::query_scalar("select count(*) from reservations")
            .fetch_one(self.app.db())
            .await
            .expect("count")
    }
}

fn codes(reservation: &Value) -> Vec<String> {
    reservation["tickets"]
        .as_array()
        .expect("tickets")
        .iter()
        .map(|t| t["code"].as_str().expect("a code").to_owned())
        .collect()
}

fn id(reservation: &Value) -> i64 {
    reservation["id"].as_i64().expect("id")
}

fn encode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

fn ids(body: &Value) -> Vec<i64> {
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| r["id"].as_i64().expect("id"))
        .collect()
}

// ---- booking ----

// ---- idempotency ----

fn keyed(c: &Cinema, key: &str, body: Value) -> Request<Body> {
    Request::post("/reservations")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {}", c.alice.1))
        .header("idempotency-key", key)
        .body(Body::from(body.to_string()))
        .expect("request")
}

// ---- reading ----

// ---- cancelling ----

// ---- current roles ----

// ---- time limits ----
