//! The OpenAPI document and Swagger UI: what they serve, and that the document describes
//! exactly the routes the functions' Routers serve.

use std::collections::{BTreeMap, BTreeSet};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use shared::AppState;
use shared::testing::TestApp;
use sqlx::PgPool;
use tower::ServiceExt;

async fn get(router: Router, uri: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    let request = Request::get(uri).body(Body::empty()).expect("request");
    let response = router
        .oneshot(request)
        .await
        .expect("the router never fails");
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes().to_vec();
    (parts.status, parts.headers, bytes)
}

async fn document() -> Value {
    let (status, headers, body) = get(docs::router(), "/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    serde_json::from_slice(&body).expect("the document is JSON")
}

/// Every `(METHOD, /path)` the document describes.
fn documented(document: &Value) -> Routes {
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                operations.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    operations
}

/// A function's Router, built from its state.
type RouterFn = fn(AppState) -> Router;
/// `(METHOD, /path)` pairs.
type Routes = BTreeSet<(String, String)>;

/// The routes of each API function, from its own part of the document. Its Router is built
/// from the same declaration (`utoipa_axum`), so the test below checks that each Router really
/// serves those routes and nothing else on their paths.
fn route_tables() -> BTreeMap<&'static str, (RouterFn, Routes)> {
    let parts: [(&str, RouterFn, utoipa::openapi::OpenApi); 4] = [
        ("auth", auth::router, auth::openapi()),
        ("films", films::router, films::openapi()),
        ("screenings", screenings::router, screenings::openapi()),
        (
            "reservations",
            reservations::router,
            reservations::openapi(),
        ),
    ];
    parts
        .into_iter()
        .map(|(name, router, part)| {
            let part = serde_json::to_value(part).expect("a document");
            (name, (router, documented(&part)))
        })
        .collect()
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn the_document_describes_exactly_the_routes_the_functions_serve(pool: PgPool) {
    let document = document().await;
    let documented = documented(&document);
    let tables = route_tables();
    let served: BTreeSet<_> = tables
        .values()
        .flat_map(|(_, routes)| routes.clone())
        .collect();
    assert_eq!(served.len(), 46, "the four functions serve 46 routes");
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "served but not documented: {undocumented:?}"
    );
    assert!(
        unserved.is_empty(),
        "documented but not served: {unserved:?}"
    );

    // And the Routers agree with their tables: every documented operation reaches a handler
    // of its function (anything but the Router's own "route not found" and 405).
    for (name, (router, routes)) in tables {
        let app = TestApp::new(pool.clone(), router);
        for (method, path) in &routes {
            let uri = path.replace("{id}", "1");
            let method = Method::from_bytes(method.as_bytes()).expect("a method");
            let response = app.send(method.clone(), &uri, None, None).await;
            assert_ne!(
                response.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{name}: {method} {uri}"
            );
            assert_ne!(
                response.body["detail"], "route not found",
                "{name}: {method} {uri} is documented but not routed"
            );
        }
        // Nothing undocumented on those paths: every other method is the Router's 405.
        let paths: BTreeSet<&String> = routes.iter().map(|(_, path)| path).collect();
        for path in paths {
            let uri = path.replace("{id}", "1");
            for method in [
                Method::GET,
                Method::POST,
                Method::PATCH,
                Method::PUT,
                Method::DELETE,
            ] {
                if routes.contains(&(method.to_string(), path.clone())) {
                    continue;
                }
                let response = app.send(method.clone(), &uri, None, None).await;
                assert_eq!(
                    response.status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{name}: {method} {uri} is served but not documented"
                );
            }
        }
    }
}

/// Every `$ref` in `value`.
fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                match (key.as_str(), item) {
                    ("$ref", Value::String(target)) => found.push(target),
                    _ => refs(item, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| refs(item, found)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_is_openapi_3_1_with_every_reference_resolved_and_every_error_described() {
    let document = document().await;
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["info"]["title"], "Cinema API");

    let mut found = Vec::new();
    refs(&document, &mut found);
    assert!(!found.is_empty());
    for target in found {
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected reference {target}"));
        assert!(
            document["components"]["schemas"][name].is_object(),
            "{target} does not resolve"
        );
    }

    let mut ids = BTreeSet::new();
    for item in document["paths"].as_object().expect("paths").values() {
        for operation in item.as_object().expect("a path item").values() {
            let id = operation["operationId"].as_str().expect("an operation id");
            assert!(ids.insert(id), "operation id {id} is not unique");
        }
    }

    let error = &document["components"]["schemas"]["Error"];
    assert_eq!(error["required"], serde_json::json!(["detail", "code"]));
    // Every code is listed, so that a client can branch on them (and Schemathesis checks each
    // answer's code against the list).
    assert_eq!(
        error["properties"]["code"]["$ref"],
        "#/components/schemas/ErrorCode"
    );
    let codes = document["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("the error codes are an enum");
    for code in [
        "validation_error",
        "seats_taken",
        "token_expired",
        "too_many_attempts",
    ] {
        assert!(codes.contains(&serde_json::json!(code)), "{code} is listed");
    }
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            let responses = operation["responses"].as_object().expect("responses");
            let success = responses.keys().filter(|s| s.starts_with('2')).count();
            assert_eq!(success, 1, "{method} {path}: one success status");
            assert!(responses.contains_key("503"), "{method} {path}: 503");
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/Error",
                        "{method} {path} {status}"
                    );
                }
            }
            let secured = operation["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("oauth2").is_some()));
            if secured {
                assert!(
                    responses.contains_key("401"),
                    "{method} {path}: a token can be refused"
                );
            }
            if operation.get("requestBody").is_some() {
                for status in ["400", "413", "415", "422"] {
                    assert!(responses.contains_key(status), "{method} {path}: {status}");
                }
            }
            if path.contains("{id}") {
                assert!(responses.contains_key("404"), "{method} {path}: 404");
            }
        }
    }
}

