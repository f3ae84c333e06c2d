//! The auth function's Router against a fresh database per test.

mod registration;
mod sessions;
mod users;

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

// ---- login ----

// ---- refresh and logout ----

// ---- who am I ----

// ---- user directory ----
