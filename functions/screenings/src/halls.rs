//! Halls: their kind, surcharge and seat layout.

use axum::extract::State;
use axum::http::StatusCode;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use shared::money::Amount;
use shared::openapi::{
    BadQuery, ErrorBody, JsonBody, NotFound, OptionalToken, PageParams, RoleOnly,
};
use shared::validate::{Checks, trimmed_text};
use shared::{
    Admin, AppState, Error, ErrorCode, Json, MaybeAuthUser, Page, Paginated, Path, Result,
    ResultExt, constraints, http, rules,
};
use utoipa::ToSchema;

/// A hall's kind. Stored as the `hall_kind` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, ToSchema)]
#[sqlx(type_name = "hall_kind", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub(crate) enum HallKind {
    Standard,
    Comfort,
    Vip,
}

/// A hall and its seat layout.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Hall {
    id: i64,
    name: String,
    kind: HallKind,
    /// Added to every seat's base price, in percent.
    #[schema(value_type = String, examples("25.00"))]
    surcharge_percent: Decimal,
    rows: i32,
    seats_per_row: i32,
}

/// A hall's fields as sent. Creating needs every field; `PATCH` changes only the fields
/// given (the layout only while the hall has no screenings).
#[derive(Deserialize, ToSchema)]
pub(crate) struct HallBody {
    /// 1–100 characters; unique, whatever the case.
    #[schema(min_length = 1, max_length = 100)]
    name: Option<String>,
    kind: Option<HallKind>,
    /// 0–500, at most two decimal places.
    surcharge_percent: Option<Amount>,
    #[schema(minimum = 1, maximum = 100)]
    rows: Option<i64>,
    #[schema(minimum = 1, maximum = 100)]
    seats_per_row: Option<i64>,
}

struct HallChanges {
    name: Option<String>,
    kind: Option<HallKind>,
    surcharge_percent: Option<Decimal>,
    rows: Option<i32>,
    seats_per_row: Option<i32>,
}

impl HallBody {
    fn parse(self, creating: bool) -> Result<HallChanges> {
        const REQUIRED: &str = "this field is required";
        let name = self.name.as_deref().map(shared::validate::name);
        let surcharge = self.surcharge_percent.map(|a| a.0);
        let layout = |value: Option<i64>| value.is_some_and(|v| !rules::HALL_LAYOUT.contains(&v));
        Checks::new()
            .check("name", creating && name.is_none(), REQUIRED)
            .add(
                "name",
                self.name
                    .as_deref()
                    .and_then(|n| trimmed_text(n, rules::HALL_NAME)),
            )
            .check("kind", creating && self.kind.is_none(), REQUIRED)
            .check(
                "surcharge_percent",
                creating && surcharge.is_none(),
                REQUIRED,
            )
            .check(
                "surcharge_percent",
                surcharge.is_some_and(|s| {
                    s.is_sign_negative() || s > Decimal::from(500) || s.normalize().scale() > 2
                }),
                "must be between 0 and 500, with at most two decimal places",
            )
            .check("rows", creating && self.rows.is_none(), REQUIRED)
            .check("rows", layout(self.rows), "must be between 1 and 100")
            .check(
                "seats_per_row",
                creating && self.seats_per_row.is_none(),
                REQUIRED,
            )
            .check(
                "seats_per_row",
                layout(self.seats_per_row),
                "must be between 1 and 100",
            )
            .finish()?;
        Ok(HallChanges {
            name,
            kind: self.kind,
            surcharge_percent: surcharge,
            rows: self.rows.and_then(|v| i32::try_from(v).ok()),
            seats_per_row: self.seats_per_row.and_then(|v| i32::try_from(v).ok()),
        })
    }
}

fn name_taken() -> Error {
    Error::conflict(
        ErrorCode::HallNameTaken,
        "a hall with this name already exists",
    )
}

/// List halls.
///
/// `GET /halls`: every hall, by id.
#[utoipa::path(
    get, path = "/halls", tag = "halls",
    params(PageParams),
    security((), ("oauth2" = [])),
    responses((status = 200, description = "One page of halls, by id", body = Paginated<Hall>), OptionalToken, BadQuery),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    _: MaybeAuthUser,
    page: Page,
) -> Result<Json<Paginated<Hall>>> {
    let rows = sqlx::query!(
        r#"select t.total as "total!", h.id as "id?", h.name as "name?", h.kind as "kind?: HallKind",
                  h.surcharge_percent as "surcharge_percent?", h.rows as "rows?", h.seats_per_row as "seats_per_row?"
           from (select count(*) as total from (select from halls limit $3) c) t
           left join lateral (select * from halls order by id limit $1 offset $2) h on true"#,
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
            Some(Hall {
                id: row.id?,
                name: row.name?,
                kind: row.kind?,
                surcharge_percent: row.surcharge_percent?,
                rows: row.rows?,
                seats_per_row: row.seats_per_row?,
            })
        },
    )))
}

