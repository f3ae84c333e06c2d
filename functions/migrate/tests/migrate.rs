//! The migrate function against an empty database.

use migrate::{AdminOutcome, run};
use secrecy::SecretString;
use shared::config::AdminCredentials;
use sqlx::PgPool;

fn admin(username: &str, password: &str) -> AdminCredentials {
    AdminCredentials {
        username: username.to_owned(),
        password: SecretString::from(password.to_owned()),
        full_name: "Cinema Administrator".to_owned(),
    }
}

async fn admins(pool: &PgPool) -> Vec<(String, String)> {
    sqlx::query_as("select username, password_hash from users where role = 'admin'")
        .fetch_all(pool)
        .await
        .expect("admins")
}

#[sqlx::test(migrations = false)]
async fn migrating_twice_applies_everything_once_and_creates_one_admin(pool: PgPool) {
    let credentials = admin("root", "Adm1n#Secret");
    let first = run(&pool, Some(&credentials), 4).await.expect("first run");
    let expected: Vec<i64> = shared::MIGRATOR.iter().map(|m| m.version).collect();
    assert_eq!(first.applied, expected);
    assert_eq!(first.current_version, expected.last().copied());
    assert_eq!(first.first_admin, AdminOutcome::Created);

    let second = run(&pool, Some(&credentials), 4).await.expect("second run");
    assert!(second.applied.is_empty());
    assert_eq!(second.first_admin, AdminOutcome::AlreadyExists);

    let admins = admins(&pool).await;
    assert_eq!(admins.len(), 1);
    assert_eq!(admins[0].0, "root");
    assert!(bcrypt::verify("Adm1n#Secret", &admins[0].1).expect("verify"));
}

#[sqlx::test(migrations = false)]
async fn without_credentials_no_admin_is_made(pool: PgPool) {
    let report = run(&pool, None, 4).await.expect("run");
    assert_eq!(report.first_admin, AdminOutcome::NotConfigured);
    assert!(admins(&pool).await.is_empty());
}

#[sqlx::test(migrations = false)]
async fn a_weak_first_admin_password_is_refused(pool: PgPool) {
    let error = run(&pool, Some(&admin("root", "weakpassword")), 4)
        .await
        .unwrap_err();
    let message = format!("{error:#}");
    assert!(message.contains("registration rules"), "{message}");
    assert!(
        !message.contains("weakpassword"),
        "the password itself is never printed: {message}"
    );
    assert!(admins(&pool).await.is_empty());
}

#[sqlx::test(migrations = false)]
async fn an_existing_account_with_the_admin_username_is_never_promoted(pool: PgPool) {
    run(&pool, None, 4).await.expect("schema");
    sqlx::query("insert into users (username, password_hash, full_name) values ('Root', 'x', 'Some Squatter')")
        .execute(&pool)
        .await
        .expect("squatter");
    let error = run(&pool, Some(&admin("root", "Adm1n#Secret")), 4)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("taken"), "{error}");
    assert!(admins(&pool).await.is_empty());
}

#[tokio::test]
async fn the_answer_to_cloudformation_is_put_to_the_response_url() {
    use migrate::custom_resource::Request;
    use tokio::io::AsyncWriteExt;

    // A one-shot HTTP server standing in for the pre-signed S3 URL.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/stack-events/answer?X-Amz-Signature=abc",
        listener.local_addr().expect("addr")
    );
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("accept");
        let (head, body) = shared::testing::read_http_request(&mut socket)
            .await
            .expect("a request");
        socket
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .await
            .expect("write");
        format!("{head}\r\n\r\n{body}")
    });
    let request = Request::from_event(&serde_json::json!({
        "RequestType": "Create", "ResponseURL": url, "StackId": "stack", "RequestId": "request-1",
        "LogicalResourceId": "SchemaMigration"
    }))
    .expect("request");
    let answer = request.answer(Err("relation already exists".into()));
    migrate::custom_resource::send(&request.response_url, &answer)
        .await
        .expect("sent");

    let received = server.await.expect("server");
    let (head, body) = received.split_once("\r\n\r\n").expect("http");
    assert!(
        head.starts_with("PUT /stack-events/answer?X-Amz-Signature=abc HTTP/1.1"),
        "{head}"
    );
    assert!(
        head.to_ascii_lowercase().contains("content-type: \r\n"),
        "signed for an empty content type: {head}"
    );
    let body: serde_json::Value = serde_json::from_str(body).expect("json");
    assert_eq!(body["Status"], "FAILED");
    assert_eq!(body["Reason"], "relation already exists");
    assert_eq!(body["RequestId"], "request-1");
}

#[sqlx::test(migrations = false)]
async fn every_constraint_the_handlers_map_is_in_the_migrated_schema(pool: PgPool) {
    run(&pool, None, 4).await.expect("schema");
    for &name in shared::constraints::ALL {
        let found: bool = sqlx::query_scalar(
            "select exists (select 1 from pg_constraint where conname = $1)
                 or exists (select 1 from pg_indexes where schemaname = 'public' and indexname = $1)",
        )
        .bind(name)
        .fetch_one(&pool)
        .await
        .expect("catalog");
        assert!(
            found,
            "{name} is mapped by a handler but no migration creates it"
        );
    }
}
