//! Registration and the user directory.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use secrecy::SecretString;
use serde::Deserialize;
use shared::auth::hash_password;
use shared::http::no_store;
use shared::openapi::{
    BadQuery, ErrorBody, JsonBody, NotFound, PageParams, RoleOnly, SignedIn, Throttled,
};
use shared::users::{NewUser, User};
use shared::{
    Admin, AppState, AuthUser, ClientAddress, Error, ErrorCode, Json, Page, Paginated, Path, Query,
    Result, ResultExt, Role, constraints,
};
use sqlx::PgConnection;
use utoipa::{IntoParams, ToSchema};

use crate::throttle::{address_key, check};

/// A new account.
#[derive(Deserialize, ToSchema)]
pub(crate) struct Registration {
    // Optional here so that a body missing several fields hears about all of them at once.
    /// 3–32 ASCII letters, digits, `_`, `.`, `-`; unique, whatever the case.
    #[schema(value_type = String, required = true, min_length = 3, max_length = 32, pattern = "^[A-Za-z0-9_.-]+$")]
    username: Option<String>,
    /// 8–64 characters (at most 72 bytes) with a lowercase and an uppercase letter, a digit
    /// and another character.
    #[schema(value_type = String, required = true, format = Password, min_length = 8, max_length = 64)]
    password: Option<SecretString>,
    /// The same password again.
    #[schema(value_type = String, required = true, format = Password)]
    confirm_password: Option<SecretString>,
    /// 2–100 characters: at least two words of letters, spaces, `-` and `'`.
    #[schema(value_type = String, required = true, min_length = 2, max_length = 100)]
    full_name: Option<String>,
}

/// Register a customer account.
///
/// `POST /auth/register`: a new account with the `user` role. At most 300 registrations an
/// hour from one client address (a busy box office behind one address never gets there).
#[utoipa::path(
    post, path = "/auth/register", tag = "auth",
    request_body = Registration,
    responses(
        (status = 201, description = "Registered, with the `user` role", body = User),
        (status = 409, description = "The username is taken", body = ErrorBody),
        Throttled, JsonBody,
    ),
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn register(
    State(state): State<AppState>,
    address: ClientAddress,
    Json(body): Json<Registration>,
) -> Result<(StatusCode, Json<User>)> {
    let new = NewUser::parse(
        body.username,
        body.password,
        body.confirm_password,
        body.full_name,
    )?;
    // Counted before the password is hashed: the hash is the expensive part.
    if let Some(key) = address_key(&address) {
        let limits = &state.limits;
        let wait = sqlx::query_scalar!(
            r#"select rate_attempt('registration', $1, $2, make_interval(secs => $3)) as "wait!""#,
            key,
            limits.registrations_per_address,
            limits.registration_window.as_secs_f64(),
        )
        .fetch_one(&state.db)
        .await?;
        check(wait)?;
    }
    let hash = hash_password(new.password, state.auth.bcrypt_cost).await?;
    let user = sqlx::query_as!(
        User,
        r#"insert into users (username, password_hash, full_name)
           values ($1, $2, $3)
           returning id, username, full_name, role as "role: Role", active, created_at"#,
        new.username,
        hash,
        new.full_name,
    )
    .fetch_one(&state.db)
    .await
    .on_constraint(constraints::USERS_USERNAME, || {
        Error::conflict(ErrorCode::UsernameTaken, "this username is already taken")
    })?;
    tracing::info!(user_id = user.id, "user registered");
    Ok((StatusCode::CREATED, Json(user)))
}

