//! Every read endpoint of the four API functions, and booking, on a small and a large cinema
//! of the same shape (`bench/scale.sql`), side by side in one run: the functions' real Routers
//! in process (`tower::ServiceExt::oneshot`, no HTTP), one request at a time, each over a pool
//! of one connection. For each request: the median and 90th percentile of its time in the
//! Router, and the database's CPU time per request (the backend's on-CPU time from
//! `/proc/<pid>/schedstat` over the timed requests, divided by their number: what Aurora
//! Serverless scales its capacity, and its bill, by).
//!
//! `cinema-bench-scale <small-database-url> <large-database-url> [JSON_OUT]`; `RUNS` timed
//! requests per route (default 30) after 3 unmeasured ones. Prints a Markdown table; fails if
//! a request does not answer as expected.

mod backend;

use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::testing::TestApp;
use shared::{AppState, Role};
use sqlx::postgres::PgPoolOptions;

type Failure = Box<dyn std::error::Error>;
/// A function's Router, as each function crate builds it.
type RouterFn = fn(AppState) -> Router;

/// One data set: a Router per function over one connection, and what its requests name.
struct Cinema {
    apps: Vec<(&'static str, TestApp)>,
    backend: i32,
    staff: String,
    admin: String,
    customer: String,
    screening: i64,
    film: i64,
    title_part: String,
    reservation: i64,
    ticket: i64,
    /// A pass of a paid seat of that screening.
    pass: String,
    /// Free seats of future screenings nobody has booked, for the bookings.
    free_seats: Vec<(i64, i64)>,
}

impl Cinema {
    async fn open(url: &str) -> Result<Self, Failure> {
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect(url)
            .await?;
        let (backend,): (i32,) = sqlx::query_as("select pg_backend_pid()")
            .fetch_one(&pool)
            .await?;
        let routers: [(&str, RouterFn); 4] = [
            ("auth", auth::router),
            ("films", films::router),
            ("screenings", screenings::router),
            ("reservations", reservations::router),
        ];
        // One customer makes every booking of the run: their holds are not limited here (each
        // booking still counts them, a few hundred at most).
        let mut settings = shared::testing::settings();
        settings.hold_limits = shared::HoldLimits {
            seats: i32::MAX,
            per_screening: i32::MAX,
        };
        let apps: Vec<_> = routers
            .into_iter()
            .map(|(name, router)| {
                (
                    name,
                    TestApp::with_settings(pool.clone(), router, &settings),
                )
            })
            .collect();
        let app = &apps[0].1;
        let id = |sql: &'static str| {
            let pool = pool.clone();
            async move {
                sqlx::query_scalar::<_, i64>(sql)
                    .fetch_one(&pool)
                    .await
                    .map_err(|e| format!("{sql}: {e}"))
            }
        };
        // A customer who signs in (the seed's passwords are nobody's).
        let hash =
            shared::auth::hash_password(SIGN_IN_PASSWORD.into(), settings.bcrypt_cost).await?;
        sqlx::query("update users set password_hash = $1 where username = $2")
            .bind(hash)
            .bind(SIGN_IN_USER)
            .execute(&pool)
            .await?;
        let cashier = id("select id from users where username = 'customer_1'").await?;
        let admin = id("select id from users where username = 'manager'").await?;
        let customer = id("select id from users where username = 'customer_10'").await?;
        // A full past screening, and its film.
        let screening = id(
            "select id from screenings where starts_at < now() - interval '1 day' order by starts_at desc limit 1",
        )
        .await?;
        let film = sqlx::query_scalar::<_, i64>("select film_id from screenings where id = $1")
            .bind(screening)
            .fetch_one(&pool)
            .await?;
        let title: String = sqlx::query_scalar("select title from films where id = $1")
            .bind(film)
            .fetch_one(&pool)
            .await?;
        let reservation = sqlx::query_scalar::<_, i64>(
            "select id from reservations where user_id = $1 order by created_at desc limit 1",
        )
        .bind(customer)
        .fetch_one(&pool)
        .await?;
        let ticket = sqlx::query_scalar::<_, i64>(
            "select id from tickets where screening_id = $1 order by id limit 1",
        )
        .bind(screening)
        .fetch_one(&pool)
        .await?;
        let pass: String = sqlx::query_scalar(
            "select ri.pass_code from reservations r join reservation_items ri on ri.reservation_id = r.id
             where r.screening_id = $1 and ri.pass_code is not null limit 1",
        )
        .bind(screening)
        .fetch_one(&pool)
        .await?;
        let free_seats: Vec<(i64, i64)> = sqlx::query_as(
            "select s.id, t.id from screenings s join tickets t on t.screening_id = s.id
             where s.starts_at > now() + interval '1 day'
               and not exists (select 1 from reservations r where r.screening_id = s.id)
             order by s.starts_at, t.id limit 500",
        )
        .fetch_all(&pool)
        .await?;
        Ok(Self {
            staff: app.token(cashier, Role::Cashier),
            admin: app.token(admin, Role::Admin),
            customer: app.token(customer, Role::User),
            apps,
            backend,
            screening,
            film,
            title_part: title.to_lowercase().chars().take(3).collect(),
            reservation,
            ticket,
            pass,
            free_seats,
        })
    }

