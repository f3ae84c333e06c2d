//! Authentication: password hashing, access tokens (JWT HS256), refresh tokens, and the
//! extractors that turn a bearer token into a caller with a role.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::{header, request::Parts};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorCode, Result};

/// A user's role. Stored as the `user_role` enum.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[sqlx(type_name = "user_role", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A customer: books for themself.
    User,
    /// Box-office staff: books for customers.
    Cashier,
    /// Runs the catalogue, the schedule and the users.
    Admin,
}

impl Role {
    /// Cashiers and admins.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Cashier | Role::Admin)
    }
}

/// Claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id, as a string (RFC 7519 `sub`).
    pub sub: String,
    /// The user's role when the token was issued.
    pub role: Role,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// Not before (seconds since the epoch); never issued, checked when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

/// How far a token's `iat` or `nbf` may lie in the future: clock skew between instances.
pub const CLOCK_SKEW_SECONDS: i64 = 5;

/// Everything needed to issue and check tokens and passwords; built once per instance.
pub struct AuthKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// Lifetime of access tokens.
    pub access_ttl: Duration,
    /// Lifetime of refresh tokens.
    pub refresh_ttl: Duration,
    /// Lifetime of device tokens.
    pub device_ttl: Duration,
    /// bcrypt cost for new password hashes.
    pub bcrypt_cost: u32,
}

impl std::fmt::Debug for AuthKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthKeys")
            .field("keys", &"[redacted]")
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .field("device_ttl", &self.device_ttl)
            .field("bcrypt_cost", &self.bcrypt_cost)
            .finish()
    }
}

/// A freshly issued access token.
#[derive(Debug)]
pub struct AccessToken {
    /// The encoded JWT.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

impl AuthKeys {
    /// Keys from the signing secret and the lifetimes and cost in the settings.
    pub fn new(
        secret: &SecretString,
        access_ttl: Duration,
        refresh_ttl: Duration,
        bcrypt_cost: u32,
    ) -> Self {
        let bytes = secret.expose_secret().as_bytes();
        // Only HS256 is accepted: a token that names another algorithm (or `none`) is rejected
        // before its signature is even looked at.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        validation.leeway = 0;
        Self {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            validation,
            access_ttl,
            refresh_ttl,
            device_ttl: Duration::from_secs(365 * 24 * 3600),
            bcrypt_cost,
        }
    }

    /// The same keys, with device tokens living `ttl`.
    pub fn with_device_token_ttl(mut self, ttl: Duration) -> Self {
        self.device_ttl = ttl;
        self
    }

    /// Issues an access token for a user.
    pub fn issue(&self, user_id: i64, role: Role) -> Result<AccessToken> {
        let now = chrono::Utc::now().timestamp();
        let ttl = self.access_ttl.as_secs();
        let claims = Claims {
            sub: user_id.to_string(),
            role,
            iat: now,
            exp: now + ttl as i64,
            nbf: None,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| Error::Internal(anyhow::anyhow!("signing a token failed: {e}")))?;
        Ok(AccessToken {
            token,
            expires_in: ttl,
        })
    }

    /// Checks an access token's algorithm, signature, expiry and issue time, and returns the
    /// caller. Refused besides a bad signature: a `crit` header (no extension is understood
    /// here), `iat` or `nbf` in the future, and a lifetime longer than tokens are issued for —
    /// a leaked key then cannot mint tokens that outlive its rotation.
    pub fn verify(&self, token: &str) -> Result<AuthUser> {
        if has_crit_header(token) {
            return Err(invalid_token());
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => Error::Unauthorized {
                    code: ErrorCode::TokenExpired,
                    detail: "the access token has expired",
                },
                _ => invalid_token(),
            })?;
        let claims = &data.claims;
        let now = chrono::Utc::now().timestamp();
        let lifetime = i64::try_from(self.access_ttl.as_secs()).unwrap_or(i64::MAX);
        if claims.iat > now + CLOCK_SKEW_SECONDS
            || claims.nbf.is_some_and(|nbf| nbf > now + CLOCK_SKEW_SECONDS)
            || claims.exp.saturating_sub(claims.iat) > lifetime
        {
            return Err(invalid_token());
        }
        // The subject is an id as this API writes ids: `1`, never `+1` or `01`.
        let sub = &data.claims.sub;
        let id = crate::extract::is_canonical_id(sub)
            .then(|| sub.parse::<i64>().ok())
            .flatten()
            .ok_or_else(invalid_token)?;
        Ok(AuthUser {
            id,
            role: data.claims.role,
        })
    }
}

