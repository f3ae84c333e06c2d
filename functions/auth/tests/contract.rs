//! Real API Gateway HTTP API (payload v2) events, fed through `lambda_http` into the Router.

use shared::Role;
use shared::testing::{TestApp, invoke_fixture};
use sqlx::PgPool;

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn api_gateway_events_reach_every_kind_of_route(pool: PgPool) {
    let app = TestApp::new(pool, auth::router);

    // JSON body.
    let (status, user, _) = invoke_fixture(
        app.router.clone(),
        env!("CARGO_MANIFEST_DIR"),
        "register",
        &[],
    )
    .await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["username"], "grace");

    // Base64-encoded form body, as API Gateway delivers the OAuth2 password form.
    let (status, tokens, _) = invoke_fixture(
        app.router.clone(),
        env!("CARGO_MANIFEST_DIR"),
        "login_form_base64",
        &[],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "bearer");

    // Query string and a bearer token.
    let (_, admin) = app.user("boss", Role::Admin).await;
    let (status, page, _) = invoke_fixture(
        app.router.clone(),
        env!("CARGO_MANIFEST_DIR"),
        "list_users_query",
        &[("{{token}}", &admin)],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 2);
    assert_eq!(page["limit"], 1);
    assert_eq!(page["items"][0]["username"], "boss");

    // Path parameter.
    let id = user["id"].to_string();
    let (status, changed, _) = invoke_fixture(
        app.router.clone(),
        env!("CARGO_MANIFEST_DIR"),
        "change_role_path",
        &[("{{token}}", &admin), ("{{id}}", &id)],
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["role"], "cashier");

    // An error keeps our body and the WWW-Authenticate header through the adapter.
    let (status, error, headers) = invoke_fixture(
        app.router.clone(),
        env!("CARGO_MANIFEST_DIR"),
        "list_users_query",
        &[("{{token}}", "forged")],
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(headers["www-authenticate"], "Bearer");
    assert_eq!(error["code"], "invalid_token");
}
