//! `Idempotency-Key` for bookings and payments: a repeat of a request with the same key gets
//! the first answer again (`Idempotent-Replayed: true`) instead of booking or paying twice.
//!
//! The claim on a key, the booking and the stored answer commit in one transaction: a
//! concurrent request with the same key waits on the claim's row, then finds the answer. A
//! refused booking (4xx) is an answer too, kept as it was sent (a retry gets the same 409, not
//! a booking of whatever is free by then); a 5xx is not, and rolls the claim back with
//! everything else.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use shared::{Error, ErrorCode, Json, Result};
use sqlx::{PgConnection, PgPool};

const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The `Idempotency-Key` header, if sent: 1–255 visible ASCII characters, once (two keys
/// name no one request: 400).
pub(crate) fn key(headers: &HeaderMap) -> Result<Option<String>> {
    let mut values = headers.get_all(IDEMPOTENCY_KEY).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Error::BadHeader(
            "send one Idempotency-Key header, not several",
        ));
    }
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

/// An answer to a request: its status and JSON body, and whether it is a stored one.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
    pub(crate) replayed: bool,
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        if self.replayed {
            mark_replayed(&mut response);
        }
        response
    }
}

/// Says that `response` answers an earlier request with the same key.
pub(crate) fn mark_replayed(response: &mut Response) {
    response
        .headers_mut()
        .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
}

/// Answers `caller`'s request: `work`'s value with status `success`, or its error. With a
/// `key`, `work` runs once per key: in a transaction that holds the key's claim, in a
/// savepoint, so that a refusal (4xx) is kept as the key's answer as a success is; a repeat
/// gets that answer again. `fingerprint` is what makes two requests "the same request".
pub(crate) async fn respond<T: Serialize>(
    pool: &PgPool,
    caller: i64,
    key: Option<String>,
    fingerprint: &[u8],
    success: StatusCode,
    work: impl AsyncFnOnce(&mut PgConnection) -> Result<T>,
) -> Result<Response> {
    answer(pool, caller, key, fingerprint, success, work)
        .await
        .map(IntoResponse::into_response)
}

/// [`respond`]'s answer, before it becomes a response.
pub(crate) async fn answer<T: Serialize>(
    pool: &PgPool,
    caller: i64,
    key: Option<String>,
    fingerprint: &[u8],
    success: StatusCode,
    work: impl AsyncFnOnce(&mut PgConnection) -> Result<T>,
) -> Result<Answer> {
    let Some(key) = key else {
        let mut conn = pool.acquire().await?;
        let value = work(&mut conn).await?;
        return Ok(Answer {
            status: success,
            body: serde_json::to_value(&value).map_err(|e| Error::Internal(e.into()))?,
            replayed: false,
        });
    };
    let mut tx = pool.begin().await?;
    let claim = match Claim::take(&mut tx, caller, key, fingerprint).await? {
        Claimed::First(claim) => claim,
        Claimed::Replay(answer) => return Ok(answer),
    };
    let outcome = {
        let mut attempt = sqlx::Connection::begin(&mut *tx).await?;
        match work(&mut attempt).await {
            Ok(value) => attempt.commit().await.map(|()| Ok(value))?,
            Err(error) => attempt.rollback().await.map(|()| Err(error))?,
        }
    };
    let (status, body) = match outcome {
        Ok(value) => (
            success,
            serde_json::to_value(&value).map_err(|e| Error::Internal(e.into()))?,
        ),
        Err(error) if error.status().is_client_error() => (error.status(), error.body()),
        // A 5xx is not an answer to keep: the whole request, claim included, rolls back.
        Err(error) => return Err(error),
    };
    let answer = claim.answer(&mut tx, status, body).await?;
    tx.commit().await?;
    Ok(answer)
}

/// A key this request holds: its answer is to be stored with [`Claim::answer`].
#[derive(Debug)]
struct Claim {
    user_id: i64,
    key: String,
}

/// What taking a key found.
#[derive(Debug)]
enum Claimed {
    /// The key is new: this request does the work.
    First(Claim),
    /// The key answered an earlier request already: that answer, again.
    Replay(Answer),
}

impl Claim {
    /// Takes `key` for `user_id`'s request with this `fingerprint` (what makes two requests
    /// "the same request"), in the transaction `db` that will also do the work.
    async fn take(
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
            // Like every 422, it lists the field at fault.
            let field = shared::FieldError::new(
                "Idempotency-Key",
                "was used for a different request; use a new key",
            );
            return Err(Error::Unprocessable {
                code: ErrorCode::IdempotencyKeyReused,
                detail: "this Idempotency-Key was used for a different request".into(),
                extra: Some(serde_json::json!({ "errors": [field] })),
            });
        }
        let status = StatusCode::from_u16(u16::try_from(first.status_code).unwrap_or(500))
            .map_err(|e| Error::Internal(e.into()))?;
        Ok(Claimed::Replay(Answer {
            status,
            body: first.response,
            replayed: true,
        }))
    }

    /// Stores the answer (in the claim's transaction) and returns it.
    async fn answer(
        self,
        db: &mut PgConnection,
        status: StatusCode,
        body: Value,
    ) -> Result<Answer> {
        sqlx::query!(
            "update idempotency_keys set status_code = $3, response = $4 where user_id = $1 and key = $2",
            self.user_id,
            self.key,
            i32::from(status.as_u16()),
            body,
        )
        .execute(&mut *db)
        .await?;
        Ok(Answer {
            status,
            body,
            replayed: false,
        })
    }
}