/// Whether the token's header carries `crit` (RFC 7515 §4.1.11: a recipient that does not
/// understand the listed extensions must reject the token). The library ignores the member.
fn has_crit_header(token: &str) -> bool {
    let Some(header) = token.split('.').next() else {
        return false;
    };
    URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .is_some_and(|header| header.get("crit").is_some())
}

fn invalid_token() -> Error {
    Error::Unauthorized {
        code: ErrorCode::InvalidToken,
        detail: "the access token is invalid",
    }
}

/// The authenticated caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthUser {
    /// The user's id.
    pub id: i64,
    /// The role the token was issued with: enough to refuse at once what that role may not
    /// do, never enough to allow a staff action, which the action's statement checks against
    /// the role now (`authorize` in migration 0005).
    pub role: Role,
}

impl AuthUser {
    /// Fails with 403 unless the caller has one of `roles`.
    pub fn require(self, roles: &[Role]) -> Result<Self> {
        if roles.contains(&self.role) {
            Ok(self)
        } else {
            Err(Error::Forbidden)
        }
    }
}

/// Reads the bearer token, if there is one. `Ok(None)`: no `Authorization` header.
fn bearer(parts: &Parts) -> Result<Option<&str>> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| invalid_token())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(invalid_token)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(invalid_token());
    }
    Ok(Some(token.trim()))
}

impl<S> FromRequestParts<S> for AuthUser
where
    S: Send + Sync,
    Arc<AuthKeys>: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        let token = bearer(parts)?.ok_or(Error::Unauthorized {
            code: ErrorCode::NotAuthenticated,
            detail: "this action needs a bearer token",
        })?;
        Arc::<AuthKeys>::from_ref(state).verify(token)
    }
}

/// A caller who may be anonymous. A token that is present but bad is still a 401: a client
/// that sends a broken token should hear about it, not be silently treated as anonymous.
#[derive(Debug, Clone, Copy)]
pub struct MaybeAuthUser(pub Option<AuthUser>);

impl<S> FromRequestParts<S> for MaybeAuthUser
where
    S: Send + Sync,
    Arc<AuthKeys>: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        match bearer(parts)? {
            Some(token) => Arc::<AuthKeys>::from_ref(state)
                .verify(token)
                .map(|u| MaybeAuthUser(Some(u))),
            None => Ok(MaybeAuthUser(None)),
        }
    }
}

/// Declares an extractor for callers whose token says one of `roles` (401 without a token,
/// 403 with another role). Handlers still check the role now in their statement: the token
/// may be older than a demotion.
macro_rules! role_extractor {
    ($(#[$doc:meta])* $name:ident: $($role:expr),+) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name(pub AuthUser);

        impl<S> FromRequestParts<S> for $name
        where
            S: Send + Sync,
            Arc<AuthKeys>: FromRef<S>,
        {
            type Rejection = Error;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
                AuthUser::from_request_parts(parts, state)
                    .await?
                    .require(&[$($role),+])
                    .map($name)
            }
        }
    };
}

role_extractor!(
    /// A caller whose token says `admin`.
    Admin: Role::Admin
);
role_extractor!(
    /// A caller whose token says `cashier` or `admin`.
    Staff: Role::Cashier, Role::Admin
);

/// bcrypt hash of a random password at cost 12, the default cost, so that checking an unknown
/// user costs what checking a real one does without hashing anything at cold start.
const DUMMY_HASH_COST_12: &str = "$2b$12$C6UzMDM.H6dfI/f/IKcEeO5t8Wj5c2pV2d9c5Z7kq8aB3yQFh8Mmi";

/// Hashes a password with bcrypt on the blocking pool (it takes ~250 ms at cost 12, which
/// must not stall the async executor). Passwords over 72 bytes are an error, never truncated.
pub async fn hash_password(password: SecretString, cost: u32) -> Result<String> {
    tokio::task::spawn_blocking(move || bcrypt::non_truncating_hash(password.expose_secret(), cost))
        .await
        .map_err(|e| Error::Internal(e.into()))?
        .map_err(|e| Error::Internal(anyhow::anyhow!("hashing a password failed: {e}")))
}

