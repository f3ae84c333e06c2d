//! The reservations function's Router against a fresh database per test.

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
    let app = TestApp::new(pool, reservations::router);
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

fn ids(body: &Value) -> Vec<i64> {
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| r["id"].as_i64().expect("id"))
        .collect()
}

// ---- booking ----

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_customer_books_seats_at_the_halls_price(pool: PgPool) {
    let c = cinema(pool).await;
    let wanted = [c.tickets[11], c.tickets[10]];
    let response = c.book(&c.alice.1, json!({"ticket_ids": wanted})).await;
    let body = response.expect(StatusCode::CREATED).clone();
    assert_eq!(body["status"], "active");
    assert_eq!(body["user"]["id"], c.alice.0);
    assert_eq!(body["booked_by"]["id"], c.alice.0);
    assert_eq!(body["screening"]["id"], c.screening);
    assert_eq!(body["screening"]["hall"]["name"], "Hall 4");
    // 10.00 + 52 % = 15.20 a seat.
    assert_eq!(
        body["tickets"],
        json!([
            {"ticket_id": c.tickets[10], "row": 2, "seat": 1, "price": "15.20"},
            {"ticket_id": c.tickets[11], "row": 2, "seat": 2, "price": "15.20"},
        ])
    );
    assert_eq!(body["total_price"], "30.40");
    assert_eq!(body["cancelled_at"], Value::Null);
    assert_eq!(c.active_items().await, 2);

    // The price is fixed at booking time: repricing the seat later changes nothing booked.
    sqlx::query("update tickets set base_price = 99 where id = $1")
        .bind(c.tickets[10])
        .execute(c.app.db())
        .await
        .expect("reprice");
    let again = c
        .app
        .get(&format!("/reservations/{}", body["id"]), Some(&c.alice.1))
        .await;
    assert_eq!(again.expect(StatusCode::OK)["total_price"], "30.40");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_taken_seat_fails_the_whole_booking_and_is_named(pool: PgPool) {
    let c = cinema(pool).await;
    c.book(&c.alice.1, json!({"ticket_ids": [c.tickets[0]]}))
        .await
        .expect(StatusCode::CREATED);
    let response = c
        .book(
            &c.bob.1,
            json!({"ticket_ids": [c.tickets[1], c.tickets[0]]}),
        )
        .await;
    let body = response.expect_error(StatusCode::CONFLICT, "seats_taken");
    assert_eq!(body["ticket_ids"], json!([c.tickets[0]]));
    assert_eq!(c.reservations().await, 1);
    assert_eq!(
        c.active_items().await,
        1,
        "the free seat was not booked either"
    );
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_hundred_customers_racing_for_one_seat_get_it_once(pool: PgPool) {
    let c = cinema(pool).await;
    let mut tokens = Vec::new();
    for i in 0..100 {
        tokens.push(c.app.user(&format!("racer{i:03}"), Role::User).await.1);
    }
    let seat = c.tickets[35];
    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            let app = c.app.clone();
            tokio::spawn(async move {
                app.post("/reservations", Some(&token), json!({"ticket_ids": [seat]}))
                    .await
            })
        })
        .collect();
    let mut created = 0;
    let mut conflicts = 0;
    for response in join_all(tasks).await {
        match response.status {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => {
                assert_eq!(response.body["ticket_ids"], json!([seat]));
                conflicts += 1;
            }
            other => panic!("unexpected {other}: {}", response.body),
        }
    }
    assert_eq!((created, conflicts), (1, 99));
    assert_eq!(c.active_items().await, 1);
    assert_eq!(c.reservations().await, 1);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn overlapping_multi_seat_bookings_never_share_a_seat(pool: PgPool) {
    let c = cinema(pool).await;
    for round in 0..10 {
        let base = round * 5;
        let a = json!({"ticket_ids": [c.tickets[base], c.tickets[base + 1], c.tickets[base + 2]]});
        let b =
            json!({"ticket_ids": [c.tickets[base + 2], c.tickets[base + 3], c.tickets[base + 4]]});
        let (app_a, token_a, app_b, token_b) = (
            c.app.clone(),
            c.alice.1.clone(),
            c.app.clone(),
            c.bob.1.clone(),
        );
        let first =
            tokio::spawn(
                async move { app_a.post("/reservations", Some(&token_a), a).await.status },
            );
        let second =
            tokio::spawn(
                async move { app_b.post("/reservations", Some(&token_b), b).await.status },
            );
        let mut statuses = [first.await.expect("a"), second.await.expect("b")];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::CREATED, StatusCode::CONFLICT],
            "round {round}"
        );
    }
    assert_eq!(
        c.active_items().await,
        30,
        "ten winners of three seats; the losers booked nothing"
    );
    let doubled: i64 = sqlx::query_scalar("select count(*) from (select ticket_id from reservation_items where active group by 1 having count(*) > 1) d")
        .fetch_one(c.app.db())
        .await
        .expect("count");
    assert_eq!(doubled, 0);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn staff_book_for_customers_only(pool: PgPool) {
    let c = cinema(pool).await;
    let booked = c
        .book(
            &c.cashier.1,
            json!({"ticket_ids": [c.tickets[0]], "user_id": c.alice.0}),
        )
        .await;
    let body = booked.expect(StatusCode::CREATED);
    assert_eq!(
        (body["user"]["id"].clone(), body["booked_by"]["id"].clone()),
        (json!(c.alice.0), json!(c.cashier.0))
    );
    assert_eq!(body["booked_by"]["role"], "cashier");
    c.book(
        &c.admin,
        json!({"ticket_ids": [c.tickets[1]], "user_id": c.bob.0}),
    )
    .await
    .expect(StatusCode::CREATED);

    c.book(
        &c.admin,
        json!({"ticket_ids": [c.tickets[2]], "user_id": c.cashier.0}),
    )
    .await
    .expect_error(StatusCode::CONFLICT, "customer_not_a_user");
    c.book(&c.cashier.1, json!({"ticket_ids": [c.tickets[2]]}))
        .await
        .expect_error(StatusCode::CONFLICT, "customer_not_a_user");
    c.book(
        &c.cashier.1,
        json!({"ticket_ids": [c.tickets[2]], "user_id": 987_654}),
    )
    .await
    .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    c.book(
        &c.alice.1,
        json!({"ticket_ids": [c.tickets[2]], "user_id": c.bob.0}),
    )
    .await
    .expect_error(StatusCode::FORBIDDEN, "forbidden");
    c.app
        .post("/reservations", None, json!({"ticket_ids": [c.tickets[2]]}))
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "not_authenticated");
    assert_eq!(c.reservations().await, 2);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_started_screening_cannot_be_booked(pool: PgPool) {
    let c = cinema(pool).await;
    let started = screening(&c.app, 1, "-10 minutes").await;
    let ticket = tickets(&c.app, started).await[0];
    c.book(&c.alice.1, json!({"ticket_ids": [ticket]}))
        .await
        .expect_error(StatusCode::CONFLICT, "screening_started");
    assert_eq!(c.reservations().await, 0);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn bad_bookings_get_a_4xx_and_write_nothing(pool: PgPool) {
    let c = cinema(pool).await;
    let other = tickets(&c.app, screening(&c.app, 2, "2 days").await).await;
    let cases: Vec<(&str, Value, StatusCode)> = vec![
        ("no list", json!({}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            "empty list",
            json!({"ticket_ids": []}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "eleven tickets",
            json!({"ticket_ids": c.tickets[..11]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "duplicates",
            json!({"ticket_ids": [c.tickets[0], c.tickets[0]]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "two screenings",
            json!({"ticket_ids": [c.tickets[0], other[0]]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "unknown tickets",
            json!({"ticket_ids": [c.tickets[0], 999_999]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "id past 2^63",
            json!({"ticket_ids": [9_223_372_036_854_775_808u64]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "id past 2^31",
            json!({"ticket_ids": [2_147_483_648i64]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "non-integer id",
            json!({"ticket_ids": [1.5]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "ids as text",
            json!({"ticket_ids": ["1"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "user id past 2^63",
            json!({"ticket_ids": [c.tickets[0]], "user_id": 9_223_372_036_854_775_808u64}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (case, body, status) in cases {
        let response = c.book(&c.alice.1, body).await;
        assert_eq!(response.status, status, "{case}: {}", response.body);
        assert_eq!(response.body["code"], "validation_error", "{case}");
    }
    let unknown = c
        .book(
            &c.alice.1,
            json!({"ticket_ids": [c.tickets[0], 999_999, 888_888]}),
        )
        .await;
    let message = unknown.body["errors"][0]["message"]
        .as_str()
        .expect("message")
        .to_owned();
    assert!(
        message.contains("888888") && message.contains("999999"),
        "{message}"
    );

    let long_key = Request::post("/reservations")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {}", c.alice.1))
        .header("idempotency-key", "k".repeat(256))
        .body(Body::from(
            json!({"ticket_ids": [c.tickets[0]]}).to_string(),
        ))
        .expect("request");
    c.app
        .raw(long_key)
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    assert_eq!(c.reservations().await, 0);
    let keys: i64 = sqlx::query_scalar("select count(*) from idempotency_keys")
        .fetch_one(c.app.db())
        .await
        .expect("keys");
    assert_eq!(keys, 0);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_booking_takes_two_statements_or_four_and_a_commit_with_a_key(pool: PgPool) {
    let c = cinema(pool).await;
    let (response, plain) =
        count_statements(c.book(&c.alice.1, json!({"ticket_ids": [c.tickets[0]]}))).await;
    response.expect(StatusCode::CREATED);
    let request = || {
        Request::post("/reservations")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {}", c.alice.1))
            .header("idempotency-key", "statements")
            .body(Body::from(
                json!({"ticket_ids": [c.tickets[1]]}).to_string(),
            ))
            .expect("request")
    };
    let (response, keyed) = count_statements(c.app.raw(request())).await;
    response.expect(StatusCode::CREATED);
    assert_eq!(plain, 2, "booking + reading it back");
    assert_eq!(
        keyed, 6,
        "claim + booking + reading it back + storing the answer, and RELEASE SAVEPOINT + COMMIT"
    );
}

// ---- idempotency ----

fn keyed(c: &Cinema, key: &str, body: Value) -> Request<Body> {
    Request::post("/reservations")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {}", c.alice.1))
        .header("idempotency-key", key)
        .body(Body::from(body.to_string()))
        .expect("request")
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_repeated_request_returns_the_first_answer_and_books_nothing(pool: PgPool) {
    let c = cinema(pool).await;
    let body = json!({"ticket_ids": [c.tickets[5], c.tickets[6]]});
    let first = c.app.raw(keyed(&c, "order-1", body.clone())).await;
    first.expect(StatusCode::CREATED);
    let again = c
        .app
        .raw(keyed(
            &c,
            "order-1",
            json!({"ticket_ids": [c.tickets[6], c.tickets[5]]}),
        ))
        .await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.body, first.body);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(c.reservations().await, 1);

    let changed = c
        .app
        .raw(keyed(&c, "order-1", json!({"ticket_ids": [c.tickets[7]]})))
        .await;
    changed.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
    assert_eq!(c.reservations().await, 1);

    // Keys belong to their caller: Bob's "order-1" is his own.
    let bobs = Request::post("/reservations")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {}", c.bob.1))
        .header("idempotency-key", "order-1")
        .body(Body::from(
            json!({"ticket_ids": [c.tickets[8]]}).to_string(),
        ))
        .expect("request");
    c.app.raw(bobs).await.expect(StatusCode::CREATED);

    // A refused request is an answer too: its retry gets the same 409, even once the seat is
    // free, and the key cannot be spent on another booking.
    let taken = c
        .app
        .raw(keyed(&c, "order-2", json!({"ticket_ids": [c.tickets[8]]})))
        .await;
    taken.expect_error(StatusCode::CONFLICT, "seats_taken");
    sqlx::query("update reservation_items set active = false")
        .execute(c.app.db())
        .await
        .expect("free all");
    let retry = c
        .app
        .raw(keyed(&c, "order-2", json!({"ticket_ids": [c.tickets[8]]})))
        .await;
    assert_eq!(
        (retry.status, &retry.body),
        (StatusCode::CONFLICT, &taken.body)
    );
    assert_eq!(retry.headers["idempotent-replayed"], "true");
    c.app
        .raw(keyed(&c, "order-2", json!({"ticket_ids": [c.tickets[9]]})))
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
    assert_eq!(c.reservations().await, 2);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn concurrent_requests_with_one_key_book_once(pool: PgPool) {
    let c = cinema(pool).await;
    let body = json!({"ticket_ids": [c.tickets[20]]});
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (app, request) = (c.app.clone(), keyed(&c, "same-key", body.clone()));
            tokio::spawn(async move { app.raw(request).await })
        })
        .collect();
    let mut bodies = Vec::new();
    for response in join_all(tasks).await {
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
        bodies.push(response.body);
    }
    assert!(bodies.windows(2).all(|pair| pair[0] == pair[1]));
    assert_eq!(c.reservations().await, 1);
}

// ---- reading ----

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn customers_see_their_own_reservations_and_staff_see_all(pool: PgPool) {
    let c = cinema(pool).await;
    let a1 = c
        .book(&c.alice.1, json!({"ticket_ids": [c.tickets[0]]}))
        .await
        .expect(StatusCode::CREATED)["id"]
        .as_i64()
        .expect("id");
    let b1 = c
        .book(&c.bob.1, json!({"ticket_ids": [c.tickets[1]]}))
        .await
        .expect(StatusCode::CREATED)["id"]
        .as_i64()
        .expect("id");
    let a2 = c
        .book(&c.alice.1, json!({"ticket_ids": [c.tickets[2]]}))
        .await
        .expect(StatusCode::CREATED)["id"]
        .as_i64()
        .expect("id");

    let mine = c
        .app
        .get("/reservations", Some(&c.alice.1))
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(
        (ids(&mine), mine["total"].clone()),
        (vec![a2, a1], json!(2))
    );
    // A customer cannot widen the filter to someone else.
    let sneaky = c
        .app
        .get(
            &format!("/reservations?user_id={}", c.bob.0),
            Some(&c.alice.1),
        )
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(ids(&sneaky), vec![a2, a1]);

    let all = c
        .app
        .get("/reservations", Some(&c.cashier.1))
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(ids(&all), vec![a2, b1, a1]);
    let bobs = c
        .app
        .get(
            &format!(
                "/reservations?user_id={}&screening_id={}&status=active",
                c.bob.0, c.screening
            ),
            Some(&c.admin),
        )
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(ids(&bobs), vec![b1]);
    let page = c
        .app
        .get("/reservations?limit=1&offset=1", Some(&c.admin))
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!((ids(&page), page["total"].clone()), (vec![b1], json!(3)));
    let none = c
        .app
        .get("/reservations?status=cancelled", Some(&c.admin))
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(none["total"], 0);
    c.app
        .get("/reservations?status=lost", Some(&c.admin))
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    c.app
        .get("/reservations", None)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "not_authenticated");

    c.app
        .get(&format!("/reservations/{a1}"), Some(&c.alice.1))
        .await
        .expect(StatusCode::OK);
    c.app
        .get(&format!("/reservations/{a1}"), Some(&c.cashier.1))
        .await
        .expect(StatusCode::OK);
    c.app
        .get(&format!("/reservations/{a1}"), Some(&c.bob.1))
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    c.app
        .get("/reservations/9223372036854775808", Some(&c.admin))
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
}

// ---- cancelling ----

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn cancelling_frees_the_seats_and_keeps_the_record(pool: PgPool) {
    let c = cinema(pool).await;
    let seats = json!({"ticket_ids": [c.tickets[3], c.tickets[4]]});
    let id = c
        .book(&c.alice.1, seats.clone())
        .await
        .expect(StatusCode::CREATED)["id"]
        .as_i64()
        .expect("id");
    let uri = format!("/reservations/{id}/cancel");

    c.app
        .send(Method::POST, &uri, Some(&c.bob.1), None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    let cancelled = c
        .app
        .send(Method::POST, &uri, Some(&c.alice.1), None)
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(cancelled["status"], "cancelled");
    assert!(cancelled["cancelled_at"].is_string());
    assert_eq!(cancelled["tickets"].as_array().map(Vec::len), Some(2));
    assert_eq!(c.active_items().await, 0);
    c.app
        .send(Method::POST, &uri, Some(&c.alice.1), None)
        .await
        .expect_error(StatusCode::CONFLICT, "reservation_cancelled");

    // The seats can be booked again.
    c.book(&c.bob.1, seats).await.expect(StatusCode::CREATED);
    assert_eq!(c.reservations().await, 2);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn staff_may_cancel_until_the_screening_starts(pool: PgPool) {
    let c = cinema(pool).await;
    let first = c
        .book(&c.alice.1, json!({"ticket_ids": [c.tickets[0]]}))
        .await
        .expect(StatusCode::CREATED)["id"]
        .as_i64()
        .expect("id");
    let second = c
        .book(&c.alice.1, json!({"ticket_ids": [c.tickets[1]]}))
        .await
        .expect(StatusCode::CREATED)["id"]
        .as_i64()
        .expect("id");
    c.app
        .send(
            Method::POST,
            &format!("/reservations/{first}/cancel"),
            Some(&c.cashier.1),
            None,
        )
        .await
        .expect(StatusCode::OK);

    sqlx::query("update screenings set starts_at = now() - interval '5 minutes', ends_at = now() + interval '1 hour'")
        .execute(c.app.db())
        .await
        .expect("start");
    c.app
        .send(
            Method::POST,
            &format!("/reservations/{second}/cancel"),
            Some(&c.admin),
            None,
        )
        .await
        .expect_error(StatusCode::CONFLICT, "screening_started");
    c.app
        .send(
            Method::POST,
            "/reservations/424242/cancel",
            Some(&c.admin),
            None,
        )
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    c.app
        .send(
            Method::POST,
            &format!("/reservations/{second}/cancel"),
            None,
            None,
        )
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "not_authenticated");
    assert_eq!(c.active_items().await, 1);
}

// ---- current roles ----

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_demoted_or_deactivated_cashiers_old_token_acts_for_nobody(pool: PgPool) {
    let c = cinema(pool).await;
    let id = c.alice_books_the_first_seat().await;
    c.app
        .assert_current_role_is_checked(
            Role::Cashier,
            Role::User,
            &[
                (Method::GET, "/reservations".into(), None),
                (
                    Method::GET,
                    format!("/reservations?user_id={}", c.alice.0),
                    None,
                ),
                (Method::GET, format!("/reservations/{id}"), None),
                (Method::POST, format!("/reservations/{id}/cancel"), None),
                (
                    Method::POST,
                    "/reservations".into(),
                    Some(json!({"ticket_ids": [c.tickets[1]], "user_id": c.alice.0})),
                ),
            ],
        )
        .await;
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_deactivated_customers_token_books_and_reads_nothing(pool: PgPool) {
    let c = cinema(pool).await;
    let id = c.alice_books_the_first_seat().await;
    c.app.deactivate(c.alice.0).await;
    let before = c.app.snapshot().await;
    for response in [
        c.book(&c.alice.1, json!({"ticket_ids": [c.tickets[1]]}))
            .await,
        c.app.get("/reservations", Some(&c.alice.1)).await,
        c.app
            .get(&format!("/reservations/{id}"), Some(&c.alice.1))
            .await,
        c.app
            .post(
                &format!("/reservations/{id}/cancel"),
                Some(&c.alice.1),
                json!({}),
            )
            .await,
    ] {
        response.expect_error(StatusCode::UNAUTHORIZED, "account_inactive");
    }
    // Nor can staff book for a deactivated customer.
    c.book(
        &c.cashier.1,
        json!({"ticket_ids": [c.tickets[2]], "user_id": c.alice.0}),
    )
    .await
    .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    assert_eq!(c.app.snapshot().await, before);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_demotion_during_staff_bookings_never_leaves_a_booking_by_a_non_cashier(pool: PgPool) {
    let c = cinema(pool).await;
    let (alice, cashier) = (c.alice.0, c.cashier.0);
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let app = c.app.clone();
            let token = c.cashier.1.clone();
            let ticket = c.tickets[i];
            tokio::spawn(async move {
                let response = app
                    .post(
                        "/reservations",
                        Some(&token),
                        json!({"ticket_ids": [ticket], "user_id": alice}),
                    )
                    .await;
                (response.status, response.body)
            })
        })
        .collect();
    let demotion = {
        let db = c.app.db().clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            sqlx::query("update users set role = 'user' where id = $1")
                .bind(cashier)
                .execute(&db)
                .await
                .expect("demote");
        })
    };
    let answers = join_all(tasks).await;
    demotion.await.expect("demotion");
    for (status, body) in &answers {
        match *status {
            StatusCode::CREATED => assert_eq!(body["booked_by"]["role"], "cashier", "{body}"),
            StatusCode::FORBIDDEN => assert_eq!(body["code"], "forbidden"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    let created = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    let stored: Vec<String> =
        sqlx::query_scalar("select booked_by_role::text from reservations where booked_by = $1")
            .bind(cashier)
            .fetch_all(c.app.db())
            .await
            .expect("roles");
    assert_eq!(stored.len(), created);
    assert!(stored.iter().all(|role| role == "cashier"), "{stored:?}");
    // Once the demotion has committed, the old token books nothing.
    c.book(
        &c.cashier.1,
        json!({"ticket_ids": [c.tickets[30]], "user_id": alice}),
    )
    .await
    .expect_error(StatusCode::FORBIDDEN, "forbidden");
}

// ---- time limits ----

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_lock_wait_or_statement_past_its_budget_is_a_503_that_changes_nothing(pool: PgPool) {
    use std::time::{Duration, Instant};
    let c = cinema(pool.clone()).await;
    let id = c.alice_books_the_first_seat().await;
    let budgets = [
        (None, Some(Duration::from_millis(200))), // lock_timeout: 55P03
        (Some(Duration::from_millis(300)), None), // statement_timeout: 57014
    ];
    for (statement, lock) in budgets {
        let mut settings = shared::testing::settings();
        settings.db_statement_timeout = statement;
        settings.db_lock_timeout = lock;
        let options = shared::config::with_timeouts((*pool.connect_options()).clone(), &settings);
        let limited = sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await
            .expect("pool");
        let app = TestApp::with_settings(limited, reservations::router, &settings);
        // Another session holds the reservation, as a slow request would.
        let mut holder = pool.begin().await.expect("begin");
        sqlx::query("select 1 from reservations where id = $1 for update")
            .bind(id)
            .execute(&mut *holder)
            .await
            .expect("lock");
        let started = Instant::now();
        let response = app
            .post(
                &format!("/reservations/{id}/cancel"),
                Some(&c.alice.1),
                json!({}),
            )
            .await;
        let waited = started.elapsed();
        response.expect_error(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable");
        assert!(response.headers.contains_key(header::RETRY_AFTER));
        assert!(waited < Duration::from_secs(3), "answered after {waited:?}");
        holder.rollback().await.expect("rollback");
        let status: String =
            sqlx::query_scalar("select status::text from reservations where id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .expect("status");
        assert_eq!(status, "active", "nothing was committed");
    }
}
