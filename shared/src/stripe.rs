//! Card payments through Stripe: the few REST calls the product makes (PaymentIntents and
//! refunds), how a function reaches them, and the webhook's signature.
//!
//! A function calls the provider **directly** when it can reach the internet (`make dev`, the
//! payments function itself), or **through the payments function**, which runs outside the
//! VPC, when it cannot: the functions in the VPC have no route out, only endpoints, and one of
//! them is Lambda's. Either way the same [`Call`] is made and the same JSON object comes back.
//!
//! Four REST calls over the HTTP client the AWS SDK already builds (hyper, rustls) rather than a
//! Stripe crate: BENCHMARKS.md ("Payments client") has the compile time and binary size of
//! both.

use std::time::Duration;

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;

use crate::config::{PaymentKeys, PaymentSettings};
use crate::invoke::Invoker;

/// How long one call to the provider may take: within the API functions' own timeout.
const CALL_TIMEOUT: Duration = Duration::from_secs(8);

/// How old a webhook's signature may be (Stripe's own libraries' default tolerance).
pub const SIGNATURE_TOLERANCE_SECONDS: i64 = 300;

/// One call to the provider: what a function in the VPC sends to the payments function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum Call {
    /// A PaymentIntent for a reservation's checkout. `key` (the provider's idempotency key)
    /// is derived from the reservation: a retry returns the same PaymentIntent.
    CreateIntent {
        reservation_id: i64,
        amount: i64,
        currency: String,
        key: String,
    },
    /// A PaymentIntent as the provider has it now.
    GetIntent { id: String },
    /// Cancels an unpaid PaymentIntent (paid at the till instead, or lapsed).
    CancelIntent { id: String },
    /// Returns a PaymentIntent's payment in full; `attempt` makes each retry of a failed refund
    /// a new request, while a repeat of one attempt is the same refund.
    CreateRefund {
        payment_intent: String,
        attempt: i32,
    },
}

/// What the provider said, as the payments function answers it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// The provider's object.
    Ok(Value),
    /// Why there is none.
    Error(ProviderError),
}

/// A call that did not give the object asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProviderError {
    /// No payment keys are configured.
    #[error("payments are not configured")]
    Unavailable,
    /// The provider could not be reached, or did not answer in time, or answered what is not
    /// its API's: whether the call took effect is unknown (each call is safe to repeat).
    #[error("the payment provider could not be reached: {reason}")]
    Unreachable { reason: String },
    /// The provider refused the call (its status and error code).
    #[error("the payment provider refused the call ({status} {code})")]
    Refused { status: u16, code: String },
}

/// A PaymentIntent, as far as the product reads it.
#[derive(Debug, Clone, Deserialize)]
pub struct Intent {
    pub id: String,
    /// `requires_payment_method`, `processing`, `succeeded`, `canceled`, ...
    pub status: String,
    /// In minor units.
    pub amount: i64,
    pub currency: String,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub metadata: std::collections::HashMap<String, String>,
}

impl Intent {
    /// The reservation it pays for (its metadata says).
    pub fn reservation_id(&self) -> Option<i64> {
        self.metadata.get("reservation_id")?.parse().ok()
    }

    /// The provider has taken the money.
    pub fn succeeded(&self) -> bool {
        self.status == "succeeded"
    }
}

/// A refund, as far as the product reads it.
#[derive(Debug, Clone, Deserialize)]
pub struct Refund {
    pub id: String,
    /// `pending`, `requires_action`, `succeeded`, `failed` or `canceled`.
    pub status: String,
    #[serde(default)]
    pub payment_intent: Option<String>,
}

impl Refund {
    /// The status as the product records it: `pending`, `succeeded` or `failed`.
    pub fn recorded_status(&self) -> &'static str {
        match self.status.as_str() {
            "succeeded" => "succeeded",
            "failed" | "canceled" => "failed",
            _ => "pending",
        }
    }
}

/// How a function reaches the provider.
#[derive(Debug, Clone)]
enum Gateway {
    /// No keys: checkout answers `payments_unavailable`.
    Unavailable,
    /// The function calls the provider itself.
    Direct(Client),
    /// Through the payments function (from inside the VPC).
    Function { invoker: Invoker, name: String },
}

/// Selling online: the provider and the rules of checkout and refunds.
#[derive(Debug, Clone)]
pub struct Payments {
    gateway: Gateway,
    webhook_secret: Option<SecretString>,
    /// Currency, checkout and refund rules.
    pub settings: PaymentSettings,
}

impl Payments {
    /// No online sales (no keys).
    pub fn unavailable(settings: PaymentSettings) -> Self {
        Self {
            gateway: Gateway::Unavailable,
            webhook_secret: None,
            settings,
        }
    }

