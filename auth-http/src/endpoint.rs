//! What a row of the endpoint table
//! ([`ENDPOINTS`](crate::routes::ENDPOINTS)) says, and how a table is
//! served ([`handle`](crate::handle) serves that one): path matching, route groups, `405` with
//! `Allow`, `OPTIONS`, `HEAD`, the caller's access, then the row's handler.
//! [`route_paths`] and the OpenAPI document read the same rows.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use auth_core::error::{AuthError, TokenRejection};
use auth_core::flows::{Access as CallerAccess, Authenticated, Credential};
use auth_core::oauth::OAuthError;
use serde_json::json;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};

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
    OAuth,
    /// A user's own OAuth2 applications and grants (JSON, under the
    /// prefix, enabled with the OAuth2 routes): DRF's errors, not RFC
    /// 6749's.
    Applications,
    /// The `/.well-known/` documents, at the root like `/healthz`.
    WellKnown,
    /// The browser pages (`/o/...`, HTML), at the root.
    Pages,
    /// OpenID Connect's endpoints under the prefix (userinfo, JWKS,
    /// logout): enabled with the OAuth2 group, but not client-authenticated.
    OpenId,
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
            Group::OAuth | Group::Applications | Group::WellKnown | Group::OpenId => groups.oauth,
            Group::Pages => groups.pages,
        }
    }

    /// Whether the group's paths sit under the prefix: all but `/healthz`
    /// and the `/.well-known/` documents, which the HTTP contract keeps at
    /// the root (RFC 8414 §3 puts the metadata at the origin's root).
    pub(crate) fn under_prefix(self) -> bool {
        !matches!(self, Group::Health | Group::WellKnown | Group::Pages)
    }
}

