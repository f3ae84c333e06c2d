//! The screenings function's Router against a fresh database per test.

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
    let app = TestApp::new(pool, screenings::router);
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

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn the_reference_cinemas_nine_halls_are_there(pool: PgPool) {
    let s = schedule(pool).await;
    let halls = s
        .app
        .get("/halls", None)
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(halls["total"], 9);
    let summary: Vec<(i64, String, String, i64)> = halls["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|h| {
            (
                h["id"].as_i64().expect("id"),
                h["kind"].as_str().expect("kind").to_owned(),
                h["surcharge_percent"]
                    .as_str()
                    .expect("surcharge")
                    .to_owned(),
                h["rows"].as_i64().expect("rows") * h["seats_per_row"].as_i64().expect("seats"),
            )
        })
        .collect();
    for (id, kind, surcharge, seats) in summary {
        let (want_kind, want_surcharge) = match id {
            1..=3 => ("standard", "5.00"),
            4..=6 => ("vip", "52.00"),
            _ => ("comfort", "20.00"),
        };
        assert_eq!(
            (kind.as_str(), surcharge.as_str(), seats),
            (want_kind, want_surcharge, 70),
            "hall {id}"
        );
    }
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn an_admin_manages_halls_and_others_cannot(pool: PgPool) {
    let s = schedule(pool).await;
    let body = json!({"name": "Hall 10", "kind": "comfort", "surcharge_percent": "12.50", "rows": 3, "seats_per_row": 4});
    for (token, status, code) in [
        (None, StatusCode::UNAUTHORIZED, "not_authenticated"),
        (Some(s.user.as_str()), StatusCode::FORBIDDEN, "forbidden"),
        (Some(s.cashier.as_str()), StatusCode::FORBIDDEN, "forbidden"),
    ] {
        s.app
            .post("/halls", token, body.clone())
            .await
            .expect_error(status, code);
        s.app
            .patch("/halls/1", token, json!({"name": "X"}))
            .await
            .expect_error(status, code);
        s.app
            .delete("/halls/1", token)
            .await
            .expect_error(status, code);
    }
    assert_eq!(s.count("halls").await, 9);

    let hall = s
        .app
        .post("/halls", Some(&s.admin), body.clone())
        .await
        .expect(StatusCode::CREATED)
        .clone();
    assert_eq!(hall["surcharge_percent"], "12.50");
    let id = hall["id"].as_i64().expect("id");
    assert_eq!(id, 10, "the seeded ids do not collide with new ones");
    s.app.post("/halls", Some(&s.admin), json!({"name": "hall 10", "kind": "vip", "surcharge_percent": 1, "rows": 1, "seats_per_row": 1})).await.expect_error(StatusCode::CONFLICT, "hall_name_taken");
    let renamed = s
        .app
        .patch(
            &format!("/halls/{id}"),
            Some(&s.admin),
            json!({"name": "Studio", "rows": 5}),
        )
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(
        (
            renamed["name"].clone(),
            renamed["rows"].clone(),
            renamed["kind"].clone()
        ),
        (json!("Studio"), json!(5), json!("comfort"))
    );
    s.app
        .delete(&format!("/halls/{id}"), Some(&s.admin))
        .await
        .expect(StatusCode::NO_CONTENT);
    s.app
        .get(&format!("/halls/{id}"), None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn bad_hall_bodies_are_refused_and_write_nothing(pool: PgPool) {
    let s = schedule(pool).await;
    let base = json!({"name": "New", "kind": "vip", "surcharge_percent": "10", "rows": 5, "seats_per_row": 5});
    for (field, value) in [
        ("name", json!("")),
        ("name", json!("n\u{0}")),
        ("name", json!("   ")),
        // 101 characters as sent, though 100 once trimmed: the documented maxLength holds.
        ("name", json!(format!("{} ", "n".repeat(100)))),
        ("kind", json!("imax")),
        ("surcharge_percent", json!(" 5")),
        ("surcharge_percent", json!("1_0")),
        ("surcharge_percent", json!("-1")),
        ("surcharge_percent", json!("500.01")),
        ("surcharge_percent", json!("1.234")),
        ("surcharge_percent", json!("NaN")),
        ("rows", json!(0)),
        ("rows", json!(101)),
        ("seats_per_row", json!(9_223_372_036_854_775_808u64)),
    ] {
        let mut body = base.clone();
        body[field] = value.clone();
        let response = s.app.post("/halls", Some(&s.admin), body).await;
        response.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
        assert_eq!(
            response.body["errors"][0]["field"], field,
            "{field} = {value}"
        );
    }
    assert_eq!(s.count("halls").await, 9);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_hall_with_screenings_keeps_its_layout_and_cannot_be_deleted(pool: PgPool) {
    let s = schedule(pool).await;
    s.screening(2, &in_hours(24), "10.00").await;
    s.app
        .patch("/halls/2", Some(&s.admin), json!({"rows": 8}))
        .await
        .expect_error(StatusCode::CONFLICT, "hall_has_screenings");
    s.app
        .delete("/halls/2", Some(&s.admin))
        .await
        .expect_error(StatusCode::CONFLICT, "hall_has_screenings");
    // Name, kind and surcharge may still change, and so may an unchanged layout.
    s.app
        .patch(
            "/halls/2",
            Some(&s.admin),
            json!({"name": "Blue Room", "surcharge_percent": "7", "rows": 7}),
        )
        .await
        .expect(StatusCode::OK);
    let rows: i32 = sqlx::query_scalar("select rows from halls where id = 2")
        .fetch_one(s.app.db())
        .await
        .expect("rows");
    assert_eq!(rows, 7);
    s.app
        .patch("/halls/3", Some(&s.admin), json!({"rows": 8}))
        .await
        .expect(StatusCode::OK);
}

// ---- screenings ----

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn scheduling_creates_a_ticket_for_every_seat(pool: PgPool) {
    let s = schedule(pool).await;
    let start = in_hours(48);
    let screening = s.screening(1, &start, "10.50").await;
    assert_eq!(
        screening["film"],
        json!({"id": s.film, "title": "Heat", "age_rating": "R", "duration_minutes": 170})
    );
    assert_eq!(
        screening["hall"],
        json!({"id": 1, "name": "Hall 1", "kind": "standard"})
    );
    assert_eq!(screening["base_price"], "10.50");
    assert_eq!(
        (
            screening["seats_total"].clone(),
            screening["seats_free"].clone()
        ),
        (json!(70), json!(70))
    );
    let starts =
        chrono::DateTime::parse_from_rfc3339(screening["starts_at"].as_str().expect("start"))
            .expect("rfc3339");
    let ends = chrono::DateTime::parse_from_rfc3339(screening["ends_at"].as_str().expect("end"))
        .expect("rfc3339");
    assert_eq!(
        starts,
        chrono::DateTime::parse_from_rfc3339(&start).expect("start")
    );
    assert_eq!(ends - starts, chrono::Duration::minutes(170));
    let seats: Vec<(i32, i32)> =
        sqlx::query_as("select row_number, seat_number from tickets order by 1, 2")
            .fetch_all(s.app.db())
            .await
            .expect("tickets");
    assert_eq!(seats.len(), 70);
    assert_eq!((seats[0], seats[69]), ((1, 1), (7, 10)));
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn overlapping_screenings_in_one_hall_are_refused(pool: PgPool) {
    let s = schedule(pool).await;
    let start = chrono::Utc::now() + chrono::Duration::days(2);
    let at = |minutes: i64| (start + chrono::Duration::minutes(minutes)).to_rfc3339();
    s.screening(1, &at(0), "10").await;
    let body = |hall: i64, when: String| json!({"film_id": s.film, "hall_id": hall, "starts_at": when, "base_price": "10"});
    s.app
        .post("/screenings", Some(&s.admin), body(1, at(169)))
        .await
        .expect_error(StatusCode::CONFLICT, "screening_overlap");
    s.app
        .post("/screenings", Some(&s.admin), body(1, at(-169)))
        .await
        .expect_error(StatusCode::CONFLICT, "screening_overlap");
    assert_eq!(s.count("screenings").await, 1);
    assert_eq!(
        s.count("tickets").await,
        70,
        "a refused screening leaves no tickets"
    );
    s.app
        .post("/screenings", Some(&s.admin), body(1, at(170)))
        .await
        .expect(StatusCode::CREATED);
    s.app
        .post("/screenings", Some(&s.admin), body(2, at(10)))
        .await
        .expect(StatusCode::CREATED);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn twenty_admins_racing_for_one_hall_schedule_one_screening(pool: PgPool) {
    let s = schedule(pool).await;
    let start = chrono::Utc::now() + chrono::Duration::days(3);
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (app, admin, film) = (s.app.clone(), s.admin.clone(), s.film);
            let when = (start + chrono::Duration::minutes(i * 5)).to_rfc3339();
            tokio::spawn(async move {
                app.post(
                    "/screenings",
                    Some(&admin),
                    json!({"film_id": film, "hall_id": 4, "starts_at": when, "base_price": "9"}),
                )
                .await
                .status
            })
        })
        .collect();
    let statuses = join_all(tasks).await;
    assert_eq!(
        count_status(&statuses, StatusCode::CREATED),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        count_status(&statuses, StatusCode::CONFLICT),
        19,
        "{statuses:?}"
    );
    assert_eq!(s.count("screenings").await, 1);
    assert_eq!(s.count("tickets").await, 70);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn bad_screenings_get_a_4xx_and_write_nothing(pool: PgPool) {
    let s = schedule(pool).await;
    let future = in_hours(24);
    let with = |key: &str, value: Value| {
        let mut body =
            json!({"film_id": s.film, "hall_id": 1, "starts_at": future, "base_price": "10.00"});
        body[key] = value;
        body
    };
    let cases = [
        ("starts_at", json!(in_hours(-1)), "in the past"),
        ("starts_at", json!("2030-01-01T18:00:00"), "no offset"),
        ("starts_at", json!("next tuesday"), "not a timestamp"),
        ("film_id", json!(999_999), "unknown film"),
        (
            "film_id",
            json!(9_223_372_036_854_775_808u64),
            "film id past 2^63",
        ),
        ("hall_id", json!(42), "unknown hall"),
        ("hall_id", json!("1"), "hall id as text"),
        ("base_price", json!("NaN"), "NaN price"),
        ("base_price", json!("-5.00"), "negative price"),
        ("base_price", json!("123456789012"), "12-digit price"),
        ("base_price", json!("1.005"), "three decimals"),
        (
            "base_price",
            json!("1000000.00"),
            "over the largest base price",
        ),
        ("starts_at", json!("+262142-12-31T23:59:59Z"), "year 262142"),
        (
            "starts_at",
            json!(in_hours(24 * 365 * 6)),
            "six years ahead",
        ),
    ];
    for (field, value, case) in cases {
        let response = s
            .app
            .post("/screenings", Some(&s.admin), with(field, value))
            .await;
        response.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
        assert_eq!(
            response.body["errors"][0]["field"], field,
            "{case}: {}",
            response.body
        );
    }
    let missing = s.app.post("/screenings", Some(&s.admin), json!({})).await;
    assert_eq!(
        missing.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error")["errors"]
            .as_array()
            .map(Vec::len),
        Some(4)
    );
    for (token, status, code) in [
        (None, StatusCode::UNAUTHORIZED, "not_authenticated"),
        (Some(s.cashier.as_str()), StatusCode::FORBIDDEN, "forbidden"),
        (Some(s.user.as_str()), StatusCode::FORBIDDEN, "forbidden"),
    ] {
        s.app
            .post("/screenings", token, with("hall_id", json!(1)))
            .await
            .expect_error(status, code);
    }
    assert_eq!(s.count("screenings").await, 0);
    assert_eq!(s.count("tickets").await, 0);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn screenings_are_listed_by_start_with_filters(pool: PgPool) {
    let s = schedule(pool).await;
    let late = s.screening(1, &in_hours(72), "10").await;
    let early = s.screening(2, &in_hours(24), "10").await;
    let middle = s.screening(1, &in_hours(48), "10").await;
    let ids = |body: &Value| {
        body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["id"].as_i64().expect("id"))
            .collect::<Vec<_>>()
    };
    let id = |v: &Value| v["id"].as_i64().expect("id");

    let all = s
        .app
        .get("/screenings", None)
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(ids(&all), [id(&early), id(&middle), id(&late)]);
    let hall1 = s
        .app
        .get("/screenings?hall_id=1", None)
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(ids(&hall1), [id(&middle), id(&late)]);
    let from = urlencode(&in_hours(36));
    let to = urlencode(&in_hours(60));
    let window = s
        .app
        .get(
            &format!("/screenings?from={from}&to={to}&film_id={}", s.film),
            None,
        )
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(
        (ids(&window), window["total"].clone()),
        (vec![id(&middle)], json!(1))
    );
    // An offset's "+" sent unescaped arrives as a space, and still means "+".
    let unescaped = in_hours(36).replace(':', "%3A");
    let later = s
        .app
        .get(&format!("/screenings?from={unescaped}"), None)
        .await;
    assert_eq!(
        ids(&later.expect(StatusCode::OK).clone()),
        [id(&middle), id(&late)]
    );
    let paged = s
        .app
        .get("/screenings?limit=1&offset=2", None)
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(
        (ids(&paged), paged["total"].clone()),
        (vec![id(&late)], json!(3))
    );

    for query in [
        format!("from={to}&to={from}"),
        "from=yesterday".into(),
        "from=2030-01-01T00:00:00".into(),
        "hall_id=x".into(),
        "limit=0".into(),
    ] {
        s.app
            .get(&format!("/screenings?{query}"), None)
            .await
            .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    }
    for missing in [
        "/screenings/999999",
        "/screenings/9223372036854775808",
        "/screenings/x",
    ] {
        s.app
            .get(missing, None)
            .await
            .expect_error(StatusCode::NOT_FOUND, "not_found");
    }
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_screening_can_be_moved_or_repriced_until_it_starts(pool: PgPool) {
    let s = schedule(pool).await;
    let screening = s.screening(5, &in_hours(24), "10").await;
    let uri = format!("/screenings/{}", screening["id"]);
    let new_start = in_hours(30);
    let moved = s
        .app
        .patch(
            &uri,
            Some(&s.admin),
            json!({"starts_at": new_start, "base_price": "12.00"}),
        )
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(moved["base_price"], "12.00");
    let starts = chrono::DateTime::parse_from_rfc3339(moved["starts_at"].as_str().expect("start"))
        .expect("start");
    let ends =
        chrono::DateTime::parse_from_rfc3339(moved["ends_at"].as_str().expect("end")).expect("end");
    assert_eq!(
        starts,
        chrono::DateTime::parse_from_rfc3339(&new_start).expect("start")
    );
    assert_eq!(ends - starts, chrono::Duration::minutes(170));

    s.app
        .patch(&uri, Some(&s.admin), json!({"starts_at": in_hours(-2)}))
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    s.app
        .patch(
            "/screenings/424242",
            Some(&s.admin),
            json!({"base_price": "1"}),
        )
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    s.app
        .patch(&uri, Some(&s.user), json!({"base_price": "1"}))
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");

    // Once it has started, it stays as it is.
    sqlx::query("update screenings set starts_at = now() - interval '1 hour', ends_at = now() + interval '1 hour'")
        .execute(s.app.db())
        .await
        .expect("start it");
    s.app
        .patch(&uri, Some(&s.admin), json!({"base_price": "1"}))
        .await
        .expect_error(StatusCode::CONFLICT, "screening_started");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn deleting_a_screening_removes_its_tickets(pool: PgPool) {
    let s = schedule(pool).await;
    let screening = s.screening(1, &in_hours(24), "10").await;
    let uri = format!("/screenings/{}", screening["id"]);
    s.app
        .delete(&uri, Some(&s.cashier))
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    s.app
        .delete(&uri, Some(&s.admin))
        .await
        .expect(StatusCode::NO_CONTENT);
    assert_eq!(
        (s.count("screenings").await, s.count("tickets").await),
        (0, 0)
    );
    s.app
        .delete(&uri, Some(&s.admin))
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
}

// ---- seat map and tickets ----

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_vip_seat_map_shows_prices_with_52_percent_in_one_query(pool: PgPool) {
    let s = schedule(pool).await;
    let screening = s.screening(4, &in_hours(24), "333.33").await;
    let (response, statements) = count_statements(
        s.app
            .get(&format!("/screenings/{}/seats", screening["id"]), None),
    )
    .await;
    let seats = response
        .expect(StatusCode::OK)
        .as_array()
        .expect("seats")
        .clone();
    assert_eq!(statements, 1);
    assert_eq!(seats.len(), 70);
    assert_eq!(seats[0]["row"], 1);
    assert_eq!(seats[0]["seat"], 1);
    assert_eq!(seats[69]["row"], 7);
    assert_eq!(seats[69]["seat"], 10);
    // 333.33 × 1.52 = 506.6616 → 506.66
    assert!(
        seats
            .iter()
            .all(|seat| seat["price"] == "506.66" && seat["status"] == "free"),
        "{}",
        seats[0]
    );

    let free = s
        .app
        .get(
            &format!("/screenings/{}/seats?status=free", screening["id"]),
            None,
        )
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(free.as_array().map(Vec::len), Some(70));
    let reserved = s
        .app
        .get(
            &format!("/screenings/{}/seats?status=reserved", screening["id"]),
            None,
        )
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(reserved, json!([]));
    s.app
        .get(
            &format!("/screenings/{}/seats?status=sold", screening["id"]),
            None,
        )
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    s.app
        .get("/screenings/999/seats", None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn seat_prices_round_half_up_to_cents(pool: PgPool) {
    let s = schedule(pool).await;
    let table = [
        ("333.33", "5", "350.00"),         // 349.9965
        ("0.01", "52", "0.02"),            // 0.0152
        ("999999.99", "52", "1519999.98"), // 1519999.9848
        ("0.05", "5", "0.05"),             // 0.0525
        ("10.10", "5", "10.61"),           // 10.605: the half goes up
        ("99999999.99", "0", "99999999.99"),
        ("0", "52", "0.00"),
    ];
    for (base, surcharge, expected) in table {
        let price: String = sqlx::query_scalar("select seat_price($1::numeric, $2::numeric)::text")
            .bind(base)
            .bind(surcharge)
            .fetch_one(s.app.db())
            .await
            .expect("price");
        assert_eq!(price, expected, "{base} + {surcharge} %");
    }
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn an_admin_reprices_and_withdraws_single_seats(pool: PgPool) {
    let s = schedule(pool).await;
    let screening = s.screening(7, &in_hours(24), "10.00").await;
    let tickets = s
        .app
        .get(
            &format!("/tickets?screening_id={}&limit=100", screening["id"]),
            None,
        )
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(tickets["total"], 70);
    let first = tickets["items"][0].clone();
    assert_eq!(
        (
            first["row"].clone(),
            first["seat"].clone(),
            first["base_price"].clone(),
            first["price"].clone()
        ),
        (json!(1), json!(1), json!("10.00"), json!("12.00"))
    );
    let uri = format!("/tickets/{}", first["id"]);

    for (token, status, code) in [
        (None, StatusCode::UNAUTHORIZED, "not_authenticated"),
        (Some(s.cashier.as_str()), StatusCode::FORBIDDEN, "forbidden"),
    ] {
        s.app
            .patch(&uri, token, json!({"base_price": "1"}))
            .await
            .expect_error(status, code);
        s.app.delete(&uri, token).await.expect_error(status, code);
    }
    for bad in [
        json!({}),
        json!({"base_price": "-1"}),
        json!({"base_price": "abc"}),
        json!({"base_price": "1.999"}),
    ] {
        s.app
            .patch(&uri, Some(&s.admin), bad)
            .await
            .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    }
    let repriced = s
        .app
        .patch(&uri, Some(&s.admin), json!({"base_price": "20.00"}))
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(
        (repriced["base_price"].clone(), repriced["price"].clone()),
        (json!("20.00"), json!("24.00"))
    );
    assert_eq!(
        s.app.get(&uri, None).await.expect(StatusCode::OK)["price"],
        "24.00"
    );

    // Repricing the screening keeps the seat's own price.
    s.app
        .patch(
            &format!("/screenings/{}", screening["id"]),
            Some(&s.admin),
            json!({"base_price": "5.00"}),
        )
        .await
        .expect(StatusCode::OK);
    let map = s
        .app
        .get(&format!("/screenings/{}/seats", screening["id"]), None)
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(
        (map[0]["price"].clone(), map[1]["price"].clone()),
        (json!("24.00"), json!("6.00"))
    );

    s.app
        .delete(&uri, Some(&s.admin))
        .await
        .expect(StatusCode::NO_CONTENT);
    s.app
        .get(&uri, None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    let after = s
        .app
        .get(&format!("/screenings/{}", screening["id"]), None)
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(
        (after["seats_total"].clone(), after["seats_free"].clone()),
        (json!(69), json!(69))
    );
    s.app
        .patch(
            "/tickets/9223372036854775807",
            Some(&s.admin),
            json!({"base_price": "1"}),
        )
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn reading_the_schedule_takes_one_statement_however_many_screenings(pool: PgPool) {
    let s = schedule(pool).await;
    let mut counts = Vec::new();
    for batch in 0..2 {
        for hall in 1..=5 {
            s.screening(hall, &in_hours(24 + batch * 6), "10").await;
        }
        let (response, statements) =
            count_statements(s.app.get("/screenings?limit=100", None)).await;
        assert_eq!(response.expect(StatusCode::OK)["total"], 5 * (batch + 1));
        counts.push(statements);
    }
    assert_eq!(counts, [1, 1]);
    let (_, tickets) = count_statements(s.app.get("/tickets?limit=100", None)).await;
    assert_eq!(tickets, 1);
}

/// Books the given tickets of a screening for a new customer, straight in the database.
async fn book(s: &Schedule, screening: i64, tickets: &[i64]) -> i64 {
    let (customer, _) = s
        .app
        .user(&format!("guest{}", tickets[0]), Role::User)
        .await;
    sqlx::query_scalar(
        "with r as (
             insert into reservations (user_id, booked_by, screening_id, total_price) values ($1, $1, $2, 0) returning id
         ), items as (
             insert into reservation_items (reservation_id, ticket_id, row_number, seat_number, price)
             select r.id, t.id, t.row_number, t.seat_number, 0 from r, tickets t where t.id = any($3)
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

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn booked_seats_show_as_reserved_and_stay_on_sale(pool: PgPool) {
    let s = schedule(pool).await;
    let screening = s.screening(1, &in_hours(24), "10").await;
    let id = screening["id"].as_i64().expect("id");
    let tickets: Vec<i64> =
        sqlx::query_scalar("select id from tickets order by row_number, seat_number")
            .fetch_all(s.app.db())
            .await
            .expect("tickets");
    let reservation = book(&s, id, &tickets[..3]).await;

    let (response, statements) = count_statements(
        s.app
            .get(&format!("/screenings/{id}/seats?status=reserved"), None),
    )
    .await;
    let reserved: Vec<i64> = response
        .expect(StatusCode::OK)
        .as_array()
        .expect("seats")
        .iter()
        .map(|seat| seat["ticket_id"].as_i64().expect("id"))
        .collect();
    assert_eq!((reserved.as_slice(), statements), (&tickets[..3], 1));
    let detail = s
        .app
        .get(&format!("/screenings/{id}"), None)
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(
        (detail["seats_total"].clone(), detail["seats_free"].clone()),
        (json!(70), json!(67))
    );
    assert_eq!(
        s.app
            .get(&format!("/tickets/{}", tickets[0]), None)
            .await
            .expect(StatusCode::OK)["status"],
        "reserved"
    );

    // A booked seat cannot be withdrawn, nor a screening with bookings deleted.
    s.app
        .delete(&format!("/tickets/{}", tickets[0]), Some(&s.admin))
        .await
        .expect_error(StatusCode::CONFLICT, "ticket_reserved");
    s.app
        .delete(&format!("/screenings/{id}"), Some(&s.admin))
        .await
        .expect_error(StatusCode::CONFLICT, "screening_has_reservations");
    assert_eq!(
        (s.count("tickets").await, s.count("screenings").await),
        (70, 1)
    );

    // Once cancelled, both are allowed; the cancelled reservation keeps its seats on record.
    sqlx::query("update reservations set status = 'cancelled', cancelled_at = now() where id = $1")
        .bind(reservation)
        .execute(s.app.db())
        .await
        .expect("cancel");
    sqlx::query("update reservation_items set active = false where reservation_id = $1")
        .bind(reservation)
        .execute(s.app.db())
        .await
        .expect("free");
    s.app
        .delete(&format!("/tickets/{}", tickets[0]), Some(&s.admin))
        .await
        .expect(StatusCode::NO_CONTENT);
    let kept: (Option<i64>, i32, i32) = sqlx::query_as("select ticket_id, row_number, seat_number from reservation_items order by row_number, seat_number limit 1")
        .fetch_one(s.app.db())
        .await
        .expect("item");
    assert_eq!(kept, (None, 1, 1));
    s.app
        .delete(&format!("/screenings/{id}"), Some(&s.admin))
        .await
        .expect(StatusCode::NO_CONTENT);
    assert_eq!(s.count("reservations").await, 0);
}

// ---- current roles ----

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_demoted_or_deactivated_admins_old_token_writes_nothing(pool: PgPool) {
    use axum::http::Method;
    let s = schedule(pool).await;
    let screening = s.screening(1, &in_hours(48), "10.00").await["id"]
        .as_i64()
        .expect("id");
    let ticket: i64 = sqlx::query_scalar("select min(id) from tickets where screening_id = $1")
        .bind(screening)
        .fetch_one(s.app.db())
        .await
        .expect("ticket");
    let hall = json!({"name": "Hall 10", "kind": "comfort", "surcharge_percent": "5", "rows": 2, "seats_per_row": 2});
    let new_screening =
        json!({"film_id": s.film, "hall_id": 2, "starts_at": in_hours(72), "base_price": "9.00"});
    s.app
        .assert_current_role_is_checked(
            Role::Admin,
            Role::Cashier,
            &[
                (Method::POST, "/halls".into(), Some(hall)),
                (
                    Method::PATCH,
                    "/halls/3".into(),
                    Some(json!({"name": "Renamed"})),
                ),
                (Method::DELETE, "/halls/9".into(), None),
                (Method::POST, "/screenings".into(), Some(new_screening)),
                (
                    Method::PATCH,
                    format!("/screenings/{screening}"),
                    Some(json!({"base_price": "1.00"})),
                ),
                (Method::DELETE, format!("/screenings/{screening}"), None),
                (
                    Method::PATCH,
                    format!("/tickets/{ticket}"),
                    Some(json!({"base_price": "1.00"})),
                ),
                (Method::DELETE, format!("/tickets/{ticket}"), None),
            ],
        )
        .await;
}