    /// From the function's configuration: through the payments function when `PAYMENTS_FUNCTION`
    /// is set (with `invoker`), else directly; unavailable without a secret key.
    pub fn new(
        settings: PaymentSettings,
        keys: PaymentKeys,
        invoker: Option<Invoker>,
    ) -> anyhow::Result<Self> {
        let gateway = match (keys.secret_key, &settings.function, invoker) {
            (None, _, _) => Gateway::Unavailable,
            (Some(_), Some(name), _) if name.is_empty() => Gateway::Unavailable,
            (Some(_), Some(name), Some(invoker)) => Gateway::Function {
                invoker,
                name: name.clone(),
            },
            (Some(_), Some(_), None) => {
                anyhow::bail!("PAYMENTS_FUNCTION is set, but no Lambda invoker was given")
            }
            (Some(key), None, _) => Gateway::Direct(Client::new(&settings.api_base, key)?),
        };
        Ok(Self {
            gateway,
            webhook_secret: keys.webhook_secret,
            settings,
        })
    }

    /// From the environment at cold start: an invoker is made only when one is needed.
    pub async fn load(settings: PaymentSettings, keys: PaymentKeys) -> anyhow::Result<Self> {
        let invoker = match (&keys.secret_key, &settings.function) {
            (Some(_), Some(name)) if !name.is_empty() => Some(Invoker::from_env().await?),
            _ => None,
        };
        Self::new(settings, keys, invoker)
    }

    /// Online sales are configured.
    pub fn available(&self) -> bool {
        !matches!(self.gateway, Gateway::Unavailable)
    }

    /// The webhook endpoint's signing secret, if configured.
    pub fn webhook_secret(&self) -> Option<&SecretString> {
        self.webhook_secret.as_ref()
    }

    /// Makes `call`, however this function reaches the provider.
    pub async fn call(&self, call: &Call) -> Result<Value, ProviderError> {
        match &self.gateway {
            Gateway::Unavailable => Err(ProviderError::Unavailable),
            Gateway::Direct(client) => client.call(call).await,
            Gateway::Function { invoker, name } => {
                let payload = serde_json::to_value(call).map_err(unreachable)?;
                let answer = invoker.invoke(name, &payload).await.map_err(|e| {
                    ProviderError::Unreachable {
                        reason: format!("{e:#}"),
                    }
                })?;
                match serde_json::from_value(answer).map_err(unreachable)? {
                    Answer::Ok(object) => Ok(object),
                    Answer::Error(error) => Err(error),
                }
            }
        }
    }

    /// Creates (or, with the same `key`, finds again) a PaymentIntent.
    pub async fn create_intent(
        &self,
        reservation_id: i64,
        amount: i64,
        key: String,
    ) -> Result<Intent, ProviderError> {
        let call = Call::CreateIntent {
            reservation_id,
            amount,
            currency: self.settings.currency.clone(),
            key,
        };
        parse(self.call(&call).await?)
    }

    /// A PaymentIntent as the provider has it now.
    pub async fn intent(&self, id: &str) -> Result<Intent, ProviderError> {
        parse(self.call(&Call::GetIntent { id: id.to_owned() }).await?)
    }

    /// Cancels an unpaid PaymentIntent; refused when it has succeeded meanwhile.
    pub async fn cancel_intent(&self, id: &str) -> Result<Intent, ProviderError> {
        parse(self.call(&Call::CancelIntent { id: id.to_owned() }).await?)
    }

    /// Refunds a PaymentIntent in full.
    pub async fn refund(
        &self,
        payment_intent: &str,
        attempt: i32,
    ) -> Result<Refund, ProviderError> {
        let call = Call::CreateRefund {
            payment_intent: payment_intent.to_owned(),
            attempt,
        };
        parse(self.call(&call).await?)
    }
}

fn unreachable(error: impl std::fmt::Display) -> ProviderError {
    ProviderError::Unreachable {
        reason: error.to_string(),
    }
}

fn parse<T: serde::de::DeserializeOwned>(object: Value) -> Result<T, ProviderError> {
    serde_json::from_value(object).map_err(unreachable)
}

/// Stripe's REST API: form-encoded requests, JSON answers.
#[derive(Clone)]
pub struct Client {
    base: String,
    key: SecretString,
    http: HttpClient<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("base", &self.base).finish()
    }
}

