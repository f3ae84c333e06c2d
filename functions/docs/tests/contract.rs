//! Real API Gateway HTTP API (payload v2) events, fed through `lambda_http` into the Router.

use shared::testing::invoke_fixture;

#[tokio::test]
async fn api_gateway_events_reach_the_document_and_swagger_ui() {
    let (status, document, headers) = invoke_fixture(
        docs::router(),
        env!("CARGO_MANIFEST_DIR"),
        "openapi_document",
        &[],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(document["openapi"], "3.1.0");
    assert!(document["paths"]["/reservations"]["post"].is_object());

    let (status, script, headers) = invoke_fixture(
        docs::router(),
        env!("CARGO_MANIFEST_DIR"),
        "swagger_ui_file",
        &[],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/javascript");
    assert!(
        script.as_str().is_some_and(|s| s.contains("/openapi.json")),
        "{script}"
    );
}
