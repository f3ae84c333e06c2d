//! Configuration loaded through the real AWS SDK from a local Secrets Manager emulator.
//!
//! `make test` starts the emulator (moto's server mode) and sets `AWS_ENDPOINT_URL` and test
//! credentials before running these; `aws-config` picks them up exactly as it picks up the
//! real service's settings in Lambda.

use secrecy::ExposeSecret;
use shared::config::{ApiConfig, MigrateConfig};

async fn client() -> aws_sdk_secretsmanager::Client {
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok(),
        "run through `make test`: it starts the emulator"
    );
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    aws_sdk_secretsmanager::Client::new(&config)
}

async fn create(
    client: &aws_sdk_secretsmanager::Client,
    name: &str,
    value: serde_json::Value,
) -> String {
    let name = format!("{name}-{}", std::process::id());
    let output = client
        .create_secret()
        .name(name)
        .secret_string(value.to_string())
        .send()
        .await
        .expect("create secret");
    output.arn().expect("arn").to_owned()
}

#[tokio::test]
#[ignore = "needs the Secrets Manager emulator that `make test` starts"]
async fn api_config_reads_both_secrets_from_secrets_manager() {
    let client = client().await;
    let app_arn = create(
        &client,
        "cinema-app",
        serde_json::json!({"jwt_secret": "from-secrets-manager-0123456789abcdef"}),
    )
    .await;
    let db_arn = create(
        &client,
        "cinema-db",
        serde_json::json!({"engine": "postgres", "username": "postgres", "password": "unused-with-trust-auth",
                           "host": "127.0.0.1", "port": 5432, "dbname": "postgres"}),
    )
    .await;
    let env = [
        ("APP_SECRET_ARN", app_arn.as_str()),
        ("DB_SECRET_ARN", db_arn.as_str()),
        ("DB_SSL_MODE", "disable"),
    ];
    let config = ApiConfig::load(&env)
        .await
        .expect("config from Secrets Manager");
    assert_eq!(
        config.jwt_secret.expose_secret(),
        "from-secrets-manager-0123456789abcdef"
    );
    assert_eq!(config.database.get_host(), "127.0.0.1");
    assert_eq!(config.database.get_database(), Some("postgres"));
    assert!(!format!("{config:?}").contains("unused-with-trust-auth"));

    // The options really reach the database.
    let pool = shared::db::pool(config.database, &config.settings);
    let one: i32 = sqlx::query_scalar("select 1")
        .fetch_one(&pool)
        .await
        .expect("connect");
    assert_eq!(one, 1);
}

#[tokio::test]
#[ignore = "needs the Secrets Manager emulator that `make test` starts"]
async fn migrate_config_reads_the_admin_secret() {
    let client = client().await;
    let db_arn = create(
        &client,
        "cinema-db-m",
        serde_json::json!({"username": "postgres", "password": "p", "host": "db.internal", "port": "5433", "dbname": "cinema"}),
    )
    .await;
    let admin_arn = create(
        &client,
        "cinema-admin",
        serde_json::json!({"username": "root", "password": "Adm1n#Secret"}),
    )
    .await;
    let env = [
        ("DB_SECRET_ARN", db_arn.as_str()),
        ("ADMIN_SECRET_ARN", admin_arn.as_str()),
    ];
    let config = MigrateConfig::load(&env).await.expect("config");
    assert_eq!(config.database.get_port(), 5433);
    assert_eq!(config.database.get_host(), "db.internal");
    // Behind RDS Proxy, the API functions keep the secret but connect to the proxy.
    let proxied = [
        ("DB_SECRET_ARN", db_arn.as_str()),
        ("DB_HOST", "proxy.internal"),
    ];
    let behind_proxy = MigrateConfig::load(&proxied).await.expect("config");
    assert_eq!(behind_proxy.database.get_host(), "proxy.internal");
    let admin = config.first_admin.expect("admin");
    assert_eq!(admin.username, "root");
    assert_eq!(admin.password.expose_secret(), "Adm1n#Secret");
    assert_eq!(admin.full_name, "Cinema Administrator");
}

#[tokio::test]
#[ignore = "needs the Secrets Manager emulator that `make test` starts"]
async fn a_missing_or_malformed_secret_is_named_without_its_value() {
    let client = client().await;
    let bad_arn = create(
        &client,
        "cinema-bad",
        serde_json::json!({"jwt_secret": 31415926}),
    )
    .await;
    let db_arn = create(
        &client,
        "cinema-db-b",
        serde_json::json!({"username": "u", "password": "p", "host": "h", "port": 1}),
    )
    .await;
    let error = ApiConfig::load(&[
        ("APP_SECRET_ARN", bad_arn.as_str()),
        ("DB_SECRET_ARN", db_arn.as_str()),
    ])
    .await
    .unwrap_err()
    .to_string();
    assert!(
        error.contains(&bad_arn) && error.contains("jwt_secret"),
        "{error}"
    );
    assert!(!error.contains("31415926"), "{error}");

    let missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf";
    let error = ApiConfig::load(&[
        ("APP_SECRET_ARN", missing),
        ("DB_SECRET_ARN", db_arn.as_str()),
    ])
    .await
    .unwrap_err();
    assert!(error.to_string().contains(missing), "{error}");
}

#[tokio::test]
#[ignore = "needs the Secrets Manager emulator that `make test` starts"]
async fn an_aurora_managed_secret_with_the_environment_reaches_the_database() {
    let client = client().await;
    // Aurora's managed master secret: only the credentials.
    let db_arn = create(
        &client,
        "cinema-db-aurora",
        serde_json::json!({"username": "postgres", "password": "unused-with-trust-auth"}),
    )
    .await;
    let app_arn = create(
        &client,
        "cinema-app-aurora",
        serde_json::json!({"jwt_secret": "from-secrets-manager-0123456789abcdef"}),
    )
    .await;
    let without_host = ApiConfig::load(&[
        ("APP_SECRET_ARN", app_arn.as_str()),
        ("DB_SECRET_ARN", db_arn.as_str()),
    ])
    .await
    .unwrap_err()
    .to_string();
    assert!(
        without_host.contains("`host`") && without_host.contains("DB_HOST"),
        "{without_host}"
    );
    let env = [
        ("APP_SECRET_ARN", app_arn.as_str()),
        ("DB_SECRET_ARN", db_arn.as_str()),
        ("DB_HOST", "127.0.0.1"),
        ("DB_PORT", "5432"),
        ("DB_NAME", "postgres"),
        ("DB_SSL_MODE", "disable"),
        ("DB_STATEMENT_TIMEOUT_MS", "1500"),
    ];
    let config = ApiConfig::load(&env).await.expect("config");
    assert!(config.database_secret.is_some());
    let pool = shared::db::pool(config.database, &config.settings);
    let timeout: String = sqlx::query_scalar("show statement_timeout")
        .fetch_one(&pool)
        .await
        .expect("connect");
    assert_eq!(timeout, "1500ms");
    // A statement past its budget is cancelled by the server and answered as a 503.
    let error = sqlx::query("select pg_sleep(3)")
        .execute(&pool)
        .await
        .expect_err("cancelled");
    assert_eq!(
        shared::Error::from(error).status(),
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    );
}