/// Who may call an endpoint; [`handle`] checks it before the handler runs.
/// Everything but `Public` authenticates the caller and applies auth-core's
/// rule of the same name ([`CallerAccess`], by [`Authenticated::admit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Anyone; credentials are not read.
    Public,
    /// A user authenticated by one of this library's own credentials (an
    /// OAuth2 access token is refused: 403 `insufficient_scope`).
    Own,
    /// As `Own`, or an OAuth2 access token granted this scope.
    OwnOrScope(&'static str),
    /// Only an OAuth2 access token granted this scope (403
    /// `insufficient_scope` for any other credential); a refused token is
    /// a 401 whose challenge says `error="invalid_token"` (RFC 6750 §3.1).
    OAuthScope(&'static str),
    /// A user authenticated by a Knox token.
    KnoxToken,
    /// A user authenticated by their static token.
    StaticToken,
    /// An authenticated staff user (401 without credentials, 403 for
    /// anyone else).
    Staff,
}

impl Access {
    /// The caller, when this access admits the request (`None` for
    /// [`Access::Public`]).
    async fn admit(
        self,
        api: &Api,
        req: &ApiRequest<'_>,
    ) -> Result<Option<Authenticated>, Failure> {
        let rule = match self {
            Access::Public => return Ok(None),
            Access::Own => CallerAccess::Own,
            Access::OwnOrScope(scope) => CallerAccess::OwnOrScope(scope),
            Access::KnoxToken => CallerAccess::KnoxToken,
            Access::StaticToken => CallerAccess::StaticToken,
            Access::Staff => CallerAccess::Staff,
            Access::OAuthScope(scope) => CallerAccess::OAuthScope(scope),
        };
        let who = if let Access::OAuthScope(_) = self
            && let Some(token) = UserInfoForm::read(req).access_token
        {
            // RFC 6750 §2.2: the token in a form body, and only there.
            if req.header("authorization").is_some() {
                return Err(Failure::Auth(
                    OAuthError::invalid_request("Send the access token one way only.").into(),
                ));
            }
            let (user, token) = api
                .auth()
                .authenticate_oauth_access(&token)
                .await
                .map_err(|err| self.refusal(&err))?;
            Authenticated {
                user,
                credential: Credential::OAuth(token),
            }
        } else {
            match &req.authenticated {
                Some(Ok(who)) => who.clone(),
                // A middleware that was not told of the cookie transport
                // found no header: the cookie is still read here.
                Some(Err(err)) if !crate::cookies::may_be_in_cookie(api, err) => {
                    return Err(self.refusal(err));
                }
                _ => {
                    let credentials = crate::cookies::RequestCredentials::of(req);
                    let transport = api.options().cookie_transport.as_ref();
                    crate::cookies::authenticate(api.auth(), transport, &credentials)
                        .await
                        .map_err(|err| self.refusal(&err))?
                }
            }
        };
        // A middleware that authenticated the caller recorded it already:
        // the same values again.
        crate::trace::record_caller(&who);
        who.admit(rule).map_err(|err| self.refusal(&err))?;
        Ok(Some(who))
    }

    /// The answer to a refused caller: the error table's, but for
    /// [`Access::OAuthScope`] a token that was sent and refused gets a
    /// challenge with `error="invalid_token"`.
    fn refusal(self, err: &AuthError) -> Failure {
        let mut response = ApiResponse::from_error(err);
        let invalid_token = matches!(
            err,
            AuthError::Unauthenticated(rejection) if *rejection != TokenRejection::Missing
        ) || matches!(err, AuthError::TokenNotValid);
        if matches!(self, Access::OAuthScope(_)) && invalid_token {
            response
                .headers
                .retain(|(name, _)| !name.eq_ignore_ascii_case("www-authenticate"));
            response = response.with_header(
                "WWW-Authenticate",
                format!(
                    "{}, error=\"invalid_token\"",
                    crate::error::WWW_AUTHENTICATE
                ),
            );
        }
        Failure::Response(response)
    }
}

/// The form a `POST` to userinfo may carry (RFC 6750 §2.2), instead of
/// `Authorization: Bearer`.
// The endpoint's access check reads it. No `Debug`: it holds a token.
#[derive(Default, utoipa::ToSchema)]
pub(crate) struct UserInfoForm {
    /// The access token (never together with an `Authorization` header).
    access_token: Option<String>,
}

impl UserInfoForm {
    /// The form of a `POST` whose body is form-encoded; empty otherwise.
    pub(crate) fn read(req: &ApiRequest<'_>) -> Self {
        if req.method != "POST"
            || req
                .expect_media_type("application/x-www-form-urlencoded")
                .is_err()
        {
            return Self::default();
        }
        let access_token = form_urlencoded::parse(req.body)
            .find(|(name, _)| name == "access_token")
            .map(|(_, value)| value.into_owned());
        Self { access_token }
    }
}

/// Where a documented parameter is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum In {
    Path,
    Query,
}

/// A parameter the OpenAPI operation documents: a `{name}` of the path
/// template, or a query parameter the handler reads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Param {
    pub(crate) name: &'static str,
    pub(crate) at: In,
    pub(crate) description: &'static str,
}

/// A schema of the document, taken from the type that is read or
/// rendered ([`Named::of`]): its component name, the schema, and the
/// components it refers to.
#[derive(Clone, Copy)]
pub(crate) struct Named {
    pub(crate) name: fn() -> Cow<'static, str>,
    pub(crate) schema: fn() -> RefOr<Schema>,
    pub(crate) refs: fn(&mut Vec<(String, RefOr<Schema>)>),
}

impl Named {
    pub(crate) const fn of<T: ToSchema>() -> Self {
        Self {
            name: T::name,
            schema: <T as PartialSchema>::schema,
            refs: T::schemas,
        }
    }
}

/// A request or success body, by the type it is read into or rendered
/// from.
#[derive(Clone, Copy)]
pub(crate) enum Body {
    /// None described (an empty answer, or the document itself).
    None,
    /// JSON of this schema.
    Json(Named),
    /// A JSON array of this schema.
    JsonList(Named),
    /// An `application/x-www-form-urlencoded` form of this schema.
    Form(Named),
    /// An HTML page.
    Html,
}

impl Body {
    /// JSON of `T`'s schema.
    pub(crate) const fn json<T: ToSchema>() -> Self {
        Body::Json(Named::of::<T>())
    }

