//! Configuration: secrets from AWS Secrets Manager (deployed) or from the environment (local
//! mode), and tunables from plain environment variables.
//!
//! Deployed functions get `APP_SECRET_ARN` (JSON with `jwt_secret`) and `DB_SECRET_ARN` (the
//! RDS secret format: `username, password, host, port, dbname`); both are fetched once at
//! cold start. Aurora's managed master secret holds only `username` and `password`: `DB_HOST`,
//! `DB_PORT` and `DB_NAME` supply (or override) the rest. When neither ARN is set the function
//! runs in local mode and reads `DATABASE_URL` and `JWT_SECRET` instead; it says so once in the
//! log. No `.env` file is read anywhere.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sqlx::postgres::{PgConnectOptions, PgSslMode};

/// Why the configuration could not be loaded. Messages name variables and secrets, never
/// their values.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required environment variable is not set.
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    /// An environment variable is set to something unusable.
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    /// A secret could not be read from Secrets Manager.
    #[error("secret {arn} could not be read: {reason}")]
    Secret { arn: String, reason: String },
}

/// Where configuration is read from: the process environment in production, a map in tests.
pub trait Env {
    /// The value of `name`, if set and not empty.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|value| !value.is_empty())
    }
}

impl<const N: usize> Env for [(&str, &str); N] {
    fn var(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    }
}

/// Tunables: plain environment variables with defaults.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `ACCESS_TOKEN_TTL_SECONDS` (default 900).
    pub access_token_ttl: Duration,
    /// `REFRESH_TOKEN_TTL_SECONDS` (default 30 days).
    pub refresh_token_ttl: Duration,
    /// `BCRYPT_COST` (default 12, 4–31).
    pub bcrypt_cost: u32,
    /// `DB_POOL_MAX_CONNECTIONS` (default 2: one Lambda instance serves one request at a time).
    pub db_pool_max: u32,
    /// `DB_ACQUIRE_TIMEOUT_SECONDS` (default 5).
    pub db_acquire_timeout: Duration,
    /// `DB_IDLE_TIMEOUT_SECONDS` (default 300): a pooled connection idle this long is closed,
    /// giving its slot back to the database's other clients.
    pub db_idle_timeout: Duration,
    /// `DB_CONNECT_AT_INIT` (default true): the Lambda entry point opens the pool's first
    /// connection during init.
    pub db_connect_at_init: bool,
    /// `DB_STATEMENT_TIMEOUT_MS`: the server cancels a statement running longer (none if unset).
    pub db_statement_timeout: Option<Duration>,
    /// `DB_LOCK_TIMEOUT_MS`: the server gives up a lock wait longer than this (none if unset).
    pub db_lock_timeout: Option<Duration>,
    /// Sign-in and registration limits.
    pub limits: Limits,
    /// `RESERVATION_PAY_BY_MINUTES` (default 30): an unpaid reservation lapses this long
    /// before its screening starts.
    pub pay_by_minutes: i32,
    /// How many seats a customer may hold unpaid.
    pub hold_limits: HoldLimits,
    /// `DEVICE_TOKEN_TTL_SECONDS` (default 365 days): how long a device token keeps a device
    /// trusted for sign-in.
    pub device_token_ttl: Duration,
    /// Selling online.
    pub payments: PaymentSettings,
}

/// Selling online: where the provider is and the rules of checkout and refunds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentSettings {
    /// `CURRENCY` (default `eur`): ISO 4217, lowercase.
    pub currency: String,
    /// `CHECKOUT_HOLD_MINUTES` (default 10): a hold in checkout lapses this long after it is
    /// made, or at its usual `pay_by` if that is earlier.
    pub checkout_minutes: i32,
    /// `REFUND_CUTOFF_MINUTES` (default 120): customers cancel online purchases, refunded,
    /// until this long before the start; staff until the start.
    pub refund_cutoff_minutes: i32,
    /// `STRIPE_API_BASE` (default the provider's API).
    pub api_base: String,
    /// `PAYMENTS_FUNCTION`: the function outside the VPC that calls the provider (unset: call it
    /// directly; empty: this deployment sells nothing online).
    pub function: Option<String>,
}

