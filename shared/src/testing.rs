//! Helpers for the functions' router tests: a Router over a fresh test database, requests
//! that read like the API's use, and users of every role.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use secrecy::SecretString;
use serde_json::Value;
use sqlx::PgPool;
use tower::ServiceExt as _;

use crate::{AppState, Role, Settings};

/// The password every user made by [`TestApp::user`] has.
pub const PASSWORD: &str = "Test#Passw0rd";

/// The signing key of test tokens.
pub const JWT_SECRET: &str = "test-signing-key-that-is-long-enough-0123456789";

/// A function's Router over one test database.
#[derive(Debug, Clone)]
pub struct TestApp {
    /// The Router under test.
    pub router: Router,
    /// The state it was built with.
    pub state: AppState,
}

/// A response, read whole.
#[derive(Debug)]
pub struct TestResponse {
    /// Its status.
    pub status: StatusCode,
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body as JSON (`Null` when empty, a JSON string when not JSON).
    pub body: Value,
}

/// Settings for tests: bcrypt at its lowest cost, so hashing does not dominate test time.
pub fn settings() -> Settings {
    Settings {
        access_token_ttl: std::time::Duration::from_secs(900),
        refresh_token_ttl: std::time::Duration::from_secs(3600),
        bcrypt_cost: 4,
        db_pool_max: 5,
        db_acquire_timeout: std::time::Duration::from_secs(5),
        db_idle_timeout: std::time::Duration::from_secs(300),
        db_connect_at_init: true,
        db_statement_timeout: None,
        db_lock_timeout: None,
        limits: crate::config::Limits::default(),
        pay_by_minutes: 30,
        hold_limits: crate::config::HoldLimits::default(),
        device_token_ttl: std::time::Duration::from_secs(86_400),
        payments: Settings::defaults().payments,
    }
}

impl TestApp {
    /// The Router `router` builds, over `pool`.
    pub fn new(pool: PgPool, router: fn(AppState) -> Router) -> Self {
        Self::with_settings(pool, router, &settings())
    }

    /// The same with other settings (lower limits, say).
    pub fn with_settings(
        pool: PgPool,
        router: fn(AppState) -> Router,
        settings: &Settings,
    ) -> Self {
        let state = AppState::with_pool(pool, &SecretString::from(JWT_SECRET), settings);
        Self {
            router: router(state.clone()),
            state,
        }
    }

    /// The Router `router` builds over `state` (selling online, say).
    pub fn with_state(state: AppState, router: fn(AppState) -> Router) -> Self {
        Self {
            router: router(state.clone()),
            state,
        }
    }

    /// Sends `request` as if API Gateway had received it from `address` (its
    /// `requestContext.http.sourceIp`).
    pub async fn from_address(&self, address: &str, mut request: Request<Body>) -> TestResponse {
        use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
        use lambda_http::request::RequestContext;
        let mut context = ApiGatewayV2httpRequestContext::default();
        context.http.source_ip = Some(address.to_owned());
        request
            .extensions_mut()
            .insert(RequestContext::ApiGatewayV2(context));
        self.raw(request).await
    }

    /// The database.
    pub fn db(&self) -> &PgPool {
        &self.state.db
    }

    /// Sends a request; `body` is sent as JSON.
    pub async fn send(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> TestResponse {
        self.raw(Self::request(method, uri, token, body)).await
    }

    /// The request `send` sends.
    pub fn request(
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Request<Body> {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }
        .expect("request")
    }

    /// Sends a request built by hand (raw bodies, odd headers).
    pub async fn raw(&self, request: Request<Body>) -> TestResponse {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router never fails");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        TestResponse {
            status,
            headers,
            body,
        }
    }

    /// `GET uri`.
    pub async fn get(&self, uri: &str, token: Option<&str>) -> TestResponse {
        self.send(Method::GET, uri, token, None).await
    }

