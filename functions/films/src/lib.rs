//! The films function: the catalogue of genres and films.
//!
//! | route | who |
//! |---|---|
//! | `GET /genres` (`?title=`), `GET /genres/{id}` | anyone |
//! | `POST /genres`, `PATCH /genres/{id}`, `DELETE /genres/{id}` | admin |
//! | `GET /films` (`?title=`, `?genre_id=`, `?age_rating=`), `GET /films/{id}` | anyone |
//! | `POST /films`, `PATCH /films/{id}`, `DELETE /films/{id}` | admin |

mod films;
mod genres;

use axum::Router;
use axum::routing::get;
use shared::AppState;
use shared::openapi::Common;

/// The function's part of the API description.
#[derive(Debug, utoipa::OpenApi)]
#[openapi(
    paths(
        genres::list,
        genres::create,
        genres::get,
        genres::update,
        genres::delete,
        films::list,
        films::create,
        films::get,
        films::update,
        films::delete,
    ),
    modifiers(&Common),
    tags(
        (name = "genres", description = "Film genres"),
        (name = "films", description = "The catalogue"),
    ),
)]
pub struct ApiDoc;

/// The function's Router.
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/genres", get(genres::list).post(genres::create))
        .route(
            "/genres/{id}",
            get(genres::get)
                .patch(genres::update)
                .delete(genres::delete),
        )
        .route("/films", get(films::list).post(films::create))
        .route(
            "/films/{id}",
            get(films::get).patch(films::update).delete(films::delete),
        );
    shared::http::finish(routes, state)
}
