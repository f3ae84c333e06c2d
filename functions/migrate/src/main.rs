//! Deployed, the function answers any invocation (a deploy hook, `make migrate-remote`) by
//! migrating and returning its report. Run outside Lambda (`make migrate`), it migrates once
//! and prints the report.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use shared::config::MigrateConfig;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::lambda::init_tracing();
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        let report = migrate_once().await?;
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| async {
        migrate_once().await.map_err(lambda_runtime::Error::from)
    }))
    .await
}

async fn migrate_once() -> anyhow::Result<migrate::Report> {
    let config = MigrateConfig::from_env().await?;
    // The migrate function connects directly (not through a proxy) with one connection:
    // sqlx's migration lock is a session-level advisory lock.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(std::time::Duration::from_secs(30))
        .connect_with(config.database)
        .await?;
    migrate::run(
        &pool,
        config.first_admin.as_ref(),
        config.settings.bcrypt_cost,
    )
    .await
}
