//! The schedule: `/screenings*`, and what the whole function shares.

use super::*;

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
        "offset=10001".into(),
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

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn without_from_the_list_shows_what_has_not_ended(pool: PgPool) {
    let s = schedule(pool).await;
    let upcoming = s.screening(1, &in_hours(24), "10").await;
    // Heat lasts 170 minutes: one screening ended an hour ago, one is running now.
    let (ended, running): (i64, i64) = sqlx::query_as(
        "with film as (select id from films limit 1),
              ended as (insert into screenings (film_id, hall_id, starts_at, ends_at, base_price)
                        select id, 2, now() - interval '230 minutes', now() - interval '60 minutes', 10 from film returning id),
              running as (insert into screenings (film_id, hall_id, starts_at, ends_at, base_price)
                          select id, 3, now() - interval '60 minutes', now() + interval '110 minutes', 10 from film returning id)
         select (select id from ended), (select id from running)",
    )
    .fetch_one(s.app.db())
    .await
    .expect("past screenings");
    let ids = |body: &Value| {
        body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["id"].as_i64().expect("id"))
            .collect::<Vec<_>>()
    };
    let current = s
        .app
        .get("/screenings", None)
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(
        ids(&current),
        [running, upcoming["id"].as_i64().expect("id")]
    );
    assert_eq!(
        (current["total"].clone(), current["total_exact"].clone()),
        (json!(2), json!(true))
    );
    let from = urlencode(&in_hours(-24));
    let history = s
        .app
        .get(&format!("/screenings?from={from}"), None)
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(
        ids(&history),
        [ended, running, upcoming["id"].as_i64().expect("id")]
    );
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_long_list_counts_only_so_far_and_says_so(pool: PgPool) {
    let s = schedule(pool).await;
    let hall = s
        .app
        .post("/halls", Some(&s.admin), json!({"name": "Big", "kind": "standard", "surcharge_percent": "0", "rows": 40, "seats_per_row": 40}))
        .await
        .expect(StatusCode::CREATED)["id"]
        .as_i64()
        .expect("id");
    let screening = s.screening(hall, &in_hours(24), "10").await["id"]
        .as_i64()
        .expect("id");
    // 1,600 tickets: a page of 10 from offset 100 counts up to 100 + 10 + 200.
    let page = s
        .app
        .get(
            &format!("/tickets?screening_id={screening}&limit=10&offset=100"),
            None,
        )
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(page["items"].as_array().expect("items").len(), 10);
    assert_eq!(
        (page["total"].clone(), page["total_exact"].clone()),
        (json!(310), json!(false))
    );
    // Near the end, the count is exact again.
    let last = s
        .app
        .get(
            &format!("/tickets?screening_id={screening}&limit=10&offset=1595"),
            None,
        )
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(last["items"].as_array().expect("items").len(), 5);
    assert_eq!(
        (last["total"].clone(), last["total_exact"].clone()),
        (json!(1600), json!(true))
    );
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
