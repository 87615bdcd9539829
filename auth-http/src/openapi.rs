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

use crate::ApiOptions;
use crate::routes::{Group, ROUTES, mounted};

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

/// Who may call an operation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Public,
    Any,
    KnoxToken,
    StaticToken,
    Staff,
}

/// One operation: summary, access, request schema, success.
struct Spec {
    summary: &'static str,
    access: Access,
    request: Option<&'static str>,
    status: &'static str,
    response: Option<&'static str>,
    errors: &'static [&'static str],
}

fn spec(path: &str, method: &str) -> Spec {
    let s = |summary, access, request, status, response, errors| Spec {
        summary,
        access,
        request,
        status,
        response,
        errors,
    };
    use Access::*;
    const V: &[&str] = &["400"];
    const A: &[&str] = &["401"];
    const AV: &[&str] = &["400", "401"];
    // Throttled: logins, registrations and emails sent.
    const VT: &[&str] = &["400", "429"];
    const AVT: &[&str] = &["400", "401", "429"];
    const ST: &[&str] = &["401", "403", "404"];
    const STV: &[&str] = &["400", "401", "403", "404"];
    match (path, method) {
        ("/healthz", _) => s(
            "Every store answers",
            Public,
            None,
            "200",
            Some("Health"),
            &["503"],
        ),
        ("/openapi.json", _) => s("This OpenAPI document", Public, None, "200", None, &[]),
        ("/docs", _) => s("Swagger UI (HTML)", Public, None, "200", None, &[]),
        ("/auth/register", _) => s(
            "Register an account (inactive until activated)",
            Public,
            Some("RegisterRequest"),
            "201",
            Some("User"),
            VT,
        ),
        ("/auth/activate", _) => s(
            "Activate an account from its emailed link",
            Public,
            Some("ActivateRequest"),
            "200",
            Some("Detail"),
            V,
        ),
        ("/auth/activate/resend", _) => s(
            "Send the activation email again",
            Public,
            Some("EmailRequest"),
            "202",
            Some("Detail"),
            VT,
        ),
        ("/auth/password/reset", _) => s(
            "Email a password reset link",
            Public,
            Some("EmailRequest"),
            "202",
            Some("Detail"),
            VT,
        ),
        ("/auth/password/reset/confirm", _) => s(
            "Set a new password from a reset link",
            Public,
            Some("ResetConfirmRequest"),
            "204",
            None,
            V,
        ),
        ("/auth/password/change", _) => s(
            "Change the password",
            Any,
            Some("PasswordChangeRequest"),
            "204",
            None,
            AV,
        ),
        ("/auth/me", "GET") => s("The signed-in user", Any, None, "200", Some("User"), A),
        ("/auth/me", "PATCH") => s(
            "Update names and profile",
            Any,
            Some("ProfileUpdateRequest"),
            "200",
            Some("User"),
            AV,
        ),
        ("/auth/me", _) => s(
            "Delete the account",
            Any,
            Some("PasswordRequest"),
            "204",
            None,
            AV,
        ),
        ("/auth/me/history", _) => s(
            "The login history, newest first",
            Any,
            None,
            "200",
            Some("HistoryPage"),
            &["401", "404"],
        ),
        ("/auth/jwt/create", _) => s(
            "Log in: a JWT pair",
            Public,
            Some("LoginRequest"),
            "200",
            Some("TokenPair"),
            AVT,
        ),
        ("/auth/jwt/refresh", _) => s(
            "Refresh (rotating the refresh token)",
            Public,
            Some("RefreshRequest"),
            "200",
            Some("TokenPair"),
            AV,
        ),
        ("/auth/jwt/verify", _) => s(
            "Verify a token",
            Public,
            Some("VerifyRequest"),
            "200",
            Some("Empty"),
            AV,
        ),
        ("/auth/jwt/blacklist", _) => s(
            "Blacklist a refresh token (log out)",
            Public,
            Some("RefreshRequest"),
            "200",
            Some("Empty"),
            AV,
        ),
        ("/auth/jwks.json", _) => s(
            "The public JWT verification keys",
            Public,
            None,
            "200",
            Some("JwkSet"),
            &[],
        ),
        ("/auth/token/login", _) => s(
            "Log in: a Knox token",
            Public,
            Some("KnoxLoginRequest"),
            "200",
            Some("KnoxToken"),
            VT,
        ),
        ("/auth/token/logout", _) => s("Revoke this Knox token", KnoxToken, None, "204", None, A),
        ("/auth/token/logoutall", _) => s(
            "Revoke every token of the user",
            KnoxToken,
            None,
            "204",
            None,
            A,
        ),
        ("/auth/token/sessions", _) => s(
            "The user's live Knox tokens",
            Any,
            None,
            "200",
            Some("KnoxSession[]"),
            A,
        ),
        ("/auth/token/sessions/{token_key}", _) => s(
            "Revoke one Knox token",
            Any,
            None,
            "204",
            None,
            &["401", "404"],
        ),
        ("/auth/static-token", "POST") => s(
            "Log in: the user's static token",
            Public,
            Some("LoginRequest"),
            "200",
            Some("StaticToken"),
            VT,
        ),
        ("/auth/static-token", _) => {
            s("Delete the static token", StaticToken, None, "204", None, A)
        }
        ("/users", "GET") => s(
            "List users (staff)",
            Staff,
            None,
            "200",
            Some("UserPage"),
            ST,
        ),
        ("/users", _) => s(
            "Create a user (staff)",
            Staff,
            Some("AdminUserRequest"),
            "201",
            Some("AdminUser"),
            STV,
        ),
        ("/users/{id}", "GET") => s("A user (staff)", Staff, None, "200", Some("AdminUser"), ST),
        ("/users/{id}", "PUT") => s(
            "Replace a user (staff)",
            Staff,
            Some("AdminUserRequest"),
            "200",
            Some("AdminUser"),
            STV,
        ),
        ("/users/{id}", "PATCH") => s(
            "Update a user (staff)",
            Staff,
            Some("AdminUserPatch"),
            "200",
            Some("AdminUser"),
            STV,
        ),
        ("/users/{id}", _) => s("Delete a user (staff)", Staff, None, "204", None, ST),
        _ => s("", Public, None, "200", None, &[]),
    }
}

