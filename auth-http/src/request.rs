//! [`ApiRequest`] and [`ApiResponse`]: an HTTP exchange with no framework
//! types in it.

use std::net::IpAddr;
use std::sync::Arc;

use auth_core::error::AuthError;
use auth_core::events::ClientInfo;
use auth_core::flows::Authenticated;
use serde::Serialize;

use crate::{Api, RequestAuth};

/// A request as the adapters hand it to [`handle`](crate::handle).
///
/// Build one with [`ApiRequest::from_parts`], which also works out the
/// [`ClientInfo`] under the API's [`ClientAddressPolicy`].
///
/// `Debug` shows header names but no values (`Authorization` holds a
/// token) and the body's length only (it may hold a password).
///
/// [`ClientAddressPolicy`]: crate::ClientAddressPolicy
#[derive(Clone)]
pub struct ApiRequest<'a> {
    /// The method, e.g. `"POST"` (compared case-sensitively, as HTTP does).
    pub method: &'a str,
    /// The path relative to the mount point, e.g. `/api/auth/me`, without
    /// the query string; percent-encoded as received.
    pub path: &'a str,
    /// Where the adapter found the routes mounted: the part of the
    /// request's path before [`path`](Self::path), e.g. `/v1` inside an
    /// actix-web `web::scope("/v1")` or an axum `nest("/v1", ...)`; `""`
    /// (what [`from_parts`](Self::from_parts) sets) at the root. Links in
    /// the answers (pagination) start with it, and the OpenAPI document
    /// names it as its server ([`Api::openapi_json_at`]).
    pub mount: &'a str,
    /// The raw query string without `?` (empty when none).
    pub query: &'a str,
    /// The headers whose values are valid UTF-8, names in any case.
    pub headers: Vec<(&'a str, &'a str)>,
    /// The body, at most the API's body limit (adapters should stop reading
    /// past [`ApiOptions::body_limit`](crate::ApiOptions::body_limit) and
    /// answer with [`ApiResponse::body_too_large`]).
    pub body: &'a [u8],
    /// The client's address and `User-Agent`.
    pub client: ClientInfo,
    /// The outcome of authenticating this request's `Authorization`
    /// header, when a middleware already did (e.g. auth-axum's
    /// `AuthLayer`): the routes then use it instead of authenticating
    /// again. `None` (what [`from_parts`](Self::from_parts) sets): the
    /// routes authenticate the header themselves.
    pub authenticated: Option<Result<Authenticated, Arc<AuthError>>>,
    /// Whether the request came from a peer whose proxy headers the
    /// [`ClientAddressPolicy`](crate::ClientAddressPolicy) trusts (then
    /// `X-Forwarded-Proto: https` makes the pagination links `https`).
    pub from_trusted_proxy: bool,
}

impl std::fmt::Debug for ApiRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(name, _)| *name).collect();
        f.debug_struct("ApiRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("mount", &self.mount)
            .field("query", &self.query)
            .field("header_names", &names)
            .field("body_len", &self.body.len())
            .field("client", &self.client)
            .field(
                "authenticated",
                &self.authenticated.as_ref().map(|outcome| outcome.is_ok()),
            )
            .field("from_trusted_proxy", &self.from_trusted_proxy)
            .finish()
    }
}

impl<'a> ApiRequest<'a> {
    /// A request from its parts; `peer` is the TCP peer's address, if
    /// known.
    ///
    /// ```
    /// use auth_core::{Auth, config::AuthConfig};
    /// use auth_http::{Api, ApiRequest};
    /// let api = Api::new(Auth::in_memory(AuthConfig::default()));
    /// let headers = vec![("user-agent", "curl/8"), ("x-forwarded-for", "203.0.113.9")];
    /// let request = ApiRequest::from_parts(
    ///     &api, "GET", "/healthz", None, headers, b"", Some("127.0.0.1".parse().unwrap()),
    /// );
    /// // The peer's address: X-Forwarded-For is not trusted by default.
    /// assert_eq!(request.client.ip.as_deref(), Some("127.0.0.1"));
    /// assert_eq!(request.header("User-Agent"), Some("curl/8"));
    /// ```
    pub fn from_parts(
        api: &Api,
        method: &'a str,
        path: &'a str,
        query: Option<&'a str>,
        headers: Vec<(&'a str, &'a str)>,
        body: &'a [u8],
        peer: Option<IpAddr>,
    ) -> Self {
        let mut request = Self {
            method,
            path,
            mount: "",
            query: query.unwrap_or(""),
            headers,
            body,
            client: ClientInfo::default(),
            authenticated: None,
            from_trusted_proxy: api.options().client_address.trusts_peer(peer),
        };
        // A header sent over several lines is one comma-separated list
        // (RFC 9110 §5.3): a proxy may append its own line.
        let forwarded_for = request.header_values("x-forwarded-for").join(", ");
        request.client = api.client_info(
            peer,
            (!forwarded_for.is_empty()).then_some(forwarded_for.as_str()),
            request.header("user-agent"),
        );
        request
    }

