//! SQL statements per request, for every endpoint of the four API functions.
//!
//! Drives each function's real Router in process (`tower::ServiceExt::oneshot`) against a
//! freshly migrated database (`DATABASE_URL`, local mode) and records the statements sqlx
//! sends while each request runs (`shared::testing::record_statements`, which the tests'
//! statement counts use too).
//! Transaction control (`BEGIN`, `COMMIT`, savepoints) is counted apart from the statements
//! that read or write data. sqlx logs `COMMIT`, `ROLLBACK` and `RELEASE SAVEPOINT` but not
//! the `BEGIN` or `SAVEPOINT` that opened them (it queues those and sends them in the same
//! write as the next statement, so they cost no round trip of their own): each logged end
//! of a transaction counts as two statements here. A transaction dropped without an end
//! (the rollback is queued, not logged) is not seen at all. The catalogue lookups sqlx makes
//! once per connection for custom types are connection warm-up and are not counted; neither
//! is the pool's ping, which is a protocol message, not a statement.
//!
//! `cinema-bench-statements [JSON_OUT]`: prints a table, writes one JSON object per endpoint
//! to `JSON_OUT` when given, and fails if any request does not answer as expected.

mod backend;

use std::fmt::Write as _;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use shared::testing::record_statements;
use shared::{ApiConfig, AppState};
use tower::ServiceExt as _;

/// Transaction control, as opposed to statements that read or write data.
fn is_transaction_control(statement: &str) -> bool {
    let upper = statement.trim_start().to_ascii_uppercase();
    [
        "BEGIN",
        "COMMIT",
        "ROLLBACK",
        "SAVEPOINT",
        "RELEASE",
        "START TRANSACTION",
    ]
    .iter()
    .any(|word| upper.starts_with(word))
}

/// One measured endpoint.
struct Measured {
    function: &'static str,
    method: Method,
    route: &'static str,
    note: &'static str,
    status: StatusCode,
    data: Vec<String>,
    control: Vec<String>,
    /// The database's CPU time while the request ran.
    db_cpu: Duration,
}

impl Measured {
    /// The performance targets: reads at most 2 statements, a booking at most 4; other writes
    /// are reported without a limit.
    fn limit(&self) -> Option<usize> {
        if self.method == Method::GET {
            Some(2)
        } else if self.route == "/reservations" && self.method == Method::POST {
            Some(4)
        } else if self.route == "/reservations/{id}/pay" {
            Some(2)
        } else if self.route == "/check-in" {
            Some(1)
        } else {
            None
        }
    }
}

struct Api {
    routers: Vec<(&'static str, Router)>,
    measured: Vec<Measured>,
    /// The server backend of the pool's one connection.
    backend: i32,
}

struct Call<'a> {
    method: Method,
    uri: String,
    token: Option<&'a str>,
    json: Option<Value>,
    form: Option<&'a str>,
    headers: Vec<(&'static str, String)>,
}

impl<'a> Call<'a> {
    fn new(method: Method, uri: impl Into<String>) -> Self {
        Self {
            method,
            uri: uri.into(),
            token: None,
            json: None,
            form: None,
            headers: Vec::new(),
        }
    }
    fn token(mut self, token: &'a str) -> Self {
        self.token = Some(token);
        self
    }
    fn json(mut self, body: Value) -> Self {
        self.json = Some(body);
        self
    }
    fn form(mut self, body: &'a str) -> Self {
        self.form = Some(body);
        self
    }
    fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }
}

type Failure = Box<dyn std::error::Error>;

impl Api {
    fn router(&self, function: &str) -> Router {
        self.routers
            .iter()
            .find(|(name, _)| *name == function)
            .map(|(_, router)| router.clone())
            .expect("a known function")
    }

