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
