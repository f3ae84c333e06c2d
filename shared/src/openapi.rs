//! What the OpenAPI description of every function shares: the error body, the error responses
//! each kind of route can give, the security scheme, and the page parameters.
//!
//! Each function declares its routes once, as a `utoipa_axum` [`OpenApiRouter`] of handlers with
//! `#[utoipa::path]` annotations: its axum Router and its part of the document both come from
//! that list ([`document`] applies [`Common`]); the docs function merges the parts into the one
//! document it serves.

use std::collections::BTreeMap;

use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::schema::{AdditionalProperties, Schema};
use utoipa::openapi::security::{
    Flow, OAuth2, Password, Scopes, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoResponses, Modify, PartialSchema};

pub use crate::error::ErrorBody;
use crate::error::{ErrorExtras, FieldError};
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

/// The longest summary: one line of a list of operations.
pub const SUMMARY_MAX: usize = 80;

/// An operation's summary and description. Each handler's doc comment begins with a one-line
/// summary (`/// List films.`), which utoipa makes the summary, and goes on with what it does,
/// which it makes the description; that begins with the route (`` `POST /films` (admin): … ``), which every viewer
/// shows anyway: it is dropped, and who may call it (`admin`) leads the description. Rustdoc's
/// link brackets are removed.
pub fn summarize(summary: Option<&str>, description: Option<&str>) -> (String, Option<String>) {
    let text = description
        .unwrap_or_default()
        .trim()
        .replace("[`", "`")
        .replace("`]", "`");
    let (who, rest) = match text.strip_prefix('`').and_then(|t| t.split_once('`')) {
        Some((_route, after)) => {
            let after = after.trim_start();
            match after.strip_prefix('(').and_then(|a| a.split_once(')')) {
                Some((who, after)) => (Some(who.to_owned()), after.to_owned()),
                None => (None, after.to_owned()),
            }
        }
        None => (None, text.clone()),
    };
    let rest = capitalized(rest.trim_start_matches([':', '.']).trim());
    let description = match who {
        Some(who) => Some(format!("**{}.** {rest}", capitalized(&who))),
        None if rest.is_empty() => None,
        None => Some(rest),
    };
    let summary = summary.unwrap_or_default().trim().trim_end_matches('.');
    (summary.to_owned(), description)
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// A page of a list (`Paginated_Film`) names its items by reference (`Film`) instead of a copy of
/// their schema, so that a generated client has one type for a film whether it came in a list
/// or alone.
fn refer_page_items(schemas: &mut BTreeMap<String, RefOr<Schema>>) {
    let names: Vec<String> = schemas
        .keys()
        .filter(|name| name.starts_with("Paginated_"))
        .cloned()
        .collect();
    for name in names {
        let item = name.trim_start_matches("Paginated_");
        if !schemas.contains_key(item) {
            continue;
        }
        let Some(page) = schemas.get(&name) else {
            continue;
        };
        let Ok(mut page) = serde_json::to_value(page) else {
            continue;
        };
        page["properties"]["items"]["items"] =
            serde_json::json!({"$ref": format!("#/components/schemas/{item}")});
        if let Ok(page) = serde_json::from_value(page) {
            schemas.insert(name, page);
        }
    }
}

/// `Idempotency-Key`: 1–255 visible ASCII characters, never null (sent or not sent).
fn idempotency_key_schema() -> RefOr<Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(255))
        .pattern(Some("^[!-~]+$"))
        .into()
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
            // The fields some errors add, typed (each optional: only its error has it).
            if let RefOr::T(Schema::Object(extras)) = ErrorExtras::schema() {
                object.properties.extend(extras.properties);
            }
        }
        components
            .schemas
            .insert("HoldScope".into(), crate::error::HoldScope::schema());
        refer_page_items(&mut components.schemas);
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
                let (summary, description) = summarize(
                    operation.summary.as_deref(),
                    operation.description.as_deref(),
                );
                operation.summary = Some(summary);
                operation.description = description;
                // Operations anyone may call say so (`security: []`), so that generated clients
                // need no credentials for them; those that also take an optional token (a bad
                // one is still a documented 401) are among them.
                let public = match &operation.security {
                    None => true,
                    Some(requirements) => requirements
                        .iter()
                        .any(|requirement| *requirement == SecurityRequirement::default()),
                };
                if public {
                    operation.security = Some(Vec::new());
                }
                for parameter in operation.parameters.iter_mut().flatten() {
                    let RefOr::T(parameter) = parameter else {
                        continue;
                    };
                    if parameter.name.eq_ignore_ascii_case("Idempotency-Key") {
                        parameter.schema = Some(idempotency_key_schema());
                    } else if parameter.parameter_in == ParameterIn::Header {
                        // A header is sent or not, never null.
                        parameter.schema = Some(String::schema());
                    }
                }
                operation
                    .responses
                    .responses
                    .entry("503".into())
                    .or_insert_with(|| unavailable.clone());
            }
        }
        link_created_resources(openapi);
    }
}

/// Links from each operation that creates a resource (`POST /films` → 201 with its `id`) to
/// every operation on that resource (`GET`, `PATCH`, `DELETE /films/{id}`, `POST
/// /reservations/{id}/pay`, …), so that a client, or a stateful test, knows how they connect.
fn link_created_resources(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::link::LinkBuilder;
    let mut targets: Vec<(String, String)> = Vec::new();
    for (path, item) in &openapi.paths.paths {
        for operation in [&item.get, &item.post, &item.patch, &item.put, &item.delete]
            .into_iter()
            .flatten()
        {
            if let Some(id) = &operation.operation_id {
                targets.push((path.clone(), id.clone()));
            }
        }
    }
    for (path, item) in openapi.paths.paths.iter_mut() {
        let Some(create) = item.post.as_mut() else {
            continue;
        };
        let Some(RefOr::T(created)) = create.responses.responses.get_mut("201") else {
            continue;
        };
        let below = format!("{path}/{{id}}");
        for (target_path, operation_id) in &targets {
            if *target_path == below || target_path.starts_with(&format!("{below}/")) {
                created.links.insert(
                    operation_id.clone(),
                    LinkBuilder::new()
                        .operation_id(operation_id.clone())
                        .parameter("id", "$response.body#/id")
                        .build()
                        .into(),
                );
            }
        }
    }
}
