//! Request extractors that reject with the API's error body.
//!
//! axum's own `Json`, `Path` and `Query` answer bad input with plain-text bodies; these
//! wrappers parse the same way but fail with [`Error`]: 400 for a body that is not JSON,
//! 413 past the body limit, 415 for a wrong content type, 422 naming the bad field.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, header, request::Parts};
use bytes::Bytes;
use lambda_http::request::RequestContext;
use serde::de::DeserializeOwned;

use crate::error::{Error, FieldError};

/// Largest request body accepted, in bytes (64 KiB).
pub const BODY_LIMIT: usize = 64 * 1024;

/// A JSON request body, deserialized into `T`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        if !content_type_is(req.headers(), "application/json") {
            return Err(Error::UnsupportedMediaType(
                "expected a JSON body (Content-Type: application/json)",
            ));
        }
        let body = read_body(req, state).await?;
        parse_json(&body).map(Json)
    }
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// A body that may be JSON or an HTML form (`application/x-www-form-urlencoded`), as the
/// OAuth2 password flow sends it.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonOrForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonOrForm<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let headers = req.headers();
        if content_type_is(headers, "application/json") {
            let body = read_body(req, state).await?;
            parse_json(&body).map(JsonOrForm)
        } else if content_type_is(headers, "application/x-www-form-urlencoded") {
            let body = read_body(req, state).await?;
            parse_urlencoded(&body).map(JsonOrForm)
        } else {
            Err(Error::UnsupportedMediaType(
                "expected application/json or application/x-www-form-urlencoded",
            ))
        }
    }
}

/// Path parameters. A segment that does not parse (a word where an id goes, an id past
/// 2^63) names no resource that can exist, so it is a 404; so does an id that is not written
/// the one way ids are (`1`, never `+1`, `01` or `%2B1`): every parameter named `id` or
/// `…_id` must be canonical decimal.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        if let Ok(raw) = axum::extract::RawPathParams::from_request_parts(parts, state).await
            && raw
                .iter()
                .any(|(name, value)| is_id_name(name) && !is_canonical_id(value))
        {
            return Err(Error::NotFound("resource"));
        }
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) if rejection.status() == StatusCode::INTERNAL_SERVER_ERROR => Err(
                Error::Internal(anyhow::anyhow!("path extraction: {rejection}")),
            ),
            Err(_) => Err(Error::NotFound("resource")),
        }
    }
}

fn is_id_name(name: &str) -> bool {
    name == "id" || name.ends_with("_id")
}

/// Whether `text` is an id as the API writes ids: decimal digits, no sign, no leading zero.
pub fn is_canonical_id(text: &str) -> bool {
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 19
        && bytes[0] != b'0'
        && bytes.iter().all(u8::is_ascii_digit)
}

/// Query-string parameters; a bad one is a 422 naming it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        parse_urlencoded(parts.uri.query().unwrap_or_default().as_bytes()).map(Query)
    }
}

/// The client's address as API Gateway saw it (`requestContext.http.sourceIp`). Headers such
/// as `X-Forwarded-For` are not read: a client can write them. `None` when the request did not
/// come through API Gateway or its emulator (a Router test).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientAddress(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(match parts.extensions.get::<RequestContext>() {
            Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.clone(),
            _ => None,
        }))
    }
}

fn content_type_is(headers: &axum::http::HeaderMap, expected: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case(expected))
}

async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, Error> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::PayloadTooLarge(BODY_LIMIT)
        } else {
            Error::BadRequest("the request body could not be read".into())
        }
    })
}

/// Parses a JSON document into `T`: syntax errors are 400, a value of the wrong type or a
/// missing field is a 422 naming the field. Every body this API takes is an object: another
/// JSON value (an array, which serde would read as the fields in order) is a 422 `body`.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|&b| b != b'{') {
        return match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
            Ok(_) => Err(Error::invalid("body", "must be a JSON object")),
            Err(error) => Err(malformed(&error)),
        };
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let parsed = serde_path_to_error::deserialize(&mut deserializer);
    let value = match parsed {
        Ok(value) => value,
        // A whole number written with a fraction (`1.0`) is an integer to JSON Schema, and so
        // to the API description: read again with such numbers as integers.
        Err(error)
            if error
                .inner()
                .to_string()
                .contains("invalid type: floating point") =>
        {
            let mut document: serde_json::Value =
                serde_json::from_slice(body).map_err(|error| malformed(&error))?;
            integral_floats_as_integers(&mut document);
            return serde_path_to_error::deserialize(document).map_err(|error| {
                let path = error.path().to_string();
                field_error(&path, &strip_position(&error.into_inner().to_string()))
            });
        }
        Err(error) => {
            let path = error.path().to_string();
            let inner = error.into_inner();
            return Err(match inner.classify() {
                serde_json::error::Category::Data => {
                    field_error(&path, &strip_position(&inner.to_string()))
                }
                _ => malformed(&inner),
            });
        }
    };
    deserializer.end().map_err(|error| malformed(&error))?;
    Ok(value)
}

/// Rewrites every number with a zero fraction that fits in 64 bits (`3.0`) as the integer it is.
fn integral_floats_as_integers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(number) => {
            if let Some(float) = number.as_f64().filter(|_| number.is_f64())
                && float.fract() == 0.0
                && float.abs() < 9.0e15
            {
                // Below 2^53 a float holds every whole number exactly.
                #[allow(clippy::cast_possible_truncation)]
                let whole = float as i64;
                *number = serde_json::Number::from(whole);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        serde_json::Value::Object(fields) => {
            fields.values_mut().for_each(integral_floats_as_integers);
        }
        _ => {}
    }
}

fn malformed(error: &serde_json::Error) -> Error {
    Error::BadRequest(format!(
        "malformed JSON body: {}",
        strip_position(&error.to_string())
    ))
}