impl PaymentSettings {
    /// Reads them; a currency that is not three lowercase letters is an error.
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let currency = env
            .var("CURRENCY")
            .unwrap_or_else(|| crate::variables::default_of("CURRENCY").to_owned());
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(ConfigError::Invalid {
                name: "CURRENCY",
                reason: "must be an ISO 4217 code in lowercase (eur)".into(),
            });
        }
        let api_base = env
            .var("STRIPE_API_BASE")
            .unwrap_or_else(|| crate::variables::default_of("STRIPE_API_BASE").to_owned());
        if !(api_base.starts_with("https://") || api_base.starts_with("http://")) {
            return Err(ConfigError::Invalid {
                name: "STRIPE_API_BASE",
                reason: "must be an http(s) URL".into(),
            });
        }
        Ok(Self {
            currency,
            checkout_minutes: number(env, "CHECKOUT_HOLD_MINUTES")?,
            refund_cutoff_minutes: number(env, "REFUND_CUTOFF_MINUTES")?,
            api_base: api_base.trim_end_matches('/').to_owned(),
            function: env.var("PAYMENTS_FUNCTION"),
        })
    }
}

/// The payment provider's keys (secrets, redacted in debug output): none configured, no online
/// sales.
#[derive(Debug, Clone, Default)]
pub struct PaymentKeys {
    /// The account's secret key (`sk_...`).
    pub secret_key: Option<SecretString>,
    /// The webhook endpoint's signing secret (`whsec_...`).
    pub webhook_secret: Option<SecretString>,
}

impl PaymentKeys {
    /// The keys where the function finds them: the application secret (`APP_SECRET_ARN`) when
    /// deployed, the environment in local mode.
    pub async fn load(env: &impl Env) -> Result<Self, ConfigError> {
        match env.var("APP_SECRET_ARN") {
            Some(arn) => {
                let app = SecretsManager::new().await.get::<AppSecret>(&arn).await?;
                Ok(Self {
                    secret_key: app.stripe_secret_key,
                    webhook_secret: app.stripe_webhook_secret,
                })
            }
            None => Ok(Self::from_env(env)),
        }
    }

    /// Local mode: `STRIPE_SECRET_KEY`, `STRIPE_WEBHOOK_SECRET`.
    pub fn from_env(env: &impl Env) -> Self {
        let secret = |name| {
            env.var(name)
                .filter(|v| !v.is_empty())
                .map(SecretString::from)
        };
        Self {
            secret_key: secret("STRIPE_SECRET_KEY"),
            webhook_secret: secret("STRIPE_WEBHOOK_SECRET"),
        }
    }
}

/// How many seats one customer may hold unpaid at once: a seat hoarder cannot keep a screening
/// from everyone else until its pay-by time. Staff selling at the till are not limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldLimits {
    /// `HOLD_LIMIT_SEATS` (default 20): over every screening that has not started.
    pub seats: i32,
    /// `HOLD_LIMIT_PER_SCREENING` (default 10): of one screening.
    pub per_screening: i32,
}

impl Default for HoldLimits {
    /// The defaults of [`crate::variables::VARIABLES`].
    fn default() -> Self {
        Settings::defaults().hold_limits
    }
}

/// How many sign-in and registration attempts are allowed before the answer is 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `SIGN_IN_ACCOUNT_LIMIT` (default 5): failed sign-ins for one username before it locks.
    pub sign_in_per_account: i32,
    /// `SIGN_IN_ADDRESS_LIMIT` (default 50): failed sign-ins from one address before it locks.
    pub sign_in_per_address: i32,
    /// `SIGN_IN_WINDOW_SECONDS` (default 900): failures count until this long has passed
    /// without another.
    pub sign_in_window: Duration,
    /// `SIGN_IN_LOCKOUT_SECONDS` (default 30): the first lock-out; each further failure
    /// doubles it.
    pub first_lockout: Duration,
    /// `SIGN_IN_MAX_LOCKOUT_SECONDS` (default 900): the longest lock-out.
    pub max_lockout: Duration,
    /// `REGISTRATION_ADDRESS_LIMIT` (default 300): registrations from one address per window.
    pub registrations_per_address: i32,
    /// `REGISTRATION_WINDOW_SECONDS` (default 3600).
    pub registration_window: Duration,
}

impl Default for Limits {
    /// The defaults of [`crate::variables::VARIABLES`].
    fn default() -> Self {
        Settings::defaults().limits
    }
}

