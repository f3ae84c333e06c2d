//! Serves one function's real Router over loopback, without the Lambda runtime in between,
//! so a load generator (wrk) measures the function's own work: extractors, handlers, SQL.
//!
//! `cinema-bench-serve <auth|films|screenings|reservations> <address>`; configuration as in
//! local mode (`DATABASE_URL`, `JWT_SECRET`, tunables).

use shared::{ApiConfig, AppState};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(function), Some(address)) = (args.next(), args.next()) else {
        return Err(
            "usage: cinema-bench-serve <auth|films|screenings|reservations> <address>".into(),
        );
    };
    let router = match function.as_str() {
        "auth" => auth::router,
        "films" => films::router,
        "screenings" => screenings::router,
        "reservations" => reservations::router,
        other => return Err(format!("unknown function {other}").into()),
    };
    let state = AppState::new(ApiConfig::from_env().await?);
    let listener = tokio::net::TcpListener::bind(&address).await?;
    eprintln!("serving {function} at http://{address}");
    axum::serve(listener, router(state)).await?;
    Ok(())
}
