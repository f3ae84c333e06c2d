//! The one error type of the API and its JSON body.
//!
//! Every failure a handler can meet becomes an [`Error`]; its [`IntoResponse`] writes
//! `{"detail", "code"}` (plus `errors` for validation failures). Causes of 5xx responses are
//! logged here and never sent to the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

/// `Result` with the API's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What some errors add to their body beside `detail` and `code`, each only with the error that
/// names it: the one list of these fields, for the body and for the document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ErrorExtras {
    /// 409 `seats_taken`: the seats of the request that someone else holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_ids: Option<Vec<i64>>,
    /// 409 `already_admitted`: when the pass was first admitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admitted_at: Option<chrono::DateTime<chrono::Utc>>,
    /// 409 `outside_check_in_window`: when check-in opens for the screening.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opens_at: Option<chrono::DateTime<chrono::Utc>>,
    /// 409 `outside_check_in_window`: when it closes (the screening's end).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closes_at: Option<chrono::DateTime<chrono::Utc>>,
    /// 409 `hold_limit_reached`: how many unpaid seats may be held.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i32>,
    /// 409 `hold_limit_reached`: `screening` (of one screening) or `total` (of all to come).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<HoldScope>,
}

/// Which hold limit a booking reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HoldScope {
    Screening,
    Total,
}

impl ErrorExtras {
    /// As an error's `extra`.
    pub fn into_extra(self) -> Option<Value> {
        serde_json::to_value(self).ok()
    }
}

/// One invalid field of a request, as listed in a 422 body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field's name (a dotted path for nested fields, `ticket_ids[2]` for items).
    pub field: String,
    /// What is wrong with it, for a person to read.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The stable, machine-readable `code` of every error body: what a program branches on.
/// Serialized in snake_case; the OpenAPI document lists every value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: the body is not valid JSON or form encoding.
    MalformedBody,
    /// 400: a header is malformed or repeated (`Idempotency-Key` twice).
    InvalidHeader,
    /// 400: a webhook's signature is missing, wrong or too old.
    InvalidSignature,
    /// 401: no bearer token was sent.
    NotAuthenticated,
    /// 401: the token is forged, malformed or its claims are not acceptable.
    InvalidToken,
    /// 401: the token has expired.
    TokenExpired,
    /// 401: wrong username or password (or a deactivated account).
    InvalidCredentials,
    /// 401: the refresh token is unknown, expired, revoked or already used.
    InvalidRefreshToken,
    /// 401: the token's user is deleted or deactivated.
    AccountInactive,
    /// 403: the caller's current role does not allow this.
    Forbidden,
    /// 404: no such resource (or path).
    NotFound,
    /// 405: the path exists, the method does not.
    MethodNotAllowed,
    /// 409: the username is taken (case-insensitively).
    UsernameTaken,
    /// 409: the last active admin cannot be demoted or deactivated.
    LastAdmin,
    /// 409: a genre with this title exists.
    GenreTitleTaken,
    /// 409: a film with this title exists.
    FilmTitleTaken,
    /// 409: the film has screenings.
    FilmHasScreenings,
    /// 409: a hall with this name exists.
    HallNameTaken,
    /// 409: the hall has screenings.
    HallHasScreenings,
    /// 409: the screening overlaps another in the same hall.
    ScreeningOverlap,
    /// 409: the screening has started.
    ScreeningStarted,
    /// 409: the screening is cancelled.
    ScreeningCancelled,
    /// 409: the screening has reservations that hold seats or were paid (cancel it instead).
    ScreeningHasReservations,
    /// 409: the ticket is reserved.
    TicketReserved,
    /// 409: some of the seats are taken (`ticket_ids` lists them).
    SeatsTaken,
    /// 409: the reservation is already cancelled.
    ReservationCancelled,
    /// 409: a booking for someone else names an account that is not a customer.
    CustomerNotAUser,
    /// 409: this `Idempotency-Key` was used with a different request.
    IdempotencyKeyReused,
    /// 409: a concurrent request changed the same data; try again.
    ConcurrentUpdate,
    /// 409: the request conflicts with the current state of the data.
    Conflict,
    /// 409: the reservation is paid already.
    AlreadyPaid,
    /// 409: the reservation was not paid by its `pay_by` and has lapsed.
    ReservationLapsed,
    /// 409: unpaid bookings for this screening closed at its pay-by time; buy at the till.
    PayByPassed,
    /// 409: the customer holds as many unpaid seats as allowed (`limit` and `scope` say which).
    HoldLimitReached,
    /// 409: the pass was admitted already (`admitted_at` says when).
    AlreadyAdmitted,
    /// 409: the pass's reservation is cancelled.
    Void,
    /// 409: the pass is scanned outside its screening's check-in window.
    OutsideCheckInWindow,
    /// 409: too close to the screening for a customer to cancel an online purchase.
    RefundWindowClosed,
    /// 413: the body is too large.
    PayloadTooLarge,
    /// 415: the body's content type is not accepted here.
    UnsupportedMediaType,
    /// 422: one or more fields are invalid (`errors` lists them).
    ValidationError,
    /// 422: a value is out of range or not allowed.
    InvalidValue,
    /// 429: too many attempts; see `Retry-After`.
    TooManyAttempts,
    /// 503: the database is unavailable or the request ran past its time; see `Retry-After`.
    ServiceUnavailable,
    /// 503: online payments are not configured, or the provider cannot be reached now.
    PaymentsUnavailable,
    /// 500: a bug; the cause is logged, never sent.
    InternalError,
}

