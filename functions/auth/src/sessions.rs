//! Signing in and out: access tokens, and refresh tokens that are used once.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use shared::auth::{new_refresh_token, refresh_token_hash, verify_password};
use shared::http::no_store;
use shared::openapi::{JsonBody, Throttled};
use shared::users::username_problem;
use shared::{AppState, ClientAddress, Error, ErrorCode, Json, JsonOrForm, Result, Role};
use utoipa::ToSchema;

use crate::throttle::{SignInKeys, SignInLimits};

/// A username and password (Swagger UI's Authorize also sends `grant_type`, which is ignored).
#[derive(Deserialize, ToSchema)]
pub(crate) struct Credentials {
    username: String,
    #[schema(value_type = String, format = Password)]
    password: SecretString,
}

/// A refresh token from sign-in or an earlier refresh.
#[derive(Deserialize, ToSchema)]
pub(crate) struct RefreshRequest {
    #[schema(value_type = String)]
    refresh_token: SecretString,
}

/// An access token for `Authorization: Bearer …` and a refresh token, usable once; after a
/// sign-in, the device token too.
#[derive(Serialize, ToSchema)]
pub(crate) struct TokenPair {
    access_token: String,
    /// Always `bearer`.
    #[schema(value_type = String, examples("bearer"))]
    token_type: &'static str,
    /// Seconds until the access token expires.
    expires_in: u64,
    refresh_token: String,
    /// After a sign-in: this device's token for the account. Send it in the `Device-Token`
    /// header of later sign-ins: they are then counted apart from strangers' failed attempts and
    /// are never locked out by them. A sign-in that presented a valid one gets it back unchanged.
    #[serde(skip_serializing_if = "Option::is_none")]
    device_token: Option<String>,
}

fn bad_credentials() -> Error {
    Error::Unauthorized {
        code: ErrorCode::InvalidCredentials,
        detail: "incorrect username or password",
    }
}

fn bad_refresh_token() -> Error {
    Error::Unauthorized {
        code: ErrorCode::InvalidRefreshToken,
        detail: "the refresh token is invalid, expired or already used",
    }
}

fn pair(state: &AppState, user_id: i64, role: Role, refresh: SecretString) -> Result<TokenPair> {
    let access = state.auth.issue(user_id, role)?;
    Ok(TokenPair {
        access_token: access.token,
        token_type: "bearer",
        expires_in: access.expires_in,
        refresh_token: refresh.expose_secret().to_owned(),
        device_token: None,
    })
}

/// Sign in.
///
/// `POST /auth/login`: the OAuth2 password form (as Swagger UI sends it) or JSON.
///
/// An unknown username and a wrong password get the same 401 after the same bcrypt work,
/// so the answer does not tell which usernames exist. A deactivated account answers as a wrong
/// password does. A sign-in answers with a device token; presented again in `Device-Token`,
/// it makes later sign-ins of that account from that device trusted.
///
/// Limits, counted before the password is checked, alike for unknown and known usernames:
/// without a valid device token, after 5 failures for a username (or 50 from an address) within
/// 15 minutes such attempts get 429 without the password being checked, for 30 s, doubling with
/// each further failure up to 15 minutes. A trusted sign-in has its own count (5 failures for
/// its device token) and is locked neither by strangers' failures nor by its address; a
/// correct sign-in never extends or re-arms a lock.
#[utoipa::path(
    post, path = "/auth/login", tag = "auth",
    params(
        ("Device-Token" = Option<String>, Header,
         description = "The `device_token` an earlier sign-in of this account answered with, from this device"),
    ),
    request_body(content = Credentials, content_type = "application/json",
                 description = "The credentials. The same fields as an OAuth2 password form (`application/x-www-form-urlencoded`, `grant_type=password`) are accepted too: that is what Swagger UI's Authorize sends"),
    responses(
        (status = 200, description = "Signed in", body = TokenPair,
         headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "More than one `Device-Token` header", body = shared::openapi::ErrorBody),
        (status = 401, description = "Incorrect username or password", body = shared::openapi::ErrorBody),
        Throttled, JsonBody,
    ),
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn login(
    State(state): State<AppState>,
    address: ClientAddress,
    headers: HeaderMap,
    JsonOrForm(body): JsonOrForm<Credentials>,
) -> Result<impl IntoResponse> {
    let keys = SignInKeys::new(Some(&body.username), &address, &headers)?;
    let limits = SignInLimits::from(&state.limits);
    // One statement: count the attempt (or refuse it) and, if it may go on, read the account.
    // A username that cannot exist is still counted, but never looked up.
    let username = username_problem(&body.username)
        .is_none()
        .then_some(body.username.as_str());
    let attempt = crate::throttle::begin(&state.db, None, username, &keys, &limits).await?;
    let matches =
        verify_password(body.password, attempt.password_hash, state.auth.bcrypt_cost).await?;
    let signed_in = attempt.user_id.zip(attempt.role).filter(|_| matches);
    let refresh = new_refresh_token();
    // A trusted device keeps its token; any other device gets one of its own.
    let device = match (&signed_in, attempt.trusted, keys.presented) {
        (Some(_), true, Some(presented)) => Some((presented, false)),
        (Some(_), _, _) => Some((new_refresh_token(), true)),
        (None, _, _) => None,
    };
    let new_device = device
        .as_ref()
        .filter(|(_, new)| *new)
        .map(|(token, _)| refresh_token_hash(token.expose_secret()));
    // One statement: the attempt ends (a failure is counted, a success starts the account
    // afresh) and, signed in, the first token of a new family and the device's token.
    sqlx::query!(
        "with ended as (
             select sign_in_end($1, $2, $3, $4, $5, $6, $7, make_interval(secs => $8),
                                make_interval(secs => $9))
         ), session as (
             insert into refresh_tokens (user_id, token_hash, expires_at)
             select $10, $11, now() + make_interval(secs => $12) from ended where $10::bigint is not null
         ), device as (
             insert into device_tokens (user_id, token_hash, expires_at)
             select $10, $13, now() + make_interval(secs => $14)
             from ended where $10::bigint is not null and $13::bytea is not null
         )
         select 1 as done from ended",
        signed_in.is_none(),
        attempt.trusted,
        attempt.account_key,
        keys.address,
        keys.device,
        limits.per_account,
        limits.per_address,
        limits.first_block,
        limits.max_block,
        signed_in.map(|(id, _)| id),
        refresh_token_hash(refresh.expose_secret()),
        state.auth.refresh_ttl.as_secs_f64(),
        new_device,
        state.auth.device_ttl.as_secs_f64(),
    )
    .fetch_one(&state.db)
    .await?;
    let (id, role) = signed_in.ok_or_else(bad_credentials)?;
    tracing::info!(user_id = id, trusted = attempt.trusted, "signed in");
    let mut tokens = pair(&state, id, role, refresh)?;
    tokens.device_token = device.map(|(token, _)| token.expose_secret().to_owned());
    Ok((no_store(), Json(tokens)))
}