#[tokio::test]
async fn sign_in_is_oauth2_password_flow_against_the_login_route() {
    let document = document().await;
    let scheme = &document["components"]["securitySchemes"]["oauth2"];
    assert_eq!(scheme["type"], "oauth2");
    assert_eq!(scheme["flows"]["password"]["tokenUrl"], "/auth/login");
    // One media type, so that generated clients have one sign-in function; Swagger UI's
    // Authorize posts the OAuth2 form to the token URL whatever the body says (the router
    // tests sign in both ways).
    let login = &document["paths"]["/auth/login"]["post"]["requestBody"]["content"];
    assert_eq!(
        login
            .as_object()
            .map(|media| media.keys().collect::<Vec<_>>()),
        Some(vec![&"application/json".to_owned()])
    );
    // Public: no credentials needed, and the document says so.
    assert_eq!(
        document["paths"]["/auth/login"]["post"]["security"],
        serde_json::json!([])
    );
    assert_eq!(
        document["paths"]["/users/me"]["get"]["security"],
        serde_json::json!([{"oauth2": []}])
    );
}

#[tokio::test]
async fn the_document_is_what_generated_clients_need() {
    let document = document().await;
    assert_eq!(document["servers"][0]["url"], "/");
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("operations") {
            let summary = operation["summary"].as_str().unwrap_or_default();
            assert!(
                !summary.is_empty()
                    && summary.chars().count() <= shared::openapi::SUMMARY_MAX
                    && !summary.contains('\n')
                    && !summary.starts_with('`')
                    && !summary.contains("[`"),
                "{method} {path}: one line of summary, not {summary:?}"
            );
            assert!(
                operation.get("security").is_some(),
                "{method} {path}: says whether it needs credentials"
            );
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                if parameter["in"] == "header" {
                    assert_eq!(
                        parameter["schema"]["type"], "string",
                        "{method} {path}: header {} is a string, never null",
                        parameter["name"]
                    );
                }
            }
        }
    }
    let key = &document["paths"]["/reservations"]["post"]["parameters"][0];
    assert_eq!(key["name"], "Idempotency-Key");
    assert_eq!(
        (
            &key["schema"]["minLength"],
            &key["schema"]["maxLength"],
            &key["schema"]["pattern"]
        ),
        (
            &serde_json::json!(1),
            &serde_json::json!(255),
            &serde_json::json!("^[!-~]+$")
        )
    );
    // A list's items are the resource's own schema.
    let schemas = &document["components"]["schemas"];
    assert_eq!(
        schemas["Paginated_Film"]["properties"]["items"]["items"]["$ref"],
        "#/components/schemas/Film"
    );
    // Errors type the fields some of them add.
    assert_eq!(
        schemas["Error"]["properties"]["ticket_ids"]["type"],
        serde_json::json!(["array", "null"])
    );
    // Money in requests is a decimal string.
    assert_eq!(schemas["Amount"]["type"], "string");
    // A booking links to what reads, pays, cancels and checks out what it created.
    let links = &document["paths"]["/reservations"]["post"]["responses"]["201"]["links"];
    for operation in [
        "reservations_get",
        "reservations_pay",
        "reservations_cancel",
        "reservations_checkout",
    ] {
        assert_eq!(links[operation]["operationId"], operation, "{links}");
        assert_eq!(links[operation]["parameters"]["id"], "$response.body#/id");
    }
}