    /// Sends `call` to `function`'s Router; returns the status, the JSON body, the
    /// statements sent meanwhile and the database's CPU time.
    async fn send(
        &self,
        function: &str,
        call: Call<'_>,
    ) -> Result<(StatusCode, Value, Vec<String>, Duration), Failure> {
        let mut request = Request::builder().method(call.method).uri(&call.uri);
        if let Some(token) = call.token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        for (name, value) in &call.headers {
            request = request.header(*name, value);
        }
        let request = if let Some(body) = call.json {
            request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))?
        } else if let Some(form) = call.form {
            request
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form.to_owned()))?
        } else {
            request.body(Body::empty())?
        };
        let before = backend::cpu(self.backend)?;
        let (response, statements) =
            record_statements(self.router(function).oneshot(request)).await;
        let response = response?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        let db_cpu = backend::cpu(self.backend)? - before;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok((status, body, statements, db_cpu))
    }

    /// Sends `call` and expects `expected`; returns the body.
    async fn setup(
        &self,
        function: &str,
        call: Call<'_>,
        expected: StatusCode,
    ) -> Result<Value, Failure> {
        let uri = call.uri.clone();
        let (status, body, _, _) = self.send(function, call).await?;
        if status != expected {
            return Err(format!("setup {uri}: {status}, expected {expected}: {body}").into());
        }
        Ok(body)
    }

    /// Sends `call`, expects `expected`, and records its statements under `route`.
    async fn measure(
        &mut self,
        function: &'static str,
        route: &'static str,
        note: &'static str,
        call: Call<'_>,
        expected: StatusCode,
    ) -> Result<Value, Failure> {
        let method = call.method.clone();
        let (status, body, statements, db_cpu) = self.send(function, call).await?;
        if status != expected {
            return Err(format!("{method} {route}: {status}, expected {expected}: {body}").into());
        }
        let (ends, data): (Vec<String>, Vec<String>) = statements
            .into_iter()
            .partition(|statement| is_transaction_control(statement));
        // Each logged end implies the unlogged statement that began it.
        let control = ends
            .into_iter()
            .flat_map(|end| {
                let begin = if end.starts_with("RELEASE") || end.starts_with("ROLLBACK TO") {
                    "SAVEPOINT (not logged)"
                } else {
                    "BEGIN (not logged)"
                };
                [begin.to_owned(), end]
            })
            .collect();
        self.measured.push(Measured {
            function,
            method,
            route,
            note,
            status,
            data,
            control,
            db_cpu,
        });
        Ok(body)
    }
}

fn id(body: &Value) -> Result<i64, Failure> {
    body["id"]
        .as_i64()
        .ok_or_else(|| format!("no id in {body}").into())
}

fn text(body: &Value, field: &str) -> Result<String, Failure> {
    body[field]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no {field} in {body}").into())
}

fn registration(username: &str) -> Value {
    json!({
        "username": username,
        "password": "Bench#Pass1",
        "confirm_password": "Bench#Pass1",
        "full_name": "Bench Person",
    })
}

/// A time `hours` from now, on a whole minute, as the API reads it.
fn in_hours(hours: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::hours(hours))
        .format("%Y-%m-%dT%H:%M:00+00:00")
        .to_string()
}

