//! Real API Gateway HTTP API (payload v2) events, fed through `lambda_http` into the Router.

use serde_json::Value;
use shared::Role;
use shared::testing::{TestApp, invoke_api_gateway, lambda_response_body};
use sqlx::PgPool;

fn event(name: &str, replacements: &[(&str, &str)]) -> String {
    let path = format!("{}/tests/events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let mut text = std::fs::read_to_string(&path).expect("fixture");
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
async fn api_gateway_events_reach_every_kind_of_route(pool: PgPool) {
    let app = TestApp::new(pool, auth::router);

    // JSON body.
    let (status, user) = invoke(&app, "register", &[]).await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["username"], "grace");

    // Base64-encoded form body, as API Gateway delivers the OAuth2 password form.
    let (status, tokens) = invoke(&app, "login_form_base64", &[]).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "bearer");

    // Query string and a bearer token.
    let (_, admin) = app.user("boss", Role::Admin).await;
    let (status, page) = invoke(&app, "list_users_query", &[("{{token}}", &admin)]).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 2);
    assert_eq!(page["limit"], 1);
    assert_eq!(page["items"][0]["username"], "boss");

    // Path parameter.
    let id = user["id"].to_string();
    let (status, changed) = invoke(
        &app,
        "change_role_path",
        &[("{{token}}", &admin), ("{{id}}", &id)],
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["role"], "cashier");

    // An error keeps our body and the WWW-Authenticate header through the adapter.
    let response = invoke_api_gateway(
        app.router.clone(),
        &event("list_users_query", &[("{{token}}", "forged")]),
    )
    .await;
    assert_eq!(response["statusCode"], 401);
    assert_eq!(response["headers"]["www-authenticate"], "Bearer");
    assert_eq!(lambda_response_body(&response)["code"], "invalid_token");
}
