//! The migrate function: applies pending migrations, then creates the first admin if the
//! database has none. It runs once per deploy and on demand; the API never routes to it.
//!
//! Running it again changes nothing: applied migrations are skipped (each runs in its own
//! transaction), and the admin is created only while no admin exists.
//!
//! Two runs never overlap in practice (CloudFormation runs one custom resource at a time),
//! and if a hand-run overlapped a deploy, the second to record a version fails on the
//! migrations table's key and rolls its transaction back. So the migrator takes no
//! session-level advisory lock, which lets it run through RDS Proxy without depending on
//! the proxy pinning the session. It also accepts applied versions it does not know: a
//! rollback runs the previous code against the newer schema, and migrations only ever add.

pub mod custom_resource;

use serde::Serialize;
use shared::config::{AdminCredentials, RoleCredentials, Settings};
use shared::users::NewUser;
use sqlx::PgPool;
use sqlx::migrate::{Migrate as _, Migrator};

/// What a run did.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Report {
    /// Versions applied by this run, oldest first.
    pub applied: Vec<i64>,
    /// Versions the schema has now.
    pub current_version: Option<i64>,
    /// What happened about the first admin.
    pub first_admin: AdminOutcome,
}

/// What happened about the first admin.
#[derive(Debug, Serialize, PartialEq, Eq, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum AdminOutcome {
    /// An admin was created from the configured credentials.
    Created,
    /// An admin already exists; nothing was done.
    AlreadyExists,
    /// No credentials were configured and no admin exists yet.
    NotConfigured,
}

/// The schema's migrator as this function runs it: no advisory lock, and applied versions
/// newer than this build's accepted (see the module's documentation).
pub fn migrator() -> Migrator {
    Migrator {
        migrations: shared::MIGRATOR.migrations.clone(),
        ignore_missing: true,
        locking: false,
        no_tx: shared::MIGRATOR.no_tx,
    }
}

/// `SET` statements for the migration session's time limits, if any are configured.
pub fn session_limits(settings: &Settings) -> Option<String> {
    let mut limits = Vec::new();
    if let Some(timeout) = settings.db_statement_timeout {
        limits.push(format!("set statement_timeout = {}", timeout.as_millis()));
    }
    if let Some(timeout) = settings.db_lock_timeout {
        limits.push(format!("set lock_timeout = {}", timeout.as_millis()));
    }
    (!limits.is_empty()).then(|| limits.join("; "))
}