/// Parses `a=1&b=2` (a query string or a form body) into `T`; a bad value is a 422, and so is
/// a parameter given twice (`?limit=1&limit=100`: which one was meant?).
pub fn parse_urlencoded<T: DeserializeOwned>(input: &[u8]) -> Result<T, Error> {
    let pairs = form_urlencoded::parse(input);
    if let Some((field, _)) = pairs.clone().find(|(_, value)| value.contains('\0')) {
        return Err(Error::invalid(field, "must not contain NUL characters"));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some((field, _)) = pairs.clone().find(|(name, _)| !seen.insert(name.clone())) {
        return Err(Error::invalid(field, "must be given at most once"));
    }
    serde_path_to_error::deserialize(serde_urlencoded::Deserializer::new(pairs))
        .map_err(|error| field_error(&error.path().to_string(), &error.into_inner().to_string()))
}

/// Turns a serde message into a field error; "missing field `x`" names `x` itself.
fn field_error(path: &str, message: &str) -> Error {
    let quoted = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned)
    };
    let (field, message) = if let Some(name) = quoted("missing field `") {
        (join_path(path, &name), "this field is required".to_owned())
    } else if let Some(name) = quoted("unknown field `") {
        (join_path(path, &name), "unknown field".to_owned())
    } else {
        (
            if path == "." {
                "body".to_owned()
            } else {
                path.to_owned()
            },
            message.to_owned(),
        )
    };
    Error::Validation(vec![FieldError::new(field, message)])
}

fn join_path(path: &str, name: &str) -> String {
    if path == "." {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

/// serde_json appends " at line L column C"; the client knows where its own body is.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message.to_owned(),
    }
}

/// An RFC 3339 timestamp in a query string. An offset's `+` left unescaped in a URL arrives
/// as a space (`…T18:00:00 02:00`); it can only have meant `+`. For
/// `#[serde(default, deserialize_with = "shared::extract::query_timestamp")]`.
pub fn query_timestamp<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<chrono::DateTime<chrono::FixedOffset>>, D::Error> {
    let text = <String as serde::Deserialize>::deserialize(deserializer)?;
    chrono::DateTime::parse_from_rfc3339(&text.replace(' ', "+"))
        .map(Some)
        .map_err(|_| serde::de::Error::custom("must be an RFC 3339 timestamp with an offset"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
        count: i64,
    }

    fn fields(error: Error) -> Vec<FieldError> {
        match error {
            Error::Validation(fields) => fields,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn syntax_errors_are_bad_requests() {
        for body in [
            &b"{"[..],
            b"",
            b"{\"name\": \"a\", \"count\": 1} trailing",
            b"\xff",
        ] {
            assert!(
                matches!(parse_json::<Sample>(body), Err(Error::BadRequest(_))),
                "{body:?}"
            );
        }
    }

    #[test]
    fn a_whole_number_with_a_fraction_is_an_integer() {
        let sample = parse_json::<Sample>(br#"{"name": "a", "count": 3.0}"#).expect("3.0");
        assert_eq!(sample.count, 3);
        let error = parse_json::<Sample>(br#"{"name": "a", "count": 3.5}"#).unwrap_err();
        assert_eq!(fields(error)[0].field, "count");
        let error = parse_json::<Sample>(br#"{"name": "a", "count": 1e300}"#).unwrap_err();
        assert_eq!(fields(error)[0].field, "count");
    }

    #[test]
    fn wrong_types_and_missing_fields_name_the_field() {
        let error = parse_json::<Sample>(br#"{"name": "a", "count": "many"}"#).unwrap_err();
        assert_eq!(fields(error)[0].field, "count");
        let error = parse_json::<Sample>(br#"{"name": "a"}"#).unwrap_err();
        assert_eq!(
            fields(error),
            vec![FieldError::new("count", "this field is required")]
        );
        let error =
            parse_json::<Sample>(br#"{"name": "a", "count": 9223372036854775808}"#).unwrap_err();
        assert_eq!(fields(error)[0].field, "count");
    }

    #[test]
    fn bodies_must_be_objects() {
        for body in [&br#"["a", 1]"#[..], b"1", b"\"a\"", b"null", b" [] "] {
            let error = parse_json::<Sample>(body).unwrap_err();
            assert_eq!(
                fields(error),
                vec![FieldError::new("body", "must be a JSON object")],
                "{body:?}"
            );
        }
        assert!(matches!(
            parse_json::<Sample>(b"[1,"),
            Err(Error::BadRequest(_))
        ));
    }

    #[test]
    fn repeated_parameters_are_refused_by_name() {
        let error = parse_urlencoded::<Sample>(b"name=a&count=1&count=2").unwrap_err();
        assert_eq!(
            fields(error),
            vec![FieldError::new("count", "must be given at most once")]
        );
    }

    #[test]
    fn ids_are_canonical_decimal() {
        for id in ["1", "42", "9223372036854775807"] {
            assert!(is_canonical_id(id), "{id}");
        }
        for id in ["", "0", "01", "+1", "-1", " 1", "1 ", "1e3", "0x1", "١"] {
            assert!(!is_canonical_id(id), "{id:?}");
        }
    }

    #[test]
    fn query_values_are_checked_and_nul_is_refused() {
        let error = parse_urlencoded::<Sample>(b"name=a&count=x").unwrap_err();
        assert_eq!(fields(error)[0].field, "count");
        let error = parse_urlencoded::<Sample>(b"name=a%00b&count=1").unwrap_err();
        assert_eq!(fields(error)[0].field, "name");
        let ok: Sample = parse_urlencoded(b"name=a+b&count=2").expect("valid");
        assert_eq!((ok.name.as_str(), ok.count), ("a b", 2));
    }
}