    /// `POST uri` with a JSON body.
    pub async fn post(&self, uri: &str, token: Option<&str>, body: Value) -> TestResponse {
        self.send(Method::POST, uri, token, Some(body)).await
    }

    /// `PATCH uri` with a JSON body.
    pub async fn patch(&self, uri: &str, token: Option<&str>, body: Value) -> TestResponse {
        self.send(Method::PATCH, uri, token, Some(body)).await
    }

    /// `DELETE uri`.
    pub async fn delete(&self, uri: &str, token: Option<&str>) -> TestResponse {
        self.send(Method::DELETE, uri, token, None).await
    }

    /// Creates a user with `role` (password [`PASSWORD`]) and returns its id and a token.
    pub async fn user(&self, username: &str, role: Role) -> (i64, String) {
        let hash = bcrypt::hash(PASSWORD, 4).expect("hash");
        let id: i64 = sqlx::query_scalar(
            "insert into users (username, password_hash, full_name, role) values ($1, $2, 'Test Person', $3) returning id",
        )
        .bind(username)
        .bind(hash)
        .bind(role)
        .fetch_one(self.db())
        .await
        .expect("insert user");
        (id, self.token(id, role))
    }

    /// A valid access token for a user id and role.
    pub fn token(&self, id: i64, role: Role) -> String {
        self.state.auth.issue(id, role).expect("token").token
    }

    /// Changes a user's role behind the API's back (their tokens still say the old one).
    pub async fn set_role(&self, id: i64, role: Role) {
        sqlx::query("update users set role = $2 where id = $1")
            .bind(id)
            .bind(role)
            .execute(self.db())
            .await
            .expect("set role");
    }

    /// Deactivates a user behind the API's back.
    pub async fn deactivate(&self, id: i64) {
        sqlx::query("update users set active = false where id = $1")
            .bind(id)
            .execute(self.db())
            .await
            .expect("deactivate");
    }

    /// Every row of every table, as text: equal before and after a request that must change
    /// nothing. The limiter's counts are left out (attempts are counted by design).
    pub async fn snapshot(&self) -> String {
        let tables: Vec<String> = sqlx::query_scalar(
            "select tablename::text from pg_tables
             where schemaname = 'public' and tablename not in ('_sqlx_migrations', 'throttles')
             order by 1",
        )
        .fetch_all(self.db())
        .await
        .expect("tables");
        let mut snapshot = String::new();
        for table in tables {
            let rows: String = sqlx::query_scalar(&format!(
                "select coalesce(string_agg(t::text, E'\\n' order by t::text), '') from {table} t"
            ))
            .fetch_one(self.db())
            .await
            .expect("rows");
            snapshot.push_str(&format!("{table}:\n{rows}\n"));
        }
        snapshot
    }

    /// Sends each request with the token of a caller who was `role` when it was issued and is
    /// `now` since, then with the token of a deactivated `role`: the first must be refused
    /// with 403, the second with 401 `account_inactive`, and neither may change anything.
    pub async fn assert_current_role_is_checked(
        &self,
        role: Role,
        now: Role,
        requests: &[(Method, String, Option<Value>)],
    ) {
        let (demoted, demoted_token) = self.user("demoted_staff", role).await;
        self.set_role(demoted, now).await;
        let (gone, gone_token) = self.user("deactivated_staff", role).await;
        self.deactivate(gone).await;
        let before = self.snapshot().await;
        for (method, uri, body) in requests {
            for (token, status, code) in [
                (&demoted_token, StatusCode::FORBIDDEN, "forbidden"),
                (&gone_token, StatusCode::UNAUTHORIZED, "account_inactive"),
            ] {
                let response = self
                    .send(method.clone(), uri, Some(token), body.clone())
                    .await;
                assert_eq!(
                    (response.status, response.body["code"].as_str()),
                    (status, Some(code)),
                    "{method} {uri}: {}",
                    response.body
                );
            }
        }
        assert_eq!(
            self.snapshot().await,
            before,
            "a refused request changed data"
        );
    }
}