    /// A JSON array of `T`'s schema.
    pub(crate) const fn list<T: ToSchema>() -> Self {
        Body::JsonList(Named::of::<T>())
    }

    /// A form of `T`'s schema.
    pub(crate) const fn form<T: ToSchema>() -> Self {
        Body::Form(Named::of::<T>())
    }

    /// The schema of the body, if it has one.
    pub(crate) fn named(self) -> Option<Named> {
        match self {
            Body::Json(named) | Body::JsonList(named) | Body::Form(named) => Some(named),
            Body::None | Body::Html => None,
        }
    }
}

/// One endpoint: one method at one path template. [`handle`] dispatches
/// by it and the OpenAPI document lists it.
#[derive(Clone, Copy)]
pub(crate) struct Endpoint {
    pub(crate) method: &'static str,
    /// The path template, relative to the prefix (but for the groups at
    /// the root, see [`mounted`]), with `{name}` for a path parameter.
    pub(crate) path: &'static str,
    pub(crate) group: Group,
    pub(crate) access: Access,
    /// The OpenAPI summary; `None` leaves the endpoint out of the document
    /// (the Swagger UI's asset files).
    pub(crate) summary: Option<&'static str>,
    pub(crate) request: Body,
    pub(crate) status: u16,
    pub(crate) response: Body,
    /// The error statuses the document lists, besides those the access
    /// (403 for staff) and a request body (413, 415) imply.
    pub(crate) errors: &'static [u16],
    pub(crate) params: &'static [Param],
    pub(crate) handler: Handler,
}

impl Endpoint {
    /// `method path` of `group`, served by `handler`: public, with no
    /// bodies described, `200`, no errors or parameters, in the document.
    /// Rows start from this and set what differs.
    pub(crate) const fn new(
        method: &'static str,
        path: &'static str,
        group: Group,
        handler: Handler,
    ) -> Self {
        Self {
            method,
            path,
            group,
            access: Access::Public,
            summary: None,
            request: Body::None,
            status: 200,
            response: Body::None,
            errors: &[],
            params: &[],
            handler,
        }
    }
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// A handler: parses what it needs of the request, calls one `Auth`
/// method and renders the result.
pub(crate) type Handler = for<'a> fn(Call<'a>) -> Reply<'a>;

/// What a handler returns.
pub(crate) type Reply<'a> = Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

/// A handler's outcome.
pub(crate) type Outcome = Result<ApiResponse, Failure>;

/// Why a handler stopped: a service error (rendered by the one error
/// table) or a response of the HTTP layer's own (413, 415, bad JSON).
#[derive(Debug)]
pub(crate) enum Failure {
    Auth(AuthError),
    Response(ApiResponse),
}

impl From<AuthError> for Failure {
    fn from(err: AuthError) -> Self {
        Failure::Auth(err)
    }
}

/// What a handler is called with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Call<'a> {
    pub(crate) api: &'a Api,
    pub(crate) req: &'a ApiRequest<'a>,
    /// The path parameter (`{id}`, `{token_key}`, `{file}`) as received,
    /// percent-encoded; empty when the template has none.
    pub(crate) param: &'a str,
    /// The caller the endpoint's access admitted (`None` when public).
    pub(crate) who: Option<&'a Authenticated>,
}

impl<'a> Call<'a> {
    /// The caller of an endpoint whose access is not public.
    pub(crate) fn who(&self) -> Result<&'a Authenticated, AuthError> {
        self.who
            .ok_or(AuthError::Unauthenticated(TokenRejection::Missing))
    }
}

/// An endpoint's path template as served under `prefix`.
pub(crate) fn mounted(prefix: &str, endpoint: &Endpoint) -> String {
    if endpoint.group.under_prefix() {
        format!("{prefix}{}", endpoint.path)
    } else {
        endpoint.path.to_string()
    }
}

