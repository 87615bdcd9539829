//! The route table and [`handle`]: parse, call one `Auth` method, render.

use auth_core::error::{AuthError, TokenRejection};
use auth_core::flows::{
    AccountDeletion, AdminUserInput, Authenticated, Credential, Credentials, EmailRequest,
    LinkConfirmation, MAX_PAGE_SIZE, PasswordChange, ProfileUpdate, Registration,
    ResetConfirmation,
};
use auth_core::store::{HistoryEntry, KnoxTokenRecord, Page};
use auth_core::user::{User, UserId, rfc3339};
use serde_json::{Map, Value, json};

use crate::{Api, ApiOptions, ApiRequest, ApiResponse, RouteGroups};

/// A route group, for enabling and for the OpenAPI tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Group {
    Accounts,
    Jwt,
    Knox,
    StaticToken,
    Users,
    Docs,
    Health,
}

impl Group {
    pub(crate) fn enabled_in(self, groups: RouteGroups) -> bool {
        match self {
            Group::Accounts => groups.accounts,
            Group::Jwt => groups.jwt,
            Group::Knox => groups.knox,
            Group::StaticToken => groups.static_token,
            Group::Users => groups.users,
            Group::Docs => groups.docs,
            Group::Health => groups.health,
        }
    }
}

/// A matched route, with its path parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route<'p> {
    Health,
    OpenApi,
    /// The Swagger UI; `slash`: asked as `/api/docs/` (relative links work
    /// as they are).
    DocsIndex {
        slash: bool,
    },
    DocsFile(&'p str),
    Register,
    Activate,
    ResendActivation,
    PasswordReset,
    PasswordResetConfirm,
    PasswordChange,
    Me,
    MeHistory,
    JwtCreate,
    JwtRefresh,
    JwtVerify,
    JwtBlacklist,
    Jwks,
    KnoxLogin,
    KnoxLogout,
    KnoxLogoutAll,
    KnoxSessions,
    KnoxSession(&'p str),
    StaticToken,
    Users,
    User(&'p str),
}

impl<'p> Route<'p> {
    /// Matches a path (one trailing slash allowed): `/healthz` at the
    /// root, every other route under `prefix`.
    fn parse(path: &'p str, prefix: &str) -> Option<Self> {
        if matches!(path, "/healthz" | "/healthz/") {
            return Some(Route::Health);
        }
        let path = path.strip_prefix(prefix).filter(|p| p.starts_with('/'))?;
        if path == "/docs/" {
            return Some(Route::DocsIndex { slash: true });
        }
        let path = match path.strip_suffix('/') {
            Some(stripped) if !stripped.is_empty() => stripped,
            _ => path,
        };
        if let Some(file) = path.strip_prefix("/docs/") {
            return (!file.contains('/') && !file.is_empty()).then_some(Route::DocsFile(file));
        }
        if let Some(key) = path.strip_prefix("/auth/token/sessions/") {
            return (!key.contains('/') && !key.is_empty()).then_some(Route::KnoxSession(key));
        }
        if let Some(id) = path.strip_prefix("/users/") {
            return (!id.contains('/') && !id.is_empty()).then_some(Route::User(id));
        }
        Some(match path {
            "/openapi.json" => Route::OpenApi,
            "/docs" => Route::DocsIndex { slash: false },
            "/auth/register" => Route::Register,
            "/auth/activate" => Route::Activate,
            "/auth/activate/resend" => Route::ResendActivation,
            "/auth/password/reset" => Route::PasswordReset,
            "/auth/password/reset/confirm" => Route::PasswordResetConfirm,
            "/auth/password/change" => Route::PasswordChange,
            "/auth/me" => Route::Me,
            "/auth/me/history" => Route::MeHistory,
            "/auth/jwt/create" => Route::JwtCreate,
            "/auth/jwt/refresh" => Route::JwtRefresh,
            "/auth/jwt/verify" => Route::JwtVerify,
            "/auth/jwt/blacklist" => Route::JwtBlacklist,
            "/auth/jwks.json" => Route::Jwks,
            "/auth/token/login" => Route::KnoxLogin,
            "/auth/token/logout" => Route::KnoxLogout,
            "/auth/token/logoutall" => Route::KnoxLogoutAll,
            "/auth/token/sessions" => Route::KnoxSessions,
            "/auth/static-token" => Route::StaticToken,
            "/users" => Route::Users,
            _ => return None,
        })
    }

    fn group(&self) -> Group {
        match self {
            Route::Health => Group::Health,
            Route::OpenApi | Route::DocsIndex { .. } | Route::DocsFile(_) => Group::Docs,
            Route::Register
            | Route::Activate
            | Route::ResendActivation
            | Route::PasswordReset
            | Route::PasswordResetConfirm
            | Route::PasswordChange
            | Route::Me
            | Route::MeHistory => Group::Accounts,
            Route::JwtCreate
            | Route::JwtRefresh
            | Route::JwtVerify
            | Route::JwtBlacklist
            | Route::Jwks => Group::Jwt,
            Route::KnoxLogin
            | Route::KnoxLogout
            | Route::KnoxLogoutAll
            | Route::KnoxSessions
            | Route::KnoxSession(_) => Group::Knox,
            Route::StaticToken => Group::StaticToken,
            Route::Users | Route::User(_) => Group::Users,
        }
    }

    /// The methods the route answers (besides `OPTIONS`, and `HEAD` for
    /// `GET` routes).
    fn methods(&self) -> &'static [&'static str] {
        match self {
            Route::Health
            | Route::OpenApi
            | Route::DocsIndex { .. }
            | Route::DocsFile(_)
            | Route::MeHistory
            | Route::Jwks
            | Route::KnoxSessions => &["GET"],
            Route::Me => &["GET", "PATCH", "DELETE"],
            Route::KnoxSession(_) => &["DELETE"],
            Route::StaticToken => &["POST", "DELETE"],
            Route::Users => &["GET", "POST"],
            Route::User(_) => &["GET", "PUT", "PATCH", "DELETE"],
            _ => &["POST"],
        }
    }
}

/// Every route of the contract but OAuth2, as `(path template, group,
/// methods)`: what the OpenAPI document covers (checked by a test). The
/// templates are relative to the prefix, but for `/healthz` (see
/// [`mounted`]). The
/// templates are relative to the prefix, but for [`Group::Health`]'s
/// (see [`mounted`]).
pub(crate) const ROUTES: &[(&str, Group, &[&str])] = &[
    ("/healthz", Group::Health, &["GET"]),
    ("/openapi.json", Group::Docs, &["GET"]),
    ("/docs", Group::Docs, &["GET"]),
    ("/auth/register", Group::Accounts, &["POST"]),
    ("/auth/activate", Group::Accounts, &["POST"]),
    ("/auth/activate/resend", Group::Accounts, &["POST"]),
    ("/auth/password/reset", Group::Accounts, &["POST"]),
    ("/auth/password/reset/confirm", Group::Accounts, &["POST"]),
    ("/auth/password/change", Group::Accounts, &["POST"]),
    ("/auth/me", Group::Accounts, &["GET", "PATCH", "DELETE"]),
    ("/auth/me/history", Group::Accounts, &["GET"]),
    ("/auth/jwt/create", Group::Jwt, &["POST"]),
    ("/auth/jwt/refresh", Group::Jwt, &["POST"]),
    ("/auth/jwt/verify", Group::Jwt, &["POST"]),
    ("/auth/jwt/blacklist", Group::Jwt, &["POST"]),
    ("/auth/jwks.json", Group::Jwt, &["GET"]),
    ("/auth/token/login", Group::Knox, &["POST"]),
    ("/auth/token/logout", Group::Knox, &["POST"]),
    ("/auth/token/logoutall", Group::Knox, &["POST"]),
    ("/auth/token/sessions", Group::Knox, &["GET"]),
    ("/auth/token/sessions/{token_key}", Group::Knox, &["DELETE"]),
    (
        "/auth/static-token",
        Group::StaticToken,
        &["POST", "DELETE"],
    ),
    ("/users", Group::Users, &["GET", "POST"]),
    (
        "/users/{id}",
        Group::Users,
        &["GET", "PUT", "PATCH", "DELETE"],
    ),
];

/// A route template of [`ROUTES`] as served under `prefix`: `/healthz`
/// stays at the root, every other route goes under the prefix.
pub(crate) fn mounted(prefix: &str, template: &str, group: Group) -> String {
    if group == Group::Health {
        template.to_string()
    } else {
        format!("{prefix}{template}")
    }
}

/// The path templates [`handle`] answers under these options (their route
/// groups and prefix), each with and without a trailing slash, in the
/// `{param}` syntax axum 0.8 and actix-web share: for adapters that
/// register the routes one by one (so they merge with an application's own
/// routes and fallback).
///
/// ```
/// use auth_http::{ApiOptions, RouteGroups, route_paths};
/// let users = ApiOptions::default().with_groups(RouteGroups { users: true, ..RouteGroups::none() });
/// assert_eq!(
///     route_paths(&users),
///     ["/api/users", "/api/users/", "/api/users/{id}", "/api/users/{id}/"],
/// );
/// let elsewhere = users.with_prefix("/admin")?;
/// assert_eq!(route_paths(&elsewhere)[0], "/admin/users");
/// # Ok::<(), auth_http::PrefixError>(())
/// ```
pub fn route_paths(options: &ApiOptions) -> Vec<String> {
    let mut paths = Vec::new();
    for (template, group, _) in ROUTES {
        if group.enabled_in(options.groups) {
            let path = mounted(options.prefix(), template, *group);
            let slash = format!("{path}/");
            let docs_file = (*template == "/docs").then(|| format!("{path}/{{file}}"));
            paths.push(path);
            paths.push(slash);
            paths.extend(docs_file);
        }
    }
    paths
}

/// Why a handler stopped: a service error (rendered by the one error
/// table) or a response of the HTTP layer's own (413, 415, bad JSON).
#[derive(Debug)]
enum Failure {
    Auth(AuthError),
    Response(ApiResponse),
}

impl From<AuthError> for Failure {
    fn from(err: AuthError) -> Self {
        Failure::Auth(err)
    }
}

type Outcome = Result<ApiResponse, Failure>;

/// Answers one request: routes it to the contract's handler for its path
/// and method, which parses the body, calls one [`Auth`] method and renders
/// the result; every error goes through [`AuthError::response`].
///
/// Paths are accepted with and without one trailing slash. An unknown path
/// (or one of a disabled group) is a 404 `{"detail": "Not found."}`; a
/// known path with another method a 405 with `Allow`; `OPTIONS` a 200 with
/// `Allow`; `HEAD` is `GET` without the body.
///
/// [`Auth`]: auth_core::Auth
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use auth_core::{Auth, config::AuthConfig};
/// use auth_http::{Api, ApiRequest, handle};
/// let api = Api::new(Auth::in_memory(AuthConfig::default()));
/// let request = ApiRequest::from_parts(&api, "GET", "/healthz/", None, vec![], b"", None);
/// let response = handle(&api, request).await;
/// assert_eq!(response.status, 200);
/// assert_eq!(response.json_body(), serde_json::json!({"status": "ok"}));
/// # });
/// ```
pub async fn handle(api: &Api, request: ApiRequest<'_>) -> ApiResponse {
    let Some(route) = Route::parse(request.path, api.options().prefix()) else {
        return ApiResponse::not_found();
    };
    if !route.group().enabled_in(api.options().groups) {
        return ApiResponse::not_found();
    }
    let methods = route.methods();
    let allow = allow_header(methods);
    let method = request.method;
    if method == "OPTIONS" {
        return ApiResponse::json(
            200,
            &json!({
                "name": request.path,
                "renders": ["application/json"],
                "parses": ["application/json"],
            }),
        )
        .with_header("Allow", allow);
    }
    let head = method == "HEAD" && methods.contains(&"GET");
    if !head && !methods.contains(&method) {
        return ApiResponse::detail(405, &format!("Method \"{method}\" not allowed."))
            .with_header("Allow", allow);
    }
    if request.body.len() > api.options().body_limit {
        return ApiResponse::body_too_large();
    }
    let method = if head { "GET" } else { method };
    let mut response = match dispatch(api, &request, &route, method).await {
        Ok(response) => response,
        Err(Failure::Auth(err)) => ApiResponse::from_error(&err),
        Err(Failure::Response(response)) => response,
    };
    if head {
        response.body.clear();
    }
    response
}

fn allow_header(methods: &[&str]) -> String {
    let mut allow: Vec<&str> = methods.to_vec();
    if methods.contains(&"GET") {
        allow.push("HEAD");
    }
    allow.push("OPTIONS");
    allow.join(", ")
}

async fn dispatch(api: &Api, req: &ApiRequest<'_>, route: &Route<'_>, method: &str) -> Outcome {
    let auth = api.auth();
    let client = &req.client;
    match (route, method) {
        (Route::Health, _) => Ok(match auth.health().await {
            Ok(()) => ApiResponse::json(200, &json!({"status": "ok"})),
            Err(err) => {
                tracing::error!(target: "auth_http", error = %err, "health check failed");
                ApiResponse::json(
                    503,
                    &json!({
                        "status": "unavailable",
                        "detail": "Service temporarily unavailable, try again later.",
                    }),
                )
            }
        }),
        (Route::OpenApi, _) => Ok(ApiResponse {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: api.openapi_json().to_vec(),
        }),
        (Route::DocsIndex { slash }, _) => Ok(crate::docs::index(*slash)),
        (Route::DocsFile("openapi.json"), _) => Ok(ApiResponse {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: api.openapi_json().to_vec(),
        }),
        (Route::DocsFile(file), _) => Ok(crate::docs::file(file)),

        // Accounts.
        (Route::Register, _) => {
            let registration = Registration::from_json(&json_body(req)?)?;
            let user = auth.register(registration, client).await?;
            Ok(ApiResponse::json(201, &user))
        }
        (Route::Activate, _) => {
            let confirmation = LinkConfirmation::from_json(&json_body(req)?)?;
            auth.activate(confirmation, client).await?;
            Ok(ApiResponse::detail(200, "Your account has been activated."))
        }
        (Route::ResendActivation, _) => {
            let request = EmailRequest::from_json(&json_body(req)?)?;
            auth.resend_activation(request, client).await?;
            Ok(ApiResponse::detail(
                202,
                "If an inactive account uses this email, an activation email has been sent.",
            ))
        }
        (Route::PasswordReset, _) => {
            let request = EmailRequest::from_json(&json_body(req)?)?;
            auth.request_password_reset(request, client).await?;
            Ok(ApiResponse::detail(
                202,
                "If an active account uses this email, a password reset email has been sent.",
            ))
        }
        (Route::PasswordResetConfirm, _) => {
            let confirmation = ResetConfirmation::from_json(&json_body(req)?)?;
            auth.confirm_password_reset(confirmation, client).await?;
            Ok(ApiResponse::empty(204))
        }
        (Route::PasswordChange, _) => {
            let who = authenticate(api, req).await?;
            let change = PasswordChange::from_json(&json_body(req)?)?;
            auth.change_password(who.user.id, change, who.credential.knox_digest(), client)
                .await?;
            Ok(ApiResponse::empty(204))
        }
        (Route::Me, "GET") => {
            let who = authenticate(api, req).await?;
            Ok(ApiResponse::json(200, &who.user))
        }
        (Route::Me, "PATCH") => {
            let who = authenticate(api, req).await?;
            let update = ProfileUpdate::from_json(&json_body(req)?)?;
            let user = auth.update_profile(who.user.id, update).await?;
            Ok(ApiResponse::json(200, &user))
        }
        (Route::Me, _) => {
            let who = authenticate(api, req).await?;
            let deletion = AccountDeletion::from_json(&json_body(req)?)?;
            auth.delete_account(who.user.id, deletion).await?;
            Ok(ApiResponse::empty(204))
        }
        (Route::MeHistory, _) => {
            let who = authenticate(api, req).await?;
            let paging = Paging::from_query(api, req.query)?;
            let page = auth
                .login_history(who.user.id, paging.page, paging.size)
                .await?;
            paging.render(req, page, history_json)
        }

        // JWT.
        (Route::JwtCreate, _) => {
            let credentials = Credentials::from_json(&json_body(req)?)?;
            let (_, pair) = auth.jwt_login(&credentials, client).await?;
            Ok(ApiResponse::json(
                200,
                &json!({"access": pair.access, "refresh": pair.refresh}),
            ))
        }
        (Route::JwtRefresh, _) => {
            let refresh = string_field(&json_body(req)?, "refresh")?;
            let refreshed = auth.jwt_refresh(&refresh, client).await?;
            let mut body = Map::new();
            body.insert("access".into(), json!(refreshed.access));
            if let Some(refresh) = refreshed.refresh {
                body.insert("refresh".into(), json!(refresh));
            }
            Ok(ApiResponse::json(200, &body))
        }
        (Route::JwtVerify, _) => {
            let token = string_field(&json_body(req)?, "token")?;
            auth.jwt_verify(&token).await?;
            Ok(ApiResponse::json(200, &json!({})))
        }
        (Route::JwtBlacklist, _) => {
            let refresh = string_field(&json_body(req)?, "refresh")?;
            auth.jwt_blacklist(&refresh, client).await?;
            Ok(ApiResponse::json(200, &json!({})))
        }
        (Route::Jwks, _) => Ok(ApiResponse::json(200, &auth.jwt().jwks())),

        // Knox.
        (Route::KnoxLogin, _) => {
            let body = json_body(req)?;
            let (credentials, name) = both(Credentials::from_json(&body), optional_name(&body))?;
            let (_, issued) = auth.knox_login(&credentials, name, client).await?;
            Ok(ApiResponse::json(
                200,
                &json!({
                    "token": issued.token.expose(),
                    "expiry": issued.record.expiry.map(rfc3339),
                }),
            ))
        }
        (Route::KnoxLogout, _) => {
            let record = knox_credential(authenticate(api, req).await?)?;
            auth.knox_logout(&record, client).await?;
            Ok(ApiResponse::empty(204))
        }
        (Route::KnoxLogoutAll, _) => {
            let record = knox_credential(authenticate(api, req).await?)?;
            auth.logout_all(record.user_id, client).await?;
            Ok(ApiResponse::empty(204))
        }
        (Route::KnoxSessions, _) => {
            let who = authenticate(api, req).await?;
            let sessions = auth.knox_sessions(who.user.id).await?;
            let sessions: Vec<Value> = sessions.iter().map(session_json).collect();
            Ok(ApiResponse::json(200, &sessions))
        }
        (Route::KnoxSession(key), _) => {
            let who = authenticate(api, req).await?;
            let key = percent_decode(key);
            auth.revoke_knox_session(who.user.id, &key, client).await?;
            Ok(ApiResponse::empty(204))
        }

        // Static tokens.
        (Route::StaticToken, "POST") => {
            let credentials = Credentials::from_json(&json_body(req)?)?;
            let (_, token) = auth.static_token_login(&credentials, client).await?;
            Ok(ApiResponse::json(200, &json!({ "token": token })))
        }
        (Route::StaticToken, _) => {
            let who = authenticate(api, req).await?;
            match who.credential {
                Credential::Static => {}
                Credential::Knox(_) => {
                    return Err(AuthError::Unauthenticated(TokenRejection::Invalid).into());
                }
                _ => return Err(AuthError::Unauthenticated(TokenRejection::Missing).into()),
            }
            auth.delete_static_token(who.user.id, client).await?;
            Ok(ApiResponse::empty(204))
        }

        // Users admin: staff only; who may change what is `Auth`'s rule.
        (Route::Users, "GET") => {
            staff(api, req).await?;
            let paging = Paging::from_query(api, req.query)?;
            let search = query_param(req.query, "search");
            let page = auth.list_users(search, paging.page, paging.size).await?;
            paging.render(req, page, User::to_admin_json)
        }
        (Route::Users, _) => {
            let who = staff(api, req).await?;
            let input = AdminUserInput::from_json(&json_body(req)?, false)?;
            let user = auth.create_user_as(&who.user, input).await?;
            Ok(ApiResponse::json(201, &user.to_admin_json()))
        }
        (Route::User(id), method) => {
            let who = staff(api, req).await?;
            let id: UserId = percent_decode(id)
                .parse()
                .map_err(|_| AuthError::NotFound)?;
            match method {
                "GET" => Ok(ApiResponse::json(
                    200,
                    &auth.get_user(id).await?.to_admin_json(),
                )),
                "PUT" | "PATCH" => {
                    let input = AdminUserInput::from_json(&json_body(req)?, method == "PATCH")?;
                    let user = auth.update_user_as(&who.user, id, input).await?;
                    Ok(ApiResponse::json(200, &user.to_admin_json()))
                }
                _ => {
                    auth.delete_user_as(&who.user, id).await?;
                    Ok(ApiResponse::empty(204))
                }
            }
        }
    }
}

/// The request's user, from its `Authorization` header.
async fn authenticate(api: &Api, req: &ApiRequest<'_>) -> Result<Authenticated, Failure> {
    match &req.authenticated {
        Some(Ok(who)) => Ok(who.clone()),
        Some(Err(err)) => Err(Failure::Response(ApiResponse::from_error(err))),
        None => Ok(api
            .auth()
            .authenticate_header(req.header("authorization"))
            .await?),
    }
}

/// The request's user, who must be staff (401 without credentials, 403
/// otherwise).
async fn staff(api: &Api, req: &ApiRequest<'_>) -> Result<Authenticated, Failure> {
    let who = authenticate(api, req).await?;
    if !who.user.is_staff {
        return Err(AuthError::PermissionDenied.into());
    }
    Ok(who)
}

/// The Knox record of a request that must be authenticated by a Knox token,
/// as knox's own authentication class sees it: a JWT is no credential for
/// it (401 "not provided"), a static token an invalid one.
fn knox_credential(who: Authenticated) -> Result<KnoxTokenRecord, Failure> {
    match who.credential {
        Credential::Knox(record) => Ok(record),
        Credential::Static => Err(AuthError::Unauthenticated(TokenRejection::Invalid).into()),
        _ => Err(AuthError::Unauthenticated(TokenRejection::Missing).into()),
    }
}

/// The body as a JSON value, read as DRF reads it: `{}` when empty,
/// whatever the `Content-Type`; otherwise the type must be
/// `application/json` (any case, parameters allowed), else 415 `Unsupported
/// media type "<type>" in request.` (`""` for a missing one, so a
/// cross-site "simple" request cannot drive a JSON route); 400
/// `{"detail": "JSON parse error - ..."}` when malformed.
fn json_body(req: &ApiRequest<'_>) -> Result<Value, Failure> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    let content_type = req.header("content-type").unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(Failure::Response(ApiResponse::detail(
            415,
            &format!("Unsupported media type \"{content_type}\" in request."),
        )));
    }
    serde_json::from_slice(req.body).map_err(|err| {
        Failure::Response(ApiResponse::detail(
            400,
            &format!("JSON parse error - {err}"),
        ))
    })
}

