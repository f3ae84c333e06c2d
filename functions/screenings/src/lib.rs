//! The screenings function: halls, the schedule, tickets and seat maps.
//!
//! Its routes are declared once, in `routes()`; who may call each is said in its handler's
//! documentation and in the OpenAPI document.

mod changes;
mod halls;
mod screenings;
mod tickets;

use axum::Router;
use shared::AppState;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The tags of the function's operations.
#[derive(Debug, utoipa::OpenApi)]
#[openapi(
    tags(
        (name = "halls", description = "Halls and their seat layouts"),
        (name = "screenings", description = "The schedule"),
        (name = "tickets", description = "Seats of screenings and their prices"),
    ),
)]
struct ApiDoc;

/// The function's routes with their OpenAPI description, declared once: its Router and its
/// part of the document both come from here.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(halls::list, halls::create))
        .routes(routes!(halls::get, halls::update, halls::delete))
        .routes(routes!(screenings::list, screenings::create))
        .routes(routes!(screenings::get, changes::update, changes::delete))
        .routes(routes!(changes::cancel))
        .routes(routes!(tickets::seat_map))
        .routes(routes!(tickets::list))
        .routes(routes!(tickets::get, tickets::update, tickets::delete))
}

/// The function's part of the API description.
pub fn openapi() -> utoipa::openapi::OpenApi {
    shared::openapi::document(routes())
}

/// The function's Router.
pub fn router(state: AppState) -> Router {
    let (routes, _) = routes().split_for_parts();
    shared::http::finish(routes, state)
}