    fn app(&self, function: &str) -> &TestApp {
        &self
            .apps
            .iter()
            .find(|(name, _)| *name == function)
            .expect("a function")
            .1
    }

    /// The backend's time on a CPU so far.
    fn backend_cpu(&self) -> Result<Duration, Failure> {
        Ok(backend::cpu(self.backend)?)
    }
}

/// The customer who signs in, and their password.
const SIGN_IN_USER: &str = "customer_11";
const SIGN_IN_PASSWORD: &str = "Scale#Pass1";

/// A request of the table.
struct Route {
    name: &'static str,
    function: &'static str,
    method: Method,
    uri: fn(&Cinema, usize) -> String,
    token: fn(&Cinema) -> Option<&str>,
    body: fn(&Cinema, usize) -> Option<Value>,
    status: StatusCode,
}

fn routes() -> Vec<Route> {
    fn get(
        name: &'static str,
        function: &'static str,
        uri: fn(&Cinema, usize) -> String,
        token: fn(&Cinema) -> Option<&str>,
    ) -> Route {
        Route {
            name,
            function,
            method: Method::GET,
            uri,
            token,
            body: |_, _| None,
            status: StatusCode::OK,
        }
    }
    let anyone: fn(&Cinema) -> Option<&str> = |_| None;
    let staff: fn(&Cinema) -> Option<&str> = |c| Some(&c.staff);
    let admin: fn(&Cinema) -> Option<&str> = |c| Some(&c.admin);
    let customer: fn(&Cinema) -> Option<&str> = |c| Some(&c.customer);
    vec![
        get(
            "GET /reservations as staff",
            "reservations",
            |_, _| "/reservations".into(),
            staff,
        ),
        get(
            "GET /reservations as a customer",
            "reservations",
            |_, _| "/reservations".into(),
            customer,
        ),
        get(
            "GET /reservations?screening_id=",
            "reservations",
            |c, _| format!("/reservations?screening_id={}", c.screening),
            staff,
        ),
        get(
            "GET /reservations?status=cancelled",
            "reservations",
            |_, _| "/reservations?status=cancelled".into(),
            staff,
        ),
        get(
            "GET /reservations/{id}",
            "reservations",
            |c, _| format!("/reservations/{}", c.reservation),
            customer,
        ),
        get(
            "GET /tickets",
            "screenings",
            |_, _| "/tickets".into(),
            anyone,
        ),
        get(
            "GET /tickets?screening_id=",
            "screenings",
            |c, _| format!("/tickets?screening_id={}", c.screening),
            anyone,
        ),
        get(
            "GET /tickets/{id}",
            "screenings",
            |c, _| format!("/tickets/{}", c.ticket),
            anyone,
        ),
        get(
            "GET /screenings (not ended)",
            "screenings",
            |_, _| "/screenings".into(),
            anyone,
        ),
        get(
            "GET /screenings?from=&to= (one day)",
            "screenings",
            |_, _| {
                let from = chrono::Utc::now()
                    .date_naive()
                    .and_hms_opt(0, 0, 0)
                    .expect("midnight")
                    .and_utc();
                let to = from + chrono::Duration::days(1);
                format!(
                    "/screenings?from={}&to={}",
                    from.format("%Y-%m-%dT%H:%M:%SZ"),
                    to.format("%Y-%m-%dT%H:%M:%SZ")
                )
            },
            anyone,
        ),
        get(
            "GET /screenings?film_id=",
            "screenings",
            |c, _| format!("/screenings?film_id={}", c.film),
            anyone,
        ),
        get(
            "GET /screenings/{id}",
            "screenings",
            |c, _| format!("/screenings/{}", c.screening),
            anyone,
        ),
        get(
            "GET /screenings/{id}/seats",
            "screenings",
            |c, _| format!("/screenings/{}/seats", c.screening),
            anyone,
        ),
        get("GET /halls", "screenings", |_, _| "/halls".into(), anyone),
        get("GET /films", "films", |_, _| "/films".into(), anyone),
        get(
            "GET /films?limit=100",
            "films",
            |_, _| "/films?limit=100".into(),
            anyone,
        ),
        get(
            "GET /films?title=",
            "films",
            |c, _| format!("/films?title={}", c.title_part),
            anyone,
        ),
        get(
            "GET /films?genre_id=",
            "films",
            |_, _| "/films?genre_id=3".into(),
            anyone,
        ),
        get(
            "GET /films/{id}",
            "films",
            |c, _| format!("/films/{}", c.film),
            anyone,
        ),
        get("GET /genres", "films", |_, _| "/genres".into(), anyone),
        get("GET /users", "auth", |_, _| "/users".into(), admin),
        get(
            "GET /users?role=user&offset=100",
            "auth",
            |_, _| "/users?role=user&offset=100".into(),
            admin,
        ),
        get("GET /users/me", "auth", |_, _| "/users/me".into(), customer),
        get(
            "GET /passes/{code}",
            "reservations",
            |c, _| format!("/passes/{}", c.pass),
            anyone,
        ),
        Route {
            status: StatusCode::NOT_FOUND,
            ..get(
                "GET /passes/{code} (unknown)",
                "reservations",
                // The known code with its last character changed: the same length and shape.
                |c, _| {
                    let last = if c.pass.ends_with('A') { "B" } else { "A" };
                    format!("/passes/{}{last}", &c.pass[..c.pass.len() - 1])
                },
                anyone,
            )
        },
        get(
            "GET /reports/sales (yesterday, by screening)",
            "reservations",
            |_, _| report(1, "screening"),
            admin,
        ),
        get(
            "GET /reports/sales (30 days, by day)",
            "reservations",
            |_, _| report(30, "day"),
            admin,
        ),
        Route {
            name: "POST /auth/login (a customer signs in)",
            function: "auth",
            method: Method::POST,
            uri: |_, _| "/auth/login".into(),
            token: anyone,
            body: |_, _| Some(json!({"username": SIGN_IN_USER, "password": SIGN_IN_PASSWORD})),
            status: StatusCode::OK,
        },
        Route {
            name: "POST /reservations (1 seat)",
            function: "reservations",
            method: Method::POST,
            uri: |_, _| "/reservations".into(),
            token: customer,
            body: |c, i| {
                let (screening, ticket) = c.free_seats[i];
                Some(json!({"screening_id": screening, "ticket_ids": [ticket]}))
            },
            status: StatusCode::CREATED,
        },
    ]
}