impl Limits {
    /// Reads the limits; an unparsable value is an error naming its variable.
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        // The database keeps a day of attempts (`tidy_throttles`): no window is longer.
        let seconds = |name| match number::<u64>(env, name)? {
            secs if secs > 86_400 => Err(ConfigError::Invalid {
                name,
                reason: "must be at most 86400 (a day)".into(),
            }),
            secs => Ok(Duration::from_secs(secs)),
        };
        Ok(Self {
            sign_in_per_account: number(env, "SIGN_IN_ACCOUNT_LIMIT")?,
            sign_in_per_address: number(env, "SIGN_IN_ADDRESS_LIMIT")?,
            sign_in_window: seconds("SIGN_IN_WINDOW_SECONDS")?,
            first_lockout: seconds("SIGN_IN_LOCKOUT_SECONDS")?,
            max_lockout: seconds("SIGN_IN_MAX_LOCKOUT_SECONDS")?,
            registrations_per_address: number(env, "REGISTRATION_ADDRESS_LIMIT")?,
            registration_window: seconds("REGISTRATION_WINDOW_SECONDS")?,
        })
    }
}

impl Settings {
    /// The settings with no variable set: the defaults of [`crate::variables::VARIABLES`].
    pub fn defaults() -> Self {
        Self::from_env(&[("", ""); 0]).expect("the table's defaults are valid settings")
    }

    /// Reads the tunables; an unparsable value is an error naming its variable. A variable not
    /// set takes its default from [`crate::variables::VARIABLES`].
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let bcrypt_cost = number(env, "BCRYPT_COST")?;
        if !(4..=31).contains(&bcrypt_cost) {
            return Err(ConfigError::Invalid {
                name: "BCRYPT_COST",
                reason: "must be between 4 and 31".into(),
            });
        }
        let db_pool_max = number(env, "DB_POOL_MAX_CONNECTIONS")?;
        if db_pool_max < 2 {
            // An idempotent booking that loses a race for a seat reads who won on a second
            // connection (its own is in a transaction the failed statement aborted).
            return Err(ConfigError::Invalid {
                name: "DB_POOL_MAX_CONNECTIONS",
                reason: "must be at least 2".into(),
            });
        }
        Ok(Self {
            access_token_ttl: Duration::from_secs(number(env, "ACCESS_TOKEN_TTL_SECONDS")?),
            refresh_token_ttl: Duration::from_secs(number(env, "REFRESH_TOKEN_TTL_SECONDS")?),
            bcrypt_cost,
            db_pool_max,
            db_acquire_timeout: Duration::from_secs(number(env, "DB_ACQUIRE_TIMEOUT_SECONDS")?),
            db_idle_timeout: Duration::from_secs(number(env, "DB_IDLE_TIMEOUT_SECONDS")?),
            db_connect_at_init: flag(env, "DB_CONNECT_AT_INIT")?,
            db_statement_timeout: optional_millis(env, "DB_STATEMENT_TIMEOUT_MS")?,
            db_lock_timeout: optional_millis(env, "DB_LOCK_TIMEOUT_MS")?,
            limits: Limits::from_env(env)?,
            pay_by_minutes: number(env, "RESERVATION_PAY_BY_MINUTES")?,
            hold_limits: HoldLimits {
                seats: number(env, "HOLD_LIMIT_SEATS")?,
                per_screening: number(env, "HOLD_LIMIT_PER_SCREENING")?,
            },
            device_token_ttl: Duration::from_secs(number(env, "DEVICE_TOKEN_TTL_SECONDS")?),
            payments: PaymentSettings::from_env(env)?,
        })
    }
}

/// A positive number from variable `name`, or its default in the table of variables.
fn number<T: FromStr + PartialOrd + Default>(
    env: &impl Env,
    name: &'static str,
) -> Result<T, ConfigError> {
    let raw = env
        .var(name)
        .unwrap_or_else(|| crate::variables::default_of(name).to_owned());
    match raw.trim().parse::<T>() {
        Ok(value) if value > T::default() => Ok(value),
        _ => Err(ConfigError::Invalid {
            name,
            reason: "must be a positive whole number".into(),
        }),
    }
}

/// `true` or `false` from variable `name`, or its default in the table of variables.
fn flag(env: &impl Env, name: &'static str) -> Result<bool, ConfigError> {
    let raw = env
        .var(name)
        .unwrap_or_else(|| crate::variables::default_of(name).to_owned());
    raw.trim().parse().map_err(|_| ConfigError::Invalid {
        name,
        reason: "must be true or false".into(),
    })
}

