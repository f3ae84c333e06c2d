//! Sign-in and registration limits. The counts live in the database (`throttles`, and the
//! functions of migration 0005 that keep them), so every instance of the function sees the
//! same ones, and each check is part of a statement the request makes anyway.

use shared::auth::sha256;
use shared::{ClientAddress, Limits};

/// What a sign-in attempt is counted against: the account (by username, whether or not it
/// exists, so the limiter answers an unknown username exactly as a known one) and the client
/// address. Both are stored as SHA-256 digests.
#[derive(Debug)]
pub(crate) struct SignInKeys {
    pub(crate) account: Vec<u8>,
    pub(crate) address: Option<Vec<u8>>,
}

impl SignInKeys {
    /// The keys of an attempt for `username` from `address`. Usernames are ASCII and unique
    /// regardless of case; the database derives the same key from a stored username
    /// (`sha256(convert_to(lower(username), 'UTF8'))`) where it checks a current password.
    pub(crate) fn new(username: &str, address: &ClientAddress) -> Self {
        Self {
            account: sha256(&username.to_ascii_lowercase()),
            address: address_key(address),
        }
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
