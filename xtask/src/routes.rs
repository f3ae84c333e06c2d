//! What each function serves, read from its Router's part of the OpenAPI document: its path
//! prefixes (`/films`), each routed as the prefix itself (when it is a route) and as everything
//! under it (when it has routes below).

use std::collections::BTreeMap;

/// A path prefix a function serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefix {
    /// `/films`.
    pub path: String,
    /// `/films` itself is a route.
    pub exact: bool,
    /// Routes lie below it (`/films/{id}`).
    pub below: bool,
}

/// Every route, by function: `{"films": {"/films/{id}": ["DELETE", "GET", "PATCH"]}}`.
pub fn served() -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    serde_json::from_value(docs::routes()).expect("the routes document is a map of maps")
}

/// The prefixes of `function`, in order.
pub fn prefixes(function: &str) -> Vec<Prefix> {
    let served = served();
    let Some(routes) = served.get(function) else {
        return Vec::new();
    };
    let mut prefixes: Vec<Prefix> = Vec::new();
    for path in routes.keys() {
        let first = path.split('/').nth(1).unwrap_or_default();
        let prefix = format!("/{first}");
        let exact = *path == prefix;
        match prefixes.iter_mut().find(|p| p.path == prefix) {
            Some(known) => {
                known.exact |= exact;
                known.below |= !exact;
            }
            None => prefixes.push(Prefix {
                path: prefix,
                exact,
                below: !exact,
            }),
        }
    }
    prefixes
}

/// The event name of a route: `/check-in` → `CheckIn`, `/openapi.json` → `OpenapiJson`.
pub fn event_name(path: &str) -> String {
    path.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}