/// Calls every route of the four functions at least once, measuring the first call of each.
/// Each `round` names what it creates apart (`ada0`, `ada1`, …) and schedules its screenings
/// ten days after the previous round's, so that rounds run one after the other on one database.
async fn drive(api: &mut Api, db: &sqlx::PgPool, round: i64) -> Result<(), Failure> {
    use Method as M;
    use StatusCode as S;
    let name = |base: &str| format!("{base}{round}");

    // ---- auth
    let ada = api
        .measure(
            "auth",
            "/auth/register",
            "",
            Call::new(M::POST, "/auth/register").json(registration(&name("ada"))),
            S::CREATED,
        )
        .await?;
    let ada_id = id(&ada)?;
    for user in ["root", "cashy"] {
        api.setup(
            "auth",
            Call::new(M::POST, "/auth/register").json(registration(&name(user))),
            S::CREATED,
        )
        .await?;
    }
    sqlx::query("update users set role = 'admin' where username = $1")
        .bind(name("root"))
        .execute(db)
        .await?;
    let pair = api
        .measure(
            "auth",
            "/auth/login",
            "JSON",
            Call::new(M::POST, "/auth/login")
                .json(json!({"username": name("root"), "password": "Bench#Pass1"})),
            S::OK,
        )
        .await?;
    let admin = text(&pair, "access_token")?;
    let pair = api
        .measure(
            "auth",
            "/auth/login",
            "form",
            Call::new(M::POST, "/auth/login")
                .form(&format!("username={}&password=Bench%23Pass1", name("ada"))),
            S::OK,
        )
        .await?;
    let user = text(&pair, "access_token")?;
    let pair = api
        .measure(
            "auth",
            "/auth/refresh",
            "",
            Call::new(M::POST, "/auth/refresh")
                .json(json!({"refresh_token": text(&pair, "refresh_token")?})),
            S::OK,
        )
        .await?;
    api.measure(
        "auth",
        "/auth/logout",
        "",
        Call::new(M::POST, "/auth/logout")
            .json(json!({"refresh_token": text(&pair, "refresh_token")?})),
        S::NO_CONTENT,
    )
    .await?;
    api.measure(
        "auth",
        "/users/me",
        "",
        Call::new(M::GET, "/users/me").token(&user),
        S::OK,
    )
    .await?;
    let users = api
        .measure(
            "auth",
            "/users",
            "admin",
            Call::new(M::GET, "/users").token(&admin),
            S::OK,
        )
        .await?;
    let cashier_id = users["items"]
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .find(|u| u["username"] == name("cashy").as_str())
        })
        .map(id)
        .ok_or("cashy is not listed")??;
    api.measure(
        "auth",
        "/users/{id}/role",
        "admin",
        Call::new(M::PATCH, format!("/users/{cashier_id}/role"))
            .token(&admin)
            .json(json!({"role": "cashier"})),
        S::OK,
    )
    .await?;
    let pair = api
        .setup(
            "auth",
            Call::new(M::POST, "/auth/login").form(&format!(
                "username={}&password=Bench%23Pass1",
                name("cashy")
            )),
            S::OK,
        )
        .await?;
    let cashier = text(&pair, "access_token")?;
    api.measure(
        "auth",
        "/users/me/password",
        "",
        Call::new(M::POST, "/users/me/password")
            .token(&user)
            .json(json!({
                "current_password": "Bench#Pass1",
                "new_password": "Bench#Pass2",
                "confirm_password": "Bench#Pass2",
            })),
        S::NO_CONTENT,
    )
    .await?;
    let leaver = id(&api
        .setup(
            "auth",
            Call::new(M::POST, "/auth/register").json(registration(&name("leaver"))),
            S::CREATED,
        )
        .await?)?;
    api.measure(
        "auth",
        "/users/{id}",
        "admin, deactivate",
        Call::new(M::PATCH, format!("/users/{leaver}"))
            .token(&admin)
            .json(json!({"active": false})),
        S::OK,
    )
    .await?;

    // ---- films
    let drama = id(&api
        .measure(
            "films",
            "/genres",
            "admin",
            Call::new(M::POST, "/genres")
                .token(&admin)
                .json(json!({"title": name("Drama")})),
            S::CREATED,
        )
        .await?)?;
    let noir = id(&api
        .setup(
            "films",
            Call::new(M::POST, "/genres")
                .token(&admin)
                .json(json!({"title": name("Noir")})),
            S::CREATED,
        )
        .await?)?;
    let spare = id(&api
        .setup(
            "films",
            Call::new(M::POST, "/genres")
                .token(&admin)
                .json(json!({"title": name("Spare")})),
            S::CREATED,
        )
        .await?)?;
    api.measure("films", "/genres", "", Call::new(M::GET, "/genres"), S::OK)
        .await?;
    api.measure(
        "films",
        "/genres/{id}",
        "",
        Call::new(M::GET, format!("/genres/{drama}")),
        S::OK,
    )
    .await?;
    api.measure(
        "films",
        "/genres/{id}",
        "admin",
        Call::new(M::PATCH, format!("/genres/{drama}"))
            .token(&admin)
            .json(json!({"title": name("Dramas")})),
        S::OK,
    )
    .await?;
    api.measure(
        "films",
        "/genres/{id}",
        "admin",
        Call::new(M::DELETE, format!("/genres/{spare}")).token(&admin),
        S::NO_CONTENT,
    )
    .await?;
    let film_body = |title: &str| {
        json!({"title": title, "description": "A benchmark film.", "age_rating": "PG-13",
               "duration_minutes": 120, "release_year": 2020, "genre_ids": [drama, noir]})
    };
    let film = id(&api
        .measure(
            "films",
            "/films",
            "admin, 2 genres",
            Call::new(M::POST, "/films")
                .token(&admin)
                .json(film_body(&name("Heat"))),
            S::CREATED,
        )
        .await?)?;
    let doomed = id(&api
        .setup(
            "films",
            Call::new(M::POST, "/films")
                .token(&admin)
                .json(film_body(&name("Doomed"))),
            S::CREATED,
        )
        .await?)?;
    api.measure("films", "/films", "", Call::new(M::GET, "/films"), S::OK)
        .await?;
    api.measure(
        "films",
        "/films",
        "filtered",
        Call::new(
            M::GET,
            format!("/films?title=ea&genre_id={drama}&age_rating=PG-13"),
        ),
        S::OK,
    )
    .await?;
    api.measure(
        "films",
        "/films/{id}",
        "",
        Call::new(M::GET, format!("/films/{film}")),
        S::OK,
    )
    .await?;
    api.measure(
        "films",
        "/films/{id}",
        "admin, fields and genres",
        Call::new(M::PATCH, format!("/films/{film}"))
            .token(&admin)
            .json(json!({"description": "Changed.", "genre_ids": [noir]})),
        S::OK,
    )
    .await?;
    api.measure(
        "films",
        "/films/{id}",
        "admin",
        Call::new(M::DELETE, format!("/films/{doomed}")).token(&admin),
        S::NO_CONTENT,
    )
    .await?;

    // ---- screenings
    let hall = id(&api
        .measure(
            "screenings",
            "/halls",
            "admin",
            Call::new(M::POST, "/halls").token(&admin).json(json!({
                "name": name("Bench hall"), "kind": "standard", "surcharge_percent": "5",
                "rows": 2, "seats_per_row": 3})),
            S::CREATED,
        )
        .await?)?;
    api.measure(
        "screenings",
        "/halls",
        "",
        Call::new(M::GET, "/halls"),
        S::OK,
    )
    .await?;
    api.measure(
        "screenings",
        "/halls/{id}",
        "",
        Call::new(M::GET, format!("/halls/{hall}")),
        S::OK,
    )
    .await?;
    api.measure(
        "screenings",
        "/halls/{id}",
        "admin",
        Call::new(M::PATCH, format!("/halls/{hall}"))
            .token(&admin)
            .json(json!({"name": name("Bench hall 2"), "rows": 3})),
        S::OK,
    )
    .await?;
    api.measure(
        "screenings",
        "/halls/{id}",
        "admin",
        Call::new(M::DELETE, format!("/halls/{hall}")).token(&admin),
        S::NO_CONTENT,
    )
    .await?;
    let screening_body = |hours: i64| json!({"film_id": film, "hall_id": 4, "starts_at": in_hours(hours + 240 * round), "base_price": "10.00"});
    let screening = id(&api
        .measure(
            "screenings",
            "/screenings",
            "admin, 70 tickets",
            Call::new(M::POST, "/screenings")
                .token(&admin)
                .json(screening_body(48)),
            S::CREATED,
        )
        .await?)?;
    let doomed = id(&api
        .setup(
            "screenings",
            Call::new(M::POST, "/screenings")
                .token(&admin)
                .json(screening_body(96)),
            S::CREATED,
        )
        .await?)?;
    api.measure(
        "screenings",
        "/screenings",
        "",
        Call::new(M::GET, "/screenings"),
        S::OK,
    )
    .await?;
    api.measure(
        "screenings",
        "/screenings/{id}",
        "",
        Call::new(M::GET, format!("/screenings/{screening}")),
        S::OK,
    )
    .await?;
    let seats = api
        .measure(
            "screenings",
            "/screenings/{id}/seats",
            "7 x 10",
            Call::new(M::GET, format!("/screenings/{screening}/seats")),
            S::OK,
        )
        .await?;
    let tickets: Vec<i64> = seats
        .as_array()
        .ok_or("no seat map")?
        .iter()
        .filter_map(|seat| seat["ticket_id"].as_i64())
        .collect();
    if tickets.len() < 10 {
        return Err(format!("only {} seats", tickets.len()).into());
    }
    api.measure(
        "screenings",
        "/screenings/{id}",
        "admin",
        Call::new(M::PATCH, format!("/screenings/{screening}"))
            .token(&admin)
            .json(json!({"base_price": "11.00"})),
        S::OK,
    )
    .await?;
    api.measure(
        "screenings",
        "/screenings/{id}",
        "admin",
        Call::new(M::DELETE, format!("/screenings/{doomed}")).token(&admin),
        S::NO_CONTENT,
    )
    .await?;
    api.measure(
        "screenings",
        "/tickets",
        "",
        Call::new(M::GET, format!("/tickets?screening_id={screening}")),
        S::OK,
    )
    .await?;
    api.measure(
        "screenings",
        "/tickets/{id}",
        "",
        Call::new(M::GET, format!("/tickets/{}", tickets[0])),
        S::OK,
    )
    .await?;
    api.measure(
        "screenings",
        "/tickets/{id}",
        "admin",
        Call::new(M::PATCH, format!("/tickets/{}", tickets[0]))
            .token(&admin)
            .json(json!({"base_price": "12.00"})),
        S::OK,
    )
    .await?;
    api.measure(
        "screenings",
        "/tickets/{id}",
        "admin",
        Call::new(M::DELETE, format!("/tickets/{}", tickets[9])).token(&admin),
        S::NO_CONTENT,
    )
    .await?;

    // ---- reservations
    let reservation = id(&api
        .measure(
            "reservations",
            "/reservations",
            "1 seat",
            Call::new(M::POST, "/reservations")
                .token(&user)
                .json(json!({"ticket_ids": [tickets[0]]})),
            S::CREATED,
        )
        .await?)?;
    api.measure(
        "reservations",
        "/reservations",
        "4 seats, cashier for a customer",
        Call::new(M::POST, "/reservations")
            .token(&cashier)
            .json(json!({"ticket_ids": &tickets[1..5], "user_id": ada_id})),
        S::CREATED,
    )
    .await?;
    let keyed = || {
        Call::new(M::POST, "/reservations")
            .token(&user)
            .header("idempotency-key", "bench-key-1")
            .json(json!({"ticket_ids": [tickets[5]]}))
    };
    api.measure(
        "reservations",
        "/reservations",
        "1 seat, Idempotency-Key",
        keyed(),
        S::CREATED,
    )
    .await?;
    api.measure(
        "reservations",
        "/reservations",
        "the same key replayed (a transaction dropped: BEGIN, ROLLBACK not seen)",
        keyed(),
        S::CREATED,
    )
    .await?;
    api.measure(
        "reservations",
        "/reservations",
        "a taken seat (409)",
        Call::new(M::POST, "/reservations")
            .token(&user)
            .json(json!({"ticket_ids": [tickets[0]]})),
        S::CONFLICT,
    )
    .await?;
    api.measure(
        "reservations",
        "/reservations",
        "",
        Call::new(M::GET, "/reservations").token(&user),
        S::OK,
    )
    .await?;
    api.measure(
        "reservations",
        "/reservations/{id}",
        "",
        Call::new(M::GET, format!("/reservations/{reservation}")).token(&user),
        S::OK,
    )
    .await?;
    // ---- the box office
    let sale = api
        .measure(
            "reservations",
            "/reservations",
            "2 seats sold and paid at the till",
            Call::new(M::POST, "/reservations").token(&cashier).json(
                json!({"ticket_ids": &tickets[6..8], "user_id": ada_id, "payment_method": "card"}),
            ),
            S::CREATED,
        )
        .await?;
    let code = sale["tickets"][0]["code"]
        .as_str()
        .ok_or("a sale without a pass code")?
        .to_owned();
    api.measure(
        "reservations",
        "/reservations/{id}/pay",
        "cashier",
        Call::new(M::POST, format!("/reservations/{reservation}/pay"))
            .token(&cashier)
            .json(json!({"method": "cash"})),
        S::OK,
    )
    .await?;
    api.measure(
        "reservations",
        "/passes/{code}",
        "",
        Call::new(M::GET, format!("/passes/{code}")),
        S::OK,
    )
    .await?;
    api.measure(
        "reservations",
        "/passes/{code}/qr.svg",
        "",
        Call::new(M::GET, format!("/passes/{code}/qr.svg")),
        S::OK,
    )
    .await?;
    api.measure(
        "reservations",
        "/check-in",
        "two days early (409; the same statement admits)",
        Call::new(M::POST, "/check-in")
            .token(&cashier)
            .json(json!({"code": code})),
        S::CONFLICT,
    )
    .await?;
    api.measure(
        "reservations",
        "/reports/sales",
        "admin, by screening",
        Call::new(
            M::GET,
            format!(
                "/reports/sales?from={}&to={}&group_by=screening",
                in_hours(-1).replace('+', "%2B"),
                in_hours(72).replace('+', "%2B")
            ),
        )
        .token(&admin),
        S::OK,
    )
    .await?;
    api.measure(
        "reservations",
        "/reservations/{id}/cancel",
        "a paid one: refunded",
        Call::new(M::POST, format!("/reservations/{reservation}/cancel")).token(&user),
        S::OK,
    )
    .await?;
    Ok(())
}

