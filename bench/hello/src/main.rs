//! The benchmarks' baseline: the least a function of this API can be. It reads the same two
//! secrets from Secrets Manager as the API functions (`APP_SECRET_ARN`, `DB_SECRET_ARN`), opens
//! the same kind of pool (its first connection during init, as theirs), and answers every
//! request with the result of `SELECT 1`.
//! Cold start, memory and package size of the real functions are compared with this.

use lambda_http::{Body, Error, Request, Response, service_fn};
use serde::Deserialize;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};

/// The database secret in the RDS format.
#[derive(Deserialize)]
struct DbSecret {
    username: String,
    password: String,
    host: String,
    port: u16,
    dbname: String,
}

async fn secret(client: &aws_sdk_secretsmanager::Client, arn: &str) -> Result<String, Error> {
    let output = client.get_secret_value().secret_id(arn).send().await?;
    Ok(output
        .secret_string()
        .ok_or("secret without a string")?
        .to_owned())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let app_arn = std::env::var("APP_SECRET_ARN")?;
    let db_arn = std::env::var("DB_SECRET_ARN")?;
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let (app, db) = tokio::try_join!(secret(&client, &app_arn), secret(&client, &db_arn))?;
    // The application secret is read as the functions read it, and not used further.
    let _: serde_json::Value = serde_json::from_str(&app)?;
    let db: DbSecret = serde_json::from_str(&db)?;
    let ssl_mode: PgSslMode = std::env::var("DB_SSL_MODE")
        .unwrap_or_else(|_| "require".into())
        .parse()?;
    let mut options = PgConnectOptions::new_without_pgpass();
    // An authority to verify the server with, as the functions take it.
    if let Ok(path) = std::env::var("DB_SSL_ROOT_CERT") {
        options = options.ssl_root_cert_from_pem(std::fs::read(path)?);
    }
    let options = options
        .host(&db.host)
        .port(db.port)
        .username(&db.username)
        .password(&db.password)
        .database(&db.dbname)
        .ssl_mode(ssl_mode);
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_lazy_with(options);
    // The first connection during init, as the functions open theirs (`DB_CONNECT_AT_INIT`).
    if std::env::var("DB_CONNECT_AT_INIT").as_deref() != Ok("false") {
        drop(pool.acquire().await?);
    }

    lambda_http::run(service_fn(move |_: Request| {
        let pool = pool.clone();
        async move {
            let one: i32 = sqlx::query_scalar("select 1").fetch_one(&pool).await?;
            Ok::<_, Error>(
                Response::builder()
                    .status(200)
                    .header("content-type", "application/json")
                    .body(Body::from(format!("{{\"one\":{one}}}")))?,
            )
        }
    }))
    .await
}