fn schema_ref(name: &str) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    match name.strip_suffix("[]") {
        Some(item) => utoipa::openapi::schema::ArrayBuilder::new()
            .items(Ref::from_schema_name(item))
            .build()
            .into(),
        None => Ref::from_schema_name(name).into(),
    }
}

fn json_content(name: &str) -> utoipa::openapi::Content {
    ContentBuilder::new().schema(Some(schema_ref(name))).build()
}

fn error_description(status: &str) -> (&'static str, &'static str) {
    match status {
        "400" => ("Validation errors", "ValidationErrors"),
        "401" => ("Not authenticated (with `WWW-Authenticate`)", "Detail"),
        "403" => ("Not allowed", "Detail"),
        "404" => ("Not found", "Detail"),
        "429" => ("Throttled (with `Retry-After`)", "Detail"),
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

/// The operation `method template` (relative to the prefix) served at
/// `path`.
fn operation(
    template: &str,
    path: &str,
    method: &str,
    group: Group,
) -> utoipa::openapi::path::Operation {
    let spec = spec(template, method);
    let id: String = format!("{} {path}", method.to_ascii_lowercase())
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let mut op = OperationBuilder::new()
        .tag(tag(group))
        .summary(Some(spec.summary))
        .operation_id(Some(id.trim_matches('_').replace("__", "_")));
    for (name, what) in [
        ("token_key", "The token's public prefix"),
        ("id", "The user's id (UUID)"),
    ] {
        if template.contains(&format!("{{{name}}}")) {
            op = op.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(utoipa::openapi::Required::True)
                    .description(Some(what))
                    .schema(Some(schema_string())),
            );
        }
    }
    if (template == "/users" || template == "/auth/me/history") && method == "GET" {
        let mut params = vec![
            (
                "page",
                "1-based page number (404 `Invalid page.` past the last)",
            ),
            ("page_size", "Items per page (default 20, at most 100)"),
        ];
        if template == "/users" {
            params.push(("search", "Matches username, email and names"));
        }
        for (name, what) in params {
            op = op.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Query)
                    .required(utoipa::openapi::Required::False)
                    .description(Some(what))
                    .schema(Some(schema_string())),
            );
        }
    }
    if let Some(request) = spec.request {
        op = op.request_body(Some(
            RequestBodyBuilder::new()
                .content("application/json", json_content(request))
                .build(),
        ));
    }
    let mut ok = ResponseBuilder::new().description(match spec.status {
        "201" => "Created",
        "202" => "Accepted",
        "204" => "No content",
        _ => "OK",
    });
    if let Some(response) = spec.response {
        ok = ok.content("application/json", json_content(response));
    } else if template == "/docs" {
        ok = ok.content("text/html", ContentBuilder::new().build());
    }
    op = op.response(spec.status, ok.build());
    let mut errors: Vec<&str> = spec.errors.to_vec();
    if spec.access == Access::Staff && !errors.contains(&"403") {
        errors.push("403");
    }
    if spec.request.is_some() || matches!(method, "POST" | "PUT" | "PATCH") {
        errors.extend(["413", "415"]);
    }
    // Every operation but the document, its UI and the public keys reads a
    // store, and a store that is down gives 503.
    if !errors.contains(&"503")
        && !matches!(template, "/openapi.json" | "/docs" | "/auth/jwks.json")
    {
        errors.push("503");
    }
    for status in errors {
        let (description, schema) = match status {
            "413" => ("Body too large", "Detail"),
            "415" => ("Body is not JSON", "Detail"),
            other => error_description(other),
        };
        op = op.response(
            status,
            ResponseBuilder::new()
                .description(description)
                .content("application/json", json_content(schema))
                .build(),
        );
    }
    let security = match spec.access {
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
    for (template, group, methods) in ROUTES {
        if !group.enabled_in(options.groups) {
            continue;
        }
        let path = mounted(options.prefix(), template, *group);
        if !used_groups.contains(group) {
            used_groups.push(*group);
        }
        let mut item: Option<PathItem> = None;
        for method in *methods {
            let op = operation(template, &path, method, *group);
            item = Some(match item {
                None => PathItem::new(http_method(method), op),
                Some(mut item) => {
                    item.merge_operations(PathItem::new(http_method(method), op));
                    item
                }
            });
        }
        if let Some(item) = item {
            paths = paths.path(path, item);
        }
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