impl Client {
    /// A client of the API at `base` with secret key `key`.
    pub fn new(base: &str, key: SecretString) -> anyhow::Result<Self> {
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            key,
            http: crate::invoke::https_client()?,
        })
    }

    /// Makes `call`.
    pub async fn call(&self, call: &Call) -> Result<Value, ProviderError> {
        match call {
            Call::CreateIntent {
                reservation_id,
                amount,
                currency,
                key,
            } => {
                let form = [
                    ("amount", amount.to_string()),
                    ("currency", currency.clone()),
                    ("metadata[reservation_id]", reservation_id.to_string()),
                ];
                self.send("POST", "/v1/payment_intents", &form, Some(key))
                    .await
            }
            Call::GetIntent { id } => {
                self.send(
                    "GET",
                    &format!("/v1/payment_intents/{}", object_id(id)?),
                    &[],
                    None,
                )
                .await
            }
            Call::CancelIntent { id } => {
                let path = format!("/v1/payment_intents/{}/cancel", object_id(id)?);
                self.send("POST", &path, &[], None).await
            }
            Call::CreateRefund {
                payment_intent,
                attempt,
            } => {
                let key = format!("refund-{payment_intent}-{attempt}");
                let form = [("payment_intent", object_id(payment_intent)?.to_owned())];
                self.send("POST", "/v1/refunds", &form, Some(&key)).await
            }
        }
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        form: &[(&str, String)],
        idempotency_key: Option<&String>,
    ) -> Result<Value, ProviderError> {
        let body = serde_urlencoded::to_string(form).map_err(unreachable)?;
        let mut request = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header(
                http::header::AUTHORIZATION,
                format!("Bearer {}", self.key.expose_secret()),
            )
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            );
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key.as_str());
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(unreachable)?;
        let response = tokio::time::timeout(CALL_TIMEOUT, self.http.request(request))
            .await
            .map_err(|_| unreachable("no answer in time"))?
            .map_err(unreachable)?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(unreachable)?
            .to_bytes();
        let object: Value = serde_json::from_slice(&bytes).map_err(unreachable)?;
        if status.is_success() {
            Ok(object)
        } else if status.is_server_error() || status.as_u16() == 429 {
            Err(unreachable(format!("{status}")))
        } else {
            let code = object["error"]["code"]
                .as_str()
                .or(object["error"]["type"].as_str())
                .unwrap_or("unknown")
                .to_owned();
            Err(ProviderError::Refused {
                status: status.as_u16(),
                code,
            })
        }
    }
}

/// A provider object id as it may appear in a path (`pi_3M...`): letters, digits, `_`.
fn object_id(id: &str) -> Result<&str, ProviderError> {
    if !id.is_empty()
        && id.len() <= 255
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        Ok(id)
    } else {
        Err(ProviderError::Refused {
            status: 400,
            code: "invalid_id".into(),
        })
    }
}

/// `total` (a price in the currency's major unit) in its minor units, as the provider counts
/// amounts: cents for `eur`, whole yen for `jpy`, thousandths (ending in 0) for `kwd`. None if
/// it is not a whole number of them.
pub fn minor_units(total: rust_decimal::Decimal, currency: &str) -> Option<i64> {
    // Stripe's zero- and three-decimal currencies; every other one has two decimals.
    const ZERO: &[&str] = &[
        "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
        "xaf", "xof", "xpf",
    ];
    const THREE: &[&str] = &["bhd", "jod", "kwd", "omr", "tnd"];
    let exponent = if ZERO.contains(&currency) {
        0
    } else if THREE.contains(&currency) {
        3
    } else {
        2
    };
    let scaled = total * rust_decimal::Decimal::from(10_i64.pow(exponent));
    if !scaled.fract().is_zero() {
        return None;
    }
    rust_decimal::prelude::ToPrimitive::to_i64(&scaled)
}

/// Why a webhook was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no webhook signing secret is configured")]
    NotConfigured,
    #[error("the Stripe-Signature header is missing or malformed")]
    Malformed,
    #[error("the signature's timestamp is outside the tolerance")]
    Stale,
    #[error("no signature matches")]
    Mismatch,
}

