//! Films, each with its genres.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::Datelike;
use serde::{Deserialize, Serialize};
use shared::films::{AgeRating, GenreRef};
use shared::openapi::{
    BadQuery, ErrorBody, JsonBody, NotFound, OptionalToken, PageParams, RoleOnly,
};
use shared::validate::{Checks, contains_pattern, multiline_text, trimmed_text};
use shared::{
    Admin, AppState, Error, ErrorCode, Json, MaybeAuthUser, Page, Paginated, Path, Query, Result,
    ResultExt, constraints, http, rules,
};
use sqlx::PgConnection;
use sqlx::types::Json as JsonColumn;
use utoipa::{IntoParams, ToSchema};

/// A film with its genres.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Film {
    id: i64,
    title: String,
    description: String,
    age_rating: AgeRating,
    duration_minutes: i32,
    release_year: i32,
    genres: Vec<GenreRef>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct FilmFilter {
    /// Only films whose title contains this, whatever the case.
    title: Option<String>,
    /// Only films of this genre.
    genre_id: Option<i64>,
    /// Only films with this rating.
    age_rating: Option<AgeRating>,
}

/// A film's fields as sent. Creating needs `title`, `age_rating`, `duration_minutes` and
/// `release_year`; `PATCH` changes only the fields given.
#[derive(Deserialize, ToSchema)]
pub(crate) struct FilmBody {
    /// 1–200 characters; unique, whatever the case.
    #[schema(min_length = 1, max_length = 200)]
    title: Option<String>,
    /// Up to 2,000 characters; line breaks allowed.
    #[schema(max_length = 2000)]
    description: Option<String>,
    age_rating: Option<AgeRating>,
    #[schema(minimum = 1, maximum = 600)]
    duration_minutes: Option<i64>,
    /// From 1888 to next year.
    #[schema(minimum = 1888)]
    release_year: Option<i64>,
    /// The film's genres (at most 20); replaces the whole set.
    #[schema(max_items = 20)]
    genre_ids: Option<Vec<i64>>,
}

/// A film body that passed every rule.
struct FilmChanges {
    title: Option<String>,
    description: Option<String>,
    age_rating: Option<AgeRating>,
    duration_minutes: Option<i32>,
    release_year: Option<i32>,
    genre_ids: Option<Vec<i64>>,
}

impl FilmBody {
    /// Checks every field at once. Creating needs title, rating, duration and year.
    fn parse(self, creating: bool) -> Result<FilmChanges> {
        const REQUIRED: &str = "this field is required";
        let title = self.title.as_deref().map(shared::validate::name);
        let next_year = i64::from(chrono::Utc::now().year()) + 1;
        let mut genre_ids = self.genre_ids;
        if let Some(ids) = genre_ids.as_mut() {
            ids.sort_unstable();
            ids.dedup();
        }
        let mut checks = Checks::new();
        checks
            .check("title", creating && title.is_none(), REQUIRED)
            .add(
                "title",
                self.title
                    .as_deref()
                    .and_then(|t| trimmed_text(t, rules::FILM_TITLE)),
            )
            .add(
                "description",
                self.description
                    .as_deref()
                    .and_then(|d| multiline_text(d, rules::FILM_DESCRIPTION)),
            )
            .check(
                "age_rating",
                creating && self.age_rating.is_none(),
                REQUIRED,
            )
            .check(
                "duration_minutes",
                creating && self.duration_minutes.is_none(),
                REQUIRED,
            )
            .check(
                "duration_minutes",
                self.duration_minutes
                    .is_some_and(|d| !rules::FILM_DURATION_MINUTES.contains(&d)),
                &format!(
                    "must be between {} and {}",
                    rules::FILM_DURATION_MINUTES.start(),
                    rules::FILM_DURATION_MINUTES.end()
                ),
            )
            .check(
                "release_year",
                creating && self.release_year.is_none(),
                REQUIRED,
            )
            .add(
                "release_year",
                self.release_year
                    .filter(|y| !(rules::FIRST_RELEASE_YEAR..=next_year).contains(y))
                    .map(|_| {
                        format!(
                            "must be between {} and {next_year}",
                            rules::FIRST_RELEASE_YEAR
                        )
                    }),
            )
            .check(
                "genre_ids",
                genre_ids
                    .as_ref()
                    .is_some_and(|ids| ids.len() > rules::FILM_GENRES_MAX),
                &format!("at most {} genres", rules::FILM_GENRES_MAX),
            );
        checks.finish()?;
        Ok(FilmChanges {
            title,
            description: self.description,
            age_rating: self.age_rating,
            // In range (checked above), so these conversions cannot fail.
            duration_minutes: self.duration_minutes.and_then(|d| i32::try_from(d).ok()),
            release_year: self.release_year.and_then(|y| i32::try_from(y).ok()),
            genre_ids,
        })
    }
}