fn optional_millis(env: &impl Env, name: &'static str) -> Result<Option<Duration>, ConfigError> {
    match env.var(name) {
        None => Ok(None),
        Some(_) => number::<u64>(env, name).map(|ms| Some(Duration::from_millis(ms))),
    }
}

/// Configuration of an API function.
pub struct ApiConfig {
    /// How to reach the database.
    pub database: PgConnectOptions,
    /// The database secret, to read again after a password rotation (none in local mode).
    pub database_secret: Option<DatabaseSecret>,
    /// The key access tokens are signed with.
    pub jwt_secret: SecretString,
    /// The payment provider's keys.
    pub payment_keys: PaymentKeys,
    /// Tunables.
    pub settings: Settings,
}

/// Configuration of the migrate function.
pub struct MigrateConfig {
    /// How to reach the database.
    pub database: PgConnectOptions,
    /// Credentials of the first admin, created if no admin exists.
    pub first_admin: Option<AdminCredentials>,
    /// The API functions' role and its password (`API_DB_SECRET_ARN`), given LOGIN with it.
    pub api_role: Option<RoleCredentials>,
    /// Tunables (the bcrypt cost of the first admin's hash).
    pub settings: Settings,
}

// sqlx's `PgConnectOptions` prints its password in `Debug`: these print where the database
// is, never how to log in to it.
impl std::fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiConfig")
            .field("database", &DatabaseTarget(&self.database))
            .field("database_secret", &self.database_secret)
            .field("jwt_secret", &self.jwt_secret)
            .field("payment_keys", &self.payment_keys)
            .field("settings", &self.settings)
            .finish()
    }
}

impl std::fmt::Debug for MigrateConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MigrateConfig")
            .field("database", &DatabaseTarget(&self.database))
            .field("first_admin", &self.first_admin)
            .field("api_role", &self.api_role)
            .field("settings", &self.settings)
            .finish()
    }
}

struct DatabaseTarget<'a>(&'a PgConnectOptions);

impl std::fmt::Debug for DatabaseTarget<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let options = self.0;
        write!(
            f,
            "{}@{}:{}/{}",
            options.get_username(),
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or_default()
        )
    }
}

/// The first admin's credentials.
#[derive(Debug, Clone, Deserialize)]
pub struct AdminCredentials {
    /// Username of the admin account.
    pub username: String,
    /// Its password.
    pub password: SecretString,
    /// Its full name (default "Cinema Administrator").
    #[serde(default = "default_admin_name")]
    pub full_name: String,
}

/// A database role and its password, as a secret the stack creates holds them.
#[derive(Debug, Clone, Deserialize)]
pub struct RoleCredentials {
    /// The role (`cinema_api`).
    pub username: String,
    /// Its password.
    pub password: SecretString,
}

fn default_admin_name() -> String {
    "Cinema Administrator".to_owned()
}

#[derive(Deserialize)]
struct AppSecret {
    jwt_secret: SecretString,
    #[serde(default)]
    stripe_secret_key: Option<SecretString>,
    #[serde(default)]
    stripe_webhook_secret: Option<SecretString>,
}

/// The RDS secret format. RDS writes `username, password, host, port, dbname`; Aurora's
/// managed master secret only `username` and `password`, so the rest may come from the
/// environment instead (`DB_HOST`, `DB_PORT`, `DB_NAME`).
#[derive(Deserialize)]
struct DbSecret {
    username: String,
    password: SecretString,
    host: Option<String>,
    #[serde(default, deserialize_with = "port_number")]
    port: Option<u16>,
    dbname: Option<String>,
}

fn port_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<u16>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Port {
        Number(u16),
        Text(String),
    }
    match Port::deserialize(deserializer)? {
        Port::Number(port) => Ok(Some(port)),
        Port::Text(text) => text.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// Reads secrets from Secrets Manager through the AWS SDK. `aws-config` honours
/// `AWS_ENDPOINT_URL_SECRETS_MANAGER` / `AWS_ENDPOINT_URL`, so tests point this very code at
/// a local emulator.
struct SecretsManager(aws_sdk_secretsmanager::Client);

impl SecretsManager {
    async fn new() -> Self {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Self(aws_sdk_secretsmanager::Client::new(&config))
    }

    async fn get<T: DeserializeOwned>(&self, arn: &str) -> Result<T, ConfigError> {
        let error = |reason: String| ConfigError::Secret {
            arn: arn.to_owned(),
            reason,
        };
        let output = self
            .0
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            .map_err(|e| {
                error(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string())
            })?;
        let text = output
            .secret_string()
            .ok_or_else(|| error("the secret has no string value".into()))?;
        // Only the path of a bad field is reported: serde's messages can quote the value.
        serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(text))
            .map_err(|e| error(format!("unexpected JSON at `{}`", e.path())))
    }
}

