//! The auth function's Router against a fresh database per test.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use shared::Role;
use shared::testing::{PASSWORD, TestApp, count_status, join_all};
use sqlx::PgPool;

fn app(pool: PgPool) -> TestApp {
    TestApp::new(pool, auth::router)
}

fn registration(username: &str) -> Value {
    json!({
        "username": username,
        "password": "Str0ng#Pass",
        "confirm_password": "Str0ng#Pass",
        "full_name": "Ada Lovelace",
    })
}

async fn stored_role(app: &TestApp, id: i64) -> Role {
    sqlx::query_scalar("select role from users where id = $1")
        .bind(id)
        .fetch_one(app.db())
        .await
        .expect("role")
}

async fn user_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from users")
        .fetch_one(app.db())
        .await
        .expect("count")
}

async fn login(app: &TestApp, username: &str, password: &str) -> Value {
    let response = app
        .post(
            "/auth/login",
            None,
            json!({"username": username, "password": password}),
        )
        .await;
    response.expect(StatusCode::OK).clone()
}

fn form_login(username: &str, password: &str) -> Request<Body> {
    let body = format!(
        "grant_type=password&username={}&password={}&scope=",
        urlencode(username),
        urlencode(password)
    );
    Request::post("/auth/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .expect("request")
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

// ---- registration ----

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

// ---- login ----

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

// ---- refresh and logout ----

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

// ---- who am I ----

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn me_needs_a_valid_token(pool: PgPool) {
    let app = app(pool);
    let (id, token) = app.user("ada", Role::User).await;
    app.get("/users/me", None)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "not_authenticated");
    app.get("/users/me", Some("not-a-jwt"))
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "invalid_token");

    let forged = shared::AuthKeys::new(
        &secrecy::SecretString::from("another-key-another-key-another-key"),
        std::time::Duration::from_secs(60),
        std::time::Duration::from_secs(60),
        4,
    )
    .issue(id, Role::Admin)
    .expect("token")
    .token;
    app.get("/users/me", Some(&forged))
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "invalid_token");

    let request = Request::get("/users/me")
        .header(header::AUTHORIZATION, format!("Basic {token}"))
        .body(Body::empty())
        .expect("request");
    app.raw(request)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "invalid_token");

    app.get("/users/me", Some(&token))
        .await
        .expect(StatusCode::OK);
    app.get("/users/me/", Some(&token))
        .await
        .expect(StatusCode::OK); // trailing slash
}

