//! Deployed, the function answers a CloudFormation custom resource request (every deploy)
//! at the request's response URL, or any other invocation (`make migrate-remote`) with its
//! report. Run outside Lambda (`make migrate`), it migrates once and prints the report.

use lambda_runtime::{LambdaEvent, service_fn};
use migrate::custom_resource::{Request, RequestType, send};
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
    lambda_runtime::run(service_fn(handle)).await
}

async fn handle(event: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
    let Some(request) = Request::from_event(&event.payload) else {
        return Ok(serde_json::to_value(migrate_once().await?)?);
    };
    let outcome = match request.request_type {
        RequestType::Delete => Ok(Value::Object(Default::default())),
        RequestType::Create | RequestType::Update => match migrate_once().await {
            Ok(report) => Ok(serde_json::to_value(report)?),
            Err(error) => {
                tracing::error!(error = format!("{error:#}"), "migration failed");
                Err(format!("{error:#}"))
            }
        },
    };
    let answer = request.answer(outcome);
    if let Err(error) = send(&request.response_url, &answer).await {
        // CloudFormation will time out on this resource; say why in the log.
        tracing::error!(
            error = format!("{error:#}"),
            "answering CloudFormation failed"
        );
        return Err(error.into());
    }
    Ok(serde_json::to_value(&answer)?)
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
