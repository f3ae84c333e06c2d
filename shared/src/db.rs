//! Database access: the connection pool and the schema's migrator.

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::config::Settings;

/// The schema: every file of `migrations/`, embedded at compile time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// A pool sized for Lambda: one instance serves one request at a time, so it needs one or
/// two connections. It connects lazily (cold start does no I/O), gives up after an explicit
/// timeout (the request becomes a 503, the next one tries again), and pings a connection
/// before handing it out, since a frozen instance wakes up with sockets the server has closed.
pub fn pool(options: PgConnectOptions, settings: &Settings) -> PgPool {
    PgPoolOptions::new()
        .min_connections(0)
        .max_connections(settings.db_pool_max)
        .acquire_timeout(settings.db_acquire_timeout)
        .idle_timeout(std::time::Duration::from_secs(300))
        .test_before_acquire(true)
        .connect_lazy_with(options)
}
