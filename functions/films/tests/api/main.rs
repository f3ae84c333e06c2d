//! The films function's Router against a fresh database per test.

mod films;
mod genres;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use shared::Role;
use shared::testing::{TestApp, count_statements, count_status, join_all};
use sqlx::PgPool;

struct Catalogue {
    app: TestApp,
    admin: String,
    user: String,
    cashier: String,
}

async fn catalogue(pool: PgPool) -> Catalogue {
    let app = TestApp::new(pool, ::films::router);
    let (_, admin) = app.user("admin", Role::Admin).await;
    let (_, user) = app.user("customer", Role::User).await;
    let (_, cashier) = app.user("cashier", Role::Cashier).await;
    Catalogue {
        app,
        admin,
        user,
        cashier,
    }
}

impl Catalogue {
    async fn genre(&self, title: &str) -> i64 {
        let response = self
            .app
            .post("/genres", Some(&self.admin), json!({"title": title}))
            .await;
        response.expect(StatusCode::CREATED)["id"]
            .as_i64()
            .expect("id")
    }

    async fn film(&self, title: &str, genre_ids: &[i64]) -> Value {
        let response = self
            .app
            .post("/films", Some(&self.admin), film_body(title, genre_ids))
            .await;
        response.expect(StatusCode::CREATED).clone()
    }

    async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("select count(*) from {table}"))
            .fetch_one(self.app.db())
            .await
            .expect("count")
    }
}

fn film_body(title: &str, genre_ids: &[i64]) -> Value {
    json!({
        "title": title,
        "description": "A film.\nIn two lines.",
        "age_rating": "PG-13",
        "duration_minutes": 121,
        "release_year": 1999,
        "genre_ids": genre_ids,
    })
}

fn titles(body: &Value) -> Vec<&str> {
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["title"].as_str().expect("title"))
        .collect()
}

// ---- genres ----

// ---- films ----

// ---- current roles and names ----
