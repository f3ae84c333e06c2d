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
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials as _, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use axum::response::IntoResponse as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

/// How long the function a request is handed to may take (the API functions' own timeout).
const INVOKE_TIMEOUT: Duration = Duration::from_secs(12);

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

/// Calls Lambda's Invoke API, signed with the function's own credentials.
#[derive(Debug, Clone)]
pub struct Invoker {
    endpoint: String,
    region: String,
    credentials: SharedCredentialsProvider,
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Invoker {
    /// From the function's environment: region, credentials, and the Lambda endpoint
    /// (`AWS_ENDPOINT_URL_LAMBDA` or `AWS_ENDPOINT_URL` when set, as the SDK reads them).
    pub async fn from_env() -> anyhow::Result<Self> {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let region = config
            .region()
            .map(|r| r.to_string())
            .ok_or_else(|| anyhow::anyhow!("no AWS region is configured"))?;
        let endpoint = std::env::var("AWS_ENDPOINT_URL_LAMBDA")
            .ok()
            .or_else(|| config.endpoint_url().map(str::to_owned))
            .unwrap_or_else(|| format!("https://lambda.{region}.amazonaws.com"));
        let credentials = config
            .credentials_provider()
            .ok_or_else(|| anyhow::anyhow!("no AWS credentials are configured"))?;
        Self::new(endpoint, region, credentials)
    }

    /// An invoker for `endpoint` in `region`.
    pub fn new(
        endpoint: String,
        region: String,
        credentials: SharedCredentialsProvider,
    ) -> anyhow::Result<Self> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            region,
            credentials,
            client: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    /// Invokes `function` synchronously with `payload`; returns what it answered.
    pub async fn invoke(&self, function: &str, payload: &Value) -> anyhow::Result<Value> {
        let url = format!(
            "{}/2015-03-31/functions/{function}/invocations",
            self.endpoint
        );
        let body = serde_json::to_vec(payload)?;
        let mut request = http::Request::post(&url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body.clone())))?;
        let identity = self.credentials.provide_credentials().await?.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("lambda")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()?
            .into();
        let headers = request
            .headers()
            .iter()
            .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)));
        let signable =
            SignableRequest::new("POST", url.as_str(), headers, SignableBody::Bytes(&body))?;
        let (instructions, _) = sign(signable, &params)?.into_parts();
        instructions.apply_to_request_http1x(&mut request);

        let response = tokio::time::timeout(INVOKE_TIMEOUT, self.client.request(request))
            .await
            .map_err(|_| anyhow::anyhow!("{function} did not answer in time"))??;
        let status = response.status();
        let failed = response.headers().contains_key("x-amz-function-error");
        let bytes = response.into_body().collect().await?.to_bytes();
        anyhow::ensure!(status.is_success(), "invoking {function} answered {status}");
        anyhow::ensure!(!failed, "{function} failed");
        Ok(serde_json::from_slice(&bytes)?)
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