fn title_taken() -> Error {
    Error::conflict(
        ErrorCode::FilmTitleTaken,
        "a film with this title already exists",
    )
}

fn unknown_genres(ids: &[i64]) -> Error {
    Error::invalid("genre_ids", format!("these genres do not exist: {ids:?}"))
}

/// One film with its genres, in one query.
async fn fetch(db: &mut PgConnection, id: i64) -> Result<Option<Film>> {
    let row = sqlx::query_file!("sql/film.sql", id)
        .fetch_optional(db)
        .await?;
    Ok(row.map(|row| Film {
        id: row.id,
        title: row.title,
        description: row.description,
        age_rating: row.age_rating,
        duration_minutes: row.duration_minutes,
        release_year: row.release_year,
        genres: row.genres.0,
    }))
}

/// Makes the film's genres exactly `ids`, in one statement; 422 naming unknown ids.
async fn replace_genres(db: &mut PgConnection, film_id: i64, ids: &[i64]) -> Result<()> {
    let missing = sqlx::query_scalar!(
        r#"with wanted as (select unnest($2::bigint[]) as id),
                missing as (select w.id from wanted w where not exists (select 1 from genres g where g.id = w.id)),
                removed as (
                    delete from film_genres
                    where film_id = $1 and genre_id <> all($2) and not exists (select 1 from missing)
                ),
                added as (
                    insert into film_genres (film_id, genre_id)
                    select $1, id from wanted where not exists (select 1 from missing)
                    on conflict do nothing
                )
           select coalesce(array_agg(id order by id), '{}') as "missing!" from missing"#,
        film_id,
        ids,
    )
    .fetch_one(db)
    .await
    // A genre deleted between the check and the insert.
    .on_constraint(constraints::FILM_GENRES_GENRE, || unknown_genres(ids))?;
    if missing.is_empty() {
        Ok(())
    } else {
        Err(unknown_genres(&missing))
    }
}

/// List films.
///
/// `GET /films?title=&genre_id=&age_rating=`: films by title, with their genres, in one query.
#[utoipa::path(
    get, path = "/films", tag = "films",
    params(PageParams, FilmFilter),
    security((), ("oauth2" = [])),
    responses((status = 200, description = "One page of films, by title", body = Paginated<Film>), OptionalToken, BadQuery),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    _: MaybeAuthUser,
    page: Page,
    Query(filter): Query<FilmFilter>,
) -> Result<Json<Paginated<Film>>> {
    let pattern = filter.title.as_deref().map(contains_pattern);
    let rows = sqlx::query_file!(
        "sql/films.sql",
        pattern,
        filter.genre_id,
        filter.age_rating as Option<AgeRating>,
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
            Some(Film {
                id: row.id?,
                title: row.title?,
                description: row.description?,
                age_rating: row.age_rating?,
                duration_minutes: row.duration_minutes?,
                release_year: row.release_year?,
                genres: row.genres?.0,
            })
        },
    )))
}

/// Read a film.
///
/// `GET /films/{id}`: one film, with its genres.
#[utoipa::path(
    get, path = "/films/{id}", tag = "films",
    params(("id" = i64, Path, description = "Film id")),
    security((), ("oauth2" = [])),
    responses((status = 200, description = "The film", body = Film), OptionalToken, NotFound),
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    _: MaybeAuthUser,
    Path(id): Path<i64>,
) -> Result<Json<Film>> {
    let mut conn = state.db.acquire().await?;
    fetch(&mut conn, id)
        .await?
        .map(Json)
        .ok_or(Error::NotFound("film"))
}

