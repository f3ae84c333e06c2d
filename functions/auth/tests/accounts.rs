//! Accounts against abuse: sign-in and registration limits, current roles, password change,
//! deactivation and refresh-token families, each against a fresh database.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use shared::testing::{PASSWORD, TestApp, TestResponse, count_status, join_all, settings};
use shared::{Limits, Role};
use sqlx::PgPool;

fn app(pool: PgPool) -> TestApp {
    TestApp::new(pool, auth::router)
}

fn login_request(username: &str, password: &str) -> Request<Body> {
    Request::post("/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"username": username, "password": password}).to_string(),
        ))
        .expect("request")
}

async fn login(app: &TestApp, username: &str, password: &str) -> TestResponse {
    app.raw(login_request(username, password)).await
}

async fn login_from(app: &TestApp, address: &str, username: &str, password: &str) -> TestResponse {
    app.from_address(address, login_request(username, password))
        .await
}

fn retry_after(response: &TestResponse) -> u64 {
    response.headers[header::RETRY_AFTER]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds")
}

async fn refresh_tokens(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from refresh_tokens")
        .fetch_one(app.db())
        .await
        .expect("count")
}

/// Makes the current lock-out of every throttle end now, as if its time had passed.
async fn let_lockouts_pass(app: &TestApp) {
    sqlx::query("update throttles set blocked_until = now() - interval '1 second' where blocked_until is not null")
        .execute(app.db())
        .await
        .expect("unblock");
}

