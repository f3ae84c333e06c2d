//! The box office: paying at the till, holds that lapse, passes admitted once at the door,
//! and the sales report.

use super::*;

impl Cinema {
    /// The cashier's `POST /reservations/{id}/pay`.
    async fn pay(&self, token: &str, id: i64, method: &str) -> TestResponse {
        self.app
            .post(
                &format!("/reservations/{id}/pay"),
                Some(token),
                json!({"method": method}),
            )
            .await
    }

    /// The cashier sells `seats` to Alice at the till, paid by card; the reservation.
    async fn sell(&self, seats: &[i64]) -> Value {
        self.book(
            &self.cashier.1,
            json!({"ticket_ids": seats, "user_id": self.alice.0, "payment_method": "card"}),
        )
        .await
        .expect(StatusCode::CREATED)
        .clone()
    }

    /// Moves a reservation's pay-by time to `at` (an SQL expression), as if time had passed.
    pub(crate) async fn pay_by(&self, id: i64, at: &str) {
        sqlx::query(&format!(
            "with r as (update reservations set pay_by = {at} where id = $1 returning pay_by)
             update reservation_items set held_until = (select pay_by from r)
             where reservation_id = $1 and held_until is not null"
        ))
        .bind(id)
        .execute(self.app.db())
        .await
        .expect("pay_by");
    }

    /// Whether the seat shows as taken in the seat map's view.
    pub(crate) async fn reserved(&self, ticket: i64) -> bool {
        sqlx::query_scalar("select reserved from ticket_details where ticket_id = $1")
            .bind(ticket)
            .fetch_one(self.app.db())
            .await
            .expect("reserved")
    }

    /// Seats of the cinema's screening held by an active or paid booking, by the database's
    /// own rule.
    async fn holding(&self) -> i64 {
        sqlx::query_scalar(
            "select count(*) from reservation_items where holds_seat(active, held_until)",
        )
        .fetch_one(self.app.db())
        .await
        .expect("count")
    }

    async fn cancel(&self, token: &str, id: i64) -> TestResponse {
        self.app
            .send(
                Method::POST,
                &format!("/reservations/{id}/cancel"),
                Some(token),
                None,
            )
            .await
    }

