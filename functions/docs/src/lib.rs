//! The docs function: the API's description and a browser for it.
//!
//! | route | who |
//! |---|---|
//! | `GET /openapi.json`: the OpenAPI 3.1 document of every route of every function | anyone |
//! | `GET /docs`, `GET /docs/{file}`: Swagger UI, served from this binary (no CDN) | anyone |
//! | `GET /docs/shop`: a small shop: sign in, pick seats on the seat map, pay by card, see the passes | anyone |
//!
//! The document is generated from the handlers' `#[utoipa::path]` annotations of each
//! function and merged here. Swagger UI's Authorize uses OAuth2's password flow against
//! `POST /auth/login`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use shared::{Error, Path};
use utoipa::openapi::{InfoBuilder, OpenApi};
use utoipa_swagger_ui::Config;

/// Where the document is served (Swagger UI reads it from here).
const DOCUMENT_PATH: &str = "/openapi.json";

/// The routes this function serves itself (they describe the API, so they are not in it).
pub const OWN_ROUTES: &[(&str, &str)] = &[
    ("GET", DOCUMENT_PATH),
    ("GET", "/docs"),
    ("GET", "/docs/{file}"),
];

/// Each function's part of the API description, by binary name.
pub fn documents() -> Vec<(&'static str, OpenApi)> {
    vec![
        ("auth", auth::openapi()),
        ("films", films::openapi()),
        ("screenings", screenings::openapi()),
        ("reservations", reservations::openapi()),
    ]
}

/// Every route of the API, by the binary of the function serving it: `{"films":
/// {"/films/{id}": ["DELETE", "GET", "PATCH"], ...}, ...}`, from the generated documents
/// (and [`OWN_ROUTES`]). The template's routes and the local router are checked against it.
pub fn routes() -> serde_json::Value {
    let mut functions = serde_json::Map::new();
    for (function, document) in documents() {
        let mut paths = serde_json::Map::new();
        for (path, item) in &document.paths.paths {
            let methods: Vec<&str> = [
                ("DELETE", item.delete.is_some()),
                ("GET", item.get.is_some()),
                ("PATCH", item.patch.is_some()),
                ("POST", item.post.is_some()),
                ("PUT", item.put.is_some()),
            ]
            .into_iter()
            .filter_map(|(method, present)| present.then_some(method))
            .collect();
            paths.insert(path.clone(), methods.into());
        }
        functions.insert(function.to_owned(), paths.into());
    }
    let mut own = serde_json::Map::new();
    for (method, path) in OWN_ROUTES {
        own.insert((*path).to_owned(), vec![*method].into());
    }
    functions.insert("docs".to_owned(), own.into());
    functions.into()
}

/// The whole API's OpenAPI document: every function's part, merged.
pub fn openapi() -> OpenApi {
    let mut parts = documents().into_iter().map(|(_, document)| document);
    let mut document = parts.next().expect("at least one function");
    for part in parts {
        document.merge(part);
    }
    document.info = InfoBuilder::new()
        .title("Cinema API")
        .version(env!("CARGO_PKG_VERSION"))
        .license(Some(
            utoipa::openapi::LicenseBuilder::new()
                .name(env!("CARGO_PKG_LICENSE"))
                .identifier(Some(env!("CARGO_PKG_LICENSE")))
                .build(),
        ))
        .description(Some(
            "Films and genres, halls, screenings with seat maps, and seat reservations that \
             are never sold twice. Errors are JSON: `{\"detail\", \"code\"}`, with `errors` \
             listing every invalid field of a 422.",
        ))
        .build();
    // Relative: the API is wherever the document is served from.
    document.servers = Some(vec![
        utoipa::openapi::ServerBuilder::new()
            .url("/")
            .description(Some("This API (the address the document is served from)"))
            .build(),
    ]);
    document
}

/// What the docs routes serve, prepared once at cold start.
#[derive(Clone)]
struct Docs {
    document: Bytes,
    ui: Arc<Config<'static>>,
    shop: Bytes,
}