/// A sales report over the `days` before today (UTC).
fn report(days: i64, group_by: &str) -> String {
    let today = chrono::Utc::now().date_naive();
    format!(
        "/reports/sales?from={}T00:00:00Z&to={today}T00:00:00Z&group_by={group_by}",
        today - chrono::Duration::days(days)
    )
}

/// One route on one data set: the times of the timed requests and the database's CPU per
/// request.
struct Measured {
    times: Vec<Duration>,
    db_cpu: Duration,
}

impl Measured {
    fn percentile(&self, p: f64) -> Duration {
        let mut times = self.times.clone();
        times.sort();
        times[((times.len() - 1) as f64 * p).round() as usize]
    }
}

async fn measure(
    cinema: &Cinema,
    route: &Route,
    runs: usize,
    next: &mut usize,
) -> Result<Measured, Failure> {
    let app = cinema.app(route.function);
    let send = async |i: usize| -> Result<Duration, Failure> {
        let uri = (route.uri)(cinema, i);
        let body = (route.body)(cinema, i);
        let started = Instant::now();
        // Through API Gateway, as deployed: the client's address is known (sign-in counts
        // attempts per address too).
        let request = TestApp::request(route.method.clone(), &uri, (route.token)(cinema), body);
        let response = app.from_address("203.0.113.7", request).await;
        let elapsed = started.elapsed();
        if response.status != route.status {
            return Err(format!(
                "{} {uri}: {}: {}",
                route.method, response.status, response.body
            )
            .into());
        }
        Ok(elapsed)
    };
    for _ in 0..3 {
        send(*next).await?;
        *next += 1;
    }
    let before = cinema.backend_cpu()?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        times.push(send(*next).await?);
        *next += 1;
    }
    let db_cpu = (cinema.backend_cpu()? - before) / runs as u32;
    Ok(Measured { times, db_cpu })
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Failure> {
    let mut args = std::env::args().skip(1);
    let (Some(small_url), Some(large_url)) = (args.next(), args.next()) else {
        return Err(
            "usage: cinema-bench-scale <small-database-url> <large-database-url> [JSON_OUT]".into(),
        );
    };
    let json_out = args.next();
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(30);
    let small = Cinema::open(&small_url).await?;
    let large = Cinema::open(&large_url).await?;
    let (mut small_next, mut large_next) = (0, 0);
    println!(
        "| request | small: median (p90) | large: median (p90) | ratio | database CPU per request, small / large |"
    );
    println!("|---|---|---|---|---|");
    let mut rows = Vec::new();
    for route in routes() {
        // Small and large one after the other per route, so drift falls on both alike. Only
        // bookings use the counter (each takes the next free seat).
        let (mut unused_small, mut unused_large) = (0, 0);
        let (small_next, large_next) = if route.method == Method::POST {
            (&mut small_next, &mut large_next)
        } else {
            (&mut unused_small, &mut unused_large)
        };
        let on_small = measure(&small, &route, runs, small_next).await?;
        let on_large = measure(&large, &route, runs, large_next).await?;
        let (s, l) = (on_small.percentile(0.5), on_large.percentile(0.5));
        let ratio = l.as_secs_f64() / s.as_secs_f64();
        println!(
            "| `{}` | {:.2} ms ({:.2}) | {:.2} ms ({:.2}) | {ratio:.2} × | {:.2} / {:.2} ms |",
            route.name,
            ms(s),
            ms(on_small.percentile(0.9)),
            ms(l),
            ms(on_large.percentile(0.9)),
            ms(on_small.db_cpu),
            ms(on_large.db_cpu),
        );
        rows.push(json!({
            "request": route.name,
            "small_median_ms": ms(s), "small_p90_ms": ms(on_small.percentile(0.9)),
            "large_median_ms": ms(l), "large_p90_ms": ms(on_large.percentile(0.9)),
            "ratio": ratio,
            "small_db_cpu_ms": ms(on_small.db_cpu), "large_db_cpu_ms": ms(on_large.db_cpu),
        }));
    }
    if let Some(path) = json_out {
        std::fs::write(path, serde_json::to_string_pretty(&rows)?)?;
    }
    Ok(())
}