/// The path parameter when `path` is an instance of `template` (`""` for
/// a template without one); a `{name}` segment takes one non-empty segment.
fn instance<'p>(template: &str, path: &'p str) -> Option<&'p str> {
    let mut param = "";
    let mut segments = path.split('/');
    for expected in template.split('/') {
        let segment = segments.next()?;
        if expected.starts_with('{') {
            if segment.is_empty() {
                return None;
            }
            param = segment;
        } else if expected != segment {
            return None;
        }
    }
    segments.next().is_none().then_some(param)
}

/// The first endpoint whose template `path` (one trailing slash allowed)
/// is an instance of under `prefix`, with the path parameter.
fn lookup<'p>(
    table: &'static [Endpoint],
    path: &'p str,
    prefix: &str,
) -> Option<(&'static Endpoint, &'p str)> {
    let path = match path.strip_suffix('/') {
        Some(stripped) if !stripped.is_empty() => stripped,
        _ => path,
    };
    let relative = path.strip_prefix(prefix).filter(|p| p.starts_with('/'));
    table.iter().find_map(|endpoint| {
        let path = if endpoint.group.under_prefix() {
            relative?
        } else {
            path
        };
        instance(endpoint.path, path).map(|param| (endpoint, param))
    })
}

/// The endpoints at `endpoint`'s path template and mount point (under the
/// prefix or at the root: `/o/applications` is both a JSON route under
/// the prefix and a page at the root), in table order.
fn siblings(
    table: &'static [Endpoint],
    endpoint: &Endpoint,
) -> impl Iterator<Item = &'static Endpoint> {
    let path = endpoint.path;
    let under_prefix = endpoint.group.under_prefix();
    table
        .iter()
        .filter(move |e| e.path == path && e.group.under_prefix() == under_prefix)
}

/// The `Allow` header of the endpoints at `endpoint`'s path: their methods,
/// `HEAD` when one is `GET`, and `OPTIONS`.
fn allow(table: &'static [Endpoint], endpoint: &Endpoint) -> String {
    let mut allow: Vec<&str> = siblings(table, endpoint).map(|e| e.method).collect();
    if allow.contains(&"GET") {
        allow.push("HEAD");
    }
    allow.push("OPTIONS");
    allow.join(", ")
}

/// The path templates of `table` served under `options` (see
/// [`route_paths`](crate::route_paths)).
pub(crate) fn paths(table: &'static [Endpoint], options: &ApiOptions) -> Vec<String> {
    let mut paths = Vec::new();
    for endpoint in table {
        if !endpoint.group.enabled_in(options.groups) {
            continue;
        }
        let path = mounted(options.prefix(), endpoint);
        if !paths.contains(&path) {
            let slash = format!("{path}/");
            paths.push(path);
            paths.push(slash);
        }
    }
    paths
}

/// Answers one request from `table` (see [`handle`](crate::handle)).
pub(crate) async fn serve(
    table: &'static [Endpoint],
    api: &Api,
    request: ApiRequest<'_>,
) -> ApiResponse {
    let Some((first, param)) = lookup(table, request.path, api.options().prefix()) else {
        return ApiResponse::not_found();
    };
    if !first.group.enabled_in(api.options().groups) {
        return ApiResponse::not_found();
    }
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
        .with_header("Allow", allow(table, first));
    }
    let head = method == "HEAD";
    let wanted = if head { "GET" } else { method };
    let Some(endpoint) = siblings(table, first).find(|e| e.method == wanted) else {
        return ApiResponse::detail(405, &format!("Method \"{method}\" not allowed."))
            .with_header("Allow", allow(table, first));
    };
    if request.body.len() > api.options().body_limit {
        return ApiResponse::body_too_large();
    }
    let outcome = match endpoint.access.admit(api, &request).await {
        Ok(who) => {
            let call = Call {
                api,
                req: &request,
                param,
                who: who.as_ref(),
            };
            (endpoint.handler)(call).await
        }
        Err(failure) => Err(failure),
    };
    let mut response = match outcome {
        Ok(response) => response,
        Err(Failure::Auth(err)) => ApiResponse::from_error(&err),
        Err(Failure::Response(response)) => response,
    };
    if head {
        response.body.clear();
    }
    response
}