/// Where and how to reach the database, from its secret and the environment.
#[derive(Clone)]
pub struct DatabaseSecret {
    arn: String,
    secrets: Arc<SecretsManager>,
}

impl std::fmt::Debug for DatabaseSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseSecret")
            .field("arn", &self.arn)
            .finish_non_exhaustive()
    }
}

impl DatabaseSecret {
    /// Reads the secret again and builds the connection options from it and `env`: what a
    /// warm instance does when the database refuses its password after a rotation.
    pub async fn connect_options(&self, env: &impl Env) -> Result<PgConnectOptions, ConfigError> {
        let secret = self.secrets.get::<DbSecret>(&self.arn).await?;
        database_from_secret(&self.arn, secret, env)
    }
}

/// The root certificate authorities of Amazon RDS (`shared/certs/README.md`), with which
/// `verify-full` checks a cluster's own certificate; RDS Proxy's chain to the Amazon Root CAs of
/// the Mozilla roots.
pub const RDS_CERTIFICATE_AUTHORITIES: &[u8] = include_bytes!("../certs/rds-global-bundle.pem");

fn database_from_secret(
    arn: &str,
    secret: DbSecret,
    env: &impl Env,
) -> Result<PgConnectOptions, ConfigError> {
    let ssl_mode = match env.var("DB_SSL_MODE") {
        // Verified against the bundled roots: RDS Proxy presents an Amazon Root CA certificate.
        None => crate::variables::default_of("DB_SSL_MODE")
            .parse()
            .unwrap_or(PgSslMode::VerifyFull),
        Some(mode) => mode.parse().map_err(|_| ConfigError::Invalid {
            name: "DB_SSL_MODE",
            reason: "not a PostgreSQL sslmode".into(),
        })?,
    };
    let missing = |field: &str, variable: &str| ConfigError::Secret {
        arn: arn.to_owned(),
        reason: format!("it has no `{field}` and {variable} is not set"),
    };
    // The environment wins: `DB_HOST` points the functions at RDS Proxy while the secret (if it
    // names a host at all) names the cluster.
    let host = env
        .var("DB_HOST")
        .or(secret.host)
        .ok_or_else(|| missing("host", "DB_HOST"))?;
    let port = match env.var("DB_PORT") {
        Some(port) => port.trim().parse().map_err(|_| ConfigError::Invalid {
            name: "DB_PORT",
            reason: "not a port number".into(),
        })?,
        None => secret.port.ok_or_else(|| missing("port", "DB_PORT"))?,
    };
    let dbname = env
        .var("DB_NAME")
        .or(secret.dbname)
        .ok_or_else(|| missing("dbname", "DB_NAME"))?;
    // Added to the Mozilla roots: a cluster's own certificate chains to an RDS CA, or to the
    // operator's own authority.
    let authorities = match env.var("DB_SSL_ROOT_CERT") {
        Some(path) => std::fs::read(&path)
            .ok()
            .filter(|pem| !pem.is_empty())
            .ok_or_else(|| ConfigError::Invalid {
                name: "DB_SSL_ROOT_CERT",
                reason: format!("{path} cannot be read or is empty"),
            })?,
        None => RDS_CERTIFICATE_AUTHORITIES.to_vec(),
    };
    let options = PgConnectOptions::new_without_pgpass()
        .ssl_root_cert_from_pem(authorities)
        .host(&host)
        .port(port)
        .username(&secret.username)
        .password(secret.password.expose_secret())
        .database(&dbname)
        .ssl_mode(ssl_mode)
        .application_name(
            env.var("AWS_LAMBDA_FUNCTION_NAME")
                .as_deref()
                .unwrap_or("cinema"),
        );
    Ok(options)
}

