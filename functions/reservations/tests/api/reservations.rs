//! Reading and cancelling reservations, old tokens, time limits.

use super::*;

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
        // The pool every function builds: the limits are set on each connection it opens.
        let limited = shared::db::pool((*pool.connect_options()).clone(), &settings);
        let app = TestApp::with_settings(limited, ::reservations::router, &settings);
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
