//! Database access: the connection pool and the schema's migrator.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Request;
use axum::middleware::Next;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::config::{DatabaseSecret, ProcessEnv, Settings};
use crate::error::PasswordRejected;

/// The schema: every file of `migrations/`, embedded at compile time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// A pool sized for Lambda: one instance serves one request at a time, so it needs one or
/// two connections. It connects lazily (cold start does no I/O), gives up after an explicit
/// timeout (the request becomes a 503, the next one tries again), and pings a connection
/// before handing it out, since a frozen instance wakes up with sockets the server has closed.
///
/// Each new connection gets the statement and lock timeouts of `settings`, if any, in one
/// statement (`set_config`), never as startup options: RDS Proxy refuses a connection that
/// sends options, and a `SET` works through any proxy (RDS Proxy then pins the client to its
/// connection) and against any server. The server cancels a statement or a lock wait past its
/// budget, answered as a 503, never cut off by the function's own timeout after a commit the
/// client did not see.
pub fn pool(options: PgConnectOptions, settings: &Settings) -> PgPool {
    let millis = |limit: Option<Duration>| limit.map(|limit| limit.as_millis().to_string());
    let (statement, lock) = (
        millis(settings.db_statement_timeout),
        millis(settings.db_lock_timeout),
    );
    let mut pool = PgPoolOptions::new()
        .min_connections(0)
        .max_connections(settings.db_pool_max)
        .acquire_timeout(settings.db_acquire_timeout)
        .idle_timeout(settings.db_idle_timeout)
        .test_before_acquire(true);
    if statement.is_some() || lock.is_some() {
        pool = pool.after_connect(move |connection, _| {
            let (statement, lock) = (statement.clone(), lock.clone());
            Box::pin(async move {
                sqlx::query(
                    "select set_config('statement_timeout', coalesce($1, current_setting('statement_timeout')), false),
                            set_config('lock_timeout', coalesce($2, current_setting('lock_timeout')), false)",
                )
                .bind(statement)
                .bind(lock)
                .execute(connection)
                .await
                .map(|_| ())
            })
        });
    }
    pool.connect_lazy_with(options)
}

/// The least time between two reads of the database secret after rejected passwords, so a
/// database that refuses every login does not turn each request into a Secrets Manager call.
const REREAD_INTERVAL: Duration = Duration::from_secs(5);

/// Keeps a warm instance working across a rotation of the database password: when a request
/// fails because the database refused the password (answered as one 503), the secret is read
/// again and the pool's new connections use what it says now. Connections already open keep
/// working; nothing restarts.
pub fn reread_secret_on_rejected_password(
    router: Router,
    pool: PgPool,
    secret: Option<DatabaseSecret>,
) -> Router {
    let Some(secret) = secret else {
        return router;
    };
    let reread = Arc::new(Reread {
        pool,
        secret,
        last: tokio::sync::Mutex::new(None),
    });
    router.layer(axum::middleware::from_fn(
        move |request: Request, next: Next| {
            let reread = reread.clone();
            async move {
                let response = next.run(request).await;
                if response.extensions().get::<PasswordRejected>().is_some() {
                    reread.run().await;
                }
                response
            }
        },
    ))
}

struct Reread {
    pool: PgPool,
    secret: DatabaseSecret,
    last: tokio::sync::Mutex<Option<Instant>>,
}

impl Reread {
    async fn run(&self) {
        let mut last = self.last.lock().await;
        if last.is_some_and(|at| at.elapsed() < REREAD_INTERVAL) {
            return;
        }
        *last = Some(Instant::now());
        match self.secret.connect_options(&ProcessEnv).await {
            Ok(options) => {
                self.pool.set_connect_options(options);
                tracing::warn!("the database refused the password: read the secret again");
            }
            Err(error) => tracing::error!(%error, "reading the database secret again failed"),
        }
    }
}