/// Checks a password against a stored hash on the blocking pool. With no hash (unknown user)
/// it checks against a dummy hash of the same cost, so both cases take about the same time.
pub async fn verify_password(
    password: SecretString,
    hash: Option<String>,
    cost: u32,
) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        let (hash, known) = match hash {
            Some(hash) => (hash, true),
            None => (dummy_hash(cost).to_owned(), false),
        };
        let matches =
            bcrypt::non_truncating_verify(password.expose_secret(), &hash).unwrap_or(false);
        matches && known
    })
    .await
    .map_err(|e| Error::Internal(e.into()))
}

fn dummy_hash(cost: u32) -> &'static str {
    static OTHER: OnceLock<String> = OnceLock::new();
    if cost == 12 {
        return DUMMY_HASH_COST_12;
    }
    OTHER.get_or_init(|| {
        bcrypt::hash("dummy password for unknown users", cost)
            .unwrap_or_else(|_| DUMMY_HASH_COST_12.to_owned())
    })
}

/// A new refresh token: 256 random bits, URL-safe base64. Returned once to the client.
pub fn new_refresh_token() -> SecretString {
    let bytes: [u8; 32] = rand::random();
    SecretString::from(URL_SAFE_NO_PAD.encode(bytes))
}

/// What the database stores of a refresh token: its SHA-256.
pub fn refresh_token_hash(token: &str) -> Vec<u8> {
    sha256(token)
}

