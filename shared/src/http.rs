//! What every function's Router gets around its routes: our 404/405 bodies, the body limit,
//! request tracing, and paths that work with and without a trailing slash.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, header};
use tower::Layer as _;
use tower_http::normalize_path::NormalizePathLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::error::Error;
use crate::extract::BODY_LIMIT;

/// `Cache-Control: no-store`, for responses that carry tokens or account details: no browser,
/// proxy or CDN may keep a copy (RFC 6749 §5.1).
pub fn no_store() -> [(HeaderName, HeaderValue); 1] {
    [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))]
}

/// The answer to a `DELETE` that affected `rows` rows: 204, or 404 naming `what`.
pub fn deleted(rows: u64, what: &'static str) -> crate::Result<axum::http::StatusCode> {
    if rows == 0 {
        Err(Error::NotFound(what))
    } else {
        Ok(axum::http::StatusCode::NO_CONTENT)
    }
}

/// Every response of `router` is `Cache-Control: no-store`: for a function whose answers carry
/// pass codes or other private data (reservations), so that no browser, proxy or CDN keeps one.
pub fn private(router: Router) -> Router {
    router.layer(SetResponseHeaderLayer::overriding(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    ))
}

/// Finishes a function's routes into the Router that `lambda_http` serves. No response may be
/// shown inside another site's frame (clickjacking of Swagger UI's Authorize, or of any page a
/// function serves): `Content-Security-Policy: frame-ancestors 'none'`, and `X-Frame-Options`
/// for browsers that predate it.
pub fn finish<S: Clone + Send + Sync + 'static>(routes: Router<S>, state: S) -> Router {
    let inner = routes
        .fallback(|| async { Error::NotFound("route") })
        .method_not_allowed_fallback(|| async { Error::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'none'"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(
            TraceLayer::new_for_http()
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO))
                .on_failure(()),
        )
        .with_state(state);
    // Routing happens before a layer on the Router itself runs, so the trailing slash is
    // trimmed by a service wrapped around the whole Router.
    Router::new().fallback_service(NormalizePathLayer::trim_trailing_slash().layer(inner))
}
