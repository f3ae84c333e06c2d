//! What the OpenAPI description of every function shares: the error body, the error responses
//! each kind of route can give, the security scheme, and the page parameters.
//!
//! Each function declares its routes once, as a `utoipa_axum` [`OpenApiRouter`] of handlers with
//! `#[utoipa::path]` annotations: its axum Router and its part of the document both come from
//! that list ([`document`] applies [`Common`]); the docs function merges the parts into the one
//! document it serves.

use std::collections::BTreeMap;

use utoipa::openapi::schema::{AdditionalProperties, Schema};
use utoipa::openapi::security::{Flow, OAuth2, Password, Scopes, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoResponses, Modify, PartialSchema};

pub use crate::error::ErrorBody;
use crate::error::FieldError;
pub use crate::pagination::PageParams;
use utoipa_axum::router::OpenApiRouter;

/// The name of the security scheme: OAuth2's password flow against `POST /auth/login`, whose
/// access token is then sent as `Authorization: Bearer …`.
pub const SECURITY: &str = "oauth2";

/// Where Swagger UI's Authorize sends the username and password.
pub const TOKEN_URL: &str = "/auth/login";

/// A function's part of the API description, from its routes: what their handlers'
/// annotations say, with what every function's part shares ([`Common`]).
pub fn document<S: Clone + Send + Sync + 'static>(
    routes: OpenApiRouter<S>,
) -> utoipa::openapi::OpenApi {
    let mut document = routes.into_openapi();
    Common.modify(&mut document);
    document
}

fn error(description: &str) -> RefOr<Response> {
    error_builder(description).build().into()
}

fn error_builder(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Error")))
            .build(),
    )
}

/// An error response that says when to try again.
fn with_retry_after(builder: ResponseBuilder) -> ResponseBuilder {
    builder.header(
        "Retry-After",
        utoipa::openapi::HeaderBuilder::new()
            .schema(Some(i64::schema()))
            .description(Some("Seconds to wait before trying again"))
            .build(),
    )
}

/// A route that counts attempts per account or client address (sign-in, registration,
/// password change): 429 `too_many_attempts` with `Retry-After`.
#[derive(Debug)]
pub struct Throttled;

impl IntoResponses for Throttled {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        BTreeMap::from([(
            "429".to_string(),
            with_retry_after(error_builder(
                "Too many attempts for this account or from this address; the password was not \
                 checked. Try again after `Retry-After` seconds",
            ))
            .build()
            .into(),
        )])
    }
}

/// Declares a set of error responses, for `responses(...)` of `#[utoipa::path]`.
macro_rules! error_responses {
    ($($(#[$doc:meta])* $name:ident { $($status:literal => $description:literal),+ $(,)? })+) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                BTreeMap::from([$(($status.to_string(), error($description))),+])
            }
        }
    )+};
}

error_responses! {
    /// A route that needs a signed-in caller.
    SignedIn {
        "401" => "No token, one that is malformed, forged or expired, or its account is deleted or deactivated",
    }
    /// A route where a token is optional, but a bad one is refused.
    OptionalToken {
        "401" => "A token was sent but is malformed, forged or expired",
    }
    /// A route for some roles only.
    RoleOnly {
        "401" => "No token, one that is malformed, forged or expired, or its account is deleted or deactivated",
        "403" => "The caller's role (now, not when the token was issued) may not do this",
    }
    /// A route with a JSON body.
    JsonBody {
        "400" => "The body is not valid JSON",
        "413" => "The body is larger than 64 KiB",
        "415" => "The body is not `application/json`",
        "422" => "Invalid fields; every one is listed in `errors`",
    }
    /// A route with query parameters.
    BadQuery {
        "422" => "Invalid query parameters; every one is listed in `errors`",
    }
    /// A route addressing one resource by id.
    NotFound {
        "404" => "No such resource (or one the caller may not see)",
    }
}

/// Applied to every function's document: the shared schemas, the security scheme, and the
/// 503 any route answers while the database cannot be reached.
#[derive(Debug)]
pub struct Common;

impl Modify for Common {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut body = ErrorBody::schema();
        if let RefOr::T(Schema::Object(object)) = &mut body {
            object.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(true)));
        }
        components.schemas.insert("Error".into(), body);
        components
            .schemas
            .insert("FieldError".into(), FieldError::schema());
        components.add_security_scheme(
            SECURITY,
            SecurityScheme::OAuth2(OAuth2::with_description(
                [Flow::Password(Password::new(TOKEN_URL, Scopes::new()))],
                "Sign in with a username and password at `POST /auth/login`; \
                 send the access token as `Authorization: Bearer <token>`.",
            )),
        );
        let unavailable: RefOr<Response> = with_retry_after(error_builder(
            "The database cannot be reached right now, or a statement or lock wait ran past its \
             time limit (nothing was committed); try again",
        ))
        .build()
        .into();
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.patch,
                &mut item.put,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                // Handlers are named for what they do within their group (`list`, `get`);
                // the tag makes the operation id unique across the API: `films_list`.
                if let (Some(tag), Some(id)) = (
                    operation.tags.as_ref().and_then(|tags| tags.first()),
                    operation.operation_id.as_mut(),
                ) {
                    *id = format!("{tag}_{id}");
                }
                // Handler docs begin with their route (`` `GET /films/{id}`: … ``), which
                // Swagger UI shows anyway; the summary is what follows.
                if let Some(summary) = operation.summary.as_mut()
                    && let Some((_, rest)) = summary.split_once("`: ")
                    && summary.starts_with('`')
                {
                    let mut chars = rest.chars();
                    *summary = chars
                        .next()
                        .map(|first| first.to_uppercase().chain(chars).collect())
                        .unwrap_or_default();
                }
                operation
                    .responses
                    .responses
                    .entry("503".into())
                    .or_insert_with(|| unavailable.clone());
            }
        }
    }
}