/// Everything that can go wrong in a request, each with its status and stable code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400: the body is not what its content type says (bad JSON, bad form encoding).
    #[error("{0}")]
    BadRequest(String),
    /// 400: a header is malformed or repeated.
    #[error("{0}")]
    BadHeader(&'static str),
    /// 401: no token, or one that is forged, expired or malformed; or bad credentials.
    #[error("{detail}")]
    Unauthorized {
        code: ErrorCode,
        detail: &'static str,
    },
    /// 403: authenticated, but the role may not do this.
    #[error("your role does not allow this action")]
    Forbidden,
    /// 429: too many attempts; try again after the given number of seconds.
    #[error("too many attempts; try again later")]
    TooManyAttempts {
        /// Seconds until the next attempt is considered.
        retry_after: u64,
    },
    /// 404: the resource does not exist (or the caller may not know that it does).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 405: the path exists, the method does not.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: the request conflicts with the current state.
    #[error("{detail}")]
    Conflict {
        code: ErrorCode,
        detail: String,
        extra: Option<Value>,
    },
    /// 413: the body is larger than the API accepts.
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// 415: the body's content type is not one this route accepts.
    #[error("{0}")]
    UnsupportedMediaType(&'static str),
    /// 422: one or more fields are invalid; all of them are listed.
    #[error("invalid request")]
    Validation(Vec<FieldError>),
    /// 422: the request is well-formed but cannot be processed (not tied to one field).
    #[error("{detail}")]
    Unprocessable {
        code: ErrorCode,
        detail: String,
        extra: Option<Value>,
    },
    /// 400: a webhook whose signature does not verify.
    #[error("the webhook signature does not verify: {0}")]
    InvalidSignature(crate::stripe::SignatureError),
    /// 503: online payments are not configured (or the provider cannot be reached).
    #[error("{0}")]
    PaymentsUnavailable(&'static str),
    /// 503: the database cannot be reached right now; the next request tries again.
    #[error("service temporarily unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// 500: a bug. The cause is logged, never sent.
    #[error("internal server error")]
    Internal(#[from] anyhow::Error),
}

/// The body of every error response, as serialized; the OpenAPI document describes this type
/// (as `Error`). Some errors add fields of their own (a 409 for taken seats lists its
/// `ticket_ids`), which the document allows as additional properties.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody<'a> {
    /// What went wrong, for a person to read.
    pub detail: String,
    /// A stable code for programs to branch on.
    pub code: ErrorCode,
    /// For validation failures (422): every invalid field.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<FieldError>>)]
    pub errors: Option<&'a [FieldError]>,
    /// The fields an error adds of its own, at the top level of the body.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub extra: Option<&'a Value>,
}

impl Error {
    /// 401 `account_inactive`: the token is sound, but its user is deleted or deactivated.
    pub fn account_inactive() -> Self {
        Self::Unauthorized {
            code: ErrorCode::AccountInactive,
            detail: "the account this token was issued for is deleted or deactivated",
        }
    }

    /// A 409 with a code and a message.
    pub fn conflict(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            detail: detail.into(),
            extra: None,
        }
    }

    /// A 422 for a single field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::BadHeader(_) | Self::InvalidSignature(_) => {
                StatusCode::BAD_REQUEST
            }
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation(_) | Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unavailable(_) | Self::PaymentsUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable, machine-readable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::BadRequest(_) => ErrorCode::MalformedBody,
            Self::BadHeader(_) => ErrorCode::InvalidHeader,
            Self::InvalidSignature(_) => ErrorCode::InvalidSignature,
            Self::PaymentsUnavailable(_) => ErrorCode::PaymentsUnavailable,
            Self::Unauthorized { code, .. } => *code,
            Self::Forbidden => ErrorCode::Forbidden,
            Self::TooManyAttempts { .. } => ErrorCode::TooManyAttempts,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            Self::Conflict { code, .. } | Self::Unprocessable { code, .. } => *code,
            Self::PayloadTooLarge(_) => ErrorCode::PayloadTooLarge,
            Self::UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            Self::Validation(_) => ErrorCode::ValidationError,
            Self::Unavailable(_) => ErrorCode::ServiceUnavailable,
            Self::Internal(_) => ErrorCode::InternalError,
        }
    }
}

