//! The auth function: registration, sign-in and tokens, and users.
//!
//! Its routes are declared once, in `routes()`; who may call each is said in its handler's
//! documentation and in the OpenAPI document.

mod sessions;
mod throttle;
mod users;

use axum::Router;
use shared::AppState;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The tags of the function's operations.
#[derive(Debug, utoipa::OpenApi)]
#[openapi(
    tags(
        (name = "auth", description = "Registration, sign-in and tokens"),
        (name = "users", description = "Accounts and roles"),
    ),
)]
struct ApiDoc;

/// The function's routes with their OpenAPI description, declared once: its Router and its
/// part of the document both come from here.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(users::register))
        .routes(routes!(sessions::login))
        .routes(routes!(sessions::refresh))
        .routes(routes!(sessions::logout))
        .routes(routes!(users::list))
        .routes(routes!(users::me))
        .routes(routes!(users::change_password))
        .routes(routes!(users::change_account))
        .routes(routes!(users::change_role))
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
