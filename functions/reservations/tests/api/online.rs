//! Selling online against the local Stripe stand-in (localstripe): checkout, the signed
//! webhook, late payments, reconciliation, refunds, and the races between them.

use super::*;
use shared::testing::stripe as stand_in;

async fn online(pool: PgPool) -> Cinema {
    online_with(pool, &shared::testing::settings()).await
}

async fn online_with(pool: PgPool, settings: &shared::Settings) -> Cinema {
    cinema_from(TestApp::selling_online(
        pool,
        ::reservations::router,
        settings,
    ))
    .await
}

/// A cinema selling online whose customers may hold any number of seats (many rounds).
async fn online_without_hold_limits(pool: PgPool) -> Cinema {
    let mut settings = shared::testing::settings();
    settings.hold_limits = shared::HoldLimits {
        seats: 1000,
        per_screening: 1000,
    };
    online_with(pool, &settings).await
}

impl Cinema {
    /// `token`'s customer books `seats` in checkout; the reservation with its checkout.
    async fn checkout(&self, token: &str, seats: &[i64]) -> Value {
        self.book(token, json!({"ticket_ids": seats, "checkout": true}))
            .await
            .expect(StatusCode::CREATED)
            .clone()
    }

    /// Delivers `body` to the webhook signed with `signature` (none: unsigned).
    async fn deliver_raw(&self, body: &str, signature: Option<&str>) -> TestResponse {
        let mut request =
            Request::post("/payments/stripe").header(header::CONTENT_TYPE, "application/json");
        if let Some(signature) = signature {
            request = request.header("stripe-signature", signature);
        }
        self.app
            .raw(request.body(Body::from(body.to_owned())).expect("request"))
            .await
    }

    /// Delivers `event`, signed now as the provider signs it.
    async fn deliver(&self, event: &Value) -> TestResponse {
        let body = event.to_string();
        let signature = stand_in::signature(
            stand_in::WEBHOOK_SECRET,
            chrono::Utc::now().timestamp(),
            &body,
        );
        self.deliver_raw(&body, Some(&signature)).await
    }

    /// Delivers the provider's `payment_intent.succeeded` for PaymentIntent `id` as it is now.
    async fn deliver_success(&self, id: &str) -> TestResponse {
        let intent = stand_in::intent(id).await;
        self.deliver(&stand_in::succeeded_event(&intent)).await
    }

    /// Runs the scheduled reconciliation as the schedule invokes the function.
    async fn reconcile(&self) -> Value {
        let mut request = Request::post("/events")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({"task": "reconcile"}).to_string()))
            .expect("request");
        request
            .extensions_mut()
            .insert(lambda_http::request::RequestContext::PassThrough);
        self.app.raw(request).await.expect(StatusCode::OK).clone()
    }

    async fn read(&self, token: &str, id: i64) -> Value {
        self.app
            .get(&format!("/reservations/{id}"), Some(token))
            .await
            .expect(StatusCode::OK)
            .clone()
    }

    /// The reservation as the database has it, without asking the provider.
    async fn stored(&self, id: i64) -> (String, Option<String>, bool) {
        sqlx::query_as(
            "select current_status(status, pay_by)::text, payment_method::text, refunded
             from reservations where id = $1",
        )
        .bind(id)
        .fetch_one(self.app.db())
        .await
        .expect("reservation")
    }

    async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(self.app.db())
            .await
            .expect("count")
    }
}

/// `event`, signed when it is sent, delivered to `app`'s webhook after `delay`, on a task of
/// its own.
fn deliver_later(
    app: &TestApp,
    event: &Value,
    delay: std::time::Duration,
) -> tokio::task::JoinHandle<TestResponse> {
    let (app, body) = (app.clone(), event.to_string());
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let signature = stand_in::signature(
            stand_in::WEBHOOK_SECRET,
            chrono::Utc::now().timestamp(),
            &body,
        );
        app.raw(
            Request::post("/payments/stripe")
                .header(header::CONTENT_TYPE, "application/json")
                .header("stripe-signature", signature)
                .body(Body::from(body))
                .expect("request"),
        )
        .await
    })
}