    /// A request from the [`http`] crate's request head (what axum and
    /// hyper hand over), its body, and the TCP peer's address, if known:
    /// [`from_parts`](Self::from_parts) with the method, path, query and
    /// headers read from `parts`, and [`authenticated`](Self::authenticated)
    /// from the [`RequestAuth`] a middleware left in its extensions.
    ///
    /// A header whose value is not visible ASCII
    /// ([`HeaderValue::to_str`](http::HeaderValue::to_str) fails) is left
    /// out, as if it had not been sent. [`mount`](Self::mount) is `""`: the
    /// adapter knows where it mounted the routes ([`with_mount`](Self::with_mount)).
    ///
    /// ```
    /// use auth_core::{Auth, config::AuthConfig};
    /// use auth_http::{Api, ApiRequest};
    /// let api = Api::new(Auth::in_memory(AuthConfig::default()));
    /// let (parts, body) = http::Request::post("/api/auth/jwt/create/?next=%2F")
    ///     .header("Content-Type", "application/json")
    ///     .body(br#"{"username": "ada"}"#.to_vec())
    ///     .unwrap()
    ///     .into_parts();
    /// let request = ApiRequest::from_http(&api, &parts, &body, None);
    /// assert_eq!(request.method, "POST");
    /// assert_eq!((request.path, request.query), ("/api/auth/jwt/create/", "next=%2F"));
    /// assert_eq!(request.header("content-type"), Some("application/json"));
    /// ```
    pub fn from_http(
        api: &Api,
        parts: &'a http::request::Parts,
        body: &'a [u8],
        peer: Option<IpAddr>,
    ) -> Self {
        let headers = parts
            .headers
            .iter()
            .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
            .collect();
        Self::from_parts(
            api,
            parts.method.as_str(),
            parts.uri.path(),
            parts.uri.query(),
            headers,
            body,
            peer,
        )
        .with_request_auth(parts.extensions.get::<RequestAuth>())
    }

    /// Every value of the header `name` (case-insensitive), one per line
    /// received, in order.
    pub fn header_values(&self, name: &str) -> Vec<&'a str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
            .collect()
    }

    /// Sets [`mount`](Self::mount): the part of the request's path before
    /// [`path`](Self::path), where the routes are mounted.
    ///
    /// ```
    /// use auth_core::{Auth, config::AuthConfig};
    /// use auth_http::{Api, ApiRequest};
    /// let api = Api::new(Auth::in_memory(AuthConfig::default()));
    /// // GET /v1/api/users, the routes mounted under /v1.
    /// let request = ApiRequest::from_parts(&api, "GET", "/api/users", None, vec![], b"", None)
    ///     .with_mount("/v1");
    /// assert_eq!((request.mount, request.path), ("/v1", "/api/users"));
    /// ```
    pub fn with_mount(mut self, mount: &'a str) -> Self {
        self.mount = mount;
        self
    }

    /// Sets [`authenticated`](Self::authenticated) from what a middleware
    /// stored in the request (`None` when none ran: the routes then
    /// authenticate the header themselves).
    pub fn with_request_auth(mut self, outcome: Option<&RequestAuth>) -> Self {
        self.authenticated = outcome.map(|outcome| outcome.0.clone());
        self
    }

    /// The first value of the header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// `Ok` when the body's `Content-Type` is `media_type` (parameters
    /// allowed), else the contract's 415.
    pub(crate) fn expect_media_type(&self, media_type: &str) -> Result<(), ApiResponse> {
        let content_type = self.header("content-type").unwrap_or("");
        let essence = content_type.split(';').next().unwrap_or("").trim();
        if essence.eq_ignore_ascii_case(media_type) {
            return Ok(());
        }
        Err(ApiResponse::detail(
            415,
            &format!("Unsupported media type \"{content_type}\" in request."),
        ))
    }
}

