//! What a seat hoarder and a careless client cannot do: hold more seats unpaid than allowed,
//! even all at once; and the answers that carry pass codes are never cached.

use super::*;

/// A second screening, the day after tomorrow in hall 5; its tickets.
async fn another_screening(c: &Cinema) -> Vec<i64> {
    let id = screening(&c.app, 5, "2 days").await;
    tickets(&c.app, id).await
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_customer_holds_at_most_ten_seats_of_a_screening_and_twenty_in_all(pool: PgPool) {
    let c = cinema(pool).await;
    let first = &c.tickets;
    c.book(&c.alice.1, json!({"ticket_ids": first[0..10]}))
        .await
        .expect(StatusCode::CREATED);
    let refused = c.book(&c.alice.1, json!({"ticket_ids": [first[10]]})).await;
    let body = refused.expect_error(StatusCode::CONFLICT, "hold_limit_reached");
    assert_eq!(
        (body["limit"].clone(), body["scope"].clone()),
        (json!(10), json!("screening"))
    );
    // Other screenings count towards twenty in all.
    let second = another_screening(&c).await;
    let third = {
        let id = screening(&c.app, 6, "3 days").await;
        tickets(&c.app, id).await
    };
    c.book(&c.alice.1, json!({"ticket_ids": second[0..10]}))
        .await
        .expect(StatusCode::CREATED);
    let refused = c.book(&c.alice.1, json!({"ticket_ids": [third[0]]})).await;
    let body = refused.expect_error(StatusCode::CONFLICT, "hold_limit_reached");
    assert_eq!(
        (body["limit"].clone(), body["scope"].clone()),
        (json!(20), json!("total"))
    );
    assert_eq!(c.reservations().await, 2, "nothing booked by the refusals");
    // Others are not affected; staff selling at the till, or holding for her, are not limited.
    c.book(&c.bob.1, json!({"ticket_ids": [first[11]]}))
        .await
        .expect(StatusCode::CREATED);
    c.book(
        &c.cashier.1,
        json!({"ticket_ids": [first[12], first[13]], "user_id": c.alice.0, "payment_method": "cash"}),
    )
    .await
    .expect(StatusCode::CREATED);
    c.book(
        &c.cashier.1,
        json!({"ticket_ids": [third[1]], "user_id": c.alice.0}),
    )
    .await
    .expect(StatusCode::CREATED);
    // Paid, lapsed and cancelled holds no longer count; holds staff made for her do (ten of
    // the second screening and the cashier's one: nine more).
    let held: i64 = sqlx::query_scalar(
        "select id from reservations where user_id = $1 and screening_id = $2 and status = 'active' and booked_by = user_id",
    )
    .bind(c.alice.0)
    .bind(c.screening)
    .fetch_one(c.app.db())
    .await
    .expect("held");
    c.app
        .post(
            &format!("/reservations/{held}/pay"),
            Some(&c.cashier.1),
            json!({"method": "card"}),
        )
        .await
        .expect(StatusCode::OK);
    c.book(&c.alice.1, json!({"ticket_ids": first[20..29]}))
        .await
        .expect(StatusCode::CREATED);
    c.book(&c.alice.1, json!({"ticket_ids": [first[29]]}))
        .await
        .expect_error(StatusCode::CONFLICT, "hold_limit_reached");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn fifty_concurrent_bookings_by_one_customer_never_pass_the_limit(pool: PgPool) {
    let c = cinema(pool).await;
    let requests = (0..50)
        .map(|i| {
            let (app, token, seat) = (c.app.clone(), c.alice.1.clone(), c.tickets[i]);
            tokio::spawn(async move {
                app.post("/reservations", Some(&token), json!({"ticket_ids": [seat]}))
                    .await
            })
        })
        .collect();
    let responses = join_all(requests).await;
    let created = responses
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    for response in &responses {
        if response.status != StatusCode::CREATED {
            assert_eq!(response.body["code"], "hold_limit_reached", "{response:?}");
        }
    }
    assert_eq!(created, 10, "exactly the limit, never more");
    assert_eq!(c.active_items().await, 10);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn answers_that_carry_pass_codes_are_never_cached(pool: PgPool) {
    let c = cinema(pool).await;
    let sold = c
        .book(
            &c.cashier.1,
            json!({"ticket_ids": [c.tickets[0]], "user_id": c.alice.0, "payment_method": "cash"}),
        )
        .await;
    let id = id(sold.expect(StatusCode::CREATED));
    for response in [
        sold,
        c.app
            .get(&format!("/reservations/{id}"), Some(&c.alice.1))
            .await,
        c.app.get("/reservations", Some(&c.alice.1)).await,
        c.app.get("/reservations/424242", Some(&c.alice.1)).await,
    ] {
        assert_eq!(
            response
                .headers
                .get("cache-control")
                .map(|v| v.to_str().ok()),
            Some(Some("no-store")),
            "{response:?}"
        );
    }
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn repeated_idempotency_keys_arrays_and_odd_ids_are_refused(pool: PgPool) {
    let c = cinema(pool).await;
    let request = Request::post("/reservations")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {}", c.alice.1))
        .header("idempotency-key", "one")
        .header("idempotency-key", "two")
        .body(Body::from(
            json!({"ticket_ids": [c.tickets[0]]}).to_string(),
        ))
        .expect("request");
    c.app
        .raw(request)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_header");
    // A JSON array where the booking object goes (serde would read its items as the fields).
    let body = c
        .book(&c.alice.1, json!([[c.tickets[0]], null, null]))
        .await;
    let body = body.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    assert_eq!(body["errors"][0]["field"], "body");
    // Ids as the API writes them, or nothing.
    let held = c.alice_books_the_first_seat().await;
    for odd in [format!("+{held}"), format!("0{held}"), format!("%2B{held}")] {
        c.app
            .get(&format!("/reservations/{odd}"), Some(&c.alice.1))
            .await
            .expect_error(StatusCode::NOT_FOUND, "not_found");
    }
    let page = c
        .app
        .get("/reservations?limit=1&limit=100", Some(&c.alice.1))
        .await;
    let body = page.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    assert_eq!(body["errors"][0]["field"], "limit");
    assert_eq!(c.reservations().await, 1);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn pass_codes_carry_128_random_bits(pool: PgPool) {
    use base64::Engine as _;
    let c = cinema(pool).await;
    let codes: Vec<Vec<u8>> =
        sqlx::query_scalar::<_, String>("select new_pass_code() from generate_series(1, 400)")
            .fetch_all(c.app.db())
            .await
            .expect("codes")
            .iter()
            .map(|code| {
                assert_eq!(code.len(), shared::rules::PASS_CODE_LENGTH);
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(code)
                    .expect("URL-safe base64")
            })
            .collect();
    // Every one of the 128 bits takes both values across 400 codes: none is fixed, as the
    // version and variant bits of a UUID are.
    for bit in 0..128 {
        let ones = codes
            .iter()
            .filter(|code| code[bit / 8] & (0x80 >> (bit % 8)) != 0)
            .count();
        assert!(ones > 100 && ones < 300, "bit {bit} set in {ones} of 400");
    }
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_report_of_ten_billion_in_sales_is_exact(pool: PgPool) {
    let c = cinema(pool).await;
    // 1,001 paid reservations of 9,999,999.99: more than the 10,000,000,000.00 a report
    // summed into numeric(12,2) could hold.
    sqlx::query(
        "insert into reservations (user_id, booked_by, booked_by_role, screening_id, status, total_price,
                                   pay_by, paid_at, paid_by, payment_method)
         select $1, $2, 'cashier', $3, 'paid', 9999999.99, now() + interval '1 hour', now(), $2, 'cash'
         from generate_series(1, 1001)",
    )
    .bind(c.alice.0)
    .bind(c.cashier.0)
    .bind(c.screening)
    .execute(c.app.db())
    .await
    .expect("sales");
    let from = encode(&(chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339());
    let to = encode(&(chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339());
    let report = c
        .app
        .get(
            &format!("/reports/sales?from={from}&to={to}&group_by=day"),
            Some(&c.admin),
        )
        .await;
    let body = report.expect(StatusCode::OK);
    assert_eq!(body["totals"]["revenue"], "10009999989.99", "{body}");
}