/// Trade a refresh token for new tokens.
///
/// `POST /auth/refresh`: trades a refresh token for a new pair; the old one stops working.
///
/// A token that was already used is a sign it was copied: presenting it again revokes every
/// token of its family (everything issued since that sign-in), so whichever of the thief and
/// the owner refreshes next has to sign in again (RFC 9700 §4.14.2). A deactivated account
/// cannot refresh.
#[utoipa::path(
    post, path = "/auth/refresh", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new pair; the old refresh token no longer works", body = TokenPair,
         headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 401, description = "The refresh token is unknown, used, revoked or expired, or the account is deactivated; a used one revokes its whole family", body = shared::openapi::ErrorBody),
        JsonBody,
    ),
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn refresh(
    State(state): State<AppState>,
    Json(body): Json<RefreshRequest>,
) -> Result<impl IntoResponse> {
    let next = new_refresh_token();
    // One statement: revoke the old token (the row lock makes a concurrent reuse of the same
    // token find it revoked), store the new one in the same family, and read the user's
    // current role; or, for a token already used, revoke its family.
    let row = sqlx::query!(
        r#"with presented as (
               select family_id, revoked_at is not null as used
               from refresh_tokens where token_hash = $1 and expires_at > now()
           ), old as (
               update refresh_tokens set revoked_at = now()
               where token_hash = $1 and revoked_at is null and expires_at > now()
               returning user_id, family_id
           ), reused as (
               update refresh_tokens set revoked_at = now()
               where family_id in (select family_id from presented where used) and revoked_at is null
           ), new as (
               insert into refresh_tokens (user_id, token_hash, expires_at, family_id)
               select old.user_id, $2, now() + make_interval(secs => $3), old.family_id
               from old join users u on u.id = old.user_id and u.active
               returning user_id
           )
           select u.id, u.role as "role: Role" from users u join new on new.user_id = u.id"#,
        refresh_token_hash(body.refresh_token.expose_secret()),
        refresh_token_hash(next.expose_secret()),
        state.auth.refresh_ttl.as_secs_f64(),
    )
    .fetch_optional(&state.db)
    .await?
    .ok_or_else(bad_refresh_token)?;
    Ok((no_store(), Json(pair(&state, row.id, row.role, next)?)))
}

/// Sign out (revoke a refresh token).
///
/// `POST /auth/logout`: revokes the refresh token. Answers 204 whether or not the token
/// was still valid, so it can be retried safely.
#[utoipa::path(
    post, path = "/auth/logout", tag = "auth",
    request_body = RefreshRequest,
    responses((status = 204, description = "The refresh token no longer works"), JsonBody),
)]
pub(crate) async fn logout(
    State(state): State<AppState>,
    Json(body): Json<RefreshRequest>,
) -> Result<StatusCode> {
    sqlx::query!(
        "update refresh_tokens set revoked_at = now() where token_hash = $1 and revoked_at is null",
        refresh_token_hash(body.refresh_token.expose_secret()),
    )
    .execute(&state.db)
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