impl TestResponse {
    /// Asserts the status, showing the body when it differs; returns the body.
    #[track_caller]
    pub fn expect(&self, status: StatusCode) -> &Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        &self.body
    }

    /// Asserts an error response: its status, its code, and the error body's shape.
    #[track_caller]
    pub fn expect_error(&self, status: StatusCode, code: &str) -> &Value {
        self.expect(status);
        assert_eq!(
            self.body["code"], code,
            "unexpected error code; body: {}",
            self.body
        );
        assert!(
            self.body["detail"].is_string(),
            "error without detail: {}",
            self.body
        );
        if status == StatusCode::UNAUTHORIZED {
            assert_eq!(self.headers[header::WWW_AUTHENTICATE], "Bearer");
        }
        &self.body
    }
}

/// Feeds an API Gateway HTTP API (payload v2) event through `lambda_http`'s adapter, exactly
/// as the Lambda runtime does, into `router`; returns the Lambda response document.
pub async fn invoke_api_gateway(router: Router, event: &str) -> Value {
    use lambda_http::request::LambdaRequest;
    use lambda_http::{Adapter, Context, LambdaEvent, Service as _};

    let request: LambdaRequest = serde_json::from_str(event).expect("an API Gateway v2 event");
    let mut adapter: Adapter<'_, _, _> = Adapter::from(router);
    let response = adapter
        .call(LambdaEvent::new(request, Context::default()))
        .await
        .expect("the router never fails");
    serde_json::to_value(response).expect("a serializable Lambda response")
}

/// Reads the API Gateway event fixture `tests/events/<name>.json` of the crate at
/// `manifest_dir`, fills in its `{{placeholders}}`, and invokes `router` with it. Returns the
/// status, the decoded body (JSON, or a JSON string when not JSON) and the headers of the Lambda response.
pub async fn invoke_fixture(
    router: Router,
    manifest_dir: &str,
    name: &str,
    replacements: &[(&str, &str)],
) -> (i64, Value, Value) {
    let path = format!("{manifest_dir}/tests/events/{name}.json");
    let mut event =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"));
    for (key, value) in replacements {
        event = event.replace(key, value);
    }
    let response = invoke_api_gateway(router, &event).await;
    let status = response["statusCode"].as_i64().expect("a status code");
    (
        status,
        lambda_response_body(&response),
        response["headers"].clone(),
    )
}

/// Awaits spawned requests and returns their responses in order.
pub async fn join_all<T>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        out.push(task.await.expect("a request task panicked"));
    }
    out
}

/// How many of `statuses` are `status`.
pub fn count_status(statuses: &[StatusCode], status: StatusCode) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

/// The body of a Lambda response document, decoded (base64 when flagged): JSON, or a JSON
/// string when it is not JSON.
pub fn lambda_response_body(response: &Value) -> Value {
    use base64::Engine as _;
    let raw = response["body"].as_str().unwrap_or_default();
    let bytes = if response["isBase64Encoded"].as_bool().unwrap_or(false) {
        base64::engine::general_purpose::STANDARD
            .decode(raw)
            .expect("base64 body")
    } else {
        raw.as_bytes().to_vec()
    };
    if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
    }
}

/// Runs `future` and counts the SQL statements it sends: [`record_statements`]' count.
pub async fn count_statements<F: std::future::Future>(future: F) -> (F::Output, usize) {
    let (output, statements) = record_statements(future).await;
    (output, statements.len())
}

