//! The reservations function: booking seats, which are never sold twice.
//!
//! | route | who |
//! |---|---|
//! | `POST /reservations` (`Idempotency-Key` header optional) | a user for themself; a cashier or admin for a user |
//! | `GET /reservations` (`?user_id=`, `?screening_id=`, `?status=`) | a user sees their own; cashiers and admins all |
//! | `GET /reservations/{id}` | the owner, a cashier or an admin |
//! | `POST /reservations/{id}/cancel` | the owner, a cashier or an admin, before the screening starts |

mod booking;
mod idempotency;
mod model;
mod reservations;

use axum::Router;
use axum::routing::{get, post};
use shared::AppState;
use shared::openapi::Common;

/// The function's part of the API description.
#[derive(Debug, utoipa::OpenApi)]
#[openapi(
    paths(
        reservations::list,
        booking::create,
        reservations::get,
        reservations::cancel,
    ),
    modifiers(&Common),
    tags((name = "reservations", description = "Booking seats, all or nothing")),
)]
pub struct ApiDoc;

/// The function's Router.
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route(
            "/reservations",
            get(reservations::list).post(booking::create),
        )
        .route("/reservations/{id}", get(reservations::get))
        .route("/reservations/{id}/cancel", post(reservations::cancel));
    shared::http::finish(routes, state)
}