/// Create a film.
///
/// `POST /films` (admin): the film and its genres in one transaction.
#[utoipa::path(
    post, path = "/films", tag = "films",
    request_body = FilmBody,
    security(("oauth2" = [])),
    responses(
        (status = 201, description = "Created", body = Film),
        (status = 409, description = "A film with this title exists", body = ErrorBody),
        RoleOnly, JsonBody,
    ),
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn create(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Json(body): Json<FilmBody>,
) -> Result<(StatusCode, Json<Film>)> {
    let film = body.parse(true)?;
    let mut tx = state.db.begin().await?;
    let id = sqlx::query_scalar!(
        "insert into films (title, description, age_rating, duration_minutes, release_year)
         select $1, $2, $3, $4, $5 where authorize($6, 'admin') returning id",
        film.title,
        film.description.unwrap_or_default(),
        film.age_rating as Option<AgeRating>,
        film.duration_minutes,
        film.release_year,
        admin.id,
    )
    .fetch_one(&mut *tx)
    .await
    .on_constraint(constraints::FILMS_TITLE, title_taken)?;
    replace_genres(&mut tx, id, film.genre_ids.as_deref().unwrap_or_default()).await?;
    let created = fetch(&mut tx, id).await?.ok_or(Error::NotFound("film"))?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Change a film.
///
/// `PATCH /films/{id}` (admin): changes the fields given; `genre_ids` replaces the whole set.
#[utoipa::path(
    patch, path = "/films/{id}", tag = "films",
    params(("id" = i64, Path, description = "Film id")),
    request_body = FilmBody,
    security(("oauth2" = [])),
    responses(
        (status = 200, description = "The changed film", body = Film),
        (status = 409, description = "The title is taken, or the duration cannot change while the film has screenings", body = ErrorBody),
        RoleOnly, NotFound, JsonBody,
    ),
)]
#[tracing::instrument(skip_all, fields(film_id = id))]
pub(crate) async fn update(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<i64>,
    Json(body): Json<FilmBody>,
) -> Result<Json<Film>> {
    let changes = body.parse(false)?;
    let mut tx = state.db.begin().await?;
    if let Some(duration) = changes.duration_minutes {
        // A screening's end is its start plus the film's duration, fixed when it was scheduled
        // (and the overlap rule relies on it): a film with screenings keeps its duration.
        // Scheduling locks the film, so the check (its own statement, after the lock) sees
        // every screening.
        let current = sqlx::query_scalar!(
            "select duration_minutes from films where id = $1 and authorize($2, 'admin') for update",
            id,
            admin.id
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(Error::NotFound("film"))?;
        let scheduled = sqlx::query_scalar!(
            r#"select exists (select 1 from screenings where film_id = $1) as "exists!""#,
            id
        )
        .fetch_one(&mut *tx)
        .await?;
        if scheduled && current != duration {
            return Err(Error::conflict(
                ErrorCode::FilmHasScreenings,
                "the duration of a film with screenings cannot change",
            ));
        }
    }
    sqlx::query_scalar!(
        "update films set
             title = coalesce($2, title),
             description = coalesce($3, description),
             age_rating = coalesce($4, age_rating),
             duration_minutes = coalesce($5, duration_minutes),
             release_year = coalesce($6, release_year)
         where id = $1 and authorize($7, 'admin') returning id",
        id,
        changes.title,
        changes.description,
        changes.age_rating as Option<AgeRating>,
        changes.duration_minutes,
        changes.release_year,
        admin.id,
    )
    .fetch_optional(&mut *tx)
    .await
    .on_constraint(constraints::FILMS_TITLE, title_taken)?
    .ok_or(Error::NotFound("film"))?;
    if let Some(ids) = &changes.genre_ids {
        replace_genres(&mut tx, id, ids).await?;
    }
    let updated = fetch(&mut tx, id).await?.ok_or(Error::NotFound("film"))?;
    tx.commit().await?;
    Ok(Json(updated))
}

/// Delete a film.
///
/// `DELETE /films/{id}` (admin): refused while the film has screenings.
#[utoipa::path(
    delete, path = "/films/{id}", tag = "films",
    params(("id" = i64, Path, description = "Film id")),
    security(("oauth2" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "The film has screenings", body = ErrorBody),
        RoleOnly, NotFound,
    ),
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    let deleted = sqlx::query!(
        "delete from films where id = $1 and authorize($2, 'admin')",
        id,
        admin.id
    )
    .execute(&state.db)
    .await
    .on_constraint(constraints::SCREENINGS_FILM, || {
        Error::conflict(
            ErrorCode::FilmHasScreenings,
            "the film has screenings; delete them first",
        )
    })?
    .rows_affected();
    http::deleted(deleted, "film")
}
