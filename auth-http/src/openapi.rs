//! The OpenAPI 3.1 document of the routes, built with utoipa's builders
//! from the endpoint table [`handle`](crate::handle) serves, with schemas
//! derived from the types the handlers read and render (the core's request
//! types, with its `utoipa` feature, and [`crate::bodies`]).
//!
//! The request schemas say what the body readers of `auth_core::flows`
//! accept: a required string must not be blank (`minLength: 1`), an
//! optional field may be left out but is never `null`, and a login names
//! the account by `username` or by `email`.

use auth_core::error::FieldErrors;
use auth_core::flows::{
    AccountDeletion, EmailRequest, LinkConfirmation, PasswordChange, ProfileUpdate, Registration,
    ResetConfirmation,
};
use auth_core::token::jwt::JwkSet;
use auth_core::user::User;
use utoipa::PartialSchema;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApiBuilder, PathsBuilder, Ref,
    ResponseBuilder, Tag,
};

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ArrayBuilder, Schema};

use crate::ApiOptions;
use crate::bodies::{
    AdminUser, Detail, Empty, Health, HistoryItem, KnoxSession, KnoxToken, KnoxTokenName, Page,
    RefreshRequest, StaticToken, TokenPair, VerifyRequest,
};
use crate::endpoint::{Access, Body, Endpoint, Group, In, mounted};
use crate::routes::ENDPOINTS;

/// A string property of at least `min_length` and at most `max_length`
/// characters.
fn string(min_length: usize, max_length: Option<usize>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length((min_length > 0).then_some(min_length))
        .max_length(max_length)
}

fn boolean(description: Option<&str>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Boolean)
        .description(description)
}

/// A login by `name` (`username` or `email`) and `password`, as
/// [`Credentials::from_json`](auth_core::flows::Credentials::from_json)
/// reads it. Built here: the core's `Credentials` holds a `Login` enum, not
/// the wire's two shapes.
fn login_by(name: &str, description: &str) -> Schema {
    ObjectBuilder::new()
        .description(Some(description))
        .property(name, string(1, None))
        .property("password", string(1, None))
        .required(name)
        .required("password")
        .into()
}

/// A staff member's new or replaced user, as
/// [`AdminUserInput::from_json`](auth_core::flows::AdminUserInput::from_json)
/// reads it. Built here: the core's `AdminUserInput` wraps a `UserPatch`,
/// whose fields are required or not by the method.
fn admin_user_request() -> ObjectBuilder {
    let superuser_only = Some("Only a superuser may change it.");
    ObjectBuilder::new()
        .description(Some(
            "A staff member's new or replaced user (`POST`, `PUT`).",
        ))
        .property("username", string(1, Some(150)))
        .property(
            "email",
            string(1, Some(254)).format(Some(SchemaFormat::Custom("email".into()))),
        )
        .property("password", string(1, None))
        .property("first_name", string(0, Some(150)))
        .property("last_name", string(0, Some(150)))
        .property("is_active", boolean(None))
        .property("is_staff", boolean(superuser_only))
        .property("is_superuser", boolean(superuser_only))
        .property("profile", ObjectBuilder::new().schema_type(Type::Object))
        .required("username")
        .required("email")
}

fn json_content(name: &str) -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(Ref::from_schema_name(name)))
        .build()
}

fn error_description(status: u16) -> (&'static str, &'static str) {
    match status {
        400 => ("Validation errors", "ValidationErrors"),
        401 => ("Not authenticated (with `WWW-Authenticate`)", "Detail"),
        403 => ("Not allowed", "Detail"),
        404 => ("Not found", "Detail"),
        413 => ("Body too large", "Detail"),
        415 => ("Body is not JSON", "Detail"),
        429 => ("Throttled (with `Retry-After`)", "Detail"),
        _ => ("A store is unavailable", "Detail"),
    }
}

fn tag(group: Group) -> &'static str {
    match group {
        Group::Accounts => "accounts",
        Group::Jwt => "jwt",
        Group::Knox => "knox",
        Group::StaticToken => "static-token",
        Group::Users => "users",
        Group::Docs => "docs",
        Group::Health => "health",
    }
}

fn http_method(method: &str) -> HttpMethod {
    match method {
        "POST" => HttpMethod::Post,
        "PUT" => HttpMethod::Put,
        "PATCH" => HttpMethod::Patch,
        "DELETE" => HttpMethod::Delete,
        _ => HttpMethod::Get,
    }
}

/// A body's content, when the document describes one.
fn content(body: Body) -> Option<(&'static str, utoipa::openapi::Content)> {
    let json = |schema: RefOr<Schema>| ContentBuilder::new().schema(Some(schema)).build();
    match body {
        Body::None => None,
        Body::Json(name) => Some(("application/json", json(Ref::from_schema_name(name).into()))),
        Body::JsonList(name) => Some((
            "application/json",
            json(
                ArrayBuilder::new()
                    .items(Ref::from_schema_name(name))
                    .build()
                    .into(),
            ),
        )),
        Body::Html => Some(("text/html", ContentBuilder::new().build())),
    }
}

