//! What a careless admin cannot do to the customers of a screening: deleting it never erases a
//! reservation, cancelling it cancels and refunds them, moving it moves their holds. The
//! screenings function's Router is served over the same database as the reservations one.

use super::*;
use shared::testing::TestResponse;

impl Cinema {
    /// The screenings function, over this cinema's database.
    pub(crate) fn schedule(&self) -> TestApp {
        TestApp::new(self.app.db().clone(), ::screenings::router)
    }

    async fn hold(&self, token: &str, seats: &[i64]) -> i64 {
        self.book(token, json!({"ticket_ids": seats}))
            .await
            .expect(StatusCode::CREATED)["id"]
            .as_i64()
            .expect("id")
    }

    async fn sold(&self, seats: &[i64]) -> Value {
        self.book(
            &self.cashier.1,
            json!({"ticket_ids": seats, "user_id": self.bob.0, "payment_method": "cash"}),
        )
        .await
        .expect(StatusCode::CREATED)
        .clone()
    }

    async fn reservation(&self, id: i64) -> TestResponse {
        self.app
            .get(&format!("/reservations/{id}"), Some(&self.admin))
            .await
    }
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn deleting_a_screening_never_erases_a_paid_or_held_reservation(pool: PgPool) {
    let c = cinema(pool).await;
    let schedule = c.schedule();
    let sold = c.sold(&[c.tickets[0]]).await;
    let uri = format!("/screenings/{}", c.screening);
    schedule
        .delete(&uri, Some(&c.admin))
        .await
        .expect_error(StatusCode::CONFLICT, "screening_has_reservations");
    let read = c.reservation(id(&sold)).await;
    assert_eq!(read.expect(StatusCode::OK)["status"], "paid");
    // Refunded history keeps it too.
    c.app
        .post(
            &format!("/reservations/{}/cancel", id(&sold)),
            Some(&c.cashier.1),
            json!({}),
        )
        .await
        .expect(StatusCode::OK);
    schedule
        .delete(&uri, Some(&c.admin))
        .await
        .expect_error(StatusCode::CONFLICT, "screening_has_reservations");
    // An unpaid hold blocks it as well.
    let held = c.hold(&c.alice.1, &[c.tickets[1]]).await;
    c.app
        .post(
            &format!("/reservations/{held}/cancel"),
            Some(&c.alice.1),
            json!({}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(c.reservations().await, 2, "nothing was erased");
    assert_eq!(
        c.reservation(id(&sold)).await.expect(StatusCode::OK)["refunded"],
        true
    );
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_screening_with_only_unpaid_history_leaves_the_schedule_and_keeps_its_record(
    pool: PgPool,
) {
    let c = cinema(pool).await;
    let schedule = c.schedule();
    let cancelled = c.hold(&c.alice.1, &[c.tickets[0]]).await;
    c.app
        .post(
            &format!("/reservations/{cancelled}/cancel"),
            Some(&c.alice.1),
            json!({}),
        )
        .await
        .expect(StatusCode::OK);
    let lapsed = c.hold(&c.bob.1, &[c.tickets[1]]).await;
    c.pay_by(lapsed, "now() - interval '1 minute'").await;
    let uri = format!("/screenings/{}", c.screening);
    schedule
        .delete(&uri, Some(&c.alice.1))
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    schedule
        .delete(&uri, Some(&c.admin))
        .await
        .expect(StatusCode::NO_CONTENT);
    // Gone from the schedule, its seats withdrawn, its hall's time free.
    schedule
        .get(&uri, None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    schedule
        .get(&format!("{uri}/seats"), None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    schedule
        .delete(&uri, Some(&c.admin))
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    let listed = schedule.get("/screenings", None).await;
    assert_eq!(listed.expect(StatusCode::OK)["total"], 0);
    c.book(&c.alice.1, json!({"ticket_ids": [c.tickets[2]]}))
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    // The reservations are still there to read, as they were.
    let read = c.reservation(cancelled).await;
    assert_eq!(read.expect(StatusCode::OK)["status"], "cancelled");
    assert_eq!(read.body["screening"]["id"], c.screening);
    assert_eq!(
        c.reservation(lapsed).await.expect(StatusCode::OK)["status"],
        "lapsed"
    );
    assert_eq!(c.reservations().await, 2);
    // Its film and hall keep that history too: neither can be deleted.
    let film: i64 = sqlx::query_scalar("select film_id from screenings where id = $1")
        .bind(c.screening)
        .fetch_one(c.app.db())
        .await
        .expect("film");
    sqlx::query("delete from films where id = $1")
        .bind(film)
        .execute(c.app.db())
        .await
        .expect_err("the film of a screening with history stays");
    schedule
        .delete("/halls/4", Some(&c.admin))
        .await
        .expect_error(StatusCode::CONFLICT, "hall_has_screenings");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn cancelling_a_screening_cancels_and_refunds_its_reservations_and_keeps_it(pool: PgPool) {
    let c = cinema(pool).await;
    let schedule = c.schedule();
    let held = c.hold(&c.alice.1, &[c.tickets[0], c.tickets[1]]).await;
    let sold = c.sold(&[c.tickets[2]]).await;
    let code = codes(&sold)[0].clone();
    let lapsed = c.hold(&c.bob.1, &[c.tickets[3]]).await;
    c.pay_by(lapsed, "now() - interval '1 minute'").await;
    let uri = format!("/screenings/{}/cancel", c.screening);
    for token in [&c.alice.1, &c.cashier.1] {
        schedule
            .post(&uri, Some(token), json!({}))
            .await
            .expect_error(StatusCode::FORBIDDEN, "forbidden");
    }
    schedule
        .post("/screenings/424242/cancel", Some(&c.admin), json!({}))
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    let cancelled = schedule.post(&uri, Some(&c.admin), json!({})).await;
    let body = cancelled.expect(StatusCode::OK);
    assert!(body["cancelled_at"].is_string(), "{body}");
    assert_eq!(body["seats_free"], 70, "every seat released");
    // Every reservation that held seats is cancelled; the paid one refunded, its pass void.
    let read = c.reservation(held).await;
    assert_eq!(read.expect(StatusCode::OK)["status"], "cancelled");
    assert_eq!(read.body["refunded"], false);
    let read = c.reservation(id(&sold)).await;
    assert_eq!(read.expect(StatusCode::OK)["status"], "cancelled");
    assert_eq!(read.body["refunded"], true);
    let pass = c.app.get(&format!("/passes/{code}"), None).await;
    assert_eq!(pass.expect(StatusCode::OK)["status"], "void");
    assert_eq!(
        c.reservation(lapsed).await.expect(StatusCode::OK)["status"],
        "lapsed",
        "a lapsed hold stays as it was"
    );
    let holding: i64 = sqlx::query_scalar(
        "select count(*) from reservation_items where holds_seat(active, held_until)",
    )
    .fetch_one(c.app.db())
    .await
    .expect("count");
    assert_eq!(holding, 0, "no seat is held any more");
    // It stays on the schedule, marked, and is not bookable; a second cancel is a 409.
    let read = schedule
        .get(&format!("/screenings/{}", c.screening), None)
        .await;
    assert_eq!(
        read.expect(StatusCode::OK)["cancelled_at"],
        body["cancelled_at"]
    );
    schedule
        .post(&uri, Some(&c.admin), json!({}))
        .await
        .expect_error(StatusCode::CONFLICT, "screening_cancelled");
    c.book(&c.alice.1, json!({"ticket_ids": [c.tickets[5]]}))
        .await
        .expect_error(StatusCode::CONFLICT, "screening_cancelled");
    c.book(
        &c.cashier.1,
        json!({"ticket_ids": [c.tickets[5]], "user_id": c.alice.0, "payment_method": "cash"}),
    )
    .await
    .expect_error(StatusCode::CONFLICT, "screening_cancelled");
    schedule
        .patch(
            &format!("/screenings/{}", c.screening),
            Some(&c.admin),
            json!({"base_price": "1.00"}),
        )
        .await
        .expect_error(StatusCode::CONFLICT, "screening_cancelled");
    // Its hall's time is free for another screening; deleting it erases nothing.
    let (starts_at, film): (chrono::DateTime<chrono::Utc>, i64) =
        sqlx::query_as("select starts_at, film_id from screenings where id = $1")
            .bind(c.screening)
            .fetch_one(c.app.db())
            .await
            .expect("screening");
    schedule
        .post(
            "/screenings",
            Some(&c.admin),
            json!({"film_id": film, "hall_id": 4, "starts_at": starts_at.to_rfc3339(), "base_price": "10.00"}),
        )
        .await
        .expect(StatusCode::CREATED);
    schedule
        .delete(&format!("/screenings/{}", c.screening), Some(&c.admin))
        .await
        .expect_error(StatusCode::CONFLICT, "screening_has_reservations");
    assert_eq!(c.reservations().await, 3);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn moving_a_screening_moves_its_unpaid_holds_and_lapsed_ones_stay_lapsed(pool: PgPool) {
    let c = cinema(pool).await;
    let schedule = c.schedule();
    let held = c.hold(&c.alice.1, &[c.tickets[0]]).await;
    let lapsed = c.hold(&c.bob.1, &[c.tickets[1]]).await;
    c.pay_by(lapsed, "now() - interval '1 minute'").await;
    let sold = c.sold(&[c.tickets[2]]).await;
    let pay_by = |r: &Value| {
        chrono::DateTime::parse_from_rfc3339(r["pay_by"].as_str().expect("pay_by")).expect("time")
    };
    let before = pay_by(c.reservation(held).await.expect(StatusCode::OK));
    let lapsed_before = pay_by(c.reservation(lapsed).await.expect(StatusCode::OK));
    let uri = format!("/screenings/{}", c.screening);
    let starts = |hours: i64| {
        (chrono::Utc::now() + chrono::Duration::hours(hours))
            .format("%Y-%m-%dT%H:%M:00+00:00")
            .to_string()
    };
    // Later by two days: the hold may be paid two days later.
    let moved = schedule
        .patch(&uri, Some(&c.admin), json!({"starts_at": starts(72)}))
        .await;
    let shift = chrono::DateTime::parse_from_rfc3339(
        moved.expect(StatusCode::OK)["starts_at"]
            .as_str()
            .expect("starts_at"),
    )
    .expect("time")
        - chrono::DateTime::parse_from_rfc3339(&before.to_rfc3339()).expect("time");
    let after = pay_by(c.reservation(held).await.expect(StatusCode::OK));
    assert_eq!(
        after - before,
        shift - chrono::Duration::minutes(30),
        "pay_by follows the start"
    );
    let held_until: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("select held_until from reservation_items where reservation_id = $1")
            .bind(held)
            .fetch_one(c.app.db())
            .await
            .expect("held_until");
    assert_eq!(
        held_until.to_rfc3339(),
        after.with_timezone(&chrono::Utc).to_rfc3339()
    );
    let read = c.reservation(lapsed).await;
    assert_eq!(read.expect(StatusCode::OK)["status"], "lapsed");
    assert_eq!(
        pay_by(&read.body),
        lapsed_before,
        "a lapsed hold is not revived"
    );
    assert_eq!(
        c.reservation(id(&sold)).await.expect(StatusCode::OK)["status"],
        "paid"
    );
    // Earlier, to start in 20 minutes: the hold's pay-by time has passed, so it lapses now and
    // cannot be paid after the new deadline.
    schedule
        .patch(
            &uri,
            Some(&c.admin),
            json!({"starts_at": (chrono::Utc::now() + chrono::Duration::minutes(20)).to_rfc3339()}),
        )
        .await
        .expect(StatusCode::OK);
    let read = c.reservation(held).await;
    assert_eq!(read.expect(StatusCode::OK)["status"], "lapsed");
    assert!(pay_by(&read.body) < chrono::Utc::now());
    c.app
        .post(
            &format!("/reservations/{held}/pay"),
            Some(&c.cashier.1),
            json!({"method": "cash"}),
        )
        .await
        .expect_error(StatusCode::CONFLICT, "reservation_lapsed");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn deleting_or_cancelling_while_customers_pay_and_book_loses_nobody(pool: PgPool) {
    let c = cinema_without_hold_limits(pool).await;
    let schedule = c.schedule();
    for round in 0..8 {
        let seat = c.tickets[round * 2];
        let held = c.hold(&c.alice.1, &[seat]).await;
        // The cashier takes payment while an admin deletes (even rounds) or cancels the
        // screening, and Bob books another seat.
        let action = if round % 2 == 0 { "delete" } else { "cancel" };
        let uri = format!("/screenings/{}", c.screening);
        let (schedule, app, cashier, admin, bob) = (
            schedule.clone(),
            c.app.clone(),
            c.cashier.1.clone(),
            c.admin.clone(),
            c.bob.1.clone(),
        );
        let other = c.tickets[round * 2 + 1];
        let pay_uri = format!("/reservations/{held}/pay");
        let (paid, removed, booked) = tokio::join!(
            app.post(&pay_uri, Some(&cashier), json!({"method": "card"})),
            async {
                if action == "delete" {
                    schedule.delete(&uri, Some(&admin)).await
                } else {
                    schedule
                        .post(&format!("{uri}/cancel"), Some(&admin), json!({}))
                        .await
                }
            },
            app.post("/reservations", Some(&bob), json!({"ticket_ids": [other]})),
        );
        for response in [&paid, &removed, &booked] {
            assert!(
                response.status.is_success() || response.status == StatusCode::CONFLICT,
                "round {round}: {response:?}"
            );
        }
        let read = c.reservation(held).await;
        let status = read.expect(StatusCode::OK)["status"].clone();
        if action == "delete" {
            // A screening with a held or paid seat is never deleted.
            assert_eq!(removed.status, StatusCode::CONFLICT, "round {round}");
            assert_eq!(
                status,
                if paid.status == StatusCode::OK {
                    "paid"
                } else {
                    "active"
                }
            );
        } else {
            // Cancelled, whatever won: a payment that came first is refunded.
            assert_eq!(removed.status, StatusCode::OK, "round {round}");
            assert_eq!(status, "cancelled", "round {round}");
            assert_eq!(
                read.body["refunded"],
                paid.status == StatusCode::OK,
                "round {round}"
            );
            assert_eq!(
                c.active_items().await,
                0,
                "round {round}: a booking after the cancel holds nothing"
            );
            // The next round gets a screening of its own.
            sqlx::query("update screenings set cancelled_at = null where id = $1")
                .bind(c.screening)
                .execute(c.app.db())
                .await
                .expect("reopen");
        }
        assert!(
            c.reservations().await > round as i64,
            "round {round}: nothing erased"
        );
    }
}