/// Runs `future` and records the SQL statements it sends (sqlx reports each one as a
/// `sqlx::query` tracing event), each with its whitespace collapsed. The future must run on
/// this thread, as `#[sqlx::test]`'s runtime and the statement benchmark's do; work on other
/// threads at the same time is not recorded. The catalogue lookups sqlx makes once per
/// connection for custom types are connection warm-up and are not recorded.
///
/// Recording needs a process-wide subscriber (a scoped one would race with other tests over
/// tracing's global interest cache); it is installed on first use and records only for
/// threads inside this function.
pub async fn record_statements<F: std::future::Future>(future: F) -> (F::Output, Vec<String>) {
    use std::cell::RefCell;
    use tracing_subscriber::layer::SubscriberExt as _;

    thread_local! {
        static RECORDED: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
    }

    struct Recorder;

    #[derive(Default)]
    struct Fields {
        summary: String,
        statement: String,
    }

    impl tracing::field::Visit for Fields {
        fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
            self.record_str(field, &format!("{value:?}"));
        }

        fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
            match field.name() {
                "summary" => value.clone_into(&mut self.summary),
                "db.statement" => value.clone_into(&mut self.statement),
                _ => {}
            }
        }
    }

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Recorder {
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            if event.metadata().target() != "sqlx::query" {
                return;
            }
            let mut fields = Fields::default();
            event.record(&mut fields);
            let text = if fields.statement.trim().is_empty() {
                fields.summary
            } else {
                fields.statement
            };
            // sqlx looks up a custom type (an enum) in the catalogue once per connection;
            // that is connection warm-up, not the request's work.
            if text.contains("pg_catalog") || text.contains("::regtype") {
                return;
            }
            RECORDED.with(|recorded| {
                if let Some(list) = recorded.borrow_mut().as_mut() {
                    list.push(text.split_whitespace().collect::<Vec<_>>().join(" "));
                }
            });
        }
    }

    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let subscriber = tracing_subscriber::registry()
            .with(
                tracing_subscriber::filter::Targets::new()
                    .with_target("sqlx::query", tracing::Level::TRACE),
            )
            .with(Recorder);
        // Another global subscriber (a test's own) would make recording impossible: fail loudly.
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other global tracing subscriber");
    });
    RECORDED.with(|recorded| *recorded.borrow_mut() = Some(Vec::new()));
    let output = future.await;
    let statements = RECORDED
        .with(|recorded| recorded.borrow_mut().take())
        .unwrap_or_default();
    (output, statements)
}

/// Reads one HTTP/1.1 request (head and a `Content-Length` body) from `socket`, for tests
/// that stand in for a service the code calls (CloudFormation's response URL, Lambda's
/// Invoke API). `None` when the connection closes first.
pub async fn read_http_request(socket: &mut tokio::net::TcpStream) -> Option<(String, String)> {
    use tokio::io::AsyncReadExt as _;
    let mut received = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        let n = socket.read(&mut buffer).await.ok()?;
        if n == 0 {
            return None;
        }
        received.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&received).to_string();
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            continue;
        };
        let length: usize = head
            .lines()
            .find_map(|line| {
                line.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .and_then(|value| value.trim().parse().ok())
            })
            .unwrap_or(0);
        if body.len() >= length {
            return Some((head.to_owned(), body.to_owned()));
        }
    }
}

