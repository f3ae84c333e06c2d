//! Real API Gateway HTTP API (payload v2) events, fed through `lambda_http` into the Router.

use shared::Role;
use shared::testing::{TestApp, invoke_fixture};
use sqlx::PgPool;

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn api_gateway_events_reach_the_schedule(pool: PgPool) {
    let app = TestApp::new(pool, screenings::router);
    let (_, admin) = app.user("boss", Role::Admin).await;
    let film: i64 = sqlx::query_scalar(
        "insert into films (title, age_rating, duration_minutes, release_year) values ('Heat', 'R', 170, 1995) returning id",
    )
    .fetch_one(app.db())
    .await
    .expect("film");
    let starts_at = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();

    let (status, screening, _) = invoke_fixture(
        app.router.clone(),
        env!("CARGO_MANIFEST_DIR"),
        "create_screening",
        &[
            ("{{token}}", &admin),
            ("{{film_id}}", &film.to_string()),
            ("{{starts_at}}", &starts_at),
        ],
    )
    .await;
    assert_eq!(status, 201, "{screening}");
    let id = screening["id"].to_string();

    let (status, seats, _) = invoke_fixture(
        app.router.clone(),
        env!("CARGO_MANIFEST_DIR"),
        "seat_map_path_query",
        &[("{{id}}", &id)],
    )
    .await;
    assert_eq!(status, 200, "{seats}");
    assert_eq!(seats.as_array().map(Vec::len), Some(70));
    assert_eq!(seats[0]["price"], "15.20");
}