/// A required string field (`refresh`, `token`), with DRF's messages.
fn string_field(body: &Value, field: &str) -> Result<String, Failure> {
    let mut form = auth_core::flows::form::Form::new(body)?;
    let value = form.required_string(field);
    form.finish()?;
    Ok(value.unwrap_or_default())
}

/// Knox login's optional `name`.
fn optional_name(body: &Value) -> Result<Option<String>, AuthError> {
    let mut form = auth_core::flows::form::Form::new(body)?;
    let name = form.optional_string("name");
    form.finish()?;
    Ok(name.filter(|n| !n.is_empty()))
}

/// Both values, or one 400 with the field errors of both, so a client
/// hears about every bad field at once.
fn both<A, B>(a: Result<A, AuthError>, b: Result<B, AuthError>) -> Result<(A, B), AuthError> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(AuthError::Validation(mut errors)), Err(AuthError::Validation(more))) => {
            errors.merge(more);
            Err(AuthError::Validation(errors))
        }
        (Err(err), _) | (_, Err(err)) => Err(err),
    }
}

fn session_json(record: &KnoxTokenRecord) -> Value {
    json!({
        "token_key": record.token_key,
        "name": record.name,
        "created": rfc3339(record.created),
        "expiry": record.expiry.map(rfc3339),
        "last_used": record.last_used.map(rfc3339),
    })
}