fn database_from_url(env: &impl Env) -> Result<PgConnectOptions, ConfigError> {
    let url = SecretString::from(
        env.var("DATABASE_URL")
            .ok_or(ConfigError::Missing("DATABASE_URL"))?,
    );
    PgConnectOptions::from_str(url.expose_secret()).map_err(|_| ConfigError::Invalid {
        name: "DATABASE_URL",
        reason: "not a PostgreSQL URL".into(),
    })
}

fn announce_local_mode() {
    tracing::info!(
        "local mode: no secret ARNs set, reading DATABASE_URL and JWT_SECRET from the environment"
    );
}

impl ApiConfig {
    /// Loads the configuration from the process environment (and Secrets Manager).
    pub async fn from_env() -> Result<Self, ConfigError> {
        Self::load(&ProcessEnv).await
    }

    /// Loads the configuration from `env` (and Secrets Manager when ARNs are given).
    pub async fn load(env: &impl Env) -> Result<Self, ConfigError> {
        let settings = Settings::from_env(env)?;
        match (env.var("APP_SECRET_ARN"), env.var("DB_SECRET_ARN")) {
            (Some(app_arn), Some(db_arn)) => {
                let secrets = Arc::new(SecretsManager::new().await);
                let (app, db) = tokio::try_join!(
                    secrets.get::<AppSecret>(&app_arn),
                    secrets.get::<DbSecret>(&db_arn)
                )?;
                Ok(Self {
                    database: database_from_secret(&db_arn, db, env)?,
                    database_secret: Some(DatabaseSecret {
                        arn: db_arn,
                        secrets,
                    }),
                    jwt_secret: app.jwt_secret,
                    payment_keys: PaymentKeys {
                        secret_key: app.stripe_secret_key,
                        webhook_secret: app.stripe_webhook_secret,
                    },
                    settings,
                })
            }
            (None, None) => {
                announce_local_mode();
                let jwt_secret = SecretString::from(
                    env.var("JWT_SECRET")
                        .ok_or(ConfigError::Missing("JWT_SECRET"))?,
                );
                if jwt_secret.expose_secret().len() < 32 {
                    return Err(ConfigError::Invalid {
                        name: "JWT_SECRET",
                        reason: "must be at least 32 characters".into(),
                    });
                }
                Ok(Self {
                    database: database_from_url(env)?,
                    database_secret: None,
                    jwt_secret,
                    payment_keys: PaymentKeys::from_env(env),
                    settings,
                })
            }
            (None, Some(_)) => Err(ConfigError::Missing("APP_SECRET_ARN")),
            (Some(_), None) => Err(ConfigError::Missing("DB_SECRET_ARN")),
        }
    }
}

impl MigrateConfig {
    /// Loads the configuration from the process environment (and Secrets Manager).
    pub async fn from_env() -> Result<Self, ConfigError> {
        Self::load(&ProcessEnv).await
    }