/// Read the signed-in account.
///
/// `GET /users/me`: the caller (401 once the account is deleted or deactivated).
#[utoipa::path(
    get, path = "/users/me", tag = "users",
    security(("oauth2" = [])),
    responses(
        (status = 200, description = "The caller", body = User,
         headers(("Cache-Control" = String, description = "`no-store`"))),
        SignedIn,
    ),
)]
pub(crate) async fn me(
    State(state): State<AppState>,
    caller: AuthUser,
) -> Result<impl IntoResponse> {
    let user = sqlx::query_as!(
        User,
        r#"select id, username, full_name, role as "role: Role", active, created_at
           from users where id = $1 and caller_role($1) is not null"#,
        caller.id,
    )
    .fetch_optional(&state.db)
    .await?
    .ok_or(Error::NotFound("user"))?;
    Ok((no_store(), Json(user)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UserFilter {
    /// Only users with this role.
    role: Option<Role>,
    /// Only active (`true`) or only deactivated (`false`) accounts.
    active: Option<bool>,
}

/// List users.
///
/// `GET /users?role=`: every user, by id, one page at a time (admin).
#[utoipa::path(
    get, path = "/users", tag = "users",
    params(PageParams, UserFilter),
    security(("oauth2" = [])),
    responses((status = 200, description = "One page of users, by id", body = Paginated<User>), RoleOnly, BadQuery),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Admin(admin): Admin,
    page: Page,
    Query(filter): Query<UserFilter>,
) -> Result<Json<Paginated<User>>> {
    // One round trip: the caller's current role, the count and the page, joined so the count
    // arrives even when the page is empty.
    let rows = sqlx::query_file!(
        "sql/users.sql",
        filter.role as Option<Role>,
        page.limit,
        page.offset,
        admin.id,
        filter.active,
        page.count_limit(),
    )
    .fetch_all(&state.db)
    .await?;
    Ok(Json(page.collect(
        rows,
        |row| row.total,
        |row| {
            Some(User {
                id: row.id?,
                username: row.username?,
                full_name: row.full_name?,
                role: row.role?,
                active: row.active?,
                created_at: row.created_at?,
            })
        },
    )))
}

/// The new role.
#[derive(Deserialize, ToSchema)]
pub(crate) struct RoleChange {
    role: Role,
}

/// The target of an admin's change, with every active admin locked: two admins demoting or
/// deactivating each other at once cannot both see "another admin is left".
struct Locked {
    role: Role,
    active: bool,
    /// Active admins, the target included if it is one.
    active_admins: usize,
}

/// Locks the target, the caller and every active admin. The caller's role is read here, not
/// from the token: an admin demoted a minute ago still holds a token that says admin.
async fn lock_for_change(db: &mut PgConnection, admin: i64, target: i64) -> Result<Locked> {
    let locked = sqlx::query!(
        r#"select id, role as "role: Role", active from users
           where id = $1 or id = $2 or (role = 'admin' and active)
           for update"#,
        target,
        admin
    )
    .fetch_all(&mut *db)
    .await?;
    let caller = locked
        .iter()
        .find(|row| row.id == admin)
        .filter(|row| row.active)
        .ok_or_else(Error::account_inactive)?;
    if caller.role != Role::Admin {
        return Err(Error::Forbidden);
    }
    let row = locked
        .iter()
        .find(|row| row.id == target)
        .ok_or(Error::NotFound("user"))?;
    Ok(Locked {
        role: row.role,
        active: row.active,
        active_admins: locked
            .iter()
            .filter(|row| row.role == Role::Admin && row.active)
            .count(),
    })
}

fn last_admin() -> Error {
    Error::conflict(
        ErrorCode::LastAdmin,
        "the last active admin cannot be demoted or deactivated",
    )
}

/// Change a user's role.
///
/// `PATCH /users/{id}/role`: promote or demote a user (admin). The last active admin stays one.
#[utoipa::path(
    patch, path = "/users/{id}/role", tag = "users",
    params(("id" = i64, Path, description = "User id")),
    request_body = RoleChange,
    security(("oauth2" = [])),
    responses(
        (status = 200, description = "The user with the new role", body = User),
        (status = 409, description = "The last active admin cannot be demoted", body = ErrorBody),
        RoleOnly, NotFound, JsonBody,
    ),
)]
#[tracing::instrument(skip_all, fields(target_user_id = id, admin_id = admin.id))]
pub(crate) async fn change_role(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<i64>,
    Json(body): Json<RoleChange>,
) -> Result<Json<User>> {
    let mut tx = state.db.begin().await?;
    let target = lock_for_change(&mut tx, admin.id, id).await?;
    if target.role == Role::Admin
        && target.active
        && body.role != Role::Admin
        && target.active_admins <= 1
    {
        return Err(last_admin());
    }
    let user = sqlx::query_as!(
        User,
        r#"update users set role = $2 where id = $1
           returning id, username, full_name, role as "role: Role", active, created_at"#,
        id,
        body.role as Role,
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(role = ?user.role, "role changed");
    Ok(Json(user))
}

/// Whether the account may sign in.
#[derive(Deserialize, ToSchema)]
pub(crate) struct AccountChange {
    active: bool,
}

/// Deactivate or reactivate an account.
///
/// `PATCH /users/{id}`: deactivate (`{"active": false}`) or reactivate an account (admin).
///
/// A deactivated user cannot sign in or refresh (they get the same 401 as a wrong password),
/// their refresh tokens are revoked, and their access tokens stop working wherever the API
/// acts for them. The last active admin cannot be deactivated.
#[utoipa::path(
    patch, path = "/users/{id}", tag = "users",
    params(("id" = i64, Path, description = "User id")),
    request_body = AccountChange,
    security(("oauth2" = [])),
    responses(
        (status = 200, description = "The user, active or not", body = User),
        (status = 409, description = "The last active admin cannot be deactivated", body = ErrorBody),
        RoleOnly, NotFound, JsonBody,
    ),
)]
#[tracing::instrument(skip_all, fields(target_user_id = id, admin_id = admin.id))]
pub(crate) async fn change_account(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<i64>,
    Json(body): Json<AccountChange>,
) -> Result<Json<User>> {
    let mut tx = state.db.begin().await?;
    let target = lock_for_change(&mut tx, admin.id, id).await?;
    if target.role == Role::Admin && target.active && !body.active && target.active_admins <= 1 {
        return Err(last_admin());
    }
    let user = sqlx::query_as!(
        User,
        r#"with revoked as (
               update refresh_tokens set revoked_at = now()
               where user_id = $1 and revoked_at is null and not $2
           ), forgotten as (
               update device_tokens set revoked_at = now()
               where user_id = $1 and revoked_at is null and not $2
           )
           update users set active = $2 where id = $1
           returning id, username, full_name, role as "role: Role", active, created_at"#,
        id,
        body.active,
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(active = user.active, "account changed");
    Ok(Json(user))
}