fn history_json(entry: &HistoryEntry) -> Value {
    json!({
        "at": rfc3339(entry.at),
        "event": entry.event.as_str(),
        "ip": entry.ip,
        "user_agent": entry.user_agent,
    })
}

/// `?page=N&page_size=M`, as DRF's `PageNumberPagination` reads them: a
/// `page` that is not a positive integer, or past the last page, is a 404
/// `{"detail": "Invalid page."}`; a `page_size` that is not a positive
/// integer falls back to the default, and one above the maximum is capped.
#[derive(Debug, Clone, Copy)]
struct Paging {
    page: u64,
    size: u64,
    trust_proxies: bool,
}

fn invalid_page() -> Failure {
    Failure::Response(ApiResponse::detail(404, "Invalid page."))
}

impl Paging {
    fn from_query(api: &Api, query: &str) -> Result<Self, Failure> {
        let page = match query_param(query, "page") {
            None => 1,
            Some(page) => match page.trim().parse::<u64>() {
                Ok(page) if page >= 1 => page,
                _ => return Err(invalid_page()),
            },
        };
        let default = api.options().default_page_size.clamp(1, MAX_PAGE_SIZE);
        let size = query_param(query, "page_size")
            .and_then(|s| s.trim().parse::<u64>().ok())
            .filter(|&s| s >= 1)
            .map_or(default, |s| s.min(MAX_PAGE_SIZE));
        Ok(Self {
            page,
            size,
            trust_proxies: api.options().client_address.trusts_proxies(),
        })
    }

