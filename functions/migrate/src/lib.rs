//! The migrate function: applies pending migrations, then creates the first admin if the
//! database has none. It runs once per deploy and on demand; the API never routes to it.
//!
//! Running it again changes nothing: applied migrations are skipped (each runs in its own
//! transaction, under sqlx's advisory lock), and the admin is created only while no admin
//! exists.

pub mod custom_resource;

use serde::Serialize;
use shared::config::AdminCredentials;
use shared::users::NewUser;
use sqlx::PgPool;
use sqlx::migrate::Migrate as _;

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

/// Applies pending migrations and ensures the first admin.
pub async fn run(
    pool: &PgPool,
    first_admin: Option<&AdminCredentials>,
    bcrypt_cost: u32,
) -> anyhow::Result<Report> {
    let before = applied_versions(pool).await?;
    shared::MIGRATOR.run(pool).await?;
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
