//! Users and roles: `/users*`, and what the whole function shares.

use super::*;

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
