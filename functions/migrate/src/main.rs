//! Deployed, the function answers a CloudFormation custom resource request (every deploy)
//! at the request's response URL, or any other invocation (`make migrate-remote`) with its
//! report. Run outside Lambda (`make migrate`), it migrates once and prints the report.

use std::time::Duration;

use lambda_runtime::{LambdaEvent, service_fn};
use migrate::custom_resource::{Request, handle};
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
    lambda_runtime::run(service_fn(invoked)).await
}

async fn invoked(event: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
    let Some(request) = Request::from_event(&event.payload) else {
        return Ok(serde_json::to_value(migrate_once().await?)?);
    };
    let budget = event
        .context
        .deadline()
        .duration_since(std::time::SystemTime::now())
        .unwrap_or(Duration::ZERO);
    let migration = async { Ok(serde_json::to_value(migrate_once().await?)?) };
    match handle(&request, budget, migration).await {
        Ok(answer) => Ok(serde_json::to_value(&answer)?),
        Err(error) => {
            // CloudFormation will time out on this resource; say why in the log.
            tracing::error!(
                error = format!("{error:#}"),
                "answering CloudFormation failed"
            );
            Err(error.into())
        }
    }
}

async fn migrate_once() -> anyhow::Result<migrate::Report> {
    let config = MigrateConfig::from_env().await?;
    let pool = migrate::connect(config.database, &config.settings).await?;
    let report = migrate::run(
        &pool,
        config.first_admin.as_ref(),
        config.settings.bcrypt_cost,
    )
    .await?;
    if let Some(role) = &config.api_role {
        migrate::open_api_role(&pool, role).await?;
    }
    Ok(report)
}