/// The operation of `endpoint`, served at `path`.
fn operation(endpoint: &Endpoint, path: &str, summary: &str) -> utoipa::openapi::path::Operation {
    let id: String = format!("{} {path}", endpoint.method.to_ascii_lowercase())
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let mut op = OperationBuilder::new()
        .tag(tag(endpoint.group))
        .summary(Some(summary))
        .operation_id(Some(id.trim_matches('_').replace("__", "_")));
    for param in endpoint.params {
        let (at, required) = match param.at {
            In::Path => (ParameterIn::Path, utoipa::openapi::Required::True),
            In::Query => (ParameterIn::Query, utoipa::openapi::Required::False),
        };
        op = op.parameter(
            ParameterBuilder::new()
                .name(param.name)
                .parameter_in(at)
                .required(required)
                .description(Some(param.description))
                .schema(Some(schema_string())),
        );
    }
    if let Some((media, body)) = content(endpoint.request) {
        op = op.request_body(Some(RequestBodyBuilder::new().content(media, body).build()));
    }
    let mut ok = ResponseBuilder::new().description(match endpoint.status {
        201 => "Created",
        202 => "Accepted",
        204 => "No content",
        _ => "OK",
    });
    if let Some((media, body)) = content(endpoint.response) {
        ok = ok.content(media, body);
    }
    op = op.response(endpoint.status.to_string(), ok.build());
    let mut errors = endpoint.errors.to_vec();
    if endpoint.request != Body::None || matches!(endpoint.method, "POST" | "PUT" | "PATCH") {
        errors.extend([413, 415]);
    }
    for status in errors {
        let (description, schema) = error_description(status);
        op = op.response(
            status.to_string(),
            ResponseBuilder::new()
                .description(description)
                .content("application/json", json_content(schema))
                .build(),
        );
    }
    let security = match endpoint.access {
        Access::Public => None,
        Access::Any | Access::Staff => Some(vec![
            SecurityRequirement::new("jwt", Vec::<String>::new()),
            SecurityRequirement::new("token", Vec::<String>::new()),
        ]),
        Access::KnoxToken | Access::StaticToken => Some(vec![SecurityRequirement::new(
            "token",
            Vec::<String>::new(),
        )]),
    };
    op = op.securities(security);
    op.build()
}

/// A staff member's partial update of a user (`PATCH`): the fields of
/// [`admin_user_request`], none required; only the fields sent change.
fn admin_user_patch() -> Schema {
    let mut schema = admin_user_request().build();
    schema.required.clear();
    schema.description =
        Some("A staff member's partial update of a user: only the fields sent change.".into());
    Schema::Object(schema)
}

/// Login fields: `password` and either `username` or `email`.
fn login_request() -> utoipa::openapi::schema::Schema {
    utoipa::openapi::schema::AnyOfBuilder::new()
        .item(Ref::from_schema_name("UsernameLogin"))
        .item(Ref::from_schema_name("EmailLogin"))
        .description(Some(
            "Login fields: `password` and either `username` or `email`.",
        ))
        .build()
        .into()
}

/// Knox login: the login fields and an optional token name.
fn knox_login_request() -> utoipa::openapi::schema::Schema {
    utoipa::openapi::schema::AllOfBuilder::new()
        .item(Ref::from_schema_name("LoginRequest"))
        .item(Ref::from_schema_name("KnoxTokenName"))
        .description(Some(
            "Knox login: the login fields and an optional token name.",
        ))
        .build()
        .into()
}

fn schema_string() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .build()
}

/// The document of the enabled groups under the prefix, as JSON bytes.
pub(crate) fn document_json(options: &ApiOptions) -> Vec<u8> {
    let mut paths = PathsBuilder::new();
    let mut used_groups: Vec<Group> = Vec::new();
    for endpoint in ENDPOINTS {
        let Some(summary) = endpoint.summary else {
            continue;
        };
        if !endpoint.group.enabled_in(options.groups) {
            continue;
        }
        if !used_groups.contains(&endpoint.group) {
            used_groups.push(endpoint.group);
        }
        let path = mounted(options.prefix(), endpoint);
        let op = operation(endpoint, &path, summary);
        paths = paths.path(path, PathItem::new(http_method(endpoint.method), op));
    }
    let components = ComponentsBuilder::new()
        .schema_from::<User>()
        .schema_from::<Registration>()
        .schema_from::<LinkConfirmation>()
        .schema_from::<EmailRequest>()
        .schema_from::<ResetConfirmation>()
        .schema_from::<PasswordChange>()
        .schema_from::<ProfileUpdate>()
        .schema_from::<AccountDeletion>()
        .schema(
            "UsernameLogin",
            login_by(
                "username",
                "A login by username (taken over `email` when both are sent).",
            ),
        )
        .schema("EmailLogin", login_by("email", "A login by email address."))
        .schema_from::<KnoxTokenName>()
        .schema("LoginRequest", login_request())
        .schema("KnoxLoginRequest", knox_login_request())
        .schema_from::<RefreshRequest>()
        .schema_from::<VerifyRequest>()
        .schema_from::<TokenPair>()
        .schema_from::<KnoxToken>()
        .schema_from::<KnoxSession>()
        .schema_from::<StaticToken>()
        .schema_from::<HistoryItem>()
        .schema("HistoryPage", Page::<HistoryItem>::schema())
        .schema_from::<AdminUser>()
        .schema("UserPage", Page::<AdminUser>::schema())
        .schema("AdminUserRequest", admin_user_request().build())
        .schema("AdminUserPatch", admin_user_patch())
        .schema_from::<Detail>()
        .schema_from::<FieldErrors>()
        .schema_from::<Empty>()
        .schema_from::<Health>()
        .schema_from::<JwkSet>()
        .security_scheme(
            "jwt",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("`Authorization: Bearer <access token>`"))
                    .build(),
            ),
        )
        .security_scheme(
            "token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`Authorization: Token <Knox or static token>`",
            ))),
        )
        .build();
    let tags: Vec<Tag> = used_groups.iter().map(|g| Tag::new(tag(*g))).collect();
    let doc = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("auth")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Accounts, JWT, Knox-style and static tokens, and the staff users admin.",
                ))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components))
        .tags(Some(tags))
        .build();
    doc.to_json()
        .map(String::into_bytes)
        .unwrap_or_else(|_| b"{}".to_vec())
}
