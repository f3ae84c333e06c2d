//! The database's CPU time, read from the server backend that serves a connection: its
//! `/proc/<pid>/schedstat` (on-CPU nanoseconds, the same quantity as utime + stime), so the
//! PostgreSQL server must run on this machine. What Aurora Serverless scales its capacity, and
//! its bill, by.

use std::time::Duration;

/// The backend's time on a CPU so far.
pub fn cpu(backend: i32) -> std::io::Result<Duration> {
    let text = std::fs::read_to_string(format!("/proc/{backend}/schedstat"))?;
    let nanos = text
        .split_whitespace()
        .next()
        .and_then(|field| field.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("unreadable schedstat of {backend}")))?;
    Ok(Duration::from_nanos(nanos))
}
