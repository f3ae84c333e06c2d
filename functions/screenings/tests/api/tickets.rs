//! Tickets and seat maps: `/tickets*`, `/screenings/{id}/seats`.

use super::*;

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
    // Deleting the screening leaves the schedule, never the cancelled reservation's record.
    s.app
        .delete(&format!("/screenings/{id}"), Some(&s.admin))
        .await
        .expect(StatusCode::NO_CONTENT);
    assert_eq!(s.count("reservations").await, 1);
    s.app
        .get(&format!("/screenings/{id}"), None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
}