fn report(measured: &[Measured]) -> (String, Vec<Value>, usize) {
    let mut out = String::new();
    let mut rows = Vec::new();
    let mut misses = 0;
    let _ = writeln!(
        out,
        "{:<13} {:<34} {:<34} {:>6} {:>5} {:>7} {:>6} {:>9}  result",
        "function", "endpoint", "case", "status", "data", "tx ctl", "limit", "db cpu ms"
    );
    for m in measured {
        let endpoint = format!("{} {}", m.method, m.route);
        let limit = m.limit();
        let pass = limit.map(|limit| m.data.len() <= limit);
        if pass == Some(false) {
            misses += 1;
        }
        let _ = writeln!(
            out,
            "{:<13} {:<34} {:<34} {:>6} {:>5} {:>7} {:>6} {:>9.3}  {}",
            m.function,
            endpoint,
            m.note,
            m.status.as_u16(),
            m.data.len(),
            m.control.len(),
            limit.map_or("-".to_owned(), |l| format!("<= {l}")),
            m.db_cpu.as_secs_f64() * 1e3,
            match pass {
                Some(true) => "pass",
                Some(false) => "MISS",
                None => "(no limit)",
            }
        );
        rows.push(json!({
            "function": m.function,
            "method": m.method.as_str(),
            "route": m.route,
            "case": m.note,
            "status": m.status.as_u16(),
            "data_statements": m.data.len(),
            "transaction_control": m.control.len(),
            "limit": limit,
            "pass": pass,
            "db_cpu_ms": m.db_cpu.as_secs_f64() * 1e3,
            "statements": m.control.iter().chain(&m.data).collect::<Vec<_>>(),
        }));
    }
    (out, rows, misses)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Failure> {
    let mut config = ApiConfig::from_env().await?;
    let migrations = sqlx::PgPool::connect_with(config.database.clone()).await?;
    shared::MIGRATOR.run(&migrations).await?;
    migrations.close().await;
    // One connection, whose server backend's CPU time is read around each request (below the
    // deployed minimum of 2, which only an idempotent booking that loses a race needs: no case
    // here does).
    config.settings.db_pool_max = 1;
    let state = AppState::new(config);
    let db = state.db.clone();
    let backend: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&db)
        .await?;
    let mut api = Api {
        routers: vec![
            ("auth", auth::router(state.clone())),
            ("films", films::router(state.clone())),
            ("screenings", screenings::router(state.clone())),
            ("reservations", reservations::router(state)),
        ],
        measured: Vec::new(),
        backend,
    };
    // The first round prepares every statement on the connection (a deployed instance's
    // first request does that once); the second is measured.
    drive(&mut api, &db, 0).await?;
    api.measured.clear();
    drive(&mut api, &db, 1).await?;
    let still: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&db)
        .await?;
    if still != backend {
        return Err("the pool replaced its connection during the run".into());
    }

    let (table, rows, misses) = report(&api.measured);
    print!("{table}");
    println!(
        "{} endpoints measured; {} over their limit (data statements; reads <= 2, booking <= 4)",
        rows.len(),
        misses
    );
    if let Some(path) = std::env::args().nth(1) {
        let lines: Vec<String> = rows.iter().map(Value::to_string).collect();
        std::fs::write(path, lines.join("\n") + "\n")?;
    }
    Ok(())
}
