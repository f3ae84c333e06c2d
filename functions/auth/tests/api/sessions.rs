//! Sign-in, refresh and sign-out: `/auth/login`, `/auth/refresh`, `/auth/logout`.

use super::*;

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn logging_in_with_the_oauth2_form_or_json_returns_a_working_token_pair(pool: PgPool) {
    let app = app(pool);
    let (id, _) = app.user("cashier1", Role::Cashier).await;

    let form = app.raw(form_login("CASHIER1", PASSWORD)).await;
    let json_login = login(&app, "cashier1", PASSWORD).await;
    for body in [form.expect(StatusCode::OK), &json_login] {
        assert_eq!(body["token_type"], "bearer");
        assert_eq!(body["expires_in"], 900);
        assert!(
            body["refresh_token"]
                .as_str()
                .is_some_and(|t| t.len() >= 43)
        );
        let token = body["access_token"].as_str().expect("token");
        let me = app.get("/users/me", Some(token)).await;
        assert_eq!(me.expect(StatusCode::OK)["id"], id);
        assert_eq!(me.body["role"], "cashier");
    }
    let stored: i64 = sqlx::query_scalar("select count(*) from refresh_tokens where user_id = $1")
        .bind(id)
        .fetch_one(app.db())
        .await
        .expect("count");
    assert_eq!(stored, 2);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn an_unknown_user_and_a_wrong_password_get_the_same_answer(pool: PgPool) {
    let app = app(pool);
    app.user("known", Role::User).await;
    let mut bodies = Vec::new();
    for (username, password) in [
        ("known", "Wrong#Pass1"),
        ("unknown", PASSWORD),
        ("bad\u{0}name", PASSWORD),
        ("x", ""),
    ] {
        let response = app
            .post(
                "/auth/login",
                None,
                json!({"username": username, "password": password}),
            )
            .await;
        response.expect_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
        bodies.push(response.body);
    }
    assert!(
        bodies.windows(2).all(|pair| pair[0] == pair[1]),
        "{bodies:?}"
    );
    let tokens: i64 = sqlx::query_scalar("select count(*) from refresh_tokens")
        .fetch_one(app.db())
        .await
        .expect("count");
    assert_eq!(tokens, 0);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn logging_in_needs_a_json_or_form_body(pool: PgPool) {
    let app = app(pool);
    let request = Request::post("/auth/login")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("x"))
        .expect("request");
    app.raw(request)
        .await
        .expect_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    app.post("/auth/login", None, json!({"username": "a"}))
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn refreshing_rotates_the_refresh_token(pool: PgPool) {
    let app = app(pool);
    app.user("ada", Role::User).await;
    let first = login(&app, "ada", PASSWORD).await;
    let old = first["refresh_token"].as_str().expect("refresh");

    let second = app
        .post("/auth/refresh", None, json!({"refresh_token": old}))
        .await;
    let second = second.expect(StatusCode::OK).clone();
    let new = second["refresh_token"].as_str().expect("refresh");
    assert_ne!(old, new);
    app.get("/users/me", second["access_token"].as_str())
        .await
        .expect(StatusCode::OK);

    app.post("/auth/refresh", None, json!({"refresh_token": new}))
        .await
        .expect(StatusCode::OK);
    app.post("/auth/refresh", None, json!({"refresh_token": old}))
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "invalid_refresh_token");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_refresh_token_used_twice_at_once_works_once(pool: PgPool) {
    let app = app(pool);
    app.user("ada", Role::User).await;
    let token = login(&app, "ada", PASSWORD).await["refresh_token"].clone();
    let attempts = (0..10).map(|_| {
        let (app, token) = (app.clone(), token.clone());
        tokio::spawn(async move {
            app.post("/auth/refresh", None, json!({"refresh_token": token}))
                .await
                .status
        })
    });
    let statuses = join_all(attempts.collect()).await;
    assert_eq!(count_status(&statuses, StatusCode::OK), 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn expired_and_made_up_refresh_tokens_are_refused(pool: PgPool) {
    let app = app(pool);
    let (id, _) = app.user("ada", Role::User).await;
    sqlx::query(
        "insert into refresh_tokens (user_id, token_hash, created_at, expires_at)
         values ($1, sha256('expired-token'::bytea), now() - interval '2 days', now() - interval '1 day')",
    )
    .bind(id)
    .execute(app.db())
    .await
    .expect("insert");
    for token in ["expired-token", "made-up", ""] {
        app.post("/auth/refresh", None, json!({"refresh_token": token}))
            .await
            .expect_error(StatusCode::UNAUTHORIZED, "invalid_refresh_token");
    }
    app.post("/auth/refresh", None, json!({"refresh_token": 5}))
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn logging_out_revokes_the_refresh_token(pool: PgPool) {
    let app = app(pool);
    app.user("ada", Role::User).await;
    let token = login(&app, "ada", PASSWORD).await["refresh_token"].clone();
    let response = app
        .post("/auth/logout", None, json!({"refresh_token": token}))
        .await;
    response.expect(StatusCode::NO_CONTENT);
    assert_eq!(response.body, Value::Null);
    app.post("/auth/refresh", None, json!({"refresh_token": token}))
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "invalid_refresh_token");
    // Logging out again is harmless.
    app.post("/auth/logout", None, json!({"refresh_token": token}))
        .await
        .expect(StatusCode::NO_CONTENT);
}