/// The local Stripe stand-in (`localstripe`, which `make test` and `make dev` start), as the
/// tests drive it: the customer's card payment, the provider's view of an object, and webhook
/// events signed as the provider signs them.
pub mod stripe {
    use bytes::Bytes;
    use http_body_util::{BodyExt as _, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    use secrecy::SecretString;
    use serde_json::Value;

    use crate::stripe::Payments;

    /// Any `sk_` key authenticates at the stand-in.
    pub const SECRET_KEY: &str = "sk_test_cinema";
    /// The webhook endpoint's signing secret the tests use.
    pub const WEBHOOK_SECRET: &str = "whsec_cinema_test";

    /// Where the stand-in listens: `STRIPE_API_BASE`, or its port on this machine.
    pub fn base() -> String {
        std::env::var("STRIPE_API_BASE").unwrap_or_else(|_| "http://127.0.0.1:8420".into())
    }

    /// Online sales against the stand-in, with the tests' keys.
    pub fn payments(settings: &crate::Settings) -> Payments {
        let mut settings = settings.payments.clone();
        settings.api_base = base();
        Payments::new(
            settings,
            crate::PaymentKeys {
                secret_key: Some(SecretString::from(SECRET_KEY)),
                webhook_secret: Some(SecretString::from(WEBHOOK_SECRET)),
            },
            None,
        )
        .expect("payments")
    }

    /// A form-encoded call to the stand-in's API; its JSON answer and status.
    pub async fn request(method: &str, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let body = serde_urlencoded::to_string(form).expect("form");
        let request = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", base()))
            .header("authorization", format!("Bearer {SECRET_KEY}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(body)))
            .expect("request");
        let response = client.request(request).await.unwrap_or_else(|e| {
            panic!(
                "the Stripe stand-in is not running at {} ({e}): make test and make check start it",
                base()
            )
        });
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// The customer pays PaymentIntent `id` with a test card, as the card element does: a
    /// card payment method, attached, then confirmed. Answers the PaymentIntent.
    pub async fn pay(id: &str) -> Value {
        let (status, method) = request(
            "POST",
            "/v1/payment_methods",
            &[
                ("type", "card"),
                ("card[number]", "4242424242424242"),
                ("card[exp_month]", "12"),
                ("card[exp_year]", "2034"),
                ("card[cvc]", "123"),
            ],
        )
        .await;
        assert_eq!(status, 200, "payment method: {method}");
        let method_id = method["id"].as_str().expect("payment method id");
        let path = format!("/v1/payment_intents/{id}");
        let (status, body) = request("POST", &path, &[("payment_method", method_id)]).await;
        assert_eq!(status, 200, "attach: {body}");
        let (status, intent) = request("POST", &format!("{path}/confirm"), &[]).await;
        assert_eq!(status, 200, "confirm: {intent}");
        assert_eq!(intent["status"], "succeeded", "{intent}");
        intent
    }

    /// The stand-in's PaymentIntent `id`.
    pub async fn intent(id: &str) -> Value {
        let (status, intent) = request("GET", &format!("/v1/payment_intents/{id}"), &[]).await;
        assert_eq!(status, 200, "{intent}");
        intent
    }

    /// The refunds the stand-in has made of PaymentIntent `id`.
    pub async fn refunds_of(id: &str) -> Vec<Value> {
        let (status, list) = request("GET", "/v1/refunds?limit=100", &[]).await;
        assert_eq!(status, 200, "{list}");
        list["data"]
            .as_array()
            .expect("a list")
            .iter()
            .filter(|refund| refund["payment_intent"] == id)
            .cloned()
            .collect()
    }

    /// A `payment_intent.succeeded` event for `intent`, with a fresh event id.
    pub fn succeeded_event(intent: &Value) -> Value {
        serde_json::json!({
            "id": format!("evt_{}", uuid_like()),
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": chrono::Utc::now().timestamp(),
            "data": {"object": intent},
        })
    }

    /// `Stripe-Signature` for `body` at unix time `t` under `secret`: HMAC-SHA256 of `t.body`,
    /// as the provider computes it.
    pub fn signature(secret: &str, t: i64, body: &str) -> String {
        use hmac::Mac as _;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("a key");
        mac.update(format!("{t}.{body}").as_bytes());
        format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
    }

    fn uuid_like() -> String {
        use rand::Rng as _;
        let mut rng = rand::rng();
        (0..24)
            .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.random_range(0..36)]))
            .collect()
    }
}

impl TestApp {
    /// The Router `router` builds over `pool`, selling online against the local Stripe
    /// stand-in.
    pub fn selling_online(
        pool: PgPool,
        router: fn(AppState) -> Router,
        settings: &Settings,
    ) -> Self {
        let state = AppState::with_pool(pool, &SecretString::from(JWT_SECRET), settings)
            .with_payments(stripe::payments(settings));
        Self::with_state(state, router)
    }
}