// ---- user directory ----

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn only_admins_list_users(pool: PgPool) {
    let app = app(pool);
    let (_, user) = app.user("usr1", Role::User).await;
    let (_, cashier) = app.user("cas1", Role::Cashier).await;
    let (_, admin) = app.user("adm1", Role::Admin).await;
    app.get("/users", None)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "not_authenticated");
    app.get("/users", Some(&user))
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    app.get("/users", Some(&cashier))
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    let body = app
        .get("/users", Some(&admin))
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(body["total"], 3);
    assert_eq!(body["limit"], 20);
    assert_eq!(body["offset"], 0);
    let names: Vec<&str> = body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|u| u["username"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["usr1", "cas1", "adm1"]);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn the_user_list_pages_and_filters_by_role(pool: PgPool) {
    let app = app(pool);
    let (_, admin) = app.user("admin", Role::Admin).await;
    for i in 0..5 {
        app.user(&format!("user{i}"), Role::User).await;
    }
    app.user("cashier", Role::Cashier).await;

    let page = app
        .get("/users?role=user&limit=2&offset=1", Some(&admin))
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(page["total"], 5);
    let names: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|u| u["username"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["user1", "user2"]);

    let past_the_end = app
        .get("/users?offset=50", Some(&admin))
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(past_the_end["items"], json!([]));
    assert_eq!(past_the_end["total"], 7);

    let cashiers = app
        .get("/users/?role=cashier", Some(&admin))
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(cashiers["total"], 1);

    for query in [
        "limit=0",
        "limit=101",
        "limit=abc",
        "offset=-1",
        "role=owner",
        "limit=99999999999999999999",
        "role=%00",
    ] {
        app.get(&format!("/users?{query}"), Some(&admin))
            .await
            .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    }
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn an_admin_promotes_a_user_to_cashier(pool: PgPool) {
    let app = app(pool);
    let (id, user_token) = app.user("ada", Role::User).await;
    let (_, admin) = app.user("boss", Role::Admin).await;

    let body = app
        .patch(
            &format!("/users/{id}/role"),
            Some(&admin),
            json!({"role": "cashier"}),
        )
        .await;
    assert_eq!(body.expect(StatusCode::OK)["role"], "cashier");
    assert_eq!(stored_role(&app, id).await, Role::Cashier);
    // /users/me reads the database, so the new role shows at once.
    assert_eq!(
        app.get("/users/me", Some(&user_token)).await.body["role"],
        "cashier"
    );
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn changing_a_role_is_for_admins_and_checks_its_input(pool: PgPool) {
    let app = app(pool);
    let (id, user) = app.user("ada", Role::User).await;
    let (_, cashier) = app.user("cash", Role::Cashier).await;
    let (_, admin) = app.user("boss", Role::Admin).await;
    let uri = format!("/users/{id}/role");
    app.patch(&uri, None, json!({"role": "admin"}))
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "not_authenticated");
    app.patch(&uri, Some(&user), json!({"role": "admin"}))
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    app.patch(&uri, Some(&cashier), json!({"role": "admin"}))
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    app.patch(&uri, Some(&admin), json!({"role": "owner"}))
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    app.patch(&uri, Some(&admin), json!({}))
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    for missing in [
        "/users/999999/role",
        "/users/9223372036854775808/role",
        "/users/abc/role",
        "/users/-1/role",
        "/users/2147483648/role",
    ] {
        app.patch(missing, Some(&admin), json!({"role": "cashier"}))
            .await
            .expect_error(StatusCode::NOT_FOUND, "not_found");
    }
    app.send(Method::DELETE, &uri, Some(&admin), None)
        .await
        .expect_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    app.get("/nowhere", None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(stored_role(&app, id).await, Role::User);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn the_last_admin_cannot_be_demoted(pool: PgPool) {
    let app = app(pool);
    let (id, admin) = app.user("boss", Role::Admin).await;
    app.patch(
        &format!("/users/{id}/role"),
        Some(&admin),
        json!({"role": "user"}),
    )
    .await
    .expect_error(StatusCode::CONFLICT, "last_admin");
    assert_eq!(stored_role(&app, id).await, Role::Admin);
    // Keeping the role is fine.
    app.patch(
        &format!("/users/{id}/role"),
        Some(&admin),
        json!({"role": "admin"}),
    )
    .await
    .expect(StatusCode::OK);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn two_admins_demoting_each_other_at_once_leave_one_admin(pool: PgPool) {
    let app = app(pool);
    let (a, token_a) = app.user("alpha", Role::Admin).await;
    let (b, token_b) = app.user("bravo", Role::Admin).await;
    let one = {
        let app = app.clone();
        tokio::spawn(async move {
            app.patch(
                &format!("/users/{b}/role"),
                Some(&token_a),
                json!({"role": "user"}),
            )
            .await
            .status
        })
    };
    let two = {
        let app = app.clone();
        tokio::spawn(async move {
            app.patch(
                &format!("/users/{a}/role"),
                Some(&token_b),
                json!({"role": "user"}),
            )
            .await
            .status
        })
    };
    let mut statuses = [one.await.expect("task"), two.await.expect("task")];
    statuses.sort();
    // The second to get the lock is either no longer an admin (403) or the last one (409).
    assert!(
        statuses == [StatusCode::OK, StatusCode::FORBIDDEN]
            || statuses == [StatusCode::OK, StatusCode::CONFLICT],
        "{statuses:?}"
    );
    let admins: i64 = sqlx::query_scalar("select count(*) from users where role = 'admin'")
        .fetch_one(app.db())
        .await
        .expect("count");
    assert_eq!(admins, 1);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_demoted_admin_cannot_use_an_old_token_to_promote_themself_back(pool: PgPool) {
    let app = app(pool);
    let (_, boss) = app.user("boss", Role::Admin).await;
    let (former, stale_token) = app.user("former", Role::Admin).await;
    app.patch(
        &format!("/users/{former}/role"),
        Some(&boss),
        json!({"role": "user"}),
    )
    .await
    .expect(StatusCode::OK);
    app.patch(
        &format!("/users/{former}/role"),
        Some(&stale_token),
        json!({"role": "admin"}),
    )
    .await
    .expect_error(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(stored_role(&app, former).await, Role::User);
}

#[tokio::test]
async fn an_unreachable_database_is_a_503_with_our_body() {
    // Nothing listens on port 1: every connection attempt fails fast.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_secs(1))
        .connect_lazy("postgres://postgres@127.0.0.1:1/cinema")
        .expect("lazy pool");
    let app = TestApp::new(pool, auth::router);
    let token = app.token(1, Role::User);
    let response = app.get("/users/me", Some(&token)).await;
    response.expect_error(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable");
    assert_eq!(response.body["detail"], "service temporarily unavailable");
    let login = app
        .post(
            "/auth/login",
            None,
            json!({"username": "ada", "password": "x"}),
        )
        .await;
    login.expect_error(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable");
}
