//! The screenings function: halls, the schedule, tickets and seat maps.
//!
//! | route | who |
//! |---|---|
//! | `GET /halls`, `GET /halls/{id}` | anyone |
//! | `POST /halls`, `PATCH /halls/{id}`, `DELETE /halls/{id}` | admin |
//! | `GET /screenings` (`?film_id=`, `?hall_id=`, `?from=`, `?to=`), `GET /screenings/{id}` | anyone |
//! | `GET /screenings/{id}/seats` (`?status=free\|reserved`) | anyone |
//! | `POST /screenings`, `PATCH /screenings/{id}`, `DELETE /screenings/{id}` | admin |
//! | `GET /tickets` (`?screening_id=`), `GET /tickets/{id}` | anyone |
//! | `PATCH /tickets/{id}`, `DELETE /tickets/{id}` | admin |

mod halls;
mod screenings;
mod tickets;

use axum::Router;
use axum::routing::get;
use shared::AppState;
use shared::openapi::Common;

/// The function's part of the API description.
#[derive(Debug, utoipa::OpenApi)]
#[openapi(
    paths(
        halls::list,
        halls::create,
        halls::get,
        halls::update,
        halls::delete,
        screenings::list,
        screenings::create,
        screenings::get,
        screenings::update,
        screenings::delete,
        tickets::seat_map,
        tickets::list,
        tickets::get,
        tickets::update,
        tickets::delete,
    ),
    modifiers(&Common),
    tags(
        (name = "halls", description = "Halls and their seat layouts"),
        (name = "screenings", description = "The schedule"),
        (name = "tickets", description = "Seats of screenings and their prices"),
    ),
)]
pub struct ApiDoc;

/// The function's Router.
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/halls", get(halls::list).post(halls::create))
        .route(
            "/halls/{id}",
            get(halls::get).patch(halls::update).delete(halls::delete),
        )
        .route(
            "/screenings",
            get(screenings::list).post(screenings::create),
        )
        .route(
            "/screenings/{id}",
            get(screenings::get)
                .patch(screenings::update)
                .delete(screenings::delete),
        )
        .route("/screenings/{id}/seats", get(tickets::seat_map))
        .route("/tickets", get(tickets::list))
        .route(
            "/tickets/{id}",
            get(tickets::get)
                .patch(tickets::update)
                .delete(tickets::delete),
        );
    shared::http::finish(routes, state)
}