    async fn check_in(&self, token: &str, code: &str) -> TestResponse {
        self.app
            .post("/check-in", Some(token), json!({"code": code}))
            .await
    }
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_held_reservation_is_paid_at_the_till_and_each_seat_gets_a_pass(pool: PgPool) {
    let c = cinema(pool).await;
    let held = c
        .book(
            &c.alice.1,
            json!({"ticket_ids": [c.tickets[0], c.tickets[1]]}),
        )
        .await
        .expect(StatusCode::CREATED)
        .clone();
    assert_eq!(held["status"], "active");
    assert_eq!(held["paid_at"], Value::Null);
    assert_eq!(held["refunded"], false);
    assert!(
        held["tickets"][0].get("code").is_none(),
        "no pass before payment"
    );
    let pay_by_is_30_minutes_before_the_start: bool = sqlx::query_scalar(
        "select r.pay_by = s.starts_at - interval '30 minutes' from reservations r
         join screenings s on s.id = r.screening_id where r.id = $1",
    )
    .bind(id(&held))
    .fetch_one(c.app.db())
    .await
    .expect("pay_by");
    assert!(pay_by_is_30_minutes_before_the_start);

    // Customers do not take payments; nothing changes.
    let before = c.app.snapshot().await;
    c.pay(&c.alice.1, id(&held), "cash")
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    c.pay(&c.cashier.1, id(&held), "cheque")
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    c.pay(&c.cashier.1, 424_242, "cash")
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(c.app.snapshot().await, before);

    let (response, statements) = count_statements(c.pay(&c.cashier.1, id(&held), "card")).await;
    let paid = response.expect(StatusCode::OK).clone();
    assert_eq!(statements, 2, "paying + reading it back");
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["payment_method"], "card");
    assert_eq!(paid["paid_by"]["id"], c.cashier.0);
    assert!(paid["paid_at"].is_string());
    let codes = codes(&paid);
    assert_eq!(codes.len(), 2);
    assert_ne!(codes[0], codes[1]);
    for code in &codes {
        assert_eq!(code.len(), 22, "128 bits, URL-safe base64: {code}");
        assert!(
            code.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }
    // The owner sees the passes; the seats stay taken, now for good.
    let read = c
        .app
        .get(&format!("/reservations/{}", id(&held)), Some(&c.alice.1))
        .await;
    assert_eq!(self::codes(read.expect(StatusCode::OK)), codes);
    c.pay_by(id(&held), "now() - interval '1 second'").await;
    assert!(c.reserved(c.tickets[0]).await, "a paid seat never lapses");

    c.pay(&c.admin, id(&held), "cash")
        .await
        .expect_error(StatusCode::CONFLICT, "already_paid");

    // The pass, for whoever holds its code; and its QR code.
    let pass = c.app.get(&format!("/passes/{}", codes[0]), None).await;
    assert_eq!(pass.headers[header::CACHE_CONTROL], "no-store");
    let pass = pass.expect(StatusCode::OK);
    assert_eq!(pass["status"], "valid");
    assert_eq!(
        (pass["row"].as_i64(), pass["seat"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(pass["hall"]["name"], "Hall 4");
    assert_eq!(pass["screening_id"], c.screening);
    assert_eq!(pass["admitted_at"], Value::Null);
    let qr = c
        .app
        .get(&format!("/passes/{}/qr.svg", codes[0]), None)
        .await;
    qr.expect(StatusCode::OK);
    assert_eq!(qr.headers[header::CONTENT_TYPE], "image/svg+xml");
    let svg = qr.body.as_str().expect("an SVG document");
    assert!(svg.contains("<svg") && svg.contains("</svg>"), "{svg}");
    for unknown in [
        "AAAAAAAAAAAAAAAAAAAAAA",
        "short",
        "q9XcU3m0Rk2bV7yT1aLw4Q%00",
        "%E2%80%AEAAAAAAAAAAAAAAAAAAAA",
    ] {
        c.app
            .get(&format!("/passes/{unknown}"), None)
            .await
            .expect_error(StatusCode::NOT_FOUND, "not_found");
        c.app
            .get(&format!("/passes/{unknown}/qr.svg"), None)
            .await
            .expect_error(StatusCode::NOT_FOUND, "not_found");
    }
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_cashier_sells_and_takes_payment_in_one_request(pool: PgPool) {
    let c = cinema(pool).await;
    let sold = c.sell(&[c.tickets[5], c.tickets[6]]).await;
    assert_eq!(sold["status"], "paid");
    assert_eq!(sold["payment_method"], "card");
    assert_eq!(sold["booked_by"]["id"], c.cashier.0);
    assert_eq!(sold["user"]["id"], c.alice.0);
    assert_eq!(codes(&sold).len(), 2);

    // A customer cannot mark their own booking paid.
    let before = c.app.snapshot().await;
    c.book(
        &c.alice.1,
        json!({"ticket_ids": [c.tickets[7]], "payment_method": "cash"}),
    )
    .await
    .expect_error(StatusCode::FORBIDDEN, "forbidden");
    c.book(
        &c.cashier.1,
        json!({"ticket_ids": [c.tickets[7]], "user_id": c.alice.0, "payment_method": "coins"}),
    )
    .await
    .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    assert_eq!(c.app.snapshot().await, before);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn an_unpaid_hold_lapses_at_pay_by_and_its_seats_are_free_without_any_job(pool: PgPool) {
    let c = cinema(pool).await;
    let held = c.alice_books_the_first_seat().await;
    assert!(c.reserved(c.tickets[0]).await);
    c.pay_by(held, "now() - interval '1 second'").await;

    // Nothing has run since: the hold reads as lapsed and its seat as free.
    let read = c
        .app
        .get(&format!("/reservations/{held}"), Some(&c.alice.1))
        .await;
    assert_eq!(read.expect(StatusCode::OK)["status"], "lapsed");
    assert!(!c.reserved(c.tickets[0]).await);
    let seats_free: i64 =
        sqlx::query_scalar("select seats_free from screening_details where id = $1")
            .bind(c.screening)
            .fetch_one(c.app.db())
            .await
            .expect("seats_free");
    assert_eq!(seats_free, 70);
    let lapsed = c
        .app
        .get("/reservations?status=lapsed", Some(&c.admin))
        .await;
    assert_eq!(ids(lapsed.expect(StatusCode::OK)), [held]);
    let active = c
        .app
        .get("/reservations?status=active", Some(&c.admin))
        .await;
    assert_eq!(ids(active.expect(StatusCode::OK)), Vec::<i64>::new());

    // A lapsed reservation is neither paid nor cancelled.
    let before = c.app.snapshot().await;
    c.pay(&c.cashier.1, held, "cash")
        .await
        .expect_error(StatusCode::CONFLICT, "reservation_lapsed");
    c.cancel(&c.alice.1, held)
        .await
        .expect_error(StatusCode::CONFLICT, "reservation_lapsed");
    assert_eq!(c.app.snapshot().await, before);

    // Bob books the seat; the lapsed hold is tidied by that booking.
    let bobs = c
        .book(&c.bob.1, json!({"ticket_ids": [c.tickets[0]]}))
        .await
        .expect(StatusCode::CREATED)
        .clone();
    assert_eq!(bobs["status"], "active");
    let (status, active_items): (String, i64) = sqlx::query_as(
        "select status::text, (select count(*) from reservation_items where reservation_id = $1 and active)
         from reservations where id = $1",
    )
    .bind(held)
    .fetch_one(c.app.db())
    .await
    .expect("row");
    assert_eq!((status.as_str(), active_items), ("lapsed", 0));
    assert_eq!(c.holding().await, 1);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn after_pay_by_a_screening_is_sold_only_with_payment(pool: PgPool) {
    let c = cinema(pool).await;
    let soon = screening(&c.app, 2, "20 minutes").await;
    let seats = tickets(&c.app, soon).await;
    let before = c.app.snapshot().await;
    c.book(&c.alice.1, json!({"ticket_ids": [seats[0]]}))
        .await
        .expect_error(StatusCode::CONFLICT, "pay_by_passed");
    c.book(
        &c.cashier.1,
        json!({"ticket_ids": [seats[0]], "user_id": c.alice.0}),
    )
    .await
    .expect_error(StatusCode::CONFLICT, "pay_by_passed");
    assert_eq!(c.app.snapshot().await, before);
    let sold = c.sell(&[seats[0]]).await;
    assert_eq!(sold["status"], "paid");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn cancelling_a_paid_reservation_refunds_it_and_voids_its_passes(pool: PgPool) {
    let c = cinema(pool).await;
    let sold = c.sell(&[c.tickets[2]]).await;
    let cancelled = c
        .cancel(&c.alice.1, id(&sold))
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["refunded"], true);
    assert_eq!(
        cancelled["payment_method"], "card",
        "the payment stays on record"
    );
    assert!(!c.reserved(c.tickets[2]).await);
    let code = &codes(&sold)[0];
    let pass = c.app.get(&format!("/passes/{code}"), None).await;
    assert_eq!(pass.expect(StatusCode::OK)["status"], "void");
    c.pay(&c.cashier.1, id(&sold), "cash")
        .await
        .expect_error(StatusCode::CONFLICT, "reservation_cancelled");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_pass_is_admitted_once_and_only_while_check_in_is_open(pool: PgPool) {
    let c = cinema(pool).await;
    let tonight = screening(&c.app, 3, "30 minutes").await;
    let seats = tickets(&c.app, tonight).await;
    let sold = c.sell(&[seats[0], seats[1]]).await;
    let codes = codes(&sold);

    // Only staff scan passes.
    let before = c.app.snapshot().await;
    c.check_in(&c.alice.1, &codes[0])
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    for unknown in ["AAAAAAAAAAAAAAAAAAAAAA", "", "x\u{0}x", &"A".repeat(5000)] {
        c.check_in(&c.cashier.1, unknown)
            .await
            .expect_error(StatusCode::NOT_FOUND, "not_found");
    }
    c.app
        .post("/check-in", Some(&c.cashier.1), json!({"code": 42}))
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    assert_eq!(c.app.snapshot().await, before);

    let (response, statements) = count_statements(c.check_in(&c.cashier.1, &codes[0])).await;
    let admitted = response.expect(StatusCode::OK).clone();
    assert_eq!(statements, 1);
    assert_eq!(admitted["status"], "admitted");
    assert_eq!(
        (admitted["row"].as_i64(), admitted["seat"].as_i64()),
        (Some(1), Some(1))
    );
    let first = admitted["admitted_at"].clone();
    assert!(first.is_string());
    let again = c.check_in(&c.admin, &codes[0]).await;
    assert_eq!(
        again.expect_error(StatusCode::CONFLICT, "already_admitted")["admitted_at"],
        first
    );
    let pass = c.app.get(&format!("/passes/{}", codes[0]), None).await;
    assert_eq!(pass.expect(StatusCode::OK)["status"], "admitted");

    // An admitted reservation is not cancelled (and refunded) any more.
    c.cancel(&c.cashier.1, id(&sold))
        .await
        .expect_error(StatusCode::CONFLICT, "already_admitted");

    // Tomorrow's pass waits for its window; a cancelled reservation's pass is void.
    let tomorrow = c.sell(&[c.tickets[9]]).await;
    let early = c.check_in(&c.cashier.1, &self::codes(&tomorrow)[0]).await;
    let body = early.expect_error(StatusCode::CONFLICT, "outside_check_in_window");
    assert!(body["opens_at"].is_string() && body["closes_at"].is_string());
    let refunded = c.sell(&[seats[5]]).await;
    c.cancel(&c.cashier.1, id(&refunded))
        .await
        .expect(StatusCode::OK);
    c.check_in(&c.cashier.1, &self::codes(&refunded)[0])
        .await
        .expect_error(StatusCode::CONFLICT, "void");

    // After the screening has ended, nothing more is admitted.
    sqlx::query("update screenings set starts_at = now() - interval '3 hours', ends_at = now() - interval '1 hour' where id = $1")
        .bind(tonight)
        .execute(c.app.db())
        .await
        .expect("end");
    c.check_in(&c.cashier.1, &codes[1])
        .await
        .expect_error(StatusCode::CONFLICT, "outside_check_in_window");
    let admitted: i64 =
        sqlx::query_scalar("select count(*) from reservation_items where admitted_at is not null")
            .fetch_one(c.app.db())
            .await
            .expect("count");
    assert_eq!(admitted, 1);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn of_a_hundred_concurrent_scans_of_a_pass_one_admits_it(pool: PgPool) {
    let c = cinema(pool).await;
    let tonight = screening(&c.app, 3, "10 minutes").await;
    let seats = tickets(&c.app, tonight).await;
    let sold = c.sell(&seats[..3]).await;
    for code in codes(&sold) {
        let tasks: Vec<_> = (0..100)
            .map(|i| {
                let (app, token, code) = (c.app.clone(), c.cashier.1.clone(), code.clone());
                let token = if i % 2 == 0 { token } else { c.admin.clone() };
                tokio::spawn(async move {
                    app.post("/check-in", Some(&token), json!({"code": code}))
                        .await
                })
            })
            .collect();
        let answers = join_all(tasks).await;
        let admitted: Vec<_> = answers
            .iter()
            .filter(|a| a.status == StatusCode::OK)
            .collect();
        assert_eq!(admitted.len(), 1, "exactly one scan admits the pass");
        let first = &admitted[0].body["admitted_at"];
        for answer in &answers {
            if answer.status != StatusCode::OK {
                let body = answer.expect_error(StatusCode::CONFLICT, "already_admitted");
                assert_eq!(
                    &body["admitted_at"], first,
                    "each refusal names the admission"
                );
            }
        }
    }
}

/// Round by round, a hold lapses while 50 payments and 50 bookings of its seat arrive at once:
/// either the payment wins (one 200; every booking is refused) or the lapse does (every
/// payment is refused; one booking gets the seat). Never both, never neither, never a 5xx.
#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn paying_and_booking_at_the_instant_a_hold_lapses_have_exactly_one_winner(pool: PgPool) {
    let c = cinema(pool).await;
    let mut customers = Vec::new();
    for i in 0..50 {
        customers.push(c.app.user(&format!("rival{i:02}"), Role::User).await.1);
    }
    let (mut paid_won, mut booking_won) = (0, 0);
    // The burst starts 300 ms from now; the hold lapses `offset` ms after that, so that the
    // instant falls before, inside and after the burst's few dozen milliseconds.
    let offsets = [-20, -5, 0, 5, 10, 15, 20, 30, 45, 60];
    for (round, offset) in offsets.into_iter().enumerate() {
        let seat = c.tickets[20 + round];
        let held = id(c
            .book(&c.alice.1, json!({"ticket_ids": [seat]}))
            .await
            .expect(StatusCode::CREATED));
        c.pay_by(
            held,
            &format!("now() + interval '{} milliseconds'", 300 + offset),
        )
        .await;
        let at = tokio::time::Instant::now() + std::time::Duration::from_millis(300);
        let mut tasks = Vec::new();
        for customer in &customers {
            let (app, cashier, customer) = (c.app.clone(), c.cashier.1.clone(), customer.clone());
            tasks.push(tokio::spawn(async move {
                tokio::time::sleep_until(at).await;
                let uri = format!("/reservations/{held}/pay");
                (
                    "pay",
                    app.post(&uri, Some(&cashier), json!({"method": "cash"}))
                        .await,
                )
            }));
            let app = c.app.clone();
            tasks.push(tokio::spawn(async move {
                tokio::time::sleep_until(at).await;
                (
                    "book",
                    app.post(
                        "/reservations",
                        Some(&customer),
                        json!({"ticket_ids": [seat]}),
                    )
                    .await,
                )
            }));
        }
        let answers = join_all(tasks).await;
        let won = |kind: &str, status| {
            answers
                .iter()
                .filter(|(k, a)| *k == kind && a.status == status)
                .count()
        };
        for (kind, answer) in &answers {
            assert!(
                matches!(
                    answer.status,
                    StatusCode::OK | StatusCode::CREATED | StatusCode::CONFLICT
                ),
                "round {round}: {kind} answered {}: {}",
                answer.status,
                answer.body
            );
        }
        match (won("pay", StatusCode::OK), won("book", StatusCode::CREATED)) {
            (1, 0) => paid_won += 1,
            (0, 1) => booking_won += 1,
            other => panic!(
                "round {round}: payments won {}, bookings won {}",
                other.0, other.1
            ),
        }
        let holders: i64 = sqlx::query_scalar(
            "select count(*) from reservation_items where ticket_id = $1 and holds_seat(active, held_until)",
        )
        .bind(seat)
        .fetch_one(c.app.db())
        .await
        .expect("holders");
        assert_eq!(holders, 1, "round {round}: the seat has exactly one holder");
    }
    eprintln!(
        "lapse races: payment won {paid_won}, a booking won {booking_won} of {} rounds",
        offsets.len()
    );
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn sales_are_reported_by_screening_film_and_day_in_exact_money(pool: PgPool) {
    let c = cinema(pool).await;
    let tonight = screening(&c.app, 3, "30 minutes").await;
    let tonights = tickets(&c.app, tonight).await;
    // Tomorrow (hall 4, 15.20 a seat): two held, three sold, one sold and refunded.
    c.book(
        &c.alice.1,
        json!({"ticket_ids": [c.tickets[0], c.tickets[1]]}),
    )
    .await
    .expect(StatusCode::CREATED);
    c.sell(&[c.tickets[2], c.tickets[3], c.tickets[4]]).await;
    let refunded = c.sell(&[c.tickets[5]]).await;
    c.cancel(&c.cashier.1, id(&refunded))
        .await
        .expect(StatusCode::OK);
    // Tonight: one sold and admitted.
    let admitted = c.sell(&[tonights[0]]).await;
    c.check_in(&c.cashier.1, &codes(&admitted)[0])
        .await
        .expect(StatusCode::OK);
    let tonight_price: String =
        sqlx::query_scalar("select price::text from ticket_details where ticket_id = $1")
            .bind(tonights[0])
            .fetch_one(c.app.db())
            .await
            .expect("price");

    let uri = |group: &str| {
        format!(
            "/reports/sales?from={}&to={}&group_by={group}",
            encode(&(chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339()),
            encode(&(chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339()),
        )
    };
    let (response, statements) =
        count_statements(c.app.get(&uri("screening"), Some(&c.admin))).await;
    let report = response.expect(StatusCode::OK).clone();
    assert_eq!(statements, 1);
    assert_eq!(report["group_by"], "screening");
    let rows = report["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["screening"]["id"], tonight);
    assert_eq!(
        (
            &rows[0]["seats_total"],
            &rows[0]["seats_paid"],
            &rows[0]["seats_held"],
            &rows[0]["seats_admitted"]
        ),
        (&json!(70), &json!(1), &json!(0), &json!(1))
    );
    assert_eq!(rows[0]["revenue"], tonight_price);
    assert_eq!(rows[1]["screening"]["id"], c.screening);
    assert_eq!(
        (
            &rows[1]["seats_paid"],
            &rows[1]["seats_held"],
            &rows[1]["seats_admitted"]
        ),
        (&json!(3), &json!(2), &json!(0))
    );
    assert_eq!(
        rows[1]["revenue"], "45.60",
        "three seats at 15.20; the refund is not revenue"
    );
    assert_eq!(report["totals"]["seats_total"], 140);
    assert_eq!(report["totals"]["seats_paid"], 4);
    let total: rust_decimal::Decimal = tonight_price
        .parse::<rust_decimal::Decimal>()
        .expect("price")
        + rust_decimal::Decimal::new(4560, 2);
    assert_eq!(report["totals"]["revenue"], total.to_string());

    let by_film = c.app.get(&uri("film"), Some(&c.admin)).await;
    let by_film = by_film.expect(StatusCode::OK);
    assert_eq!(by_film["rows"].as_array().map(Vec::len), Some(2));
    assert!(by_film["rows"][0]["film"]["title"].is_string());
    assert!(by_film["rows"][0].get("screening").is_none());
    let by_day = c.app.get(&uri("day"), Some(&c.admin)).await;
    let by_day = by_day.expect(StatusCode::OK);
    assert!(by_day["rows"][0]["day"].is_string());
    assert_eq!(by_day["totals"], report["totals"]);

    // Only admins; a period that is empty, reversed, too long or missing.
    c.app
        .get(&uri("day"), Some(&c.cashier.1))
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    let empty = c
        .app
        .get(
            "/reports/sales?from=2001-01-01T00:00:00Z&to=2001-02-01T00:00:00Z",
            Some(&c.admin),
        )
        .await;
    let empty = empty.expect(StatusCode::OK);
    assert_eq!(empty["rows"], json!([]));
    assert_eq!(empty["totals"]["revenue"], "0.00");
    for bad in [
        "/reports/sales?from=2001-02-01T00:00:00Z&to=2001-01-01T00:00:00Z",
        "/reports/sales?from=2001-01-01T00:00:00Z&to=2003-01-01T00:00:00Z",
        "/reports/sales?to=2001-01-01T00:00:00Z",
        "/reports/sales?from=yesterday&to=2001-01-01T00:00:00Z",
        "/reports/sales?from=2001-01-01T00:00:00Z&to=2001-02-01T00:00:00Z&group_by=hall",
    ] {
        c.app
            .get(bad, Some(&c.admin))
            .await
            .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    }
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_started_screenings_reservation_is_not_paid(pool: PgPool) {
    let c = cinema(pool).await;
    let sold = c.sell(&[c.tickets[0]]).await;
    let held = id(c
        .book(&c.alice.1, json!({"ticket_ids": [c.tickets[1]]}))
        .await
        .expect(StatusCode::CREATED));
    sqlx::query("update screenings set starts_at = now() - interval '5 minutes', ends_at = now() + interval '1 hour'")
        .execute(c.app.db())
        .await
        .expect("start");
    let before = c.app.snapshot().await;
    c.pay(&c.cashier.1, held, "cash")
        .await
        .expect_error(StatusCode::CONFLICT, "screening_started");
    c.pay(&c.cashier.1, id(&sold), "cash")
        .await
        .expect_error(StatusCode::CONFLICT, "already_paid");
    assert_eq!(c.app.snapshot().await, before);
}
