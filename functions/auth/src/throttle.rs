//! Sign-in and registration limits. The counts live in the database (`throttles`, and the
//! functions of migration 0005 that keep them), so every instance of the function sees the
//! same ones, and each check is part of a statement the request makes anyway.

use axum::http::{HeaderMap, HeaderName};
use secrecy::SecretString;
use shared::auth::{refresh_token_hash, sha256};
use shared::{ClientAddress, Limits, Role};
use sqlx::PgPool;

/// What a sign-in attempt is counted against: with a valid device token for the account, that
/// token alone; otherwise the account (by username, whether or not it exists, so the limiter
/// answers an unknown username exactly as a known one) and the client address. All are stored
/// as SHA-256 digests.
#[derive(Debug)]
pub(crate) struct SignInKeys {
    pub(crate) account: Option<Vec<u8>>,
    pub(crate) address: Option<Vec<u8>>,
    pub(crate) device: Option<Vec<u8>>,
    /// The device token as presented, to be handed back unchanged after a trusted sign-in.
    pub(crate) presented: Option<SecretString>,
}

/// The header a client presents its device token in (this API sets no cookies).
pub(crate) const DEVICE_TOKEN: HeaderName = HeaderName::from_static("device-token");

impl SignInKeys {
    /// The keys of an attempt for `username` (none: the caller's own account, as the database
    /// keys it: `sha256(convert_to(lower(username), 'UTF8'))`) from `address`, with the device
    /// token in `headers`, if any. Usernames are ASCII and unique regardless of case.
    pub(crate) fn new(
        username: Option<&str>,
        address: &ClientAddress,
        headers: &HeaderMap,
    ) -> shared::Result<Self> {
        let mut tokens = headers.get_all(DEVICE_TOKEN).iter();
        let device = tokens.next();
        if tokens.next().is_some() {
            return Err(shared::Error::BadHeader(
                "send one Device-Token header, not several",
            ));
        }
        Ok(Self {
            account: username.map(|name| sha256(&name.to_ascii_lowercase())),
            address: address_key(address),
            // A header that is not text cannot be one of ours: it is simply not trusted.
            device: device
                .and_then(|value| value.to_str().ok())
                .map(refresh_token_hash),
            presented: device
                .and_then(|value| value.to_str().ok())
                .map(|value| SecretString::from(value.to_owned())),
        })
    }
}

/// The digest of the client address, if the request came through API Gateway.
pub(crate) fn address_key(address: &ClientAddress) -> Option<Vec<u8>> {
    address.0.as_deref().map(sha256)
}

/// The limits as the database functions take them: counts, and durations in seconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SignInLimits {
    pub(crate) per_account: i32,
    pub(crate) per_address: i32,
    pub(crate) window: f64,
    pub(crate) first_block: f64,
    pub(crate) max_block: f64,
}

impl From<&Limits> for SignInLimits {
    fn from(limits: &Limits) -> Self {
        Self {
            per_account: limits.sign_in_per_account,
            per_address: limits.sign_in_per_address,
            window: limits.sign_in_window.as_secs_f64(),
            first_block: limits.first_lockout.as_secs_f64(),
            max_block: limits.max_lockout.as_secs_f64(),
        }
    }
}

/// A 429 unless `wait` (what the database answered) is 0.
pub(crate) fn check(wait: i32) -> shared::Result<()> {
    if wait > 0 {
        tracing::warn!(retry_after = wait, "attempt refused by the limiter");
        Err(shared::Error::TooManyAttempts {
            retry_after: u64::try_from(wait).unwrap_or(1),
        })
    } else {
        Ok(())
    }
}

/// A sign-in (or current-password check) under way: counted, as pending, before the password is
/// checked; `sign_in_end` settles it.
#[derive(Debug)]
pub(crate) struct Attempt {
    pub(crate) user_id: Option<i64>,
    pub(crate) password_hash: Option<String>,
    pub(crate) role: Option<Role>,
    /// A valid device token for the account was presented.
    pub(crate) trusted: bool,
    /// What the account is counted under (the SHA-256 of its lower-cased username).
    pub(crate) account_key: Option<Vec<u8>>,
}

/// Begins an attempt, in one statement that counts it (or refuses it: 429) and reads the account:
/// the one named `username` (a sign-in; `None` for a name that cannot exist, still counted), or
/// the caller's own, `user_id` (a current-password check; a deleted or deactivated caller is a
/// 401).
pub(crate) async fn begin(
    db: &PgPool,
    user_id: Option<i64>,
    username: Option<&str>,
    keys: &SignInKeys,
    limits: &SignInLimits,
) -> shared::Result<Attempt> {
    let row = sqlx::query!(
        r#"select b.wait as "wait!", b.user_id, b.password_hash, b.role as "role: Role",
                  b.trusted as "trusted!",
                  coalesce($3::bytea, sha256(convert_to(lower(b.username), 'UTF8'))) as account_key
           from sign_in_begin($1, $2, $3, $4, $5, $6, $7, make_interval(secs => $8)) b
           where $1::bigint is null or caller_role($1) is not null"#,
        user_id,
        username,
        keys.account,
        keys.address,
        keys.device,
        limits.per_account,
        limits.per_address,
        limits.window,
    )
    .fetch_one(db)
    .await?;
    check(row.wait)?;
    Ok(Attempt {
        user_id: row.user_id,
        password_hash: row.password_hash,
        role: row.role,
        trusted: row.trusted,
        account_key: row.account_key,
    })
}
