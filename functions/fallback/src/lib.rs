//! The fallback function: the HTTP API's `$default` route.
//!
//! | route | who |
//! |---|---|
//! | `$default`: any request no other route of the API matches | anyone |
//!
//! Every path the API serves is routed to its function as `ANY /<prefix>` and
//! `ANY /<prefix>/{proxy+}`, so wrong methods and trailing slashes reach the Routers, which
//! answer them. Whether API Gateway's greedy route also matches an empty remainder
//! (`/genres/` for `/genres/{proxy+}`) is not settled by its documentation, so such a request
//! may land here instead: its path, trailing slash trimmed, belongs to a prefix in `ROUTES`,
//! and the event is handed unchanged to that prefix's function through Lambda's Invoke API,
//! whose answer is returned as it is. Either way the request is served by the function that
//! owns it. Anything else gets the API's own 404 body.
//!
//! `ROUTES` (set by the template): a JSON object from prefix (`/genres`) to function name.

use std::collections::BTreeMap;

use axum::response::IntoResponse as _;
use serde_json::{Value, json};
pub use shared::invoke::Invoker;

/// Which function serves each path prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routes(BTreeMap<String, String>);

impl Routes {
    /// Parses `ROUTES`: `{"/genres": "<function name>", ...}`.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let map: BTreeMap<String, String> = serde_json::from_str(text)
            .map_err(|e| anyhow::anyhow!("ROUTES is not a JSON object of prefixes: {e}"))?;
        anyhow::ensure!(
            map.keys().all(|prefix| prefix.starts_with('/')
                && prefix.len() > 1
                && !prefix.ends_with('/')),
            "ROUTES: every prefix starts with '/' and does not end with one"
        );
        Ok(Self(map))
    }

    /// The function serving `path`, if any: its first segment, with trailing slashes
    /// trimmed, is a prefix of `ROUTES`.
    pub fn owner(&self, path: &str) -> Option<&str> {
        let trimmed = path.trim_end_matches('/');
        let first = trimmed
            .get(1..)
            .map(|rest| rest.split('/').next().unwrap_or_default())?;
        self.0.get(&trimmed[..first.len() + 1]).map(String::as_str)
    }
}

/// An API error as a Lambda response document for API Gateway: the API's own error body.
pub async fn error_response(error: shared::Error) -> Value {
    let response = error.into_response();
    let status = response.status().as_u16();
    let mut headers = serde_json::Map::new();
    for (name, value) in response.headers() {
        if let Ok(value) = value.to_str() {
            headers.insert(name.as_str().to_owned(), Value::from(value));
        }
    }
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    json!({"statusCode": status, "headers": headers, "body": body, "isBase64Encoded": false})
}

/// Answers one API Gateway (payload v2) event that no route matched.
pub async fn handle(event: Value, routes: &Routes, invoker: &Invoker) -> Value {
    let path = event["rawPath"].as_str().unwrap_or("/");
    let Some(function) = routes.owner(path) else {
        return error_response(shared::Error::NotFound("route")).await;
    };
    let function = function.to_owned();
    match invoker.invoke(&function, &event).await {
        Ok(answer) => answer,
        Err(error) => {
            tracing::error!(
                function,
                error = format!("{error:#}"),
                "handing the request on failed"
            );
            error_response(shared::Error::Internal(error)).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_belongs_to_the_prefix_of_its_first_segment() {
        let routes = Routes::parse(
            r#"{"/genres": "films-fn", "/docs": "docs-fn", "/openapi.json": "docs-fn"}"#,
        )
        .expect("routes");
        assert_eq!(routes.owner("/genres/"), Some("films-fn"));
        assert_eq!(routes.owner("/genres//"), Some("films-fn"));
        assert_eq!(routes.owner("/genres/1/"), Some("films-fn"));
        assert_eq!(routes.owner("/docs/"), Some("docs-fn"));
        assert_eq!(routes.owner("/openapi.json/"), Some("docs-fn"));
        assert_eq!(routes.owner("/genresx/"), None);
        assert_eq!(routes.owner("/"), None);
        assert_eq!(routes.owner(""), None);
        assert_eq!(routes.owner("/nope"), None);
    }

    #[test]
    fn routes_must_be_prefixes() {
        assert!(Routes::parse(r#"{"genres": "f"}"#).is_err());
        assert!(Routes::parse(r#"{"/genres/": "f"}"#).is_err());
        assert!(Routes::parse("[]").is_err());
    }
}