/// One connection, possibly through RDS Proxy (the migrator takes no session-level lock).
/// The migration's own time limits are also set in the session, in case a proxy's init
/// query gave the server connection the API functions' shorter ones.
pub async fn connect(
    options: sqlx::postgres::PgConnectOptions,
    settings: &Settings,
) -> anyhow::Result<PgPool> {
    // `after_connect` wants a statement that lives as long as the pool: the limits are fixed
    // for the life of the process.
    static LIMITS: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let limits = LIMITS.get_or_init(|| session_limits(settings)).as_deref();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(std::time::Duration::from_secs(30))
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if let Some(limits) = limits {
                    sqlx::Executor::execute(&mut *conn, limits).await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await?;
    Ok(pool)
}

/// Applies pending migrations and ensures the first admin.
pub async fn run(
    pool: &PgPool,
    first_admin: Option<&AdminCredentials>,
    bcrypt_cost: u32,
) -> anyhow::Result<Report> {
    run_with(&migrator(), pool, first_admin, bcrypt_cost).await
}

/// [`run`] with a given migrator (tests stand in an older build's).
pub async fn run_with(
    migrator: &Migrator,
    pool: &PgPool,
    first_admin: Option<&AdminCredentials>,
    bcrypt_cost: u32,
) -> anyhow::Result<Report> {
    let before = applied_versions(pool).await?;
    migrator.run(pool).await?;
    let after = applied_versions(pool).await?;
    let applied: Vec<i64> = after
        .iter()
        .copied()
        .filter(|v| !before.contains(v))
        .collect();
    for version in &applied {
        tracing::info!(version, "migration applied");
    }
    let first_admin = ensure_admin(pool, first_admin, bcrypt_cost).await?;
    Ok(Report {
        applied,
        current_version: after.last().copied(),
        first_admin,
    })
}

/// Gives the API functions' role (made by the migrations, without LOGIN) LOGIN with the password
/// of the secret the stack created for it: the API functions connect as it, and can read and
/// write rows but not change the schema. Run on every migration, so a new password in that
/// secret takes effect with the next deploy or `make migrate-remote`.
pub async fn open_api_role(pool: &PgPool, role: &RoleCredentials) -> anyhow::Result<()> {
    use secrecy::ExposeSecret as _;
    anyhow::ensure!(
        role.username == API_ROLE,
        "the API role's secret names {:?}, not {API_ROLE}",
        role.username
    );
    // A password cannot be a bound parameter of ALTER ROLE: it is quoted as a literal.
    let password = role.password.expose_secret().replace('\'', "''");
    anyhow::ensure!(
        !password.contains('\0'),
        "the API role's password holds a NUL"
    );
    sqlx::Executor::execute(
        pool,
        format!("alter role {API_ROLE} with login password '{password}'").as_str(),
    )
    .await?;
    tracing::info!(
        role = API_ROLE,
        "the API role may log in with its secret's password"
    );
    Ok(())
}

/// The role the API functions connect as (migration 0010).
pub const API_ROLE: &str = "cinema_api";

async fn applied_versions(pool: &PgPool) -> anyhow::Result<Vec<i64>> {
    let mut conn = pool.acquire().await?;
    conn.ensure_migrations_table().await?;
    let mut versions: Vec<i64> = conn
        .list_applied_migrations()
        .await?
        .into_iter()
        .map(|m| m.version)
        .collect();
    versions.sort_unstable();
    Ok(versions)
}

async fn ensure_admin(
    pool: &PgPool,
    credentials: Option<&AdminCredentials>,
    cost: u32,
) -> anyhow::Result<AdminOutcome> {
    let exists = sqlx::query_scalar!(
        r#"select exists (select 1 from users where role = 'admin') as "exists!""#
    )
    .fetch_one(pool)
    .await?;
    if exists {
        return Ok(AdminOutcome::AlreadyExists);
    }
    let Some(credentials) = credentials else {
        tracing::warn!("no admin exists and no first-admin credentials are configured");
        return Ok(AdminOutcome::NotConfigured);
    };
    // The first admin obeys the same rules as everyone else.
    let new = NewUser::parse(
        Some(credentials.username.clone()),
        Some(credentials.password.clone()),
        Some(credentials.password.clone()),
        Some(credentials.full_name.clone()),
    )
    .map_err(|e| {
        anyhow::anyhow!("the first admin's credentials break the registration rules: {e:?}")
    })?;
    let hash = shared::auth::hash_password(new.password, cost)
        .await
        .map_err(|e| anyhow::anyhow!("hashing the first admin's password failed: {e}"))?;
    // An existing account with that username is never promoted: whoever registered it chose
    // its password, and promoting it would hand them the cinema.
    let created = sqlx::query_scalar!(
        r#"insert into users (username, password_hash, full_name, role)
           select $1, $2, $3, 'admin' where not exists (select 1 from users where role = 'admin')
           on conflict do nothing
           returning id"#,
        new.username,
        hash,
        new.full_name,
    )
    .fetch_optional(pool)
    .await?;
    match created {
        Some(id) => {
            tracing::info!(user_id = id, "first admin created");
            Ok(AdminOutcome::Created)
        }
        None => {
            let exists = sqlx::query_scalar!(
                r#"select exists (select 1 from users where role = 'admin') as "exists!""#
            )
            .fetch_one(pool)
            .await?;
            anyhow::ensure!(
                exists,
                "the first admin's username {:?} is taken by an account that is not an admin; choose another",
                credentials.username
            );
            Ok(AdminOutcome::AlreadyExists)
        }
    }
}