#[tokio::test]
async fn swagger_ui_is_served_from_the_function_itself() {
    for uri in ["/docs", "/docs/", "/docs/index.html"] {
        let (status, headers, body) = get(docs::router(), uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .expect("ascii")
                .starts_with("text/html")
        );
        let page = String::from_utf8(body).expect("utf-8");
        assert!(page.contains("<base href=\"/docs/\">"), "{uri}: {page}");
        assert!(page.contains("swagger-ui"), "{uri}");
        assert!(!page.contains("https://"), "{uri}: nothing from elsewhere");
        // No other site may show it in a frame (Authorize would be clickjacked).
        assert_eq!(
            headers[header::CONTENT_SECURITY_POLICY],
            "frame-ancestors 'none'",
            "{uri}"
        );
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY", "{uri}");
    }

    let (status, headers, css) = get(docs::router(), "/docs/swagger-ui.css").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/css");
    assert!(css.len() > 10_000);
    let (status, _, bundle) = get(docs::router(), "/docs/swagger-ui-bundle.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(bundle.len() > 100_000);

    let (status, _, init) = get(docs::router(), "/docs/swagger-initializer.js").await;
    assert_eq!(status, StatusCode::OK);
    let init = String::from_utf8(init).expect("utf-8");
    assert!(init.contains("\"/openapi.json\""), "{init}");

    let (status, _, body) = get(docs::router(), "/docs/no-such-file.js").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let body: Value = serde_json::from_slice(&body).expect("our error body");
    assert_eq!(body["code"], "not_found");

    let request = Request::post("/openapi.json")
        .body(Body::empty())
        .expect("request");
    let response = docs::router().oneshot(request).await.expect("response");
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn every_bound_the_document_states_is_the_one_the_validators_check() {
    use shared::rules;
    use std::ops::RangeInclusive;
    let document = document().await;
    let schemas = &document["components"]["schemas"];
    let length = |b: RangeInclusive<usize>| {
        [
            ("minLength", *b.start() as i64),
            ("maxLength", *b.end() as i64),
        ]
    };
    let range = |b: RangeInclusive<i64>| [("minimum", *b.start()), ("maximum", *b.end())];
    // (schema, property, [(keyword, bound)])
    type Bound<'a> = (&'a str, i64);
    let expected: Vec<(&str, &str, Vec<Bound>)> = vec![
        ("Registration", "username", length(rules::USERNAME).to_vec()),
        ("Registration", "password", length(rules::PASSWORD).to_vec()),
        (
            "Registration",
            "full_name",
            length(rules::FULL_NAME).to_vec(),
        ),
        (
            "PasswordChange",
            "new_password",
            length(rules::PASSWORD).to_vec(),
        ),
        ("GenreBody", "title", length(rules::GENRE_TITLE).to_vec()),
        ("FilmBody", "title", length(rules::FILM_TITLE).to_vec()),
        (
            "FilmBody",
            "description",
            vec![("maxLength", *rules::FILM_DESCRIPTION.end() as i64)],
        ),
        (
            "FilmBody",
            "duration_minutes",
            range(rules::FILM_DURATION_MINUTES).to_vec(),
        ),
        (
            "FilmBody",
            "release_year",
            vec![("minimum", rules::FIRST_RELEASE_YEAR)],
        ),
        (
            "FilmBody",
            "genre_ids",
            vec![("maxItems", rules::FILM_GENRES_MAX as i64)],
        ),
        ("HallBody", "name", length(rules::HALL_NAME).to_vec()),
        ("HallBody", "rows", range(rules::HALL_LAYOUT).to_vec()),
        (
            "HallBody",
            "seats_per_row",
            range(rules::HALL_LAYOUT).to_vec(),
        ),
        (
            "BookingBody",
            "ticket_ids",
            vec![
                ("minItems", *rules::BOOKING_SEATS.start() as i64),
                ("maxItems", *rules::BOOKING_SEATS.end() as i64),
            ],
        ),
    ];
    for (schema, field, bounds) in expected {
        let property = &schemas[schema]["properties"][field];
        assert!(property.is_object(), "{schema}.{field} is documented");
        for (keyword, value) in bounds {
            assert_eq!(
                property[keyword].as_f64(),
                Some(value as f64),
                "{schema}.{field} {keyword} in the document"
            );
        }
    }
    // The page parameters of every list.
    use shared::pagination::{MAX_LIMIT, MAX_OFFSET};
    let mut lists = 0;
    for (path, item) in document["paths"].as_object().expect("paths") {
        for parameter in item["get"]["parameters"].as_array().into_iter().flatten() {
            let bounds = match parameter["name"].as_str() {
                Some("limit") => (1, MAX_LIMIT),
                Some("offset") => (0, MAX_OFFSET),
                _ => continue,
            };
            let schema = &parameter["schema"];
            assert_eq!(
                (schema["minimum"].as_i64(), schema["maximum"].as_i64()),
                (Some(bounds.0), Some(bounds.1)),
                "GET {path} {} in the document",
                parameter["name"]
            );
            lists += 1;
        }
    }
    assert!(
        lists >= 14,
        "every list documents limit and offset ({lists} seen)"
    );
}
