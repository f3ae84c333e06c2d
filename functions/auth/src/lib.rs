//! The auth function: registration, sign-in and tokens, and users.
//!
//! | route | who |
//! |---|---|
//! | `POST /auth/register` | anyone |
//! | `POST /auth/login` (OAuth2 password form or JSON) | anyone |
//! | `POST /auth/refresh` | holder of a refresh token |
//! | `POST /auth/logout` | holder of a refresh token |
//! | `GET /users/me` | any signed-in user |
//! | `POST /users/me/password` | any signed-in user |
//! | `GET /users` | admin |
//! | `PATCH /users/{id}` (deactivate, reactivate) | admin |
//! | `PATCH /users/{id}/role` | admin |

mod sessions;
mod throttle;
mod users;

use axum::Router;
use axum::routing::{get, patch, post};
use shared::AppState;
use shared::openapi::Common;

/// The function's part of the API description.
#[derive(Debug, utoipa::OpenApi)]
#[openapi(
    paths(
        users::register,
        sessions::login,
        sessions::refresh,
        sessions::logout,
        users::list,
        users::me,
        users::change_password,
        users::change_account,
        users::change_role,
    ),
    modifiers(&Common),
    tags(
        (name = "auth", description = "Registration, sign-in and tokens"),
        (name = "users", description = "Accounts and roles"),
    ),
)]
pub struct ApiDoc;

/// The function's Router.
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/auth/register", post(users::register))
        .route("/auth/login", post(sessions::login))
        .route("/auth/refresh", post(sessions::refresh))
        .route("/auth/logout", post(sessions::logout))
        .route("/users", get(users::list))
        .route("/users/me", get(users::me))
        .route("/users/me/password", post(users::change_password))
        .route("/users/{id}", patch(users::change_account))
        .route("/users/{id}/role", patch(users::change_role));
    shared::http::finish(routes, state)
}
