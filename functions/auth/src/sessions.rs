//! Signing in and out: access tokens, and refresh tokens that are used once.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use shared::auth::{new_refresh_token, refresh_token_hash, verify_password};
use shared::http::no_store;
use shared::openapi::{JsonBody, Throttled};
use shared::users::username_problem;
use shared::{AppState, ClientAddress, Error, ErrorCode, Json, JsonOrForm, Result, Role};
use utoipa::ToSchema;

use crate::throttle::{SignInKeys, SignInLimits, check};

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

/// An access token for `Authorization: Bearer …` and a refresh token, usable once.
#[derive(Serialize, ToSchema)]
pub(crate) struct TokenPair {
    access_token: String,
    /// Always `bearer`.
    #[schema(value_type = String, examples("bearer"))]
    token_type: &'static str,
    /// Seconds until the access token expires.
    expires_in: u64,
    refresh_token: String,
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
    })
}

/// `POST /auth/login`: the OAuth2 password form (as Swagger UI sends it) or JSON.
///
/// An unknown username and a wrong password get the same 401 after the same bcrypt work,
/// so the answer does not tell which usernames exist. After 5 failures for a username (or 50
/// from an address) within 15 minutes, attempts get 429 without the password being checked,
/// for 30 s doubling with each further failure up to 15 minutes; the same for unknown
/// usernames. A deactivated account answers as a wrong password does.
#[utoipa::path(
    post, path = "/auth/login", tag = "auth",
    request_body(content(
        (Credentials = "application/x-www-form-urlencoded"),
        (Credentials = "application/json"),
    )),
    responses(
        (status = 200, description = "Signed in", body = TokenPair,
         headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 401, description = "Incorrect username or password", body = shared::openapi::ErrorBody),
        Throttled, JsonBody,
    ),
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn login(
    State(state): State<AppState>,
    address: ClientAddress,
    JsonOrForm(body): JsonOrForm<Credentials>,
) -> Result<impl IntoResponse> {
    let keys = SignInKeys::new(&body.username, &address);
    let limits = SignInLimits::from(&state.limits);
    // One statement: count the attempt (or refuse it) and, if it may go on, read the account.
    // A username that cannot exist is still counted, but never looked up.
    let username = username_problem(&body.username)
        .is_none()
        .then_some(body.username.as_str());
    let attempt = sqlx::query!(
        r#"with attempt as (
               select sign_in_attempt($1, $2, $3, $4, make_interval(secs => $5),
                                      make_interval(secs => $6), make_interval(secs => $7)) as wait
           )
           select attempt.wait as "wait!", u.id as "id?", u.password_hash as "password_hash?",
                  u.role as "role?: Role"
           from attempt
           left join users u on attempt.wait = 0 and u.active and lower(u.username) = lower($8)"#,
        keys.account,
        keys.address,
        limits.per_account,
        limits.per_address,
        limits.window,
        limits.first_block,
        limits.max_block,
        username,
    )
    .fetch_one(&state.db)
    .await?;
    check(attempt.wait)?;
    let matches =
        verify_password(body.password, attempt.password_hash, state.auth.bcrypt_cost).await?;
    let (id, role) = attempt
        .id
        .zip(attempt.role)
        .filter(|_| matches)
        .ok_or_else(bad_credentials)?;
    // Signed in: the account's count starts afresh, and the first token of a new family.
    let refresh = new_refresh_token();
    sqlx::query!(
        "insert into refresh_tokens (user_id, token_hash, expires_at)
         select $1, $2, now() + make_interval(secs => $3)
         from (select sign_in_success($4, $5, $6)) as success",
        id,
        refresh_token_hash(refresh.expose_secret()),
        state.auth.refresh_ttl.as_secs_f64(),
        keys.account,
        keys.address,
        limits.per_address,
    )
    .execute(&state.db)
    .await?;
    tracing::info!(user_id = id, "signed in");
    Ok((no_store(), Json(pair(&state, id, role, refresh)?)))
}

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