// ---- sign-in throttling ----

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn five_failures_lock_the_account_and_then_even_the_right_password_is_refused(pool: PgPool) {
    let app = app(pool);
    app.user("ada", Role::User).await;
    for _ in 0..5 {
        login(&app, "ada", "Wrong#Pass1")
            .await
            .expect_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    let locked = login(&app, "ada", PASSWORD).await;
    locked.expect_error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    assert!(
        (1..=30).contains(&retry_after(&locked)),
        "{:?}",
        locked.headers
    );
    // Usernames are one account whatever their case.
    login(&app, "ADA", PASSWORD)
        .await
        .expect_error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    assert_eq!(refresh_tokens(&app).await, 0, "no sign-in went through");
    // Other accounts are not affected.
    app.user("grace", Role::User).await;
    login(&app, "grace", PASSWORD).await.expect(StatusCode::OK);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn the_limiter_answers_an_unknown_username_exactly_as_a_known_one(pool: PgPool) {
    let app = app(pool);
    app.user("known", Role::User).await;
    let mut answers = Vec::new();
    for username in ["known", "unknown"] {
        let mut statuses = Vec::new();
        let mut last = None;
        for _ in 0..7 {
            let response = login(&app, username, "Wrong#Pass1").await;
            statuses.push(response.status);
            last = Some(response);
        }
        let last = last.expect("answered");
        answers.push((
            statuses,
            last.body,
            last.headers.get(header::RETRY_AFTER).cloned(),
        ));
    }
    assert_eq!(answers[0], answers[1]);
    let expected: Vec<StatusCode> = [StatusCode::UNAUTHORIZED; 5]
        .into_iter()
        .chain([StatusCode::TOO_MANY_REQUESTS; 2])
        .collect();
    assert_eq!(answers[0].0, expected);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn twenty_concurrent_wrong_passwords_get_at_most_five_checked(pool: PgPool) {
    let app = app(pool);
    app.user("target", Role::User).await;
    let tasks = (0..20)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                login(&app, "target", &format!("Wrong#Pass{i}"))
                    .await
                    .status
            })
        })
        .collect();
    let statuses = join_all(tasks).await;
    assert_eq!(
        (
            count_status(&statuses, StatusCode::UNAUTHORIZED),
            count_status(&statuses, StatusCode::TOO_MANY_REQUESTS)
        ),
        (5, 15),
        "{statuses:?}"
    );
    login(&app, "target", PASSWORD)
        .await
        .expect_error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn lockouts_double_with_each_failure_and_a_success_starts_afresh(pool: PgPool) {
    let app = app(pool);
    app.user("ada", Role::User).await;
    for _ in 0..5 {
        login(&app, "ada", "Wrong#Pass1").await;
    }
    let mut waits = Vec::new();
    for _ in 0..6 {
        let_lockouts_pass(&app).await;
        login(&app, "ada", "Wrong#Pass1")
            .await
            .expect_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
        waits.push(retry_after(&login(&app, "ada", "Wrong#Pass1").await));
    }
    // 60, 120, 240, 480, then the cap of 15 minutes.
    let expected = [60, 120, 240, 480, 900, 900];
    for (wait, expected) in waits.iter().zip(expected) {
        assert!(
            (expected - 2..=expected).contains(wait),
            "{waits:?} against {expected}"
        );
    }
    let_lockouts_pass(&app).await;
    login(&app, "ada", PASSWORD).await.expect(StatusCode::OK);
    let left: i64 =
        sqlx::query_scalar("select count(*) from throttles where scope = 'sign_in_account'")
            .fetch_one(app.db())
            .await
            .expect("count");
    assert_eq!(left, 0, "a success clears the account's count");
    login(&app, "ada", "Wrong#Pass1")
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn one_address_is_limited_across_every_username_it_tries(pool: PgPool) {
    let app = app(pool);
    app.user("victim", Role::User).await;
    for i in 0..50 {
        login_from(&app, "203.0.113.7", &format!("guess{i}"), "Wrong#Pass1")
            .await
            .expect_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    // The address is locked: a username it never tried, even with the right password.
    login_from(&app, "203.0.113.7", "victim", PASSWORD)
        .await
        .expect_error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    // The account itself is not: from another address it signs in.
    login_from(&app, "198.51.100.1", "victim", PASSWORD)
        .await
        .expect(StatusCode::OK);
    let victim: i64 = sqlx::query_scalar(
        "select count(*) from throttles where scope = 'sign_in_account' and key = sha256('victim')",
    )
    .fetch_one(app.db())
    .await
    .expect("count");
    assert_eq!(
        victim, 0,
        "the locked address did not count against the account"
    );
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn successful_sign_ins_from_one_address_never_lock_it(pool: PgPool) {
    let app = app(pool);
    app.user("cashier", Role::Cashier).await;
    for _ in 0..60 {
        login_from(&app, "192.0.2.10", "cashier", PASSWORD)
            .await
            .expect(StatusCode::OK);
    }
}

// ---- device tokens: strangers cannot lock the owner out ----

/// A sign-in from `address` presenting `device` (a device token) in `Device-Token`.
async fn login_with_device(
    app: &TestApp,
    address: &str,
    username: &str,
    password: &str,
    device: &str,
) -> TestResponse {
    let mut request = login_request(username, password);
    request
        .headers_mut()
        .insert("device-token", device.parse().expect("header"));
    app.from_address(address, request).await
}

/// The device token a sign-in answered with.
fn device_token(body: &Value) -> String {
    body["device_token"]
        .as_str()
        .expect("a device token")
        .to_owned()
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn an_attackers_failures_never_lock_the_owners_trusted_device(pool: PgPool) {
    let app = app(pool);
    app.user("admin", Role::Admin).await;
    let first = login_from(&app, "192.0.2.10", "admin", PASSWORD).await;
    let device = device_token(first.expect(StatusCode::OK));
    assert_eq!(device.len(), 43, "256 bits, URL-safe base64");
    // A stranger fails from many addresses: untrusted attempts on the account are locked...
    for i in 0..8 {
        login_from(&app, &format!("203.0.113.{i}"), "admin", "Wrong#Pass1").await;
    }
    login_from(&app, "192.0.2.10", "admin", PASSWORD)
        .await
        .expect_error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    // ...and the owner's device signs in, and gets its token back unchanged.
    let again = login_with_device(&app, "192.0.2.10", "admin", PASSWORD, &device).await;
    assert_eq!(device_token(again.expect(StatusCode::OK)), device);
    // A device token of another account, or a made-up one, trusts nothing.
    let (_, _) = app.user("eve", Role::User).await;
    let eves = device_token(login(&app, "eve", PASSWORD).await.expect(StatusCode::OK));
    login_with_device(&app, "192.0.2.10", "admin", PASSWORD, &eves)
        .await
        .expect_error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    login_with_device(&app, "192.0.2.10", "admin", PASSWORD, "made-up")
        .await
        .expect_error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    // The trusted device has a count of its own: five wrong passwords lock it, not others.
    for _ in 0..5 {
        login_with_device(&app, "192.0.2.10", "admin", "Wrong#Pass1", &device)
            .await
            .expect_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    login_with_device(&app, "192.0.2.10", "admin", PASSWORD, &device)
        .await
        .expect_error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn an_address_lock_never_refuses_a_trusted_sign_in_and_successes_never_relock(pool: PgPool) {
    let app = app(pool);
    app.user("cashier", Role::Cashier).await;
    let device = device_token(
        login_from(&app, "192.0.2.10", "cashier", PASSWORD)
            .await
            .expect(StatusCode::OK),
    );
    // Fifty failures from the box office's address (strangers' usernames) lock the address.
    for i in 0..50 {
        login_from(&app, "192.0.2.10", &format!("guess{i}"), "Wrong#Pass1").await;
    }
    login_from(&app, "192.0.2.10", "cashier", PASSWORD)
        .await
        .expect_error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    // The cashier's device is not refused, however often it signs in, and it never extends
    // the address's lock.
    let blocked = || async {
        sqlx::query_scalar::<_, chrono::DateTime<chrono::Utc>>(
            "select blocked_until from throttles where scope = 'sign_in_address'",
        )
        .fetch_one(app.db())
        .await
        .expect("blocked")
    };
    let before = blocked().await;
    for _ in 0..20 {
        login_with_device(&app, "192.0.2.10", "cashier", PASSWORD, &device)
            .await
            .expect(StatusCode::OK);
    }
    assert_eq!(blocked().await, before);
    // Once the lock is over, a correct sign-in without a device token does not re-lock it.
    let_lockouts_pass(&app).await;
    let before = blocked().await;
    for _ in 0..5 {
        login_from(&app, "192.0.2.10", "cashier", PASSWORD)
            .await
            .expect(StatusCode::OK);
    }
    assert_eq!(blocked().await, before, "no success re-armed the lock");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn the_owner_signs_in_with_a_device_token_while_an_attacker_guesses(pool: PgPool) {
    let app = app(pool);
    app.user("ada", Role::User).await;
    let device = device_token(login(&app, "ada", PASSWORD).await.expect(StatusCode::OK));
    let mut tasks = Vec::new();
    for i in 0..30 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            login_from(&app, &format!("203.0.113.{i}"), "ada", "Wrong#Pass1")
                .await
                .status
        }));
    }
    // The owner's device signs in ten times, one after another, while the guesses arrive.
    let owner = {
        let (app, device) = (app.clone(), device.clone());
        tokio::spawn(async move {
            let mut statuses = Vec::new();
            for _ in 0..10 {
                let response =
                    login_with_device(&app, "192.0.2.10", "ada", PASSWORD, &device).await;
                statuses.push(response.status);
            }
            statuses
        })
    };
    let attacker = join_all(tasks).await;
    let owner = owner.await.expect("owner");
    assert!(
        owner.iter().all(|status| *status == StatusCode::OK),
        "the owner is never refused: {owner:?}"
    );
    assert!(
        count_status(&attacker, StatusCode::UNAUTHORIZED) <= 5,
        "at most five guesses checked: {attacker:?}"
    );
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn device_tokens_end_with_the_accounts_sessions(pool: PgPool) {
    let app = app(pool);
    let (id, token) = app.user("ada", Role::User).await;
    let device = device_token(login(&app, "ada", PASSWORD).await.expect(StatusCode::OK));
    let stored: i64 = sqlx::query_scalar(
        "select count(*) from device_tokens where user_id = $1 and revoked_at is null and token_hash = sha256(convert_to($2, 'UTF8'))",
    )
    .bind(id)
    .bind(&device)
    .fetch_one(app.db())
    .await
    .expect("count");
    assert_eq!(stored, 1, "stored only as its hash");
    app.post(
        "/users/me/password",
        Some(&token),
        json!({"current_password": PASSWORD, "new_password": "New#Passw0rd", "confirm_password": "New#Passw0rd"}),
    )
    .await
    .expect(StatusCode::NO_CONTENT);
    let live: i64 =
        sqlx::query_scalar("select count(*) from device_tokens where revoked_at is null")
            .fetch_one(app.db())
            .await
            .expect("count");
    assert_eq!(live, 0, "a password change forgets every device");
    // The old device is a stranger now: it gets a new token.
    let again = login_with_device(&app, "192.0.2.10", "ada", "New#Passw0rd", &device).await;
    assert_ne!(device_token(again.expect(StatusCode::OK)), device);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn registration_is_limited_per_address(pool: PgPool) {
    let mut settings = settings();
    settings.limits = Limits {
        registrations_per_address: 3,
        ..Limits::default()
    };
    let app = TestApp::with_settings(pool, auth::router, &settings);
    let register = |username: &str| {
        Request::post("/auth/register")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({
                    "username": username,
                    "password": "Str0ng#Pass",
                    "confirm_password": "Str0ng#Pass",
                    "full_name": "Ada Lovelace",
                })
                .to_string(),
            ))
            .expect("request")
    };
    for i in 0..3 {
        app.from_address("192.0.2.1", register(&format!("user{i}")))
            .await
            .expect(StatusCode::CREATED);
    }
    let refused = app.from_address("192.0.2.1", register("user3")).await;
    refused.expect_error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    assert!((3500..=3600).contains(&retry_after(&refused)));
    app.from_address("192.0.2.2", register("user4"))
        .await
        .expect(StatusCode::CREATED);
    let users: Vec<String> = sqlx::query_scalar("select username from users order by id")
        .fetch_all(app.db())
        .await
        .expect("users");
    assert_eq!(users, ["user0", "user1", "user2", "user4"]);
}

// ---- tokens ----

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn token_responses_and_the_caller_are_never_cached(pool: PgPool) {
    let app = app(pool);
    app.user("ada", Role::User).await;
    let signed_in = login(&app, "ada", PASSWORD).await;
    assert_eq!(signed_in.headers[header::CACHE_CONTROL], "no-store");
    let refreshed = app
        .post(
            "/auth/refresh",
            None,
            json!({"refresh_token": signed_in.body["refresh_token"]}),
        )
        .await;
    refreshed.expect(StatusCode::OK);
    assert_eq!(refreshed.headers[header::CACHE_CONTROL], "no-store");
    let token = signed_in.body["access_token"].as_str().expect("token");
    let me = app.get("/users/me", Some(token)).await;
    me.expect(StatusCode::OK);
    assert_eq!(me.headers[header::CACHE_CONTROL], "no-store");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_reused_refresh_token_revokes_its_whole_family(pool: PgPool) {
    let app = app(pool);
    app.user("ada", Role::User).await;
    let first = login(&app, "ada", PASSWORD).await.body["refresh_token"].clone();
    let other_session = login(&app, "ada", PASSWORD).await.body["refresh_token"].clone();
    let refresh = |token: Value| {
        let app = app.clone();
        async move {
            app.post("/auth/refresh", None, json!({"refresh_token": token}))
                .await
        }
    };
    let second = refresh(first.clone()).await.expect(StatusCode::OK)["refresh_token"].clone();
    let third = refresh(second.clone()).await.expect(StatusCode::OK)["refresh_token"].clone();
    // The first token again: a copy is in someone else's hands.
    refresh(first)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "invalid_refresh_token");
    refresh(third)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "invalid_refresh_token");
    let live: i64 =
        sqlx::query_scalar("select count(*) from refresh_tokens where revoked_at is null")
            .fetch_one(app.db())
            .await
            .expect("count");
    assert_eq!(live, 1, "only the other sign-in's token is left");
    refresh(other_session).await.expect(StatusCode::OK);
}

// ---- current roles, deletion, deactivation ----

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_demoted_or_deactivated_admins_old_token_no_longer_works(pool: PgPool) {
    let app = app(pool);
    app.user("admin", Role::Admin).await;
    let (target, _) = app.user("target", Role::User).await;
    app.assert_current_role_is_checked(
        Role::Admin,
        Role::Cashier,
        &[
            (Method::GET, "/users".into(), None),
            (Method::GET, "/users?role=admin".into(), None),
            (
                Method::PATCH,
                format!("/users/{target}/role"),
                Some(json!({"role": "admin"})),
            ),
            (
                Method::PATCH,
                format!("/users/{target}"),
                Some(json!({"active": false})),
            ),
            (
                Method::PATCH,
                "/users/999999/role".into(),
                Some(json!({"role": "admin"})),
            ),
        ],
    )
    .await;
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_deleted_users_token_is_refused(pool: PgPool) {
    let app = app(pool);
    let (id, token) = app.user("gone", Role::User).await;
    app.get("/users/me", Some(&token))
        .await
        .expect(StatusCode::OK);
    sqlx::query("delete from users where id = $1")
        .bind(id)
        .execute(app.db())
        .await
        .expect("delete");
    app.get("/users/me", Some(&token))
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "account_inactive");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_deactivated_user_cannot_sign_in_refresh_or_use_their_token(pool: PgPool) {
    let app = app(pool);
    let (_, admin) = app.user("admin", Role::Admin).await;
    let (id, _) = app.user("leaver", Role::User).await;
    let session = login(&app, "leaver", PASSWORD).await.body.clone();
    let access = session["access_token"].as_str().expect("token").to_owned();
    let wrong_password = login(&app, "leaver", "Wrong#Pass1").await;

    let response = app
        .patch(
            &format!("/users/{id}"),
            Some(&admin),
            json!({"active": false}),
        )
        .await;
    assert_eq!(response.expect(StatusCode::OK)["active"], false);

    let refused = login(&app, "leaver", PASSWORD).await;
    refused.expect_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(
        refused.body, wrong_password.body,
        "the same answer as a wrong password"
    );
    app.post(
        "/auth/refresh",
        None,
        json!({"refresh_token": session["refresh_token"]}),
    )
    .await
    .expect_error(StatusCode::UNAUTHORIZED, "invalid_refresh_token");
    app.get("/users/me", Some(&access))
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "account_inactive");
    let live: i64 = sqlx::query_scalar(
        "select count(*) from refresh_tokens where user_id = $1 and revoked_at is null",
    )
    .bind(id)
    .fetch_one(app.db())
    .await
    .expect("count");
    assert_eq!(live, 0);
    let listed = app.get("/users?active=false", Some(&admin)).await;
    assert_eq!(listed.expect(StatusCode::OK)["total"], 1);

    app.patch(
        &format!("/users/{id}"),
        Some(&admin),
        json!({"active": true}),
    )
    .await
    .expect(StatusCode::OK);
    login(&app, "leaver", PASSWORD).await.expect(StatusCode::OK);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn deactivation_is_for_admins_and_spares_the_last_active_admin(pool: PgPool) {
    let app = app(pool);
    let (admin_id, admin) = app.user("admin", Role::Admin).await;
    let (cashier_id, cashier) = app.user("cashier", Role::Cashier).await;
    app.patch(
        &format!("/users/{admin_id}"),
        Some(&cashier),
        json!({"active": false}),
    )
    .await
    .expect_error(StatusCode::FORBIDDEN, "forbidden");
    app.patch(
        &format!("/users/{admin_id}"),
        Some(&admin),
        json!({"active": false}),
    )
    .await
    .expect_error(StatusCode::CONFLICT, "last_admin");
    app.patch("/users/999999", Some(&admin), json!({"active": false}))
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    app.patch(
        &format!("/users/{cashier_id}"),
        Some(&admin),
        json!({"active": "no"}),
    )
    .await
    .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    // A deactivated admin does not count: the remaining active one is the last.
    let (other_id, _) = app.user("other_admin", Role::Admin).await;
    app.patch(
        &format!("/users/{other_id}"),
        Some(&admin),
        json!({"active": false}),
    )
    .await
    .expect(StatusCode::OK);
    app.patch(
        &format!("/users/{admin_id}/role"),
        Some(&admin),
        json!({"role": "user"}),
    )
    .await
    .expect_error(StatusCode::CONFLICT, "last_admin");
    let active_admins: i64 =
        sqlx::query_scalar("select count(*) from users where role = 'admin' and active")
            .fetch_one(app.db())
            .await
            .expect("count");
    assert_eq!(active_admins, 1);
}

// ---- password change ----

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn changing_the_password_revokes_every_refresh_token(pool: PgPool) {
    let app = app(pool);
    let (id, token) = app.user("ada", Role::User).await;
    let sessions = [
        login(&app, "ada", PASSWORD).await.body["refresh_token"].clone(),
        login(&app, "ada", PASSWORD).await.body["refresh_token"].clone(),
    ];
    let response = app
        .post(
            "/users/me/password",
            Some(&token),
            json!({"current_password": PASSWORD, "new_password": "New#Passw0rd", "confirm_password": "New#Passw0rd"}),
        )
        .await;
    response.expect(StatusCode::NO_CONTENT);
    for session in sessions {
        app.post("/auth/refresh", None, json!({"refresh_token": session}))
            .await
            .expect_error(StatusCode::UNAUTHORIZED, "invalid_refresh_token");
    }
    login(&app, "ada", PASSWORD)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    login(&app, "ada", "New#Passw0rd")
        .await
        .expect(StatusCode::OK);
    let _ = id;
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_password_change_checks_its_fields_and_the_current_password(pool: PgPool) {
    let app = app(pool);
    let (_, token) = app.user("ada", Role::User).await;
    let before = app.snapshot().await;
    let response = app
        .post(
            "/users/me/password",
            Some(&token),
            json!({"current_password": PASSWORD, "new_password": "weak", "confirm_password": "other"}),
        )
        .await;
    let fields: Vec<&str> = response
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error")["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["new_password", "confirm_password"]);
    app.post(
        "/users/me/password",
        None,
        json!({"current_password": PASSWORD, "new_password": "New#Passw0rd", "confirm_password": "New#Passw0rd"}),
    )
    .await
    .expect_error(StatusCode::UNAUTHORIZED, "not_authenticated");
    // Wrong current passwords count as failed sign-ins: five, then sign-in is locked too.
    let wrong = json!({"current_password": "Wrong#Pass1", "new_password": "New#Passw0rd", "confirm_password": "New#Passw0rd"});
    for _ in 0..5 {
        app.post("/users/me/password", Some(&token), wrong.clone())
            .await
            .expect_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    app.post("/users/me/password", Some(&token), wrong)
        .await
        .expect_error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    login(&app, "ada", PASSWORD)
        .await
        .expect_error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    assert_eq!(app.snapshot().await, before, "the password did not change");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn counts_nobody_touched_for_a_day_are_tidied_a_few_at_a_time(pool: PgPool) {
    let app = app(pool);
    sqlx::query(
        "insert into throttles (scope, key, hits, first_hit, last_hit)
         select 'sign_in_account', int4send(g), 1, now() - interval '3 days', now() - interval '2 days'
         from generate_series(1, 25) g",
    )
    .execute(app.db())
    .await
    .expect("stale counts");
    login(&app, "someone", "Wrong#Pass1")
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let (stale, fresh): (i64, i64) = sqlx::query_as(
        "select count(*) filter (where last_hit < now() - interval '1 day'),
                count(*) filter (where last_hit >= now() - interval '1 day')
         from throttles",
    )
    .fetch_one(app.db())
    .await
    .expect("counts");
    assert_eq!(
        (stale, fresh),
        (15, 1),
        "ten stale counts removed as the attempt began (more than an attempt adds), the new one kept"
    );
}