impl Error {
    /// The JSON body of this error's response, as the client receives it (also what an
    /// idempotency key keeps as the answer to a refused request).
    pub fn body(&self) -> Value {
        let (errors, extra) = match self {
            Self::Validation(errors) => (Some(errors.as_slice()), None),
            Self::Conflict { extra, .. } | Self::Unprocessable { extra, .. } => {
                (None, extra.as_ref())
            }
            _ => (None, None),
        };
        serde_json::to_value(ErrorBody {
            detail: self.to_string(),
            code: self.code(),
            errors,
            extra,
        })
        .unwrap_or(Value::Null)
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        match &self {
            Self::Internal(cause) => tracing::error!(error = ?cause, "request failed"),
            Self::Unavailable(cause) => tracing::warn!(error = %cause, "database unavailable"),
            _ => {}
        }
        let mut response = (self.status(), axum::Json(self.body())).into_response();
        match &self {
            Self::Unauthorized { .. } => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::TooManyAttempts { retry_after } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            Self::PaymentsUnavailable(_) => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            Self::Unavailable(cause) => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                if password_rejected(cause) {
                    response.extensions_mut().insert(PasswordRejected);
                }
            }
            _ => {}
        }
        response
    }
}

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_) => Self::Unavailable(error),
            // The server went away mid-session (failover, restart: class 08, 57P01–57P03),
            // refused the credentials (28P01, e.g. mid-rotation), ran out of resources (class
            // 53: connection slots, 53300, once the pool's retries give up; memory; disk), or
            // cancelled a statement or a lock wait that ran past its budget (57014, 55P03):
            // unavailable, not a bug, and nothing was committed.
            sqlx::Error::Database(ref db)
                if db.code().is_some_and(|code| {
                    code.starts_with("08")
                        || code.starts_with("53")
                        || matches!(
                            code.as_ref(),
                            "57P01" | "57P02" | "57P03" | "28P01" | "57014" | "55P03"
                        )
                }) =>
            {
                Self::Unavailable(error)
            }
            // The caller checks of the statements themselves (`authorize`, `caller_role`): the
            // token's user is deleted or deactivated, or their role now does not allow this.
            sqlx::Error::Database(ref db) if db.code().as_deref() == Some(CALLER_INACTIVE) => {
                Self::account_inactive()
            }
            sqlx::Error::Database(ref db) if db.code().as_deref() == Some(CALLER_FORBIDDEN) => {
                Self::Forbidden
            }
            // Values PostgreSQL refuses (a NUL in text, a number or date out of range) are the
            // client's fault; validation catches them first, this keeps them from ever being 500s.
            sqlx::Error::Database(ref db)
                if matches!(
                    db.code().as_deref(),
                    Some("22021" | "22P05" | "22003" | "22008" | "22007" | "54000")
                ) =>
            {
                Self::Unprocessable {
                    code: ErrorCode::InvalidValue,
                    detail: "a value is out of range or not allowed".into(),
                    extra: None,
                }
            }
            // A deadlock or serialization failure: the request met a concurrent one head-on and
            // was rolled back whole; the client may simply try again.
            sqlx::Error::Database(ref db)
                if matches!(db.code().as_deref(), Some("40001" | "40P01")) =>
            {
                Self::conflict(
                    ErrorCode::ConcurrentUpdate,
                    "another request changed the same data at the same time; try again",
                )
            }
            // Any other integrity violation a handler did not map by name (a row deleted or
            // added by a concurrent request between checks): a conflict with the current state.
            sqlx::Error::Database(ref db)
                if db.code().is_some_and(|code| code.starts_with("23")) =>
            {
                Self::conflict(
                    ErrorCode::Conflict,
                    "the request conflicts with the current state of the data",
                )
            }
            other => Self::Internal(other.into()),
        }
    }
}

