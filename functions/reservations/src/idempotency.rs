//! `Idempotency-Key` for bookings: a repeat of a request with the same key gets the first
//! answer again (`Idempotent-Replayed: true`) instead of booking twice.
//!
//! The claim on a key, the booking and the stored answer commit in one transaction: a
//! concurrent request with the same key waits on the claim's row, then finds the answer. A
//! refused booking (4xx) is an answer too, kept as it was sent (a retry gets the same 409, not
//! a booking of whatever is free by then); a 5xx is not, and rolls the claim back with
//! everything else.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use shared::{Error, ErrorCode, Json, Result};
use sqlx::PgConnection;

const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The `Idempotency-Key` header, if sent: 1–255 visible ASCII characters.
pub(crate) fn key(headers: &HeaderMap) -> Result<Option<String>> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .filter(|key| (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()))
        .map(|key| Some(key.to_owned()))
        .ok_or_else(|| {
            Error::invalid(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters",
            )
        })
}

/// A key this request holds: its answer is to be stored with [`Claim::answer`].
#[derive(Debug)]
pub(crate) struct Claim {
    user_id: i64,
    key: String,
}

/// What taking a key found.
#[derive(Debug)]
pub(crate) enum Claimed {
    /// The key is new: this request does the work.
    First(Claim),
    /// The key answered an earlier request already: that answer, again.
    Replay(Response),
}

impl Claim {
    /// Takes `key` for `user_id`'s request with this `fingerprint` (what makes two requests
    /// "the same request"), in the transaction `db` that will also do the work.
    pub(crate) async fn take(
        db: &mut PgConnection,
        user_id: i64,
        key: String,
        fingerprint: &[u8],
    ) -> Result<Claimed> {
        let claimed = sqlx::query!(
            "insert into idempotency_keys (user_id, key, fingerprint, status_code, response)
             values ($1, $2, $3, 0, 'null') on conflict do nothing",
            user_id,
            key,
            fingerprint,
        )
        .execute(&mut *db)
        .await?
        .rows_affected();
        if claimed == 1 {
            return Ok(Claimed::First(Self { user_id, key }));
        }
        let first = sqlx::query!(
            "select fingerprint, status_code, response from idempotency_keys where user_id = $1 and key = $2",
            user_id,
            key
        )
        .fetch_one(&mut *db)
        .await?;
        if first.fingerprint != fingerprint {
            return Err(Error::Unprocessable {
                code: ErrorCode::IdempotencyKeyReused,
                detail: "this Idempotency-Key was used for a different request".into(),
                extra: None,
            });
        }
        let status = StatusCode::from_u16(u16::try_from(first.status_code).unwrap_or(500))
            .map_err(|e| Error::Internal(e.into()))?;
        let mut response = (status, Json(first.response)).into_response();
        response
            .headers_mut()
            .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
        Ok(Claimed::Replay(response))
    }

    /// Stores the answer (in the claim's transaction) and returns it as the response.
    pub(crate) async fn answer(
        self,
        db: &mut PgConnection,
        status: StatusCode,
        body: Value,
    ) -> Result<Response> {
        sqlx::query!(
            "update idempotency_keys set status_code = $3, response = $4 where user_id = $1 and key = $2",
            self.user_id,
            self.key,
            i32::from(status.as_u16()),
            body,
        )
        .execute(&mut *db)
        .await?;
        Ok((status, Json(body)).into_response())
    }
}
