//! The Lambda entry point every API function shares.

use axum::Router;

use crate::AppState;
use crate::config::ApiConfig;

/// Logs in the format Lambda is configured for (`AWS_LAMBDA_LOG_FORMAT=JSON` in the
/// template gives JSON lines), at `AWS_LAMBDA_LOG_LEVEL` / `RUST_LOG` (default INFO).
pub fn init_tracing() {
    lambda_runtime::tracing::init_default_subscriber();
}

/// Runs an API function: tracing, configuration and secrets once at cold start, a lazy
/// pool, then the Lambda runtime loop feeding API Gateway events into `router`.
pub async fn run_api(router: fn(AppState) -> Router) -> Result<(), lambda_http::Error> {
    init_tracing();
    let config = ApiConfig::from_env().await?;
    let secret = config.database_secret.clone();
    let payments = crate::stripe::Payments::load(
        config.settings.payments.clone(),
        config.payment_keys.clone(),
    )
    .await?;
    let state = AppState::new(config).with_payments(payments);
    let pool = state.db.clone();
    let app = crate::db::reread_secret_on_rejected_password(router(state), pool, secret);
    lambda_http::run(app).await
}

/// Runs a function that needs neither secrets nor the database (the docs function).
pub async fn run(router: Router) -> Result<(), lambda_http::Error> {
    init_tracing();
    lambda_http::run(router).await
}