    fn render<T>(self, req: &ApiRequest<'_>, page: Page<T>, item: impl Fn(&T) -> Value) -> Outcome {
        let pages = page.total.div_ceil(self.size).max(1);
        if self.page > pages {
            return Err(invalid_page());
        }
        let next =
            (self.page < pages).then(|| page_url(req, self.trust_proxies, Some(self.page + 1)));
        let previous = (self.page > 1).then(|| {
            page_url(
                req,
                self.trust_proxies,
                (self.page > 2).then_some(self.page - 1),
            )
        });
        let results: Vec<Value> = page.items.iter().map(item).collect();
        Ok(ApiResponse::json(
            200,
            &json!({
                "count": page.total,
                "next": next,
                "previous": previous,
                "results": results,
            }),
        ))
    }
}

/// The absolute URL of this request with `page` set (or removed, as DRF
/// does for the first page), from the `Host` header; relative when there is
/// none.
fn page_url(req: &ApiRequest<'_>, trust_proxies: bool, page: Option<u64>) -> String {
    let mut pairs: Vec<String> = req
        .query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| pair.split('=').next() != Some("page"))
        .map(str::to_string)
        .collect();
    if let Some(page) = page {
        pairs.push(format!("page={page}"));
    }
    let query = if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    };
    let origin = match req.header("host") {
        Some(host) if is_valid_host(host) => {
            let forwarded_https = req
                .header("x-forwarded-proto")
                .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
            let https = forwarded_https && trust_proxies;
            format!("{}://{host}", if https { "https" } else { "http" })
        }
        _ => String::new(),
    };
    format!("{origin}{}{query}", req.path)
}

/// A `Host` header fit to put in a URL (no spaces, slashes or quotes).
fn is_valid_host(host: &str) -> bool {
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
}

/// The first value of `name` in a query string, percent-decoded.
pub(crate) fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(key) == name).then(|| percent_decode(value))
    })
}

/// Decodes `%XX` escapes and `+` (as a space); invalid escapes stay as
/// they are, invalid UTF-8 becomes U+FFFD.
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
