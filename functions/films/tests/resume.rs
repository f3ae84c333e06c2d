//! A database that pauses when idle (the lean profile's Aurora Serverless v2 at 0 capacity
//! units) takes about 15 s to resume. Whether it refuses connections meanwhile or holds them
//! until it is ready is not something AWS states either way, so both are tried here, with a
//! stand-in in front of the real database: the first request waits for it within its budget and
//! is answered; with a budget shorter than the resume, it is a 503 with `Retry-After` at once
//! when the budget runs out, never a timeout, and the next request is answered.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::http::{StatusCode, header};
use shared::testing::{TestApp, settings};
use sqlx::PgPool;
use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};

/// How a paused database behaves until it has resumed.
#[derive(Debug, Clone, Copy)]
enum WhileResuming {
    /// Nothing listens: connections are refused.
    Refuses,
    /// Connections are accepted and held, unanswered, until it is ready.
    Holds,
}

/// A stand-in for a paused database in front of `target`: resumed `after` its start.
async fn paused_database(
    target: SocketAddr,
    behaviour: WhileResuming,
    after: Duration,
) -> SocketAddr {
    let probe = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let address = probe.local_addr().expect("address");
    let resumed_at = Instant::now() + after;
    let listener = match behaviour {
        WhileResuming::Refuses => {
            drop(probe);
            None
        }
        WhileResuming::Holds => Some(probe),
    };
    tokio::spawn(async move {
        let listener = match listener {
            Some(listener) => listener,
            None => {
                tokio::time::sleep_until(resumed_at.into()).await;
                TcpListener::bind(address).await.expect("the port again")
            }
        };
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                tokio::time::sleep_until(resumed_at.into()).await;
                if let Ok(mut server) = TcpStream::connect(target).await {
                    let _ = copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    address
}

/// The films function over a pool whose connections go through the stand-in, with `wait` to
/// get one (DB_ACQUIRE_TIMEOUT_SECONDS).
async fn films_through(pool: &PgPool, address: SocketAddr, wait: Duration) -> TestApp {
    let options = (*pool.connect_options())
        .clone()
        .host(&address.ip().to_string())
        .port(address.port());
    let mut settings = settings();
    settings.db_acquire_timeout = wait;
    let paused = shared::db::pool(options, &settings);
    TestApp::with_settings(paused, ::films::router, &settings)
}

async fn target(pool: &PgPool) -> SocketAddr {
    let options = pool.connect_options();
    tokio::net::lookup_host((options.get_host(), options.get_port()))
        .await
        .expect("the database's address")
        .next()
        .expect("an address")
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn the_first_request_after_a_pause_waits_for_the_resume_and_is_answered(pool: PgPool) {
    let resume = Duration::from_secs(15);
    let target = target(&pool).await;
    // Both ways a resume may look, at once.
    let tries = [WhileResuming::Refuses, WhileResuming::Holds].map(|behaviour| {
        let pool = pool.clone();
        async move {
            let address = paused_database(target, behaviour, resume).await;
            // The lean profile's budget: 20 s to get a connection, in a 25 s function.
            let app = films_through(&pool, address, Duration::from_secs(20)).await;
            let started = Instant::now();
            let first = app.get("/genres", None).await;
            let waited = started.elapsed();
            assert_eq!(first.status, StatusCode::OK, "{behaviour:?}: {first:?}");
            assert!(
                waited >= resume - Duration::from_secs(1) && waited < Duration::from_secs(20),
                "{behaviour:?}: answered after {waited:?}"
            );
            let started = Instant::now();
            app.get("/genres", None).await.expect(StatusCode::OK);
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "{behaviour:?}: the next one at once"
            );
        }
    });
    let [refused, held] = tries;
    tokio::join!(refused, held);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_resume_longer_than_the_budget_is_a_503_with_retry_after_never_a_timeout(pool: PgPool) {
    let address = paused_database(
        target(&pool).await,
        WhileResuming::Refuses,
        Duration::from_secs(6),
    )
    .await;
    let app = films_through(&pool, address, Duration::from_secs(3)).await;
    let started = Instant::now();
    let refused = app.get("/genres", None).await;
    let waited = started.elapsed();
    refused.expect_error(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable");
    assert_eq!(refused.headers[header::RETRY_AFTER], "1");
    assert!(waited < Duration::from_secs(5), "answered after {waited:?}");
    // Once it has resumed, the next request is answered.
    tokio::time::sleep(Duration::from_secs(4)).await;
    app.get("/genres", None).await.expect(StatusCode::OK);
}
