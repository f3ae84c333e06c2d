//! Booking: `POST /reservations`, races and idempotency.

use super::*;

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
    let c = cinema_without_hold_limits(pool).await;
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
    let body = changed.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
    assert_eq!(body["errors"][0]["field"], "Idempotency-Key");
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
