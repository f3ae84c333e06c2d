//! Real API Gateway HTTP API (payload v2) events, fed through `lambda_http` into the Router.

use shared::Role;
use shared::testing::{TestApp, invoke_fixture};
use sqlx::PgPool;

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn api_gateway_events_reach_the_catalogue(pool: PgPool) {
    let app = TestApp::new(pool, films::router);
    let (_, admin) = app.user("boss", Role::Admin).await;

    let (status, genre, _) = invoke_fixture(
        app.router.clone(),
        env!("CARGO_MANIFEST_DIR"),
        "create_genre",
        &[("{{token}}", &admin)],
    )
    .await;
    assert_eq!(status, 201, "{genre}");
    let genre_id = genre["id"].to_string();
    let (status, film, _) = invoke_fixture(
        app.router.clone(),
        env!("CARGO_MANIFEST_DIR"),
        "create_film",
        &[("{{token}}", &admin), ("{{genre_id}}", &genre_id)],
    )
    .await;
    assert_eq!(status, 201, "{film}");

    let (status, page, _) = invoke_fixture(
        app.router.clone(),
        env!("CARGO_MANIFEST_DIR"),
        "list_films_query",
        &[("{{genre_id}}", &genre_id)],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["genres"][0]["title"], "Film Noir");

    let (status, one, _) = invoke_fixture(
        app.router.clone(),
        env!("CARGO_MANIFEST_DIR"),
        "get_film_path",
        &[("{{id}}", &film["id"].to_string())],
    )
    .await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["title"], "Double Indemnity");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_json_body_that_is_not_utf8_is_a_400_and_writes_nothing(pool: PgPool) {
    // API Gateway hands bytes that are not text over base64-encoded.
    let app = TestApp::new(pool, films::router);
    let (_, admin) = app.user("boss", Role::Admin).await;
    let (status, body, _) = invoke_fixture(
        app.router.clone(),
        env!("CARGO_MANIFEST_DIR"),
        "create_genre_not_utf8",
        &[("{{token}}", &admin)],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "malformed_body");
    let genres: i64 = sqlx::query_scalar("select count(*) from genres")
        .fetch_one(app.db())
        .await
        .expect("count");
    assert_eq!(genres, 0);
}