/// The SHA-256 of a text's UTF-8 bytes (as PostgreSQL's `sha256(convert_to(text, 'UTF8'))`).
pub fn sha256(text: &str) -> Vec<u8> {
    Sha256::digest(text.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &str) -> AuthKeys {
        AuthKeys::new(
            &SecretString::from(secret),
            Duration::from_secs(900),
            Duration::from_secs(3600),
            4,
        )
    }

    fn code(error: Error) -> String {
        match error {
            Error::Unauthorized { code, .. } => serde_json::to_value(code)
                .ok()
                .and_then(|code| code.as_str().map(str::to_owned))
                .unwrap_or_default(),
            other => panic!("expected 401, got {other:?}"),
        }
    }

    #[test]
    fn a_token_round_trips() {
        let keys = keys("k1");
        let token = keys.issue(42, Role::Cashier).expect("issue");
        assert_eq!(token.expires_in, 900);
        assert_eq!(
            keys.verify(&token.token).expect("valid"),
            AuthUser {
                id: 42,
                role: Role::Cashier
            }
        );
    }

    #[test]
    fn a_token_signed_with_another_key_is_rejected() {
        let token = keys("k1").issue(1, Role::Admin).expect("issue");
        assert_eq!(
            code(keys("k2").verify(&token.token).unwrap_err()),
            "invalid_token"
        );
    }

    #[test]
    fn an_expired_token_is_rejected() {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: "1".into(),
            role: Role::User,
            iat: now - 100,
            exp: now - 10,
            nbf: None,
        };
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"k1"),
        )
        .expect("encode");
        assert_eq!(
            code(keys("k1").verify(&token).unwrap_err()),
            "token_expired"
        );
    }

    #[test]
    fn alg_none_and_other_algorithms_are_rejected() {
        let now = chrono::Utc::now().timestamp();
        let payload = format!(
            r#"{{"sub":"1","role":"admin","iat":{now},"exp":{}}}"#,
            now + 600
        );
        let body = URL_SAFE_NO_PAD.encode(payload);
        for header in [
            r#"{"alg":"none","typ":"JWT"}"#,
            r#"{"alg":"HS512","typ":"JWT"}"#,
        ] {
            let token = format!("{}.{body}.", URL_SAFE_NO_PAD.encode(header));
            assert_eq!(
                code(keys("k1").verify(&token).unwrap_err()),
                "invalid_token",
                "{header}"
            );
        }
        // HS512 signed with the right key is still refused: the algorithm is pinned.
        let claims = Claims {
            sub: "1".into(),
            role: Role::Admin,
            iat: now,
            exp: now + 600,
            nbf: None,
        };
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &claims,
            &EncodingKey::from_secret(b"k1"),
        )
        .expect("encode");
        assert_eq!(
            code(keys("k1").verify(&token).unwrap_err()),
            "invalid_token"
        );
    }

    #[test]
    fn garbage_and_tampered_tokens_are_rejected() {
        let keys = keys("k1");
        let good = keys.issue(1, Role::User).expect("issue").token;
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        parts[1] =
            URL_SAFE_NO_PAD.encode(r#"{"sub":"1","role":"admin","iat":0,"exp":99999999999}"#);
        for token in ["", "abc", "a.b.c", &parts.join(".")] {
            assert_eq!(
                code(keys.verify(token).unwrap_err()),
                "invalid_token",
                "{token}"
            );
        }
    }

    fn signed(header: &str, claims: &str, secret: &[u8]) -> String {
        use hmac::Mac as _;
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(secret).expect("key");
        mac.update(signing_input.as_bytes());
        format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    #[test]
    fn a_subject_that_is_not_a_canonical_id_is_rejected() {
        let keys = keys("k1");
        let now = chrono::Utc::now().timestamp();
        let header = r#"{"alg":"HS256","typ":"JWT"}"#;
        for sub in ["+1", "01", " 1", "1.0", "-1", "0"] {
            let claims = format!(
                r#"{{"sub":"{sub}","role":"admin","iat":{now},"exp":{}}}"#,
                now + 600
            );
            assert_eq!(
                code(keys.verify(&signed(header, &claims, b"k1")).unwrap_err()),
                "invalid_token",
                "{sub:?}"
            );
        }
    }

    #[test]
    fn future_issue_times_long_lifetimes_and_crit_headers_are_rejected() {
        let keys = keys("k1");
        let now = chrono::Utc::now().timestamp();
        let header = r#"{"alg":"HS256","typ":"JWT"}"#;
        let claims = |iat: i64, exp: i64, nbf: Option<i64>| {
            let nbf = nbf.map(|n| format!(r#","nbf":{n}"#)).unwrap_or_default();
            format!(r#"{{"sub":"7","role":"admin","iat":{iat},"exp":{exp}{nbf}}}"#)
        };
        // The signer itself is right: a well-formed token made by hand verifies.
        let good = signed(header, &claims(now, now + 600, None), b"k1");
        assert_eq!(keys.verify(&good).expect("valid").id, 7);
        let within_skew = signed(header, &claims(now + 2, now + 602, Some(now + 2)), b"k1");
        assert!(
            keys.verify(&within_skew).is_ok(),
            "a few seconds of skew pass"
        );
        for (why, token) in [
            (
                "iat in the future",
                signed(header, &claims(now + 60, now + 600, None), b"k1"),
            ),
            (
                "nbf in the future",
                signed(header, &claims(now, now + 600, Some(now + 60)), b"k1"),
            ),
            (
                "a hundred years' lifetime",
                signed(header, &claims(now, now + 100 * 365 * 86_400, None), b"k1"),
            ),
            (
                "one second longer than issued",
                signed(header, &claims(now, now + 901, None), b"k1"),
            ),
            (
                "an unknown critical extension",
                signed(
                    r#"{"alg":"HS256","typ":"JWT","crit":["exp2"],"exp2":1}"#,
                    &claims(now, now + 600, None),
                    b"k1",
                ),
            ),
        ] {
            assert_eq!(
                code(keys.verify(&token).unwrap_err()),
                "invalid_token",
                "{why}"
            );
        }
    }

    #[tokio::test]
    async fn passwords_verify_and_unknown_users_never_match() {
        let hash = hash_password(SecretString::from("Secret#123"), 4)
            .await
            .expect("hash");
        assert!(
            verify_password(SecretString::from("Secret#123"), Some(hash.clone()), 4)
                .await
                .expect("verify")
        );
        assert!(
            !verify_password(SecretString::from("Secret#124"), Some(hash), 4)
                .await
                .expect("verify")
        );
        assert!(
            !verify_password(SecretString::from("Secret#123"), None, 4)
                .await
                .expect("verify")
        );
        assert!(
            !verify_password(SecretString::from("Secret#123"), None, 12)
                .await
                .expect("verify")
        );
    }

    #[tokio::test]
    async fn a_password_past_72_bytes_is_never_truncated() {
        let long = "Aa1!".repeat(19); // 76 bytes
        assert!(hash_password(SecretString::from(long), 4).await.is_err());
    }

    #[test]
    fn the_cost_12_dummy_hash_is_a_cost_12_hash() {
        assert!(DUMMY_HASH_COST_12.starts_with("$2b$12$"));
        assert_eq!(DUMMY_HASH_COST_12.len(), 60);
        // It must decode, or checking an unknown user would return at once and show that
        // the user does not exist.
        assert_eq!(
            bcrypt::verify("anything", DUMMY_HASH_COST_12).ok(),
            Some(false)
        );
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let a = new_refresh_token();
        let b = new_refresh_token();
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_eq!(refresh_token_hash(a.expose_secret()).len(), 32);
    }
}