/// A response from [`handle`](crate::handle), for the adapter to send;
/// adapters on the [`http`] crate's types convert it with
/// `http::Response::from(response)` (an `http::Response<Vec<u8>>`).
#[derive(Clone, PartialEq, Eq)]
pub struct ApiResponse {
    /// The status code.
    pub status: u16,
    /// The headers, `Content-Type` included when there is a body.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl std::fmt::Debug for ApiResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The body may hold a token: show its size only.
        f.debug_struct("ApiResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl ApiResponse {
    /// A JSON response.
    pub fn json(status: u16, body: &impl Serialize) -> Self {
        match serde_json::to_vec(body) {
            Ok(bytes) => Self {
                status,
                headers: vec![("Content-Type".into(), "application/json".into())],
                body: bytes,
            },
            Err(_) => Self::detail(500, "A server error occurred."),
        }
    }

    /// `{"detail": detail}` with this status.
    pub fn detail(status: u16, detail: &str) -> Self {
        Self::json(status, &crate::bodies::Detail { code: None, detail })
    }

    /// A response with no body (e.g. 204).
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// The contract's response for `err`, from the one error table, with
    /// its headers (`WWW-Authenticate` on every 401, `Retry-After` on 429).
    /// 5xx causes are logged, never sent.
    ///
    /// ```
    /// use auth_core::AuthError;
    /// use auth_http::ApiResponse;
    /// let response = ApiResponse::from_error(&AuthError::Throttled { retry_after_secs: 12 });
    /// assert_eq!(response.status, 429);
    /// assert_eq!(response.header("Retry-After"), Some("12"));
    /// assert_eq!(
    ///     response.json_body()["detail"],
    ///     "Request was throttled. Expected available in 12 seconds."
    /// );
    /// ```
    pub fn from_error(err: &AuthError) -> Self {
        let rendered = crate::error::render(err);
        if rendered.status >= 500 {
            tracing::error!(target: "auth_http", error = %err, source = ?std::error::Error::source(err).map(ToString::to_string), "request failed");
        }
        let mut response = Self::json(rendered.status, &rendered.body);
        response.headers.extend(
            rendered
                .headers
                .into_iter()
                .map(|(name, value)| (name.to_string(), value)),
        );
        response
    }

    /// 413 `{"detail": "Request body is too large."}`, for adapters that
    /// stop reading a body past the limit.
    ///
    /// It carries `Connection: close`: the rest of the body is never read,
    /// so the connection cannot carry another request, and saying so keeps
    /// a client from sending its next request down a socket the server is
    /// about to close.
    pub fn body_too_large() -> Self {
        let mut response = Self::detail(413, "Request body is too large.");
        response
            .headers
            .push(("Connection".to_string(), "close".to_string()));
        response
    }

    /// 404 `{"detail": "Not found."}`.
    pub fn not_found() -> Self {
        Self::detail(404, "Not found.")
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON (`Null` when empty or not JSON), for tests.
    pub fn json_body(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// The response as the [`http`] crate's type, for adapters built on it
/// (axum, hyper): the status (500 if it is not a valid status code), the
/// headers in order, and the body.
///
/// A header whose name or value is not valid HTTP cannot come from
/// [`handle`](crate::handle); one set by hand is left out and logged
/// rather than sent malformed.
///
/// ```
/// use auth_http::ApiResponse;
/// let response = http::Response::from(ApiResponse::detail(404, "Not found."));
/// assert_eq!(response.status(), http::StatusCode::NOT_FOUND);
/// assert_eq!(response.headers()["content-type"], "application/json");
/// assert_eq!(response.body(), br#"{"detail":"Not found."}"#);
/// ```
impl From<ApiResponse> for http::Response<Vec<u8>> {
    fn from(response: ApiResponse) -> Self {
        let mut out = http::Response::new(response.body);
        *out.status_mut() = http::StatusCode::from_u16(response.status)
            .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        for (name, value) in response.headers {
            match (
                http::HeaderName::try_from(name.as_str()),
                http::HeaderValue::try_from(value.as_str()),
            ) {
                (Ok(name), Ok(value)) => {
                    out.headers_mut().append(name, value);
                }
                _ => tracing::error!(
                    target: "auth_http",
                    header = %name.escape_debug(),
                    "a response header that is not valid HTTP was left out"
                ),
            }
        }
        out
    }
}
