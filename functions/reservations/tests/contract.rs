//! Real API Gateway HTTP API (payload v2) events, fed through `lambda_http` into the Router.

use shared::Role;
use shared::testing::{TestApp, invoke_fixture};
use sqlx::PgPool;

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn api_gateway_events_book_and_cancel(pool: PgPool) {
    let app = TestApp::new(pool, reservations::router);
    let (_, token) = app.user("alice", Role::User).await;
    let ticket: i64 = sqlx::query_scalar(
        "with film as (
             insert into films (title, age_rating, duration_minutes, release_year) values ('Heat', 'R', 170, 1995) returning id
         ), screening as (
             insert into screenings (film_id, hall_id, starts_at, ends_at, base_price)
             select id, 7, now() + interval '1 day', now() + interval '1 day 3 hours', 12.50 from film returning id
         )
         insert into tickets (screening_id, row_number, seat_number) select id, 1, 1 from screening returning id",
    )
    .fetch_one(app.db())
    .await
    .expect("ticket");
    let ticket = ticket.to_string();

    let replacements = [
        ("{{token}}", token.as_str()),
        ("{{ticket}}", ticket.as_str()),
    ];
    let (status, reservation, _) = invoke_fixture(
        app.router.clone(),
        env!("CARGO_MANIFEST_DIR"),
        "book_with_key",
        &replacements,
    )
    .await;
    assert_eq!(status, 201, "{reservation}");
    assert_eq!(reservation["total_price"], "15.00");
    let (status, replay, headers) = invoke_fixture(
        app.router.clone(),
        env!("CARGO_MANIFEST_DIR"),
        "book_with_key",
        &replacements,
    )
    .await;
    assert_eq!((status, &replay), (201, &reservation));
    assert_eq!(headers["idempotent-replayed"], "true");

    let id = reservation["id"].to_string();
    let (status, cancelled, _) = invoke_fixture(
        app.router.clone(),
        env!("CARGO_MANIFEST_DIR"),
        "cancel_path",
        &[("{{token}}", &token), ("{{id}}", &id)],
    )
    .await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
}
