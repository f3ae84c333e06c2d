//! The reservations function: booking seats, which are never sold twice, and the rest of a
//! seat's life at the box office: paying at the till or online, lapsing, refunds, the pass
//! admitted at the door, the sales.
//!
//! Its routes are declared once, in `routes()`; who may call each is said in its handler's
//! documentation and in the OpenAPI document.

mod booking;
mod checkout;
mod idempotency;
mod model;
mod online;
mod passes;
mod payment;
mod reports;
mod reservations;
mod webhook;

use axum::Router;
use shared::AppState;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The tags of the function's operations.
#[derive(Debug, utoipa::OpenApi)]
#[openapi(
    tags(
        (name = "reservations", description = "Booking seats, all or nothing; paying at the till"),
        (name = "passes", description = "A paid seat's pass, admitted once at the door"),
        (name = "reports", description = "What sold"),
        (name = "payments", description = "The card payment provider's webhook"),
    ),
)]
struct ApiDoc;

/// The function's routes with their OpenAPI description, declared once: its Router and its
/// part of the document both come from here.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(reservations::list, booking::create))
        .routes(routes!(reservations::get))
        .routes(routes!(reservations::cancel))
        .routes(routes!(payment::pay))
        .routes(routes!(checkout::checkout))
        .routes(routes!(webhook::stripe))
        .routes(routes!(passes::get))
        .routes(routes!(passes::qr))
        .routes(routes!(passes::check_in))
        .routes(routes!(reports::sales))
}

/// The function's part of the API description. A paid reservation's passes are linked from
/// the answers that carry them (a sale, a payment at the till): read one, or admit it.
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::link::LinkBuilder;
    let mut document = shared::openapi::document(routes());
    let code = "$response.body#/tickets/0/code";
    for (path, status) in [("/reservations", "201"), ("/reservations/{id}/pay", "200")] {
        let Some(RefOr::T(response)) = document
            .paths
            .paths
            .get_mut(path)
            .and_then(|item| item.post.as_mut())
            .and_then(|operation| operation.responses.responses.get_mut(status))
        else {
            continue;
        };
        response.links.insert(
            "passes_get".into(),
            LinkBuilder::new()
                .operation_id("passes_get")
                .parameter("code", code)
                .build()
                .into(),
        );
        response.links.insert(
            "passes_check_in".into(),
            LinkBuilder::new()
                .operation_id("passes_check_in")
                .request_body(Some(serde_json::json!({ "code": code })))
                .build()
                .into(),
        );
    }
    document
}

/// The function's Router.
pub fn router(state: AppState) -> Router {
    let (routes, _) = routes().split_for_parts();
    // Invocations that are not HTTP requests (the scheduled reconciliation): not part of the API.
    let routes = routes.route("/events", axum::routing::post(webhook::task));
    // Reservations carry pass codes; passes, check-ins and reports are private too.
    shared::http::private(shared::http::finish(routes, state))
}
