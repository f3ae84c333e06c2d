//! Passes and the door: `GET /passes/{code}`, its QR code, and `POST /check-in`.
//!
//! A pass code is the credential (no token): 128 random bits (`new_pass_code()` in the
//! database), shown only to the reservation's owner and staff. A code of the wrong shape is
//! answered like an unknown one, and a known and an unknown code cost the same lookup.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use qrcode::QrCode;
use qrcode::render::svg;
use serde::{Deserialize, Serialize};
use shared::error::ErrorExtras;
use shared::openapi::{ErrorBody, JsonBody, NotFound, RoleOnly};
use shared::{AppState, Error, ErrorCode, Json, Path, Result, Staff, rules};
use utoipa::ToSchema;

use crate::model::{HallRef, Named, Status};

/// A pass's state at the door.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum PassStatus {
    /// Paid, not yet admitted.
    Valid,
    /// Admitted at `admitted_at`.
    Admitted,
    /// Its reservation was cancelled.
    Void,
}

impl PassStatus {
    fn of(reservation: Status, admitted_at: Option<DateTime<Utc>>) -> Self {
        match (reservation, admitted_at) {
            (Status::Paid, Some(_)) => Self::Admitted,
            (Status::Paid, None) => Self::Valid,
            _ => Self::Void,
        }
    }
}

/// A seat's pass.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Pass {
    #[schema(examples("q9XcU3m0Rk2bV7yT1aLw4Q"))]
    code: String,
    status: PassStatus,
    film: Named,
    hall: HallRef,
    row: i32,
    seat: i32,
    /// The screening's id.
    screening_id: i64,
    starts_at: DateTime<Utc>,
    admitted_at: Option<DateTime<Utc>>,
}

/// The code from a path or body, if it has a pass code's shape (22 URL-safe base64
/// characters); anything else names no pass.
fn well_formed(code: &str) -> Result<&str> {
    let shaped = code.len() == rules::PASS_CODE_LENGTH
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if shaped {
        Ok(code)
    } else {
        Err(Error::NotFound("pass"))
    }
}

/// A pass as the lookup and the check-in statements read it.
struct PassRow {
    code: String,
    reservation_status: Status,
    admitted_at: Option<DateTime<Utc>>,
    /// The check-in statement admitted the pass.
    admitted_now: bool,
    /// The check-in window is open.
    open: bool,
    opens_at: DateTime<Utc>,
    closes_at: DateTime<Utc>,
    row_number: i32,
    seat_number: i32,
    screening_id: i64,
    starts_at: DateTime<Utc>,
    film_id: i64,
    film_title: String,
    hall_id: i64,
    hall_name: String,
}

impl From<PassRow> for Pass {
    fn from(row: PassRow) -> Self {
        Pass {
            status: PassStatus::of(row.reservation_status, row.admitted_at),
            code: row.code,
            film: Named {
                id: row.film_id,
                title: row.film_title,
            },
            hall: HallRef {
                id: row.hall_id,
                name: row.hall_name,
            },
            row: row.row_number,
            seat: row.seat_number,
            screening_id: row.screening_id,
            starts_at: row.starts_at,
            admitted_at: row.admitted_at,
        }
    }
}

/// Reads the pass with this code.
async fn find(state: &AppState, code: &str) -> Result<PassRow> {
    let code = well_formed(code)?;
    sqlx::query_file_as!(PassRow, "sql/pass.sql", code, rules::CHECK_IN_OPENS_MINUTES)
        .fetch_optional(&state.db)
        .await?
        .ok_or(Error::NotFound("pass"))
}

/// Read a pass.
///
/// `GET /passes/{code}`: the pass, for whoever holds its code.
#[utoipa::path(
    get, path = "/passes/{code}", tag = "passes",
    params(("code" = String, Path, description = "The pass code (22 characters)")),
    responses(
        (status = 200, description = "The pass", body = Pass),
        NotFound,
    ),
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Response> {
    let pass = Pass::from(find(&state, &code).await?);
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(pass)).into_response())
}

/// A pass as a QR code.
///
/// `GET /passes/{code}/qr.svg`: the pass code as a QR code, to show at the door.
#[utoipa::path(
    get, path = "/passes/{code}/qr.svg", tag = "passes",
    params(("code" = String, Path, description = "The pass code (22 characters)")),
    responses(
        (status = 200, description = "The code as a QR code", content_type = "image/svg+xml", body = String),
        NotFound,
    ),
)]
pub(crate) async fn qr(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Response> {
    let pass = find(&state, &code).await?;
    let svg = QrCode::new(pass.code.as_bytes())
        .map_err(|e| Error::Internal(e.into()))?
        .render::<svg::Color<'_>>()
        .min_dimensions(256, 256)
        .build();
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        svg,
    )
        .into_response())
}

/// A scanned pass.
#[derive(Deserialize, ToSchema)]
pub(crate) struct CheckInBody {
    #[schema(examples("q9XcU3m0Rk2bV7yT1aLw4Q"))]
    code: String,
}

/// Admit a pass at the door.
///
/// `POST /check-in` (cashier or admin): admits a pass once, from 60 minutes
/// (`CHECK_IN_OPENS_MINUTES`) before the start until the screening ends.
#[utoipa::path(
    post, path = "/check-in", tag = "passes",
    request_body = CheckInBody,
    security(("oauth2" = [])),
    responses(
        (status = 200, description = "Admitted: the seat and `admitted_at`", body = Pass),
        (status = 404, description = "No such pass", body = ErrorBody),
        (status = 409, description = "Admitted already (`already_admitted`, with the first `admitted_at`), its reservation cancelled (`void`), or outside the check-in window (`outside_check_in_window`, with `opens_at` and `closes_at`)", body = ErrorBody),
        RoleOnly, JsonBody,
    ),
)]
#[tracing::instrument(skip_all, fields(caller_id = staff.id))]
pub(crate) async fn check_in(
    State(state): State<AppState>,
    Staff(staff): Staff,
    Json(body): Json<CheckInBody>,
) -> Result<Json<Pass>> {
    let code = well_formed(&body.code)?;
    let row = sqlx::query_file_as!(
        PassRow,
        "sql/check_in.sql",
        code,
        staff.id,
        rules::CHECK_IN_OPENS_MINUTES
    )
    .fetch_optional(&state.db)
    .await?
    .ok_or(Error::NotFound("pass"))?;
    if !row.admitted_now {
        return Err(if row.reservation_status != Status::Paid {
            Error::conflict(ErrorCode::Void, "the pass's reservation is cancelled")
        } else if let Some(first) = row.admitted_at {
            already_admitted(first)
        } else if !row.open {
            Error::Conflict {
                code: ErrorCode::OutsideCheckInWindow,
                detail: "passes for this screening are admitted only while check-in is open".into(),
                extra: ErrorExtras {
                    opens_at: Some(row.opens_at),
                    closes_at: Some(row.closes_at),
                    ..ErrorExtras::default()
                }
                .into_extra(),
            }
        } else {
            // Another scan of this pass admitted it while this one waited for it.
            let first = find(&state, code).await?.admitted_at;
            already_admitted(first.unwrap_or(row.opens_at))
        });
    }
    tracing::info!(screening_id = row.screening_id, "pass admitted");
    Ok(Json(Pass::from(row)))
}

fn already_admitted(first: DateTime<Utc>) -> Error {
    Error::Conflict {
        code: ErrorCode::AlreadyAdmitted,
        detail: "this pass has been admitted already".into(),
        extra: ErrorExtras {
            admitted_at: Some(first),
            ..ErrorExtras::default()
        }
        .into_extra(),
    }
}
