//! What every function of the cinema API shares: configuration and secrets, the database
//! pool and migrator, authentication, the error type, extractors, pagination, and the Lambda
//! entry point.

pub mod auth;
pub mod config;
pub mod constraints;
pub mod db;
pub mod error;
pub mod extract;
pub mod films;
pub mod http;
pub mod invoke;
pub mod lambda;
pub mod money;
pub mod openapi;
pub mod pagination;
pub mod rules;
pub mod stripe;
#[cfg(feature = "test-util")]
pub mod testing;
pub mod users;
pub mod validate;
pub mod variables;

use std::sync::Arc;

use axum::extract::FromRef;
use sqlx::PgPool;

pub use auth::{Admin, AuthKeys, AuthUser, MaybeAuthUser, Role, Staff};
pub use config::{ApiConfig, HoldLimits, Limits, PaymentKeys, PaymentSettings, Settings};
pub use db::MIGRATOR;
pub use error::{Error, ErrorCode, FieldError, Result, ResultExt};
pub use extract::{ClientAddress, Json, JsonOrForm, Path, Query};
pub use pagination::{Page, Paginated};

/// What every handler may need, built once per Lambda instance.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database pool.
    pub db: PgPool,
    /// Token and password settings.
    pub auth: Arc<AuthKeys>,
    /// Sign-in and registration limits.
    pub limits: Limits,
    /// Minutes before a screening's start by which a reservation must be paid.
    pub pay_by_minutes: i32,
    /// How many seats a customer may hold unpaid.
    pub hold_limits: HoldLimits,
    /// Selling online (unavailable until keys are configured).
    pub payments: Arc<stripe::Payments>,
}

impl AppState {
    /// The state of an API function, from its configuration.
    pub fn new(config: ApiConfig) -> Self {
        let pool = db::pool(config.database, &config.settings);
        Self::with_pool(pool, &config.jwt_secret, &config.settings)
    }

    /// The state around an existing pool (tests hand in their own database).
    pub fn with_pool(db: PgPool, jwt_secret: &secrecy::SecretString, settings: &Settings) -> Self {
        let auth = AuthKeys::new(
            jwt_secret,
            settings.access_token_ttl,
            settings.refresh_token_ttl,
            settings.bcrypt_cost,
        )
        .with_device_token_ttl(settings.device_token_ttl);
        Self {
            db,
            auth: Arc::new(auth),
            limits: settings.limits,
            pay_by_minutes: settings.pay_by_minutes,
            hold_limits: settings.hold_limits,
            payments: Arc::new(stripe::Payments::unavailable(settings.payments.clone())),
        }
    }

    /// The same state selling online through `payments`.
    pub fn with_payments(mut self, payments: stripe::Payments) -> Self {
        self.payments = Arc::new(payments);
        self
    }
}

impl FromRef<AppState> for PgPool {
    fn from_ref(state: &AppState) -> Self {
        state.db.clone()
    }
}

impl FromRef<AppState> for Arc<AuthKeys> {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}