/// A new password, with the current one as proof.
#[derive(Deserialize, ToSchema)]
pub(crate) struct PasswordChange {
    #[schema(value_type = String, required = true, format = Password)]
    current_password: Option<SecretString>,
    /// The same rules as at registration; different from the current password.
    #[schema(value_type = String, required = true, format = Password, min_length = 8, max_length = 64)]
    new_password: Option<SecretString>,
    /// The new password again.
    #[schema(value_type = String, required = true, format = Password)]
    confirm_password: Option<SecretString>,
}

/// Change one's own password.
///
/// `POST /users/me/password`: change one's own password; every refresh token and device token
/// of the account is revoked (other sessions end when their access tokens expire). A wrong
/// current password is a 401 and counts as a failed sign-in for the account (for this
/// device's token, when a valid one is sent in `Device-Token`).
#[utoipa::path(
    post, path = "/users/me/password", tag = "users",
    params(
        ("Device-Token" = Option<String>, Header,
         description = "This device's token for the account (from sign-in): the check is then counted under it"),
    ),
    request_body = PasswordChange,
    security(("oauth2" = [])),
    responses(
        (status = 204, description = "Changed; every refresh token of the account is revoked"),
        Throttled, SignedIn, JsonBody,
    ),
)]
#[tracing::instrument(skip_all, fields(user_id = caller.id))]
pub(crate) async fn change_password(
    State(state): State<AppState>,
    caller: AuthUser,
    address: ClientAddress,
    headers: axum::http::HeaderMap,
    Json(body): Json<PasswordChange>,
) -> Result<StatusCode> {
    let new = shared::users::NewPassword::parse(
        body.current_password,
        body.new_password,
        body.confirm_password,
    )?;
    let limits = crate::throttle::SignInLimits::from(&state.limits);
    let keys = crate::throttle::SignInKeys::new(None, &address, &headers)?;
    // Counted as a sign-in of the caller's account is (with this device's token, if valid),
    // so that guessing through this route and through sign-in share one limit.
    let attempt = crate::throttle::begin(&state.db, Some(caller.id), None, &keys, &limits).await?;
    let matches =
        shared::auth::verify_password(new.current, attempt.password_hash, state.auth.bcrypt_cost)
            .await?;
    let hash = if matches {
        Some(hash_password(new.new, state.auth.bcrypt_cost).await?)
    } else {
        None
    };
    // The attempt ends; changed, every session and device of the account is signed out.
    sqlx::query!(
        "with ended as (
             select sign_in_end($3, $4, $5, $6, $7, $8, $9, make_interval(secs => $10),
                                make_interval(secs => $11))
         ), revoked as (
             update refresh_tokens set revoked_at = now()
             where user_id = $1 and revoked_at is null and $2::text is not null
         ), forgotten as (
             update device_tokens set revoked_at = now()
             where user_id = $1 and revoked_at is null and $2::text is not null
         )
         update users set password_hash = $2
         where id = $1 and $2::text is not null and exists (select 1 from ended)",
        caller.id,
        hash,
        !matches,
        attempt.trusted,
        attempt.account_key,
        keys.address,
        keys.device,
        limits.per_account,
        limits.per_address,
        limits.first_block,
        limits.max_block,
    )
    .execute(&state.db)
    .await?;
    if !matches {
        return Err(Error::Unauthorized {
            code: ErrorCode::InvalidCredentials,
            detail: "the current password is incorrect",
        });
    }
    tracing::info!("password changed");
    Ok(StatusCode::NO_CONTENT)
}
