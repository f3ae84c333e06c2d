//! Lambda's Invoke API, signed with the function's own credentials: how the fallback hands a
//! request to the function that serves it, and how functions in the VPC reach the payments
//! function outside it (through the Lambda interface endpoint). The SDK's signer and credentials,
//! already built for Secrets Manager, instead of the whole Lambda SDK crate.

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials as _, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// How long an invoked function may take (the API functions' own timeout).
const INVOKE_TIMEOUT: Duration = Duration::from_secs(12);

/// An HTTP/1 client for `https://` (the system's roots) and `http://` (local stand-ins)
/// addresses: what the Invoke API and the payment provider are reached with.
pub(crate) fn https_client()
-> anyhow::Result<Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>> {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()?
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(connector))
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
        Ok(Self {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            region,
            credentials,
            client: https_client()?,
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
