//! Registration: `POST /auth/register`.

use super::*;

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn registering_creates_a_user_with_the_user_role(pool: PgPool) {
    let app = app(pool);
    let response = app.post("/auth/register", None, registration("ada")).await;
    let body = response.expect(StatusCode::CREATED);
    assert_eq!(body["username"], "ada");
    assert_eq!(body["full_name"], "Ada Lovelace");
    assert_eq!(body["role"], "user");
    assert!(body["id"].as_i64().is_some());
    assert!(body.get("password_hash").is_none() && body.get("password").is_none());

    let hash: String = sqlx::query_scalar("select password_hash from users where username = 'ada'")
        .fetch_one(app.db())
        .await
        .expect("stored");
    assert!(hash.starts_with("$2b$04$"), "bcrypt at the configured cost");
    assert!(bcrypt::verify("Str0ng#Pass", &hash).expect("verify"));
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn registering_lists_every_bad_field_at_once_and_writes_nothing(pool: PgPool) {
    let app = app(pool);
    let response = app
        .post(
            "/auth/register",
            None,
            json!({"username": "x", "password": "weak", "confirm_password": "other", "full_name": "Solo"}),
        )
        .await;
    let body = response.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field"))
        .collect();
    assert_eq!(
        fields,
        ["username", "password", "confirm_password", "full_name"]
    );
    assert_eq!(user_count(&app).await, 0);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn registering_with_an_empty_object_names_every_missing_field(pool: PgPool) {
    let app = app(pool);
    let body = app.post("/auth/register", None, json!({})).await;
    let body = body.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(4), "{body}");
    assert_eq!(user_count(&app).await, 0);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn registering_rejects_bad_bodies_with_our_error_and_writes_nothing(pool: PgPool) {
    let app = app(pool);
    let long_password = format!("Aa1!{}x", "é".repeat(34)); // 39 characters, 73 bytes
    let cases: Vec<(&str, Body, &str, StatusCode, &str)> = vec![
        ("malformed JSON", Body::from("{\"username\": "), "application/json", StatusCode::BAD_REQUEST, "malformed_body"),
        ("empty body", Body::empty(), "application/json", StatusCode::BAD_REQUEST, "malformed_body"),
        ("not JSON at all", Body::from("username=ada"), "text/plain", StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        ("wrong type", Body::from(json!({"username": 5, "password": "Str0ng#Pass", "confirm_password": "Str0ng#Pass", "full_name": "Ada Lovelace"}).to_string()), "application/json", StatusCode::UNPROCESSABLE_ENTITY, "validation_error"),
        ("missing field", Body::from(json!({"username": "ada", "password": "Str0ng#Pass", "full_name": "Ada Lovelace"}).to_string()), "application/json", StatusCode::UNPROCESSABLE_ENTITY, "validation_error"),
        ("array body", Body::from("[]"), "application/json", StatusCode::UNPROCESSABLE_ENTITY, "validation_error"),
        ("NUL in username", Body::from(registration("ad\u{0}a").to_string()), "application/json", StatusCode::UNPROCESSABLE_ENTITY, "validation_error"),
        ("NUL in full name", Body::from(json!({"username": "ada", "password": "Str0ng#Pass", "confirm_password": "Str0ng#Pass", "full_name": "Ada\u{0} Lovelace"}).to_string()), "application/json", StatusCode::UNPROCESSABLE_ENTITY, "validation_error"),
        ("73-byte password", Body::from(json!({"username": "ada", "password": long_password, "confirm_password": long_password, "full_name": "Ada Lovelace"}).to_string()), "application/json", StatusCode::UNPROCESSABLE_ENTITY, "validation_error"),
        ("10,000-character name", Body::from(json!({"username": "ada", "password": "Str0ng#Pass", "confirm_password": "Str0ng#Pass", "full_name": "A ".repeat(5000)}).to_string()), "application/json", StatusCode::UNPROCESSABLE_ENTITY, "validation_error"),
        ("body over 64 KiB", Body::from(json!({"username": "a".repeat(70_000)}).to_string()), "application/json", StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
    ];
    for (case, body, content_type, status, code) in cases {
        let request = Request::post("/auth/register")
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
            .expect("request");
        let response = app.raw(request).await;
        assert_eq!(response.status, status, "{case}: {}", response.body);
        assert_eq!(response.body["code"], code, "{case}");
    }
    assert_eq!(user_count(&app).await, 0);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn usernames_are_unique_regardless_of_case(pool: PgPool) {
    let app = app(pool);
    app.post("/auth/register", None, registration("Ada"))
        .await
        .expect(StatusCode::CREATED);
    app.post("/auth/register", None, registration("aDA"))
        .await
        .expect_error(StatusCode::CONFLICT, "username_taken");
    assert_eq!(user_count(&app).await, 1);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn twenty_simultaneous_registrations_of_one_username_create_one_user(pool: PgPool) {
    let app = app(pool);
    let attempts = (0..20).map(|_| {
        let app = app.clone();
        tokio::spawn(async move {
            app.post("/auth/register", None, registration("racer"))
                .await
                .status
        })
    });
    let statuses: Vec<StatusCode> = join_all(attempts.collect()).await;
    assert_eq!(
        count_status(&statuses, StatusCode::CREATED),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        count_status(&statuses, StatusCode::CONFLICT),
        19,
        "{statuses:?}"
    );
    assert_eq!(user_count(&app).await, 1);
}