/// SQLSTATE of `caller_role` (and `authorize`) for a deleted or deactivated caller.
pub const CALLER_INACTIVE: &str = "CA401";
/// SQLSTATE of `authorize` for a caller whose current role is not among those allowed.
pub const CALLER_FORBIDDEN: &str = "CA403";

/// Marks a response whose request failed because the database refused the password (a
/// rotated secret): the Lambda entry point then reads the secret again.
#[derive(Debug, Clone, Copy)]
pub struct PasswordRejected;

fn password_rejected(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.code().as_deref() == Some("28P01"))
}

/// The name of the constraint (or unique index) `error` violated, if it is such a violation;
/// the names the handlers map are in [`crate::constraints`].
pub fn violated(error: &sqlx::Error) -> Option<&str> {
    match error {
        sqlx::Error::Database(db) => db.constraint(),
        _ => None,
    }
}

/// Maps a violated, named database constraint to an API error at the call site.
pub trait ResultExt<T> {
    /// If the error is a violation of `constraint`, turn it into `map(..)`'s error;
    /// any other error converts as usual.
    fn on_constraint(self, constraint: &str, map: impl FnOnce() -> Error) -> Result<T>;
}

impl<T> ResultExt<T> for std::result::Result<T, sqlx::Error> {
    fn on_constraint(self, constraint: &str, map: impl FnOnce() -> Error) -> Result<T> {
        self.map_err(|error| {
            if violated(&error) == Some(constraint) {
                map()
            } else {
                error.into()
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_json(response: Response) -> Value {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        serde_json::from_slice(&bytes).expect("json")
    }

    #[tokio::test]
    async fn internal_errors_never_carry_their_cause() {
        let error = Error::Internal(anyhow::anyhow!("relation \"users\" password=hunter2"));
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = body_json(response).await;
        assert_eq!(
            body,
            serde_json::json!({"detail": "internal server error", "code": "internal_error"})
        );
    }

    #[tokio::test]
    async fn unauthorized_carries_www_authenticate() {
        let response = Error::Unauthorized {
            code: ErrorCode::InvalidToken,
            detail: "invalid token",
        }
        .into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
    }

    #[tokio::test]
    async fn validation_lists_every_field_and_conflict_its_extra() {
        let response = Error::Validation(vec![
            FieldError::new("username", "too short"),
            FieldError::new("password", "too weak"),
        ])
        .into_response();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = body_json(response).await;
        assert_eq!(body["code"], "validation_error");
        assert_eq!(body["errors"].as_array().map(Vec::len), Some(2));

        let response = Error::Conflict {
            code: ErrorCode::SeatsTaken,
            detail: "taken".into(),
            extra: Some(serde_json::json!({"ticket_ids": [3]})),
        }
        .into_response();
        let body = body_json(response).await;
        assert_eq!(body["ticket_ids"], serde_json::json!([3]));
        assert_eq!(body["code"], "seats_taken");
    }

    #[test]
    fn the_documented_error_schema_is_the_serialized_body() {
        use utoipa::PartialSchema;
        let schema = serde_json::to_value(ErrorBody::schema()).expect("schema");
        let documented: Vec<&String> = schema["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .collect();
        let body = Error::Validation(vec![FieldError::new("title", "empty")]).body();
        let sent: Vec<&String> = body.as_object().expect("an object").keys().collect();
        assert_eq!(documented, sent);
        assert_eq!(schema["required"], serde_json::json!(["detail", "code"]));
    }

    #[test]
    fn pool_timeouts_are_503_and_other_database_errors_500() {
        assert_eq!(
            Error::from(sqlx::Error::PoolTimedOut).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            Error::from(sqlx::Error::RowNotFound).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
