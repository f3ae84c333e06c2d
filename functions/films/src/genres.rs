//! Genres.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shared::validate::{Checks, contains_pattern, text};
use shared::{
    Admin, AppState, Error, Json, MaybeAuthUser, Page, Paginated, Path, Query, Result, ResultExt,
};

#[derive(Debug, Serialize)]
pub(crate) struct Genre {
    id: i64,
    title: String,
}

#[derive(Deserialize)]
pub(crate) struct GenreFilter {
    title: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct GenreBody {
    title: Option<String>,
}

fn title_taken() -> Error {
    Error::conflict(
        "genre_title_taken",
        "a genre with this title already exists",
    )
}

/// The trimmed title, or 422.
fn parse_title(body: GenreBody) -> Result<String> {
    let title = body.title.map(|t| t.trim().to_owned());
    Checks::new()
        .check("title", title.is_none(), "this field is required")
        .add("title", title.as_deref().and_then(|t| text(t, 1, 50)))
        .finish()?;
    Ok(title.unwrap_or_default())
}

/// `GET /genres?title=`: genres by title, a case-insensitive substring filter.
pub(crate) async fn list(
    State(state): State<AppState>,
    _: MaybeAuthUser,
    page: Page,
    Query(filter): Query<GenreFilter>,
) -> Result<Json<Paginated<Genre>>> {
    let pattern = filter.title.as_deref().map(contains_pattern);
    let rows = sqlx::query!(
        r#"select t.total as "total!", g.id as "id?", g.title as "title?"
           from (select count(*) as total from genres where $1::text is null or title ilike $1) t
           left join lateral (
               select id, title from genres where $1::text is null or title ilike $1
               order by lower(title), id limit $2 offset $3
           ) g on true"#,
        pattern,
        page.limit,
        page.offset,
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

/// `GET /genres/{id}`.
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

/// `POST /genres` (admin).
pub(crate) async fn create(
    State(state): State<AppState>,
    _: Admin,
    Json(body): Json<GenreBody>,
) -> Result<(StatusCode, Json<Genre>)> {
    let title = parse_title(body)?;
    let genre = sqlx::query_as!(
        Genre,
        "insert into genres (title) values ($1) returning id, title",
        title
    )
    .fetch_one(&state.db)
    .await
    .on_constraint("genres_title_key", title_taken)?;
    Ok((StatusCode::CREATED, Json(genre)))
}

/// `PATCH /genres/{id}` (admin): rename.
pub(crate) async fn update(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<i64>,
    Json(body): Json<GenreBody>,
) -> Result<Json<Genre>> {
    let title = parse_title(body)?;
    sqlx::query_as!(
        Genre,
        "update genres set title = $2 where id = $1 returning id, title",
        id,
        title
    )
    .fetch_optional(&state.db)
    .await
    .on_constraint("genres_title_key", title_taken)?
    .map(Json)
    .ok_or(Error::NotFound("genre"))
}

/// `DELETE /genres/{id}` (admin): films simply lose the genre.
pub(crate) async fn delete(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    let deleted = sqlx::query!("delete from genres where id = $1", id)
        .execute(&state.db)
        .await?
        .rows_affected();
    if deleted == 0 {
        Err(Error::NotFound("genre"))
    } else {
        Ok(StatusCode::NO_CONTENT)
    }
}
