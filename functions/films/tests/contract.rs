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

async fn invoke(app: &TestApp, name: &str, replacements: &[(&str, &str)]) -> (i64, Value) {
    let response = invoke_api_gateway(app.router.clone(), &event(name, replacements)).await;
    (
        response["statusCode"].as_i64().expect("status"),
        lambda_response_body(&response),
    )
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn api_gateway_events_reach_the_catalogue(pool: PgPool) {
    let app = TestApp::new(pool, films::router);
    let (_, admin) = app.user("boss", Role::Admin).await;

    let (status, genre) = invoke(&app, "create_genre", &[("{{token}}", &admin)]).await;
    assert_eq!(status, 201, "{genre}");
    let genre_id = genre["id"].to_string();
    let (status, film) = invoke(
        &app,
        "create_film",
        &[("{{token}}", &admin), ("{{genre_id}}", &genre_id)],
    )
    .await;
    assert_eq!(status, 201, "{film}");

    let (status, page) = invoke(&app, "list_films_query", &[("{{genre_id}}", &genre_id)]).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["genres"][0]["title"], "Film Noir");

    let (status, one) = invoke(
        &app,
        "get_film_path",
        &[("{{id}}", &film["id"].to_string())],
    )
    .await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["title"], "Double Indemnity");
}
