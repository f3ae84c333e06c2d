//! Registration and the user directory.

use axum::extract::State;
use axum::http::StatusCode;
use secrecy::SecretString;
use serde::Deserialize;
use shared::auth::hash_password;
use shared::openapi::{BadQuery, ErrorBody, JsonBody, NotFound, PageParams, RoleOnly, SignedIn};
use shared::users::{NewUser, User};
use shared::{
    Admin, AppState, AuthUser, Error, Json, Page, Paginated, Path, Query, Result, ResultExt, Role,
};
use utoipa::{IntoParams, ToSchema};

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

/// `POST /auth/register`: a new account with the `user` role.
#[utoipa::path(
    post, path = "/auth/register", tag = "auth",
    request_body = Registration,
    responses(
        (status = 201, description = "Registered, with the `user` role", body = User),
        (status = 409, description = "The username is taken", body = ErrorBody),
        JsonBody,
    ),
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn register(
    State(state): State<AppState>,
    Json(body): Json<Registration>,
) -> Result<(StatusCode, Json<User>)> {
    let new = NewUser::parse(
        body.username,
        body.password,
        body.confirm_password,
        body.full_name,
    )?;
    let hash = hash_password(new.password, state.auth.bcrypt_cost).await?;
    let user = sqlx::query_as!(
        User,
        r#"insert into users (username, password_hash, full_name)
           values ($1, $2, $3)
           returning id, username, full_name, role as "role: Role", created_at"#,
        new.username,
        hash,
        new.full_name,
    )
    .fetch_one(&state.db)
    .await
    .on_constraint("users_username_key", || {
        Error::conflict("username_taken", "this username is already taken")
    })?;
    tracing::info!(user_id = user.id, "user registered");
    Ok((StatusCode::CREATED, Json(user)))
}

/// `GET /users/me`: the caller.
#[utoipa::path(
    get, path = "/users/me", tag = "users",
    security(("oauth2" = [])),
    responses((status = 200, description = "The caller", body = User), SignedIn, NotFound),
)]
pub(crate) async fn me(State(state): State<AppState>, caller: AuthUser) -> Result<Json<User>> {
    sqlx::query_as!(
        User,
        r#"select id, username, full_name, role as "role: Role", created_at from users where id = $1"#,
        caller.id,
    )
    .fetch_optional(&state.db)
    .await?
    .map(Json)
    .ok_or(Error::NotFound("user"))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UserFilter {
    /// Only users with this role.
    role: Option<Role>,
}

/// `GET /users?role=`: every user, by id, one page at a time (admin).
#[utoipa::path(
    get, path = "/users", tag = "users",
    params(PageParams, UserFilter),
    security(("oauth2" = [])),
    responses((status = 200, description = "One page of users, by id", body = Paginated<User>), RoleOnly, BadQuery),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    _: Admin,
    page: Page,
    Query(filter): Query<UserFilter>,
) -> Result<Json<Paginated<User>>> {
    // One round trip: the count and the page, joined so the count arrives even when the page
    // is empty.
    let rows = sqlx::query!(
        r#"select t.total as "total!", u.id as "id?", u.username as "username?", u.full_name as "full_name?",
                  u.role as "role?: Role", u.created_at as "created_at?"
           from (select count(*) as total from users where $1::user_role is null or role = $1) t
           left join lateral (
               select id, username, full_name, role, created_at from users
               where $1::user_role is null or role = $1
               order by id limit $2 offset $3
           ) u on true"#,
        filter.role as Option<Role>,
        page.limit,
        page.offset,
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

/// `PATCH /users/{id}/role`: promote or demote a user (admin). The last admin stays one.
#[utoipa::path(
    patch, path = "/users/{id}/role", tag = "users",
    params(("id" = i64, Path, description = "User id")),
    request_body = RoleChange,
    security(("oauth2" = [])),
    responses(
        (status = 200, description = "The user with the new role", body = User),
        (status = 409, description = "The last admin cannot be demoted", body = ErrorBody),
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
    // Locking every admin row (and the target, and the caller) serialises concurrent
    // demotions: two admins demoting each other at once cannot both see "another admin is
    // left". The caller's role is read from the database, not the token: an admin demoted a
    // minute ago still holds a token that says admin, and must not promote themself back.
    let locked = sqlx::query!(
        r#"select id, role as "role: Role" from users where id = $1 or id = $2 or role = 'admin' for update"#,
        id,
        admin.id
    )
    .fetch_all(&mut *tx)
    .await?;
    if !locked
        .iter()
        .any(|row| row.id == admin.id && row.role == Role::Admin)
    {
        return Err(Error::Forbidden);
    }
    let current = locked
        .iter()
        .find(|row| row.id == id)
        .ok_or(Error::NotFound("user"))?
        .role;
    let admins = locked.iter().filter(|row| row.role == Role::Admin).count();
    if current == Role::Admin && body.role != Role::Admin && admins <= 1 {
        return Err(Error::conflict(
            "last_admin",
            "the last admin cannot be demoted",
        ));
    }
    let user = sqlx::query_as!(
        User,
        r#"update users set role = $2 where id = $1
           returning id, username, full_name, role as "role: Role", created_at"#,
        id,
        body.role as Role,
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(role = ?user.role, "role changed");
    Ok(Json(user))
}
