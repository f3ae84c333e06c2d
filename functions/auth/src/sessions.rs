//! Signing in and out: access tokens, and refresh tokens that are used once.

use axum::extract::State;
use axum::http::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use shared::auth::{new_refresh_token, refresh_token_hash, verify_password};
use shared::openapi::JsonBody;
use shared::users::username_problem;
use shared::{AppState, Error, Json, JsonOrForm, Result, Role};
use utoipa::ToSchema;

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
        code: "invalid_credentials",
        detail: "incorrect username or password",
    }
}

fn bad_refresh_token() -> Error {
    Error::Unauthorized {
        code: "invalid_refresh_token",
        detail: "the refresh token is invalid, expired or already used",
    }
}

/// Stores a new refresh token for the user and returns it with a new access token.
async fn issue_pair(state: &AppState, user_id: i64, role: Role) -> Result<TokenPair> {
    let refresh = new_refresh_token();
    sqlx::query!(
        "insert into refresh_tokens (user_id, token_hash, expires_at) values ($1, $2, now() + make_interval(secs => $3))",
        user_id,
        refresh_token_hash(refresh.expose_secret()),
        state.auth.refresh_ttl.as_secs_f64(),
    )
    .execute(&state.db)
    .await?;
    pair(state, user_id, role, refresh)
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
/// so the answer does not tell which usernames exist.
#[utoipa::path(
    post, path = "/auth/login", tag = "auth",
    request_body(content(
        (Credentials = "application/x-www-form-urlencoded"),
        (Credentials = "application/json"),
    )),
    responses(
        (status = 200, description = "Signed in", body = TokenPair),
        (status = 401, description = "Incorrect username or password", body = shared::openapi::ErrorBody),
        JsonBody,
    ),
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn login(
    State(state): State<AppState>,
    JsonOrForm(body): JsonOrForm<Credentials>,
) -> Result<Json<TokenPair>> {
    let account = if username_problem(&body.username).is_none() {
        sqlx::query!(
            r#"select id, password_hash, role as "role: Role" from users where lower(username) = lower($1)"#,
            body.username
        )
        .fetch_optional(&state.db)
        .await?
    } else {
        None
    };
    let (hash, who) = match account {
        Some(row) => (Some(row.password_hash), Some((row.id, row.role))),
        None => (None, None),
    };
    let matches = verify_password(body.password, hash, state.auth.bcrypt_cost).await?;
    let (id, role) = who.filter(|_| matches).ok_or_else(bad_credentials)?;
    tracing::info!(user_id = id, "signed in");
    issue_pair(&state, id, role).await.map(Json)
}

/// `POST /auth/refresh`: trades a refresh token for a new pair; the old one stops working.
#[utoipa::path(
    post, path = "/auth/refresh", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new pair; the old refresh token no longer works", body = TokenPair),
        (status = 401, description = "The refresh token is unknown, used, revoked or expired", body = shared::openapi::ErrorBody),
        JsonBody,
    ),
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn refresh(
    State(state): State<AppState>,
    Json(body): Json<RefreshRequest>,
) -> Result<Json<TokenPair>> {
    let next = new_refresh_token();
    // One statement: revoke the old token (the row lock makes a concurrent reuse of the same
    // token find it revoked), store the new one, and read the user's current role.
    let row = sqlx::query!(
        r#"with old as (
               update refresh_tokens set revoked_at = now()
               where token_hash = $1 and revoked_at is null and expires_at > now()
               returning user_id
           ), new as (
               insert into refresh_tokens (user_id, token_hash, expires_at)
               select user_id, $2, now() + make_interval(secs => $3) from old
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
    pair(&state, row.id, row.role, next).map(Json)
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
