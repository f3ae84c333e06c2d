//! The films function: the catalogue of genres and films.
//!
//! Its routes are declared once, in `routes()`; who may call each is said in its handler's
//! documentation and in the OpenAPI document.

mod films;
mod genres;

use axum::Router;
use shared::AppState;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The tags of the function's operations.
#[derive(Debug, utoipa::OpenApi)]
#[openapi(
    tags(
        (name = "genres", description = "Film genres"),
        (name = "films", description = "The catalogue"),
    ),
)]
struct ApiDoc;

/// The function's routes with their OpenAPI description, declared once: its Router and its
/// part of the document both come from here.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(genres::list, genres::create))
        .routes(routes!(genres::get, genres::update, genres::delete))
        .routes(routes!(films::list, films::create))
        .routes(routes!(films::get, films::update, films::delete))
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
