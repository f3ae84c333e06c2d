//! Genres.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shared::openapi::{
    BadQuery, ErrorBody, JsonBody, NotFound, OptionalToken, PageParams, RoleOnly,
};
use shared::validate::{Checks, contains_pattern, trimmed_text};
use shared::{
    Admin, AppState, Error, ErrorCode, Json, MaybeAuthUser, Page, Paginated, Path, Query, Result,
    ResultExt, constraints, http, rules,
};
use utoipa::{IntoParams, ToSchema};

/// A genre.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Genre {
    id: i64,
    title: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct GenreFilter {
    /// Only genres whose title contains this, whatever the case.
    title: Option<String>,
}

/// A genre's title.
#[derive(Deserialize, ToSchema)]
pub(crate) struct GenreBody {
    /// 1–50 characters; unique, whatever the case.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 50)]
    title: Option<String>,
}

fn title_taken() -> Error {
    Error::conflict(
        ErrorCode::GenreTitleTaken,
        "a genre with this title already exists",
    )
}

/// The trimmed title, or 422.
fn parse_title(body: GenreBody) -> Result<String> {
    let raw = body.title;
    let title = raw.as_deref().map(shared::validate::name);
    Checks::new()
        .check("title", title.is_none(), "this field is required")
        .add(
            "title",
            raw.as_deref()
                .and_then(|t| trimmed_text(t, rules::GENRE_TITLE)),
        )
        .finish()?;
    Ok(title.unwrap_or_default())
}

/// List genres.
///
/// `GET /genres?title=`: genres by title, a case-insensitive substring filter.
#[utoipa::path(
    get, path = "/genres", tag = "genres",
    params(PageParams, GenreFilter),
    security((), ("oauth2" = [])),
    responses((status = 200, description = "One page of genres, by title", body = Paginated<Genre>), OptionalToken, BadQuery),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    _: MaybeAuthUser,
    page: Page,
    Query(filter): Query<GenreFilter>,
) -> Result<Json<Paginated<Genre>>> {
    let pattern = filter.title.as_deref().map(contains_pattern);
    let rows = sqlx::query!(
        r#"select t.total as "total!", g.id as "id?", g.title as "title?"
           from (select count(*) as total from (select from genres where $1::text is null or title ilike $1 limit $4) c) t
           left join lateral (
               select id, title from genres where $1::text is null or title ilike $1
               order by lower(title), id limit $2 offset $3
           ) g on true"#,
        pattern,
        page.limit,
        page.offset,
        page.count_limit(),
    )
    .fetch_all(&state.db)
    .await?;
    Ok(Json(page.collect(
        rows,
        |row| row.total,
        |row| {
            Some(Genre {
                id: row.id?,
                title: row.title?,
            })
        },
    )))
}

/// Read a genre.
///
/// `GET /genres/{id}`: one genre.
#[utoipa::path(
    get, path = "/genres/{id}", tag = "genres",
    params(("id" = i64, Path, description = "Genre id")),
    security((), ("oauth2" = [])),
    responses((status = 200, description = "The genre", body = Genre), OptionalToken, NotFound),
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    _: MaybeAuthUser,
    Path(id): Path<i64>,
) -> Result<Json<Genre>> {
    sqlx::query_as!(Genre, "select id, title from genres where id = $1", id)
        .fetch_optional(&state.db)
        .await?
        .map(Json)
        .ok_or(Error::NotFound("genre"))
}

/// Create a genre.
///
/// `POST /genres` (admin): a new genre.
#[utoipa::path(
    post, path = "/genres", tag = "genres",
    request_body = GenreBody,
    security(("oauth2" = [])),
    responses(
        (status = 201, description = "Created", body = Genre),
        (status = 409, description = "A genre with this title exists", body = ErrorBody),
        RoleOnly, JsonBody,
    ),
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Json(body): Json<GenreBody>,
) -> Result<(StatusCode, Json<Genre>)> {
    let title = parse_title(body)?;
    let genre = sqlx::query_as!(
        Genre,
        "insert into genres (title) select $1 where authorize($2, 'admin') returning id, title",
        title,
        admin.id,
    )
    .fetch_one(&state.db)
    .await
    .on_constraint(constraints::GENRES_TITLE, title_taken)?;
    Ok((StatusCode::CREATED, Json(genre)))
}

/// Rename a genre.
///
/// `PATCH /genres/{id}` (admin): rename.
#[utoipa::path(
    patch, path = "/genres/{id}", tag = "genres",
    params(("id" = i64, Path, description = "Genre id")),
    request_body = GenreBody,
    security(("oauth2" = [])),
    responses(
        (status = 200, description = "Renamed", body = Genre),
        (status = 409, description = "A genre with this title exists", body = ErrorBody),
        RoleOnly, NotFound, JsonBody,
    ),
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<i64>,
    Json(body): Json<GenreBody>,
) -> Result<Json<Genre>> {
    let title = parse_title(body)?;
    sqlx::query_as!(
        Genre,
        "update genres set title = $2 where id = $1 and authorize($3, 'admin') returning id, title",
        id,
        title,
        admin.id,
    )
    .fetch_optional(&state.db)
    .await
    .on_constraint(constraints::GENRES_TITLE, title_taken)?
    .map(Json)
    .ok_or(Error::NotFound("genre"))
}

/// Delete a genre.
///
/// `DELETE /genres/{id}` (admin): films simply lose the genre.
#[utoipa::path(
    delete, path = "/genres/{id}", tag = "genres",
    params(("id" = i64, Path, description = "Genre id")),
    security(("oauth2" = [])),
    responses((status = 204, description = "Deleted"), RoleOnly, NotFound),
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    let deleted = sqlx::query!(
        "delete from genres where id = $1 and authorize($2, 'admin')",
        id,
        admin.id
    )
    .execute(&state.db)
    .await?
    .rows_affected();
    http::deleted(deleted, "genre")
}