/// Read a hall.
///
/// `GET /halls/{id}`: one hall.
#[utoipa::path(
    get, path = "/halls/{id}", tag = "halls",
    params(("id" = i64, Path, description = "Hall id")),
    security((), ("oauth2" = [])),
    responses((status = 200, description = "The hall", body = Hall), OptionalToken, NotFound),
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    _: MaybeAuthUser,
    Path(id): Path<i64>,
) -> Result<Json<Hall>> {
    sqlx::query_as!(
        Hall,
        r#"select id, name, kind as "kind: HallKind", surcharge_percent, rows, seats_per_row from halls where id = $1"#,
        id
    )
    .fetch_optional(&state.db)
    .await?
    .map(Json)
    .ok_or(Error::NotFound("hall"))
}

/// Create a hall.
///
/// `POST /halls` (admin): a new hall with its rows and seats per row.
#[utoipa::path(
    post, path = "/halls", tag = "halls",
    request_body = HallBody,
    security(("oauth2" = [])),
    responses(
        (status = 201, description = "Created", body = Hall),
        (status = 409, description = "A hall with this name exists", body = ErrorBody),
        RoleOnly, JsonBody,
    ),
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Json(body): Json<HallBody>,
) -> Result<(StatusCode, Json<Hall>)> {
    let hall = body.parse(true)?;
    let created = sqlx::query_as!(
        Hall,
        r#"insert into halls (name, kind, surcharge_percent, rows, seats_per_row)
           select $1, $2, $3, $4, $5 where authorize($6, 'admin')
           returning id, name, kind as "kind: HallKind", surcharge_percent, rows, seats_per_row"#,
        hall.name,
        hall.kind as Option<HallKind>,
        hall.surcharge_percent,
        hall.rows,
        hall.seats_per_row,
        admin.id,
    )
    .fetch_one(&state.db)
    .await
    .on_constraint(constraints::HALLS_NAME, name_taken)?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Change a hall.
///
/// `PATCH /halls/{id}` (admin). The layout (rows, seats per row) cannot change while the
/// hall has screenings: their tickets were made for the old one.
#[utoipa::path(
    patch, path = "/halls/{id}", tag = "halls",
    params(("id" = i64, Path, description = "Hall id")),
    request_body = HallBody,
    security(("oauth2" = [])),
    responses(
        (status = 200, description = "The changed hall", body = Hall),
        (status = 409, description = "The name is taken, or the layout cannot change while the hall has screenings", body = ErrorBody),
        RoleOnly, NotFound, JsonBody,
    ),
)]
#[tracing::instrument(skip_all, fields(hall_id = id))]
pub(crate) async fn update(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<i64>,
    Json(body): Json<HallBody>,
) -> Result<Json<Hall>> {
    let changes = body.parse(false)?;
    let mut tx = state.db.begin().await?;
    // Locking the hall first makes a concurrent `POST /screenings` for it wait (it locks the
    // hall too), so the screening check below cannot miss one.
    let current = sqlx::query!(
        "select rows, seats_per_row from halls where id = $1 and authorize($2, 'admin') for update",
        id,
        admin.id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound("hall"))?;
    // A statement of its own, so its snapshot is taken after the lock: a screening committed
    // while this request waited for the hall is seen.
    let has_screenings = sqlx::query_scalar!(
        r#"select exists (select 1 from screenings where hall_id = $1 and deleted_at is null) as "exists!""#,
        id
    )
    .fetch_one(&mut *tx)
    .await?;
    let layout_changes = changes.rows.is_some_and(|r| r != current.rows)
        || changes
            .seats_per_row
            .is_some_and(|s| s != current.seats_per_row);
    if layout_changes && has_screenings {
        return Err(Error::conflict(
            ErrorCode::HallHasScreenings,
            "the layout of a hall with screenings cannot change",
        ));
    }
    let updated = sqlx::query_as!(
        Hall,
        r#"update halls set
               name = coalesce($2, name),
               kind = coalesce($3, kind),
               surcharge_percent = coalesce($4, surcharge_percent),
               rows = coalesce($5, rows),
               seats_per_row = coalesce($6, seats_per_row)
           where id = $1
           returning id, name, kind as "kind: HallKind", surcharge_percent, rows, seats_per_row"#,
        id,
        changes.name,
        changes.kind as Option<HallKind>,
        changes.surcharge_percent,
        changes.rows,
        changes.seats_per_row,
    )
    .fetch_one(&mut *tx)
    .await
    .on_constraint(constraints::HALLS_NAME, name_taken)?;
    tx.commit().await?;
    Ok(Json(updated))
}

/// Delete a hall.
///
/// `DELETE /halls/{id}` (admin): refused while the hall has screenings.
#[utoipa::path(
    delete, path = "/halls/{id}", tag = "halls",
    params(("id" = i64, Path, description = "Hall id")),
    security(("oauth2" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "The hall has screenings", body = ErrorBody),
        RoleOnly, NotFound,
    ),
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    let deleted = sqlx::query!(
        "delete from halls where id = $1 and authorize($2, 'admin')",
        id,
        admin.id
    )
    .execute(&state.db)
    .await
    .on_constraint(constraints::SCREENINGS_HALL, || {
        Error::conflict(
            ErrorCode::HallHasScreenings,
            "the hall has screenings; delete them first",
        )
    })?
    .rows_affected();
    http::deleted(deleted, "hall")
}
