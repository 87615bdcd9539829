//! The OpenAPI 3.1 document of the routes, built with utoipa's builders
//! from the same route table [`handle`](crate::handle) serves, with schemas
//! derived from the small structs below (used for the document only).
//!
//! The request schemas say what the body readers of `auth_core::flows`
//! accept: a required string must not be blank (`minLength: 1`), an
//! optional field may be left out but is never `null`, and a login names
//! the account by `username` or by `email`.

#![allow(dead_code)] // The schema structs exist for their derived schemas.

use utoipa::ToSchema;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
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
use crate::endpoint::{Access, Body, Endpoint, Group, In, mounted};
use crate::routes::ENDPOINTS;

/// A user, as every route shows one (never a password hash).
#[derive(ToSchema)]
struct User {
    /// UUID v7.
    #[schema(format = "uuid")]
    id: String,
    username: String,
    #[schema(format = "email")]
    email: String,
    first_name: String,
    last_name: String,
    is_active: bool,
    is_staff: bool,
    /// RFC 3339 UTC.
    date_joined: String,
    /// RFC 3339 UTC.
    last_login: Option<String>,
    /// Free JSON object for application fields.
    #[schema(value_type = Object)]
    profile: (),
}

/// `POST /api/auth/register`.
#[derive(ToSchema)]
struct RegisterRequest {
    #[schema(min_length = 1, max_length = 150)]
    username: String,
    #[schema(min_length = 1, max_length = 254, format = "email")]
    email: String,
    #[schema(min_length = 1)]
    password: String,
    #[schema(min_length = 1)]
    confirm_password: String,
    #[schema(max_length = 150, required = false)]
    first_name: String,
    #[schema(max_length = 150, required = false)]
    last_name: String,
    /// Free JSON object for application fields.
    #[schema(value_type = Object, required = false)]
    profile: (),
}

/// `{uid, token}` from an activation link.
#[derive(ToSchema)]
struct ActivateRequest {
    #[schema(min_length = 1)]
    uid: String,
    #[schema(min_length = 1)]
    token: String,
}

/// `{email}`.
#[derive(ToSchema)]
struct EmailRequest {
    #[schema(min_length = 1, format = "email")]
    email: String,
}

/// `POST /api/auth/password/reset/confirm`.
#[derive(ToSchema)]
struct ResetConfirmRequest {
    #[schema(min_length = 1)]
    uid: String,
    #[schema(min_length = 1)]
    token: String,
    #[schema(min_length = 1)]
    new_password: String,
    #[schema(min_length = 1)]
    confirm_password: String,
}

/// `POST /api/auth/password/change`.
#[derive(ToSchema)]
struct PasswordChangeRequest {
    #[schema(min_length = 1)]
    old_password: String,
    #[schema(min_length = 1)]
    new_password: String,
    #[schema(min_length = 1)]
    confirm_password: String,
}

/// `PATCH /api/auth/me`: profile keys merge, a null removes one.
#[derive(ToSchema)]
struct ProfileUpdateRequest {
    #[schema(max_length = 150, required = false)]
    first_name: String,
    #[schema(max_length = 150, required = false)]
    last_name: String,
    #[schema(value_type = Object, required = false)]
    profile: (),
}

/// `DELETE /api/auth/me`.
#[derive(ToSchema)]
struct PasswordRequest {
    #[schema(min_length = 1)]
    password: String,
}

/// A login by username (taken over `email` when both are sent).
#[derive(ToSchema)]
struct UsernameLogin {
    #[schema(min_length = 1)]
    username: String,
    #[schema(min_length = 1)]
    password: String,
}

/// A login by email address.
#[derive(ToSchema)]
struct EmailLogin {
    #[schema(min_length = 1)]
    email: String,
    #[schema(min_length = 1)]
    password: String,
}

/// Knox login's own field, beside the login fields.
#[derive(ToSchema)]
struct KnoxTokenName {
    /// A label for the token ("laptop").
    #[schema(required = false)]
    name: String,
}

/// `{refresh}`.
#[derive(ToSchema)]
struct RefreshRequest {
    #[schema(min_length = 1)]
    refresh: String,
}

/// `{token}`.
#[derive(ToSchema)]
struct VerifyRequest {
    #[schema(min_length = 1)]
    token: String,
}

/// A JWT pair (`refresh` absent from a refresh when rotation is off).
#[derive(ToSchema)]
struct TokenPair {
    access: String,
    refresh: Option<String>,
}

/// A Knox token, shown once.
#[derive(ToSchema)]
struct KnoxToken {
    token: String,
    /// RFC 3339, or null for no expiry.
    expiry: Option<String>,
}

/// A live Knox token of the user.
#[derive(ToSchema)]
struct KnoxSession {
    token_key: String,
    name: Option<String>,
    created: String,
    expiry: Option<String>,
    last_used: Option<String>,
}

