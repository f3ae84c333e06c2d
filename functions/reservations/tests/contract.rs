//! Real API Gateway HTTP API (payload v2) events, fed through `lambda_http` into the Router.

use serde_json::Value;
use shared::Role;
use shared::testing::{TestApp, invoke_api_gateway, lambda_response_body};
use sqlx::PgPool;

fn event(name: &str, replacements: &[(&str, &str)]) -> String {
    let path = format!("{}/tests/events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let mut text = std::fs::read_to_string(path).expect("fixture");
    for (key, value) in replacements {
        text = text.replace(key, value);
    }
    text
}

async fn invoke(app: &TestApp, name: &str, replacements: &[(&str, &str)]) -> (i64, Value, Value) {
    let response = invoke_api_gateway(app.router.clone(), &event(name, replacements)).await;
    (
        response["statusCode"].as_i64().expect("status"),
        lambda_response_body(&response),
        response["headers"].clone(),
    )
}

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
    let (status, reservation, _) = invoke(&app, "book_with_key", &replacements).await;
    assert_eq!(status, 201, "{reservation}");
    assert_eq!(reservation["total_price"], "15.00");
    let (status, replay, headers) = invoke(&app, "book_with_key", &replacements).await;
    assert_eq!((status, &replay), (201, &reservation));
    assert_eq!(headers["idempotent-replayed"], "true");

    let id = reservation["id"].to_string();
    let (status, cancelled, _) = invoke(
        &app,
        "cancel_path",
        &[("{{token}}", &token), ("{{id}}", &id)],
    )
    .await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
}