/// The shop page, configured with the provider's publishable key (`STRIPE_PUBLISHABLE_KEY`) and
/// where its browser script is (`STRIPE_JS_URL`: Stripe's own, or the local stand-in's).
pub fn shop_page(publishable_key: &str, script: &str) -> anyhow::Result<String> {
    anyhow::ensure!(
        (script.starts_with("https://") || script.starts_with("http://"))
            && !script.contains(['"', '<', '>', '\'', ' ']),
        "STRIPE_JS_URL is not a plain http(s) URL"
    );
    Ok(include_str!("shop.html")
        .replace("{{STRIPE_JS_URL}}", script)
        // A JSON string is a JavaScript string literal; `<` is escaped so it cannot end the script.
        .replace(
            "{{STRIPE_PUBLISHABLE_KEY}}",
            &serde_json::to_string(publishable_key)?.replace('<', "\\u003c"),
        ))
}

impl std::fmt::Debug for Docs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Docs")
            .field("document_bytes", &self.document.len())
            .finish_non_exhaustive()
    }
}

/// The function's Router.
pub fn router() -> Router {
    let document = openapi()
        .to_json()
        .expect("the OpenAPI document serializes");
    let ui = Config::new([DOCUMENT_PATH])
        .try_it_out_enabled(false)
        .persist_authorization(false)
        .display_request_duration(true);
    let variable = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let page = shop_page(
        &variable("STRIPE_PUBLISHABLE_KEY").unwrap_or_default(),
        &variable("STRIPE_JS_URL")
            .unwrap_or_else(|| shared::variables::default_of("STRIPE_JS_URL").to_owned()),
    )
    .expect("the shop page's settings");
    let docs = Docs {
        document: Bytes::from(document),
        ui: Arc::new(ui),
        shop: Bytes::from(page),
    };
    let routes = Router::new()
        .route("/openapi.json", get(openapi_json))
        .route("/docs", get(ui_index))
        .route("/docs/shop", get(shop))
        .route("/docs/{*file}", get(ui_file));
    shared::http::finish(routes, docs)
}

/// `GET /openapi.json`.
async fn openapi_json(State(docs): State<Docs>) -> Response {
    (
        [
            (CONTENT_TYPE, "application/json"),
            (CACHE_CONTROL, "public, max-age=300"),
        ],
        docs.document,
    )
        .into_response()
}

/// `GET /docs/shop`: the shop page.
async fn shop(State(docs): State<Docs>) -> Response {
    (
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=300"),
        ],
        docs.shop,
    )
        .into_response()
}

/// `GET /docs`: Swagger UI's page, with a base so that its relative asset paths resolve
/// under `/docs/` whether or not the address ends in a slash.
async fn ui_index(state: State<Docs>) -> Result<Response, Error> {
    ui_file(state, Path("index.html".to_owned())).await
}

/// `GET /docs/{file}`: one of Swagger UI's files.
async fn ui_file(State(docs): State<Docs>, Path(file): Path<String>) -> Result<Response, Error> {
    let served = utoipa_swagger_ui::serve(&file, docs.ui.clone())
        .map_err(|e| Error::Internal(anyhow::anyhow!("serving {file}: {e}")))?
        .ok_or(Error::NotFound("file"))?;
    let mut bytes = served.bytes.into_owned();
    if file == "index.html" {
        bytes = String::from_utf8_lossy(&bytes)
            .replacen("<head>", "<head>\n    <base href=\"/docs/\">", 1)
            .into_bytes();
    }
    let mut response = (
        [
            (CONTENT_TYPE, served.content_type),
            (CACHE_CONTROL, "public, max-age=300".to_owned()),
        ],
        bytes,
    )
        .into_response();
    if served.gzpipped {
        response
            .headers_mut()
            .insert(CONTENT_ENCODING, "gzip".parse().expect("a valid header"));
    }
    Ok(response)
}
