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
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, Schema};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApiBuilder, PathsBuilder, Ref, RefOr,
    ResponseBuilder, Tag,
};

use crate::bodies::Detail;
use crate::endpoint::{Access, Body, Endpoint, Group, In, Named, mounted};
use crate::error::OAuthErrorBody;
use crate::routes::ENDPOINTS;
use crate::{ACCESS_COOKIE, ApiOptions, CSRF_HEADER};

/// JSON of `named`'s component.
fn json_content(named: Named) -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(Ref::from_schema_name((named.name)())))
        .build()
}

/// An error status's description and body.
fn error_description(status: u16) -> (&'static str, Named) {
    let detail = Named::of::<Detail<'static>>();
    match status {
        400 => ("Validation errors", Named::of::<FieldErrors>()),
        401 => ("Not authenticated (with `WWW-Authenticate`)", detail),
        403 => ("Not allowed", detail),
        404 => ("Not found", detail),
        413 => ("Body too large", detail),
        415 => ("Body is not JSON", detail),
        429 => ("Throttled (with `Retry-After`)", detail),
        _ => ("A store is unavailable", detail),
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
        Group::OAuth | Group::Applications | Group::WellKnown | Group::Pages | Group::OpenId => {
            "oauth2"
        }
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
    match body {
        Body::None => None,
        Body::Json(named) => Some(("application/json", json_content(named))),
        Body::JsonList(named) => Some((
            "application/json",
            ContentBuilder::new()
                .schema(Some(
                    ArrayBuilder::new().items(Ref::from_schema_name((named.name)())),
                ))
                .build(),
        )),
        Body::Html => Some(("text/html", ContentBuilder::new().build())),
        Body::Form(named) => Some(("application/x-www-form-urlencoded", json_content(named))),
    }
}

/// The operation of `endpoint`, served at `path`.
fn operation(
    endpoint: &Endpoint,
    path: &str,
    summary: &str,
    options: &ApiOptions,
) -> utoipa::openapi::path::Operation {
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
    let csrf = options.cookie_transport.is_some() && takes_csrf(endpoint);
    if csrf {
        op = op.parameter(
            ParameterBuilder::new()
                .name(CSRF_HEADER)
                .parameter_in(ParameterIn::Header)
                .required(utoipa::openapi::Required::False)
                .description(Some(
                    "The `csrftoken` cookie's value, required when the request's \
                     credentials come from a cookie (else 403 `CSRF Failed: ...`)",
                ))
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
    let oauth_error = Named::of::<OAuthErrorBody>();
    let mut errors = endpoint.errors.to_vec();
    if csrf && !errors.contains(&403) {
        errors.push(403);
        errors.sort_unstable();
    }
    if !matches!(endpoint.request, Body::None)
        || matches!(endpoint.method, "POST" | "PUT" | "PATCH")
    {
        errors.extend([413, 415]);
    }
    for status in errors {
        // A page's refusals are pages too (the authorization endpoint's
        // error page never redirects).
        if matches!(endpoint.response, Body::Html) && matches!(status, 400 | 403) {
            op = op.response(
                status.to_string(),
                ResponseBuilder::new()
                    .description("An error page")
                    .content("text/html", ContentBuilder::new().build())
                    .build(),
            );
            continue;
        }
        let (description, schema) = match (endpoint.group, status) {
            (Group::OAuth | Group::OpenId, 400) => {
                ("An OAuth2 error (RFC 6749 section 5.2)", oauth_error)
            }
            (Group::OAuth, 401) => (
                "`invalid_client` (with `WWW-Authenticate: Basic`)",
                oauth_error,
            ),
            (Group::OAuth, 415) => ("Body is not a form", error_description(415).1),
            _ => error_description(status),
        };
        op = op.response(
            status.to_string(),
            ResponseBuilder::new()
                .description(description)
                .content("application/json", json_content(schema))
                .build(),
        );
    }
    let security = match endpoint.access {
        Access::Public if endpoint.group == Group::OAuth => Some(vec![
            SecurityRequirement::new("client", Vec::<String>::new()),
            SecurityRequirement::default(),
        ]),
        Access::Public => None,
        Access::OAuthScope(_) => Some(vec![SecurityRequirement::new("jwt", Vec::<String>::new())]),
        Access::Own | Access::OwnOrScope(_) | Access::Staff => {
            let mut schemes = vec![
                SecurityRequirement::new("jwt", Vec::<String>::new()),
                SecurityRequirement::new("token", Vec::<String>::new()),
            ];
            if options.cookie_transport.is_some() {
                schemes.push(SecurityRequirement::new("cookie", Vec::<String>::new()));
            }
            Some(schemes)
        }
        Access::KnoxToken | Access::StaticToken => Some(vec![SecurityRequirement::new(
            "token",
            Vec::<String>::new(),
        )]),
    };
    op = op.securities(security);
    op.build()
}

/// Whether a cookie-authenticated call of `endpoint` needs the CSRF
/// header: an unsafe method authenticated as a user, and the JWT routes
/// that read the refresh cookie.
fn takes_csrf(endpoint: &Endpoint) -> bool {
    let by_user = matches!(
        endpoint.access,
        Access::Own | Access::OwnOrScope(_) | Access::Staff
    );
    let reads_refresh_cookie = endpoint.group == Group::Jwt
        && matches!(endpoint.path, "/auth/jwt/refresh" | "/auth/jwt/blacklist");
    (by_user && endpoint.method != "GET") || reads_refresh_cookie
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
    // The components: every body of the enabled rows, what those refer to,
    // and the error bodies.
    let mut schemas: Vec<(String, RefOr<Schema>)> = Vec::new();
    for status in [400, 401] {
        let named = error_description(status).1;
        schemas.push(((named.name)().into_owned(), (named.schema)()));
    }
    if options.groups.oauth {
        let named = Named::of::<OAuthErrorBody>();
        schemas.push(((named.name)().into_owned(), (named.schema)()));
    }
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
        for named in [endpoint.request, endpoint.response]
            .into_iter()
            .filter_map(Body::named)
        {
            schemas.push(((named.name)().into_owned(), (named.schema)()));
            (named.refs)(&mut schemas);
        }
        let path = mounted(options.prefix(), endpoint);
        let op = operation(endpoint, &path, summary, options);
        paths = paths.path(path, PathItem::new(http_method(endpoint.method), op));
    }
    let mut components = ComponentsBuilder::new()
        .schemas_from_iter(schemas)
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
            "client",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "OAuth2 client authentication (`client_secret_basic`); \
                         `client_id` and `client_secret` in the form work too",
                    ))
                    .build(),
            ),
        )
        .security_scheme(
            "token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`Authorization: Token <Knox or static token>`",
            ))),
        );
    // Only when on: the document describes what this server accepts.
    if options.cookie_transport.is_some() {
        components = components.security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                ACCESS_COOKIE,
                "The access token in its `HttpOnly` cookie, set by `jwt/create` and \
                 `jwt/refresh`; unsafe methods also need `X-CSRFToken`",
            ))),
        );
    }
    let components = components.build();
    let tags: Vec<Tag> = used_groups.iter().map(|g| Tag::new(tag(*g))).collect();
    let doc = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("auth")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Accounts, JWT, Knox-style and static tokens, the staff users admin, and the OAuth2 provider's token endpoints.",
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
