//! The Lambda entry point every API function shares.

use axum::Router;

use crate::AppState;
use crate::config::ApiConfig;

/// Logs in the format Lambda is configured for (`AWS_LAMBDA_LOG_FORMAT=JSON` in the
/// template gives JSON lines), at `AWS_LAMBDA_LOG_LEVEL` / `RUST_LOG` (default INFO).
pub fn init_tracing() {
    lambda_runtime::tracing::init_default_subscriber();
}

/// Runs an API function: tracing, configuration and secrets once at cold start, a pool whose
/// first connection opens during init, then the Lambda runtime loop feeding API Gateway events
/// into `router`.
pub async fn run_api(router: fn(AppState) -> Router) -> Result<(), lambda_http::Error> {
    init_tracing();
    let config = ApiConfig::from_env().await?;
    let secret = config.database_secret.clone();
    let payments = crate::stripe::Payments::load(
        config.settings.payments.clone(),
        config.payment_keys.clone(),
    )
    .await?;
    let connect_at_init = config.settings.db_connect_at_init;
    let state = AppState::new(config).with_payments(payments);
    let pool = state.db.clone();
    if connect_at_init {
        connect_during_init(&pool).await;
    }
    let app = crate::db::reread_secret_on_rejected_password(router(state), pool, secret);
    lambda_http::run(app).await
}

/// The longest init waits for its connection: Lambda allows an init 10 s in all.
const INIT_CONNECT_BUDGET: std::time::Duration = std::time::Duration::from_secs(4);

/// Opens the pool's first connection (TCP, TLS, authentication) during init, which Lambda runs
/// on a whole vCPU (an on-demand function's init gets a burst of CPU), instead of in the first
/// customer's request, which gets the memory's share. Should init get no burst, the first
/// customer waits exactly as long as without it: the same work, done a moment earlier. A
/// database that cannot be reached within the budget is no init failure: requests open their
/// connections as usual.
async fn connect_during_init(pool: &sqlx::PgPool) {
    let budget = INIT_CONNECT_BUDGET.min(pool.options().get_acquire_timeout());
    match tokio::time::timeout(budget, pool.acquire()).await {
        Ok(Ok(_connection)) => {}
        Ok(Err(error)) => {
            tracing::warn!(%error, "no database connection during init; requests will connect");
        }
        Err(_) => tracing::warn!(
            budget_ms = budget.as_millis() as u64,
            "no database connection during init within its budget; requests will connect"
        ),
    }
}

/// Runs a function that needs neither secrets nor the database (the docs function).
pub async fn run(router: Router) -> Result<(), lambda_http::Error> {
    init_tracing();
    lambda_http::run(router).await
}