/// Checks a `Stripe-Signature` header over `payload` (the raw body, as delivered): a `t=`
/// timestamp within [`SIGNATURE_TOLERANCE_SECONDS`] of `now`, and any `v1=` signature equal to
/// HMAC-SHA256 of `t.payload` under `secret`, compared in constant time.
pub fn verify_signature(
    secret: &SecretString,
    header: &str,
    payload: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let Some((name, value)) = part.trim().split_once('=') else {
            return Err(SignatureError::Malformed);
        };
        match name {
            "t" => {
                timestamp = Some(
                    value
                        .parse::<i64>()
                        .map_err(|_| SignatureError::Malformed)?,
                )
            }
            "v1" => signatures.push(hex::decode(value).map_err(|_| SignatureError::Malformed)?),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now - timestamp).abs() > SIGNATURE_TOLERANCE_SECONDS {
        return Err(SignatureError::Stale);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
        .map_err(|_| SignatureError::NotConfigured)?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    if signatures
        .iter()
        .any(|signature| mac.clone().verify_slice(signature).is_ok())
    {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// A webhook event, as far as the product reads it.
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub data: EventData,
}

/// An event's object.
#[derive(Debug, Clone, Deserialize)]
pub struct EventData {
    pub object: Value,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;
    use std::str::FromStr as _;

    // Made with the official library (stripe-python 16.1):
    // stripe.WebhookSignature._compute_signature("1700000000." + PAYLOAD, SECRET)
    const SECRET: &str = "whsec_test_secret";
    const PAYLOAD: &str = r#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;
    const SIGNATURE: &str = "22d8dc182f5c588077683bd378368e29765bfe5df2560112b4f28fef120f0e31";

    fn sign(secret: &str, t: i64, payload: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
        mac.update(format!("{t}.{payload}").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    #[test]
    fn the_official_librarys_signature_verifies() {
        let header = format!("t=1700000000,v1={SIGNATURE}");
        let secret = SecretString::from(SECRET);
        assert_eq!(
            verify_signature(&secret, &header, PAYLOAD.as_bytes(), 1_700_000_000),
            Ok(())
        );
        assert_eq!(sign(SECRET, 1_700_000_000, PAYLOAD), SIGNATURE);
    }

    #[test]
    fn a_signature_verifies_only_with_its_secret_payload_and_time() {
        let secret = SecretString::from(SECRET);
        let good = sign(SECRET, 1_700_000_000, PAYLOAD);
        let header = format!("t=1700000000,v1={good}");
        assert_eq!(
            verify_signature(&secret, &header, PAYLOAD.as_bytes(), 1_700_000_100),
            Ok(())
        );
        // Any v1 may match; v0 and unknown schemes are ignored.
        let header = format!("t=1700000000,v0=abc,v1={},v1={good}", "00".repeat(32));
        assert_eq!(
            verify_signature(&secret, &header, PAYLOAD.as_bytes(), 1_700_000_000),
            Ok(())
        );
        assert_eq!(
            verify_signature(
                &secret,
                &format!("t=1700000000,v1={good}"),
                b"{}",
                1_700_000_000
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(
                &secret,
                &format!("t=1700000000,v1={good}"),
                PAYLOAD.as_bytes(),
                1_700_000_301
            ),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_signature(
                &SecretString::from("whsec_other"),
                &format!("t=1700000000,v1={good}"),
                PAYLOAD.as_bytes(),
                1_700_000_000
            ),
            Err(SignatureError::Mismatch)
        );
        for header in [
            "",
            "t=1700000000",
            "v1=00",
            "t=x,v1=00",
            "t=1700000000,v1=zz",
            "garbage",
        ] {
            assert_eq!(
                verify_signature(&secret, header, PAYLOAD.as_bytes(), 1_700_000_000),
                Err(SignatureError::Malformed),
                "{header}"
            );
        }
    }

    #[test]
    fn amounts_are_in_the_currencys_minor_units() {
        let d = |s| Decimal::from_str(s).expect("decimal");
        assert_eq!(minor_units(d("15.20"), "eur"), Some(1520));
        assert_eq!(minor_units(d("15.2"), "usd"), Some(1520));
        assert_eq!(minor_units(d("1500"), "jpy"), Some(1500));
        assert_eq!(minor_units(d("1500.5"), "jpy"), None);
        assert_eq!(minor_units(d("1.234"), "kwd"), Some(1234));
        assert_eq!(minor_units(d("0.001"), "eur"), None);
        assert_eq!(minor_units(d("99999999.99"), "eur"), Some(9_999_999_999));
    }

    #[test]
    fn calls_travel_as_json_and_back() {
        let call = Call::CreateRefund {
            payment_intent: "pi_1".into(),
            attempt: 2,
        };
        let text = serde_json::to_string(&call).expect("json");
        assert_eq!(
            text,
            r#"{"call":"create_refund","payment_intent":"pi_1","attempt":2}"#
        );
        assert_eq!(serde_json::from_str::<Call>(&text).expect("call"), call);
        let answer: Answer =
            serde_json::from_str(r#"{"error":{"kind":"refused","status":400,"code":"x"}}"#)
                .expect("answer");
        assert!(matches!(
            answer,
            Answer::Error(ProviderError::Refused { status: 400, .. })
        ));
    }
}