fn intent_id(reservation: &Value) -> String {
    reservation["checkout"]["payment_intent_id"]
        .as_str()
        .expect("a checkout")
        .to_owned()
}

fn instant(value: &Value) -> chrono::DateTime<chrono::Utc> {
    value
        .as_str()
        .expect("a time")
        .parse()
        .expect("an RFC 3339 time")
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn checkout_holds_briefly_and_charges_what_the_reservation_costs(pool: PgPool) {
    let c = online(pool).await;
    let booked = c.checkout(&c.alice.1, &[c.tickets[0], c.tickets[1]]).await;
    // Two seats of hall 4 (+52 %) at 10.00: 15.20 each.
    assert_eq!(booked["total_price"], "30.40");
    assert_eq!(booked["status"], "active");
    let checkout = &booked["checkout"];
    assert_eq!(checkout["provider"], "stripe");
    assert_eq!(checkout["amount"], 3040);
    assert_eq!(checkout["currency"], "eur");
    assert_eq!(checkout["expires_at"], booked["pay_by"]);
    assert!(
        checkout["client_secret"]
            .as_str()
            .is_some_and(|s| s.contains("_secret_"))
    );
    // The hold lapses ten minutes from now, not 30 minutes before tomorrow's screening.
    let pay_by = instant(&booked["pay_by"]);
    let in_ten = chrono::Utc::now() + chrono::Duration::minutes(10);
    assert!((pay_by - in_ten).num_seconds().abs() < 5, "{pay_by}");
    // The provider holds the reservation's amount, never the client's.
    let intent = stand_in::intent(&intent_id(&booked)).await;
    assert_eq!(intent["amount"], 3040);
    assert_eq!(
        intent["metadata"]["reservation_id"],
        id(&booked).to_string()
    );

    // Resuming: the same PaymentIntent, and pay_by does not move.
    let again = c
        .app
        .post(
            &format!("/reservations/{}/checkout", id(&booked)),
            Some(&c.alice.1),
            json!({}),
        )
        .await;
    let again = again.expect(StatusCode::OK);
    assert_eq!(again["checkout"], booked["checkout"]);
    assert_eq!(again["pay_by"], booked["pay_by"]);
    // The owner's alone; not for staff; not a payment method.
    c.app
        .post(
            &format!("/reservations/{}/checkout", id(&booked)),
            Some(&c.bob.1),
            json!({}),
        )
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    c.book(
        &c.cashier.1,
        json!({"ticket_ids": [c.tickets[5]], "user_id": c.alice.0, "checkout": true}),
    )
    .await
    .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    c.book(
        &c.alice.1,
        json!({"ticket_ids": [c.tickets[5]], "payment_method": "online"}),
    )
    .await
    .expect_error(StatusCode::FORBIDDEN, "forbidden");
    c.book(
        &c.cashier.1,
        json!({"ticket_ids": [c.tickets[5]], "user_id": c.alice.0, "payment_method": "online"}),
    )
    .await
    .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");

    // An existing hold goes to checkout with its own pay_by.
    let hold = c
        .book(&c.bob.1, json!({"ticket_ids": [c.tickets[9]]}))
        .await
        .expect(StatusCode::CREATED)
        .clone();
    let opened = c
        .app
        .post(
            &format!("/reservations/{}/checkout", id(&hold)),
            Some(&c.bob.1),
            json!({}),
        )
        .await;
    let opened = opened.expect(StatusCode::OK);
    assert_eq!(opened["pay_by"], hold["pay_by"]);
    assert_eq!(opened["checkout"]["amount"], 1520);
    assert_eq!(c.count("select count(*) from checkouts").await, 2);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn without_keys_checkout_is_unavailable_and_changes_nothing(pool: PgPool) {
    let c = cinema(pool).await;
    c.book(
        &c.alice.1,
        json!({"ticket_ids": [c.tickets[0]], "checkout": true}),
    )
    .await
    .expect_error(StatusCode::SERVICE_UNAVAILABLE, "payments_unavailable");
    assert_eq!(c.reservations().await, 0);
    let id = c.alice_books_the_first_seat().await;
    c.app
        .post(
            &format!("/reservations/{id}/checkout"),
            Some(&c.alice.1),
            json!({}),
        )
        .await
        .expect_error(StatusCode::SERVICE_UNAVAILABLE, "payments_unavailable");
    c.deliver(&json!({"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": {}}}))
        .await
        .expect_error(StatusCode::SERVICE_UNAVAILABLE, "payments_unavailable");
    // Everything else works.
    c.app
        .post(
            &format!("/reservations/{id}/pay"),
            Some(&c.cashier.1),
            json!({"method": "cash"}),
        )
        .await
        .expect(StatusCode::OK);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn twenty_concurrent_duplicate_webhooks_apply_one_payment(pool: PgPool) {
    let c = online(pool).await;
    let booked = c.checkout(&c.alice.1, &[c.tickets[0], c.tickets[1]]).await;
    let intent = stand_in::pay(&intent_id(&booked)).await;
    let event = stand_in::succeeded_event(&intent);
    let tasks = (0..20)
        .map(|_| deliver_later(&c.app, &event, std::time::Duration::ZERO))
        .collect();
    let answers = join_all(tasks).await;
    let outcomes: Vec<&str> = answers
        .iter()
        .map(|a| {
            a.expect(StatusCode::OK)["outcome"]
                .as_str()
                .expect("outcome")
        })
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| **o == "applied").count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(outcomes.iter().filter(|o| **o == "duplicate").count(), 19);
    let paid = c.read(&c.alice.1, id(&booked)).await;
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["payment_method"], "online");
    assert_eq!(paid["paid_by"], Value::Null);
    assert_eq!(paid["checkout"], Value::Null);
    assert_eq!(codes(&paid).len(), 2);
    assert_eq!(c.count("select count(*) from payment_events").await, 1);
    // A later duplicate changes nothing: the passes stay the same.
    c.deliver(&event).await.expect(StatusCode::OK);
    assert_eq!(codes(&c.read(&c.alice.1, id(&booked)).await), codes(&paid));
    assert_eq!(c.count("select count(*) from refunds").await, 0);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn bad_signatures_and_old_timestamps_change_nothing(pool: PgPool) {
    let c = online(pool).await;
    let booked = c.checkout(&c.alice.1, &[c.tickets[0]]).await;
    let intent = stand_in::pay(&intent_id(&booked)).await;
    let body = stand_in::succeeded_event(&intent).to_string();
    let now = chrono::Utc::now().timestamp();
    let good = stand_in::signature(stand_in::WEBHOOK_SECRET, now, &body);
    let v1 = good.split_once(",v1=").expect("v1").1.to_owned();
    let refused = [
        ("unsigned", body.clone(), None),
        (
            "another secret",
            body.clone(),
            Some(stand_in::signature("whsec_other", now, &body)),
        ),
        (
            "tampered body",
            body.replace("succeeded", "succeedex"),
            Some(good.clone()),
        ),
        (
            "old timestamp",
            body.clone(),
            Some(stand_in::signature(
                stand_in::WEBHOOK_SECRET,
                now - 400,
                &body,
            )),
        ),
        (
            "future timestamp",
            body.clone(),
            Some(stand_in::signature(
                stand_in::WEBHOOK_SECRET,
                now + 400,
                &body,
            )),
        ),
        (
            "other timestamp",
            body.clone(),
            Some(format!("t={},v1={v1}", now - 1)),
        ),
        ("v0 only", body.clone(), Some(format!("t={now},v0={v1}"))),
        ("malformed", body.clone(), Some("garbage".to_owned())),
    ];
    for (what, body, signature) in refused {
        c.deliver_raw(&body, signature.as_deref())
            .await
            .expect_error(StatusCode::BAD_REQUEST, "invalid_signature");
        assert_eq!(c.stored(id(&booked)).await.0, "active", "{what}");
    }
    // Two signature headers are not one signature.
    let twice = c
        .app
        .raw(
            Request::post("/payments/stripe")
                .header("stripe-signature", good.clone())
                .header("stripe-signature", good.clone())
                .body(Body::from(body.clone()))
                .expect("request"),
        )
        .await;
    twice.expect_error(StatusCode::BAD_REQUEST, "invalid_signature");
    // Signed, but not an event.
    let not_json = "{not json";
    c.deliver_raw(
        not_json,
        Some(&stand_in::signature(
            stand_in::WEBHOOK_SECRET,
            now,
            not_json,
        )),
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "malformed_body");
    assert_eq!(c.count("select count(*) from payment_events").await, 0);
    assert_eq!(c.stored(id(&booked)).await.0, "active");
    // The genuine one, through API Gateway with a base64 body, as the HTTP API may deliver it.
    use base64::Engine as _;
    let event = json!({
        "version": "2.0", "routeKey": "ANY /payments/{proxy+}", "rawPath": "/payments/stripe",
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "stripe-signature": good},
        "requestContext": {"accountId": "1", "apiId": "api", "domainName": "x", "domainPrefix": "x",
            "http": {"method": "POST", "path": "/payments/stripe", "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.1", "userAgent": "Stripe/1.0"},
            "requestId": "r", "routeKey": "ANY /payments/{proxy+}", "stage": "$default",
            "time": "06/Dec/2026:10:00:00 +0000", "timeEpoch": 0},
        "body": base64::engine::general_purpose::STANDARD.encode(&body),
        "isBase64Encoded": true,
    });
    let response =
        shared::testing::invoke_api_gateway(c.app.router.clone(), &event.to_string()).await;
    assert_eq!(response["statusCode"], 200, "{response}");
    assert_eq!(
        c.stored(id(&booked)).await,
        ("paid".into(), Some("online".into()), false)
    );
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_late_payment_takes_its_seats_back_if_free_and_is_refunded_if_not(pool: PgPool) {
    let c = online(pool).await;
    // Lapsed, its seat still free: paid, with the seat.
    let free = c.checkout(&c.alice.1, &[c.tickets[0]]).await;
    stand_in::pay(&intent_id(&free)).await;
    c.pay_by(id(&free), "now() - interval '1 minute'").await;
    assert_eq!(c.stored(id(&free)).await.0, "lapsed");
    c.deliver_success(&intent_id(&free))
        .await
        .expect(StatusCode::OK);
    let paid = c.read(&c.alice.1, id(&free)).await;
    assert_eq!(paid["status"], "paid");
    assert_eq!(codes(&paid).len(), 1);

    // Lapsed, and Bob has booked its seat since: refunded in full, at once.
    let taken = c.checkout(&c.alice.1, &[c.tickets[1]]).await;
    stand_in::pay(&intent_id(&taken)).await;
    c.pay_by(id(&taken), "now() - interval '1 minute'").await;
    let bobs = c
        .book(&c.bob.1, json!({"ticket_ids": [c.tickets[1]]}))
        .await
        .expect(StatusCode::CREATED)
        .clone();
    c.deliver_success(&intent_id(&taken))
        .await
        .expect(StatusCode::OK);
    let refunded = c.read(&c.alice.1, id(&taken)).await;
    assert_eq!(refunded["status"], "cancelled");
    assert_eq!(refunded["payment_method"], "online");
    assert_eq!(refunded["refunded"], true);
    assert_eq!(
        refunded["refund"],
        json!({"status": "succeeded", "amount": 1520, "currency": "eur", "reason": "lapsed_before_payment"})
    );
    let at_provider = stand_in::refunds_of(&intent_id(&taken)).await;
    assert_eq!(at_provider.len(), 1, "{at_provider:?}");
    assert_eq!(at_provider[0]["amount"], 1520);
    // Bob keeps his seat.
    assert_eq!(c.read(&c.bob.1, id(&bobs)).await["status"], "active");
    assert_eq!(
        c.count(&format!("select count(*) from reservation_items where ticket_id = {} and holds_seat(active, held_until)", c.tickets[1])).await,
        1
    );
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_success_at_the_lapse_instant_while_another_books_ends_one_way(pool: PgPool) {
    let c = online_without_hold_limits(pool).await;
    let (mut paid, mut refunded) = (0, 0);
    for round in 0..20 {
        let seat = c.tickets[round];
        let booked = c.checkout(&c.alice.1, &[seat]).await;
        let intent = stand_in::pay(&intent_id(&booked)).await;
        c.pay_by(id(&booked), "now() + interval '40 milliseconds'")
            .await;
        let event = stand_in::succeeded_event(&intent);
        // The webhook and Bob's booking race across the lapse instant, spread around it.
        let webhook = deliver_later(
            &c.app,
            &event,
            std::time::Duration::from_millis(20 + (round as u64 % 5) * 10),
        );
        let booking = {
            let (app, token) = (c.app.clone(), c.bob.1.clone());
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(
                    40 + (round as u64 % 3) * 5,
                ))
                .await;
                app.post("/reservations", Some(&token), json!({"ticket_ids": [seat]}))
                    .await
            })
        };
        let (webhook, booking) = (
            webhook.await.expect("webhook"),
            booking.await.expect("booking"),
        );
        webhook.expect(StatusCode::OK);
        let (status, method, _) = c.stored(id(&booked)).await;
        let holders = c
            .count(&format!("select count(*) from reservation_items where ticket_id = {seat} and holds_seat(active, held_until)"))
            .await;
        assert_eq!(holders, 1, "round {round}: one holder of the seat");
        match status.as_str() {
            "paid" => {
                paid += 1;
                booking.expect_error(StatusCode::CONFLICT, "seats_taken");
                assert!(
                    stand_in::refunds_of(intent["id"].as_str().expect("id"))
                        .await
                        .is_empty()
                );
            }
            "cancelled" => {
                refunded += 1;
                assert_eq!(method.as_deref(), Some("online"));
                booking.expect(StatusCode::CREATED);
                assert_eq!(
                    stand_in::refunds_of(intent["id"].as_str().expect("id"))
                        .await
                        .len(),
                    1,
                    "round {round}"
                );
            }
            other => panic!("round {round}: {other}"),
        }
    }
    assert_eq!(paid + refunded, 20);
    eprintln!("lapse-instant race: {paid} paid with the seat, {refunded} refunded");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn the_till_and_an_online_payment_at_once_keep_exactly_one(pool: PgPool) {
    let c = online_without_hold_limits(pool).await;
    // Paid at the till before the customer pays: the PaymentIntent is cancelled.
    let unpaid = c.checkout(&c.alice.1, &[c.tickets[40]]).await;
    c.app
        .post(
            &format!("/reservations/{}/pay", id(&unpaid)),
            Some(&c.cashier.1),
            json!({"method": "cash"}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        stand_in::intent(&intent_id(&unpaid)).await["status"],
        "canceled"
    );
    assert_eq!(
        c.count(&format!(
            "select count(*) from checkouts where reservation_id = {} and outcome = 'cancelled'",
            id(&unpaid)
        ))
        .await,
        1
    );

    let (mut till, mut online) = (0, 0);
    for round in 0..10 {
        let booked = c.checkout(&c.alice.1, &[c.tickets[round]]).await;
        let intent = stand_in::pay(&intent_id(&booked)).await;
        let event = stand_in::succeeded_event(&intent);
        // Each side goes first in some rounds: up to 8 ms apart, either way.
        let (head_start, pause) = ((round as u64 % 5) * 2, 8 - (round as u64 % 5) * 2);
        let webhook = deliver_later(&c.app, &event, std::time::Duration::from_millis(head_start));
        let pay = {
            let (app, token, id) = (c.app.clone(), c.cashier.1.clone(), id(&booked));
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                app.post(
                    &format!("/reservations/{id}/pay"),
                    Some(&token),
                    json!({"method": "cash"}),
                )
                .await
            })
        };
        let (webhook, pay) = (webhook.await.expect("webhook"), pay.await.expect("pay"));
        webhook.expect(StatusCode::OK);
        let reservation = c.read(&c.cashier.1, id(&booked)).await;
        assert_eq!(reservation["status"], "paid", "round {round}");
        let refunds = stand_in::refunds_of(&intent_id(&booked)).await;
        if pay.status == StatusCode::OK {
            till += 1;
            // The till's payment is kept; the card payment goes back.
            assert_eq!(reservation["payment_method"], "cash");
            assert_eq!(reservation["refund"]["reason"], "paid_at_till");
            assert_eq!(reservation["refund"]["status"], "succeeded");
            assert_eq!(refunds.len(), 1, "round {round}");
        } else {
            online += 1;
            pay.expect_error(StatusCode::CONFLICT, "already_paid");
            assert_eq!(reservation["payment_method"], "online");
            assert_eq!(reservation["refund"], Value::Null);
            assert!(refunds.is_empty(), "round {round}");
        }
    }
    eprintln!("till against online: {till} kept the till's payment, {online} the card's");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_webhook_that_never_arrives_is_reconciled(pool: PgPool) {
    let c = online(pool).await;
    // Reading the reservation asks the provider.
    let read = c.checkout(&c.alice.1, &[c.tickets[0]]).await;
    stand_in::pay(&intent_id(&read)).await;
    assert_eq!(c.stored(id(&read)).await.0, "active");
    let now = c.read(&c.alice.1, id(&read)).await;
    assert_eq!(now["status"], "paid");
    assert_eq!(codes(&now).len(), 1);

    // Past pay_by, the schedule asks the provider: paid (its seat was free).
    let late = c.checkout(&c.alice.1, &[c.tickets[1]]).await;
    stand_in::pay(&intent_id(&late)).await;
    // Never paid, and past pay_by: its PaymentIntent is cancelled.
    let abandoned = c.checkout(&c.bob.1, &[c.tickets[2]]).await;
    c.pay_by(id(&late), "now() - interval '1 minute'").await;
    c.pay_by(id(&abandoned), "now() - interval '1 minute'")
        .await;
    let report = c.reconcile().await;
    assert_eq!(report["checkouts"], 2, "{report}");
    assert_eq!(report["failures"], 0, "{report}");
    assert_eq!(
        c.stored(id(&late)).await,
        ("paid".into(), Some("online".into()), false)
    );
    assert_eq!(c.stored(id(&abandoned)).await.0, "lapsed");
    assert_eq!(
        stand_in::intent(&intent_id(&abandoned)).await["status"],
        "canceled"
    );
    // Nothing is left open, so the next run has nothing to do.
    let again = c.reconcile().await;
    assert_eq!(again, json!({"checkouts": 0, "refunds": 0, "failures": 0}));
    // A late webhook for the first changes nothing.
    let answer = c.deliver_success(&intent_id(&read)).await;
    assert_eq!(answer.expect(StatusCode::OK)["outcome"], "duplicate");

    // The schedule's task is not reachable as an HTTP request.
    c.app
        .post("/events", None, json!({"task": "reconcile"}))
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn cancelling_an_online_purchase_refunds_it_within_the_window(pool: PgPool) {
    let c = online(pool).await;
    let booked = c.checkout(&c.alice.1, &[c.tickets[0]]).await;
    stand_in::pay(&intent_id(&booked)).await;
    c.deliver_success(&intent_id(&booked))
        .await
        .expect(StatusCode::OK);
    let cancelled = c
        .app
        .post(
            &format!("/reservations/{}/cancel", id(&booked)),
            Some(&c.alice.1),
            json!({}),
        )
        .await;
    let cancelled = cancelled.expect(StatusCode::OK);
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["refunded"], true);
    assert_eq!(
        cancelled["refund"],
        json!({"status": "succeeded", "amount": 1520, "currency": "eur", "reason": "requested_by_customer"})
    );
    let refunds = stand_in::refunds_of(&intent_id(&booked)).await;
    assert_eq!(refunds.len(), 1);
    assert!(!c.reserved(c.tickets[0]).await);
    // Older news of the refund, arriving late, does not undo it.
    let mut stale = refunds[0].clone();
    stale["status"] = json!("pending");
    let event = json!({"id": "evt_stale_refund", "object": "event", "type": "refund.updated",
                       "data": {"object": stale}});
    c.deliver(&event).await.expect(StatusCode::OK);
    let read = c.read(&c.alice.1, id(&booked)).await;
    assert_eq!(read["refund"]["status"], "succeeded");
    assert_eq!(read["refunded"], true);

    // An hour before the start a customer may no longer cancel an online purchase; staff may.
    let soon = screening(&c.app, 2, "1 hour").await;
    let seat = tickets(&c.app, soon).await[0];
    let late = c.checkout(&c.alice.1, &[seat]).await;
    stand_in::pay(&intent_id(&late)).await;
    c.deliver_success(&intent_id(&late))
        .await
        .expect(StatusCode::OK);
    c.app
        .post(
            &format!("/reservations/{}/cancel", id(&late)),
            Some(&c.alice.1),
            json!({}),
        )
        .await
        .expect_error(StatusCode::CONFLICT, "refund_window_closed");
    assert_eq!(c.stored(id(&late)).await.0, "paid");
    assert!(stand_in::refunds_of(&intent_id(&late)).await.is_empty());
    let by_staff = c
        .app
        .post(
            &format!("/reservations/{}/cancel", id(&late)),
            Some(&c.cashier.1),
            json!({}),
        )
        .await;
    assert_eq!(
        by_staff.expect(StatusCode::OK)["refund"]["status"],
        "succeeded"
    );

    // A hold in checkout cancelled before it is paid: its PaymentIntent is cancelled too.
    let hold = c.checkout(&c.bob.1, &[c.tickets[3]]).await;
    c.app
        .post(
            &format!("/reservations/{}/cancel", id(&hold)),
            Some(&c.bob.1),
            json!({}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        stand_in::intent(&intent_id(&hold)).await["status"],
        "canceled"
    );
    let refunded: i64 = c
        .count("select count(*) from reservations where refunded")
        .await;
    assert_eq!(refunded, 2);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn failed_refunds_are_listed_for_staff_and_retried(pool: PgPool) {
    let c = online(pool).await;
    let booked = c.checkout(&c.alice.1, &[c.tickets[0]]).await;
    stand_in::pay(&intent_id(&booked)).await;
    c.deliver_success(&intent_id(&booked))
        .await
        .expect(StatusCode::OK);
    // The provider refused a refund once (as a card that can no longer be credited may).
    sqlx::query(
        "with r as (update reservations set status = 'cancelled', cancelled_at = now() where id = $1 returning id)
         insert into refunds (reservation_id, payment_intent_id, amount, currency, reason, status, attempts, updated_at)
         select id, $2, 1520, 'eur', 'requested_by_customer', 'failed', 1, now() - interval '10 minutes' from r",
    )
    .bind(id(&booked))
    .bind(intent_id(&booked))
    .execute(c.app.db())
    .await
    .expect("a failed refund");
    let listed = c
        .app
        .get("/reservations?refund_status=failed", Some(&c.cashier.1))
        .await;
    assert_eq!(ids(listed.expect(StatusCode::OK)), vec![id(&booked)]);
    assert_eq!(listed.body["items"][0]["refund"]["status"], "failed");
    // A customer sees only their own.
    let bobs = c
        .app
        .get("/reservations?refund_status=failed", Some(&c.bob.1))
        .await;
    assert_eq!(bobs.expect(StatusCode::OK)["total"], 0);
    c.app
        .get("/reservations?refund_status=lost", Some(&c.cashier.1))
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");

    let report = c.reconcile().await;
    assert_eq!(report["refunds"], 1, "{report}");
    assert_eq!(stand_in::refunds_of(&intent_id(&booked)).await.len(), 1);
    let after = c.read(&c.alice.1, id(&booked)).await;
    assert_eq!(after["refund"]["status"], "succeeded");
    assert_eq!(after["refunded"], true);
    let listed = c
        .app
        .get("/reservations?refund_status=failed", Some(&c.cashier.1))
        .await;
    assert_eq!(listed.expect(StatusCode::OK)["total"], 0);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn statements_per_online_request(pool: PgPool) {
    let c = online(pool).await;
    let ((), booking) = shared::testing::count_statements(async {
        c.checkout(&c.alice.1, &[c.tickets[0]]).await;
    })
    .await;
    let hold = c
        .book(&c.bob.1, json!({"ticket_ids": [c.tickets[1]]}))
        .await
        .expect(StatusCode::CREATED)["id"]
        .as_i64()
        .expect("id");
    let ((), checkout) = shared::testing::count_statements(async {
        c.app
            .post(
                &format!("/reservations/{hold}/checkout"),
                Some(&c.bob.1),
                json!({}),
            )
            .await
            .expect(StatusCode::OK);
    })
    .await;
    let reservation = c.read(&c.bob.1, hold).await;
    let intent = stand_in::pay(&intent_id(&reservation)).await;
    let event = stand_in::succeeded_event(&intent);
    let ((), webhook) = shared::testing::count_statements(async {
        c.deliver(&event).await.expect(StatusCode::OK);
    })
    .await;
    eprintln!("statements: booking in checkout {booking}, checkout {checkout}, webhook {webhook}");
    // Booking (1) and reading it back (1), reading it for checkout (1), opening it (1).
    assert_eq!(booking, 4);
    // Reading it (1), opening it (1).
    assert_eq!(checkout, 2);
    // One statement applies the event.
    assert_eq!(webhook, 1);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_cancelled_screenings_online_purchases_are_refunded_through_the_provider(pool: PgPool) {
    let c = online(pool).await;
    let booked = c.checkout(&c.alice.1, &[c.tickets[0]]).await;
    stand_in::pay(&intent_id(&booked)).await;
    c.deliver_success(&intent_id(&booked))
        .await
        .expect(StatusCode::OK);
    c.schedule()
        .post(
            &format!("/screenings/{}/cancel", c.screening),
            Some(&c.admin),
            json!({}),
        )
        .await
        .expect(StatusCode::OK);
    // Cancelled at once, its refund pending until the provider has made it.
    let pending = c.read(&c.alice.1, id(&booked)).await;
    assert_eq!(pending["status"], "cancelled");
    assert_eq!(pending["refunded"], false);
    assert_eq!(pending["refund"]["status"], "pending");
    assert_eq!(pending["refund"]["reason"], "screening_cancelled");
    assert!(stand_in::refunds_of(&intent_id(&booked)).await.is_empty());
    let report = c.reconcile().await;
    assert_eq!(report["refunds"], 1, "{report}");
    let refunded = c.read(&c.alice.1, id(&booked)).await;
    assert_eq!(refunded["refund"]["status"], "succeeded");
    assert_eq!(refunded["refunded"], true);
    assert_eq!(stand_in::refunds_of(&intent_id(&booked)).await.len(), 1);
}