/// The user's static token.
#[derive(ToSchema)]
struct StaticToken {
    token: String,
}

/// One login history entry.
#[derive(ToSchema)]
struct HistoryEntry {
    at: String,
    /// `login`, `login_failed`, `logout`, `logout_all`, `token_refreshed`,
    /// `password_changed`, `password_reset` or `activated`.
    event: String,
    ip: Option<String>,
    user_agent: Option<String>,
}

/// A page of history entries.
#[derive(ToSchema)]
struct HistoryPage {
    count: u64,
    next: Option<String>,
    previous: Option<String>,
    results: Vec<HistoryEntry>,
}

/// A page of users (the admin's shape).
#[derive(ToSchema)]
struct UserPage {
    count: u64,
    next: Option<String>,
    previous: Option<String>,
    #[schema(schema_with = admin_users)]
    results: (),
}

/// `[AdminUser]`.
fn admin_users() -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(Ref::from_schema_name("AdminUser"))
        .build()
}

/// A staff member's new or replaced user (`POST`, `PUT`).
#[derive(ToSchema)]
struct AdminUserRequest {
    #[schema(min_length = 1, max_length = 150)]
    username: String,
    #[schema(min_length = 1, max_length = 254, format = "email")]
    email: String,
    #[schema(min_length = 1, required = false)]
    password: String,
    #[schema(max_length = 150, required = false)]
    first_name: String,
    #[schema(max_length = 150, required = false)]
    last_name: String,
    #[schema(required = false)]
    is_active: bool,
    /// Only a superuser may change it.
    #[schema(required = false)]
    is_staff: bool,
    /// Only a superuser may change it.
    #[schema(required = false)]
    is_superuser: bool,
    #[schema(value_type = Object, required = false)]
    profile: (),
}

/// An error: `{"detail"}`, with `code` on 401s.
#[derive(ToSchema)]
struct Detail {
    detail: String,
    code: Option<String>,
}

/// Field errors: `{"<field>": ["message", ...], "non_field_errors": [...]}`.
#[derive(ToSchema)]
#[schema(value_type = Object)]
struct ValidationErrors(());

/// An empty object.
#[derive(ToSchema)]
struct Empty {}

/// `GET /healthz`.
#[derive(ToSchema)]
struct Health {
    status: String,
}

/// A JWK Set (RFC 7517).
#[derive(ToSchema)]
struct JwkSet {
    #[schema(value_type = Vec<Object>)]
    keys: (),
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

/// A user as the staff users admin shows one: [`User`] and `is_superuser`.
fn admin_user() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, Type};
    let superuser = ObjectBuilder::new()
        .property(
            "is_superuser",
            ObjectBuilder::new()
                .schema_type(Type::Boolean)
                .description(Some(
                    "Every permission; only a superuser may grant it or staff status, or change, \
                 set the password of, or delete a staff or superuser account.",
                )),
        )
        .required("is_superuser");
    AllOfBuilder::new()
        .item(Ref::from_schema_name("User"))
        .item(superuser)
        .description(Some(
            "A user as the staff users admin shows one: the user and `is_superuser`.",
        ))
        .build()
        .into()
}

/// A staff member's partial update of a user (`PATCH`): the fields of
/// [`AdminUserRequest`], none required; only the fields sent change.
fn admin_user_patch() -> utoipa::openapi::schema::Schema {
    use utoipa::PartialSchema;
    use utoipa::openapi::schema::{ObjectBuilder, Schema};
    // The derive gives a struct with named fields an object schema.
    let mut schema = match AdminUserRequest::schema() {
        utoipa::openapi::RefOr::T(Schema::Object(object)) => object,
        _ => ObjectBuilder::new().build(),
    };
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
        .schema_from::<RegisterRequest>()
        .schema_from::<ActivateRequest>()
        .schema_from::<EmailRequest>()
        .schema_from::<ResetConfirmRequest>()
        .schema_from::<PasswordChangeRequest>()
        .schema_from::<ProfileUpdateRequest>()
        .schema_from::<PasswordRequest>()
        .schema_from::<UsernameLogin>()
        .schema_from::<EmailLogin>()
        .schema_from::<KnoxTokenName>()
        .schema("LoginRequest", login_request())
        .schema("KnoxLoginRequest", knox_login_request())
        .schema_from::<RefreshRequest>()
        .schema_from::<VerifyRequest>()
        .schema_from::<TokenPair>()
        .schema_from::<KnoxToken>()
        .schema_from::<KnoxSession>()
        .schema_from::<StaticToken>()
        .schema_from::<HistoryEntry>()
        .schema_from::<HistoryPage>()
        .schema("AdminUser", admin_user())
        .schema_from::<UserPage>()
        .schema_from::<AdminUserRequest>()
        .schema("AdminUserPatch", admin_user_patch())
        .schema_from::<Detail>()
        .schema_from::<ValidationErrors>()
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