    /// Deployed: `DB_SECRET_ARN`, and `ADMIN_SECRET_ARN` (JSON `username`, `password`,
    /// optional `full_name`) for the first admin. Local: `DATABASE_URL`, and
    /// `FIRST_ADMIN_USERNAME` / `FIRST_ADMIN_PASSWORD` if an admin should be created.
    pub async fn load(env: &impl Env) -> Result<Self, ConfigError> {
        let settings = Settings::from_env(env)?;
        if let Some(db_arn) = env.var("DB_SECRET_ARN") {
            let secrets = SecretsManager::new().await;
            let db = secrets.get::<DbSecret>(&db_arn).await?;
            let first_admin = match env.var("ADMIN_SECRET_ARN") {
                Some(arn) => Some(secrets.get::<AdminCredentials>(&arn).await?),
                None => None,
            };
            let api_role = match env.var("API_DB_SECRET_ARN") {
                Some(arn) => Some(secrets.get::<RoleCredentials>(&arn).await?),
                None => None,
            };
            return Ok(Self {
                database: database_from_secret(&db_arn, db, env)?,
                first_admin,
                api_role,
                settings,
            });
        }
        announce_local_mode();
        let first_admin = match (
            env.var("FIRST_ADMIN_USERNAME"),
            env.var("FIRST_ADMIN_PASSWORD"),
        ) {
            (Some(username), Some(password)) => Some(AdminCredentials {
                username,
                password: SecretString::from(password),
                full_name: env
                    .var("FIRST_ADMIN_FULL_NAME")
                    .unwrap_or_else(default_admin_name),
            }),
            (None, None) => None,
            (Some(_), None) => return Err(ConfigError::Missing("FIRST_ADMIN_PASSWORD")),
            (None, Some(_)) => return Err(ConfigError::Missing("FIRST_ADMIN_USERNAME")),
        };
        Ok(Self {
            database: database_from_url(env)?,
            first_admin,
            api_role: None,
            settings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_have_defaults_and_name_bad_variables() {
        let settings = Settings::from_env(&[("X", "1")]).expect("defaults");
        assert_eq!(settings.access_token_ttl, Duration::from_secs(900));
        assert_eq!(settings.bcrypt_cost, 12);
        assert_eq!(settings.db_pool_max, 2);
        let error = Settings::from_env(&[("BCRYPT_COST", "lots")]).unwrap_err();
        assert!(error.to_string().contains("BCRYPT_COST"), "{error}");
        let error = Settings::from_env(&[("BCRYPT_COST", "3")]).unwrap_err();
        assert!(error.to_string().contains("BCRYPT_COST"), "{error}");
        assert_eq!(settings.limits, Limits::default());
        assert_eq!(settings.limits.sign_in_per_account, 5);
        assert_eq!(settings.hold_limits, HoldLimits::default());
        assert_eq!(settings.hold_limits.seats, 20);
        assert_eq!(settings.hold_limits.per_screening, 10);
        let error = Settings::from_env(&[("HOLD_LIMIT_SEATS", "0")]).unwrap_err();
        assert!(error.to_string().contains("HOLD_LIMIT_SEATS"), "{error}");
        let error = Settings::from_env(&[("SIGN_IN_WINDOW_SECONDS", "90000")]).unwrap_err();
        assert!(error.to_string().contains("a day"), "{error}");
        let error = Settings::from_env(&[("SIGN_IN_ADDRESS_LIMIT", "-1")]).unwrap_err();
        assert!(
            error.to_string().contains("SIGN_IN_ADDRESS_LIMIT"),
            "{error}"
        );
        let error = Settings::from_env(&[("ACCESS_TOKEN_TTL_SECONDS", "0")]).unwrap_err();
        assert!(
            error.to_string().contains("ACCESS_TOKEN_TTL_SECONDS"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn local_mode_reads_the_environment_and_never_prints_secrets() {
        let env = [
            (
                "DATABASE_URL",
                "postgres://cinema:db-password-xyz@localhost:5432/cinema",
            ),
            (
                "JWT_SECRET",
                "a-very-long-local-development-secret-0123456789",
            ),
        ];
        let config = ApiConfig::load(&env).await.expect("local config");
        let printed = format!("{config:?}");
        assert!(!printed.contains("db-password-xyz"), "{printed}");
        assert!(!printed.contains("a-very-long-local"), "{printed}");
    }

    #[tokio::test]
    async fn local_mode_requires_its_variables() {
        let error = ApiConfig::load(&[("JWT_SECRET", "x".repeat(40).as_str())])
            .await
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "environment variable DATABASE_URL is not set"
        );
        let error = ApiConfig::load(&[
            ("DATABASE_URL", "postgres://localhost/db"),
            ("JWT_SECRET", "short"),
        ])
        .await
        .unwrap_err();
        assert!(error.to_string().contains("JWT_SECRET"));
        let error = ApiConfig::load(&[("DB_SECRET_ARN", "arn:x")])
            .await
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "environment variable APP_SECRET_ARN is not set"
        );
    }

    #[tokio::test]
    async fn migrate_config_wants_both_admin_variables_or_neither() {
        let env = [
            ("DATABASE_URL", "postgres://localhost/db"),
            ("FIRST_ADMIN_USERNAME", "root"),
        ];
        let error = MigrateConfig::load(&env).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "environment variable FIRST_ADMIN_PASSWORD is not set"
        );
        let config = MigrateConfig::load(&[("DATABASE_URL", "postgres://localhost/db")])
            .await
            .expect("config");
        assert!(config.first_admin.is_none());
    }

    #[test]
    fn rds_secrets_accept_the_port_as_number_or_text() {
        for text in [
            r#"{"username":"u","password":"p","host":"h","port":5432,"dbname":"d"}"#,
            r#"{"username":"u","password":"p","host":"h","port":"5432","dbname":"d"}"#,
        ] {
            let secret: DbSecret = serde_json::from_str(text).expect("secret");
            assert_eq!(secret.port, Some(5432));
        }
    }

    #[test]
    fn a_root_certificate_file_that_cannot_be_read_stops_the_start() {
        let env = [
            ("DB_HOST", "db.internal"),
            ("DB_PORT", "5432"),
            ("DB_NAME", "cinema"),
            ("DB_SSL_ROOT_CERT", "/nonexistent/authorities.pem"),
        ];
        let error = database_from_secret("arn:db", aurora_secret(), &env).expect_err("refused");
        assert!(matches!(
            error,
            ConfigError::Invalid {
                name: "DB_SSL_ROOT_CERT",
                ..
            }
        ));
    }

    fn aurora_secret() -> DbSecret {
        // What Aurora's managed master secret holds: nothing but the credentials.
        serde_json::from_str(r#"{"username":"cinema","password":"p"}"#).expect("secret")
    }

    #[test]
    fn aurora_secrets_take_host_port_and_database_from_the_environment() {
        let env = [
            ("DB_HOST", "proxy.internal"),
            ("DB_PORT", "5432"),
            ("DB_NAME", "cinema"),
        ];
        let options = database_from_secret("arn:db", aurora_secret(), &env).expect("options");
        assert_eq!(
            (
                options.get_host(),
                options.get_port(),
                options.get_database(),
                options.get_username()
            ),
            ("proxy.internal", 5432, Some("cinema"), "cinema")
        );
        // Verified TLS unless told otherwise.
        assert!(matches!(options.get_ssl_mode(), PgSslMode::VerifyFull));
    }

    #[test]
    fn a_secret_without_a_host_names_what_is_missing() {
        let error = database_from_secret("arn:db", aurora_secret(), &[("DB_HOST", "h")])
            .map(|_| ())
            .expect_err("no port");
        let message = error.to_string();
        assert!(
            message.contains("arn:db") && message.contains("`port`") && message.contains("DB_PORT"),
            "{message}"
        );
        let error = database_from_secret("arn:db", aurora_secret(), &[("X", "1")])
            .map(|_| ())
            .expect_err("no host");
        assert!(error.to_string().contains("DB_HOST"), "{error}");
    }

    #[test]
    fn the_bundled_rds_authorities_are_certificates_rustls_takes_as_roots() {
        use base64::Engine as _;
        let text = std::str::from_utf8(RDS_CERTIFICATE_AUTHORITIES).expect("PEM");
        let mut roots = rustls::RootCertStore::empty();
        let mut names = String::new();
        for block in text.split("-----BEGIN CERTIFICATE-----").skip(1) {
            let body: String = block
                .split("-----END CERTIFICATE-----")
                .next()
                .unwrap_or_default()
                .split_whitespace()
                .collect();
            let der = base64::engine::general_purpose::STANDARD
                .decode(body)
                .expect("base64");
            names.push_str(&String::from_utf8_lossy(&der));
            roots
                .add(rustls::pki_types::CertificateDer::from(der))
                .expect("a root rustls accepts");
        }
        assert_eq!(roots.len(), 81);
        for name in [
            "Amazon RDS us-east-1 Root CA RSA2048 G1",
            "Amazon RDS eu-west-1 Root CA ECC384 G1",
            "Amazon RDS ap-southeast-2 Root CA RSA4096 G1",
        ] {
            assert!(names.contains(name), "{name} is not in the bundle");
        }
        // The options carry them (sqlx adds them to the Mozilla roots).
        let options = database_from_secret(
            "arn:db",
            aurora_secret(),
            &[("DB_HOST", "h"), ("DB_PORT", "5432"), ("DB_NAME", "d")],
        )
        .expect("options");
        assert!(format!("{options:?}").contains("ssl_root_cert"));
    }

    #[test]
    fn the_roots_verify_full_checks_against_hold_the_amazon_root_cas() {
        // RDS Proxy's certificates chain to Amazon Root CA 1-4 (Amazon Trust Services);
        // sqlx's rustls backend verifies against these Mozilla roots.
        for name in [
            "Amazon Root CA 1",
            "Amazon Root CA 2",
            "Amazon Root CA 3",
            "Amazon Root CA 4",
        ] {
            assert!(
                webpki_roots::TLS_SERVER_ROOTS.iter().any(|anchor| anchor
                    .subject
                    .as_ref()
                    .windows(name.len())
                    .any(|window| window == name.as_bytes())),
                "{name} is not among the roots"
            );
        }
    }
}
