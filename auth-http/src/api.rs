//! [`Api`], the handle the adapters serve, and its [`ApiOptions`].

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use auth_core::Auth;
use auth_core::events::ClientInfo;

use crate::{CookieTransport, IpNetwork, Pages};

/// The default request body limit: 64 KiB.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// The default page size of `/api/users` and `/api/auth/me/history`.
pub const DEFAULT_PAGE_SIZE: u64 = 20;

/// The default route prefix: the routes are served under `/api`.
pub const DEFAULT_PREFIX: &str = "/api";

/// A route prefix [`ApiOptions::with_prefix`] refused, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixError {
    prefix: String,
}

impl std::fmt::Display for PrefixError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "route prefix {:?} is not \"\" or \"/\" followed by path segments (letters, \
             digits, '-', '.', '_', '~'; not \".\" or \"..\") separated by single slashes, \
             with no trailing slash",
            self.prefix
        )
    }
}

impl std::error::Error for PrefixError {}

/// Which route groups are served. Each group can be turned on alone, so an
/// application mounts only what it wants; a path of a disabled group is a
/// 404, and it is left out of the OpenAPI document. The paths below are
/// under the default prefix, `/api` (see [`ApiOptions::with_prefix`]).
///
/// ```
/// use auth_http::RouteGroups;
/// let jwt_only = RouteGroups { jwt: true, ..RouteGroups::none() };
/// assert!(!jwt_only.accounts);
/// assert!(RouteGroups::default().users);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteGroups {
    /// `/api/auth/register`, `activate`, `password/...`, `me`, `me/history`.
    pub accounts: bool,
    /// `/api/auth/jwt/...` and `/api/auth/jwks.json`.
    pub jwt: bool,
    /// `/api/auth/token/...` (Knox-style tokens).
    pub knox: bool,
    /// `/api/auth/static-token`.
    pub static_token: bool,
    /// `/api/users` and `/api/users/{id}` (staff only).
    pub users: bool,
    /// `/api/openapi.json` and the Swagger UI at `/api/docs`.
    pub docs: bool,
    /// `/healthz`.
    pub health: bool,
    /// The OAuth2 provider's endpoints: `/api/o/token`, `revoke_token`,
    /// `introspect`, and `/.well-known/oauth-authorization-server` (at the
    /// root, not under the prefix).
    pub oauth: bool,
    /// The browser pages of the OAuth2 provider, at the root: `/o/login`
    /// and `/o/logout` (HTML).
    pub pages: bool,
}

impl RouteGroups {
    /// Every group (the default).
    pub const fn all() -> Self {
        Self {
            accounts: true,
            jwt: true,
            knox: true,
            static_token: true,
            users: true,
            docs: true,
            health: true,
            oauth: true,
            pages: true,
        }
    }

    /// No group: start from this and turn on the ones you want.
    pub const fn none() -> Self {
        Self {
            accounts: false,
            jwt: false,
            knox: false,
            static_token: false,
            users: false,
            docs: false,
            health: false,
            oauth: false,
            pages: false,
        }
    }
}

impl Default for RouteGroups {
    fn default() -> Self {
        Self::all()
    }
}

/// Where the client address (for throttling and the login history) comes
/// from.
///
/// The default, [`PeerAddress`](Self::PeerAddress), uses the TCP peer and
/// ignores `X-Forwarded-For`, which any client can forge. Behind reverse
/// proxies that you control, opt in to
/// [`TrustForwardedFor`](Self::TrustForwardedFor) with the number of
/// proxies in front of the server, as DRF's `NUM_PROXIES`, or to
/// [`TrustedProxies`](Self::TrustedProxies) with the networks they are in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ClientAddressPolicy {
    /// The TCP peer's address (default).
    #[default]
    PeerAddress,
    /// The address `proxies` hops from the right of `X-Forwarded-For`
    /// (the one the outermost trusted proxy saw). With fewer entries than
    /// that, the leftmost; with no header or an entry that is not an IP
    /// address, the peer's address. `X-Forwarded-Proto: https` is also
    /// trusted when building absolute pagination links.
    TrustForwardedFor {
        /// How many proxies you run in front of the server (at least 1).
        proxies: usize,
    },
    /// `X-Forwarded-For` is read only when the peer is in one of these
    /// networks (your proxies); then it is walked from the right, skipping
    /// the addresses in these networks, and the first one outside them is
    /// the client. When every entry is trusted, the leftmost; an entry that
    /// is not an IP address stops the walk at the last trusted hop (it was
    /// written by a client, not by a proxy of yours). From any other peer,
    /// the peer's address. `X-Forwarded-Proto: https` is also trusted when
    /// building absolute pagination links.
    TrustedProxies(Vec<IpNetwork>),
}

impl ClientAddressPolicy {
    /// The client address under this policy; `forwarded_for` is the whole
    /// `X-Forwarded-For` list, its lines joined with commas.
    ///
    /// ```
    /// use auth_http::ClientAddressPolicy;
    /// let peer = Some("10.0.0.2".parse().unwrap());
    /// let forwarded = Some("203.0.113.9, 10.0.0.1");
    /// assert_eq!(ClientAddressPolicy::PeerAddress.client_ip(peer, forwarded).as_deref(), Some("10.0.0.2"));
    /// let two = ClientAddressPolicy::TrustForwardedFor { proxies: 2 };
    /// assert_eq!(two.client_ip(peer, forwarded).as_deref(), Some("203.0.113.9"));
    /// let ours = ClientAddressPolicy::TrustedProxies(vec!["10.0.0.0/8".parse()?]);
    /// assert_eq!(ours.client_ip(peer, forwarded).as_deref(), Some("203.0.113.9"));
    /// // From a peer outside the networks, the header is not read.
    /// let stranger = Some("198.51.100.7".parse().unwrap());
    /// assert_eq!(ours.client_ip(stranger, forwarded).as_deref(), Some("198.51.100.7"));
    /// # Ok::<(), auth_http::IpNetworkError>(())
    /// ```
    pub fn client_ip(&self, peer: Option<IpAddr>, forwarded_for: Option<&str>) -> Option<String> {
        let canonical = |ip: IpAddr| ip.to_canonical().to_string();
        let hops = || -> Vec<&str> {
            forwarded_for
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()
        };
        match self {
            Self::PeerAddress => peer.map(canonical),
            Self::TrustForwardedFor { proxies } => {
                let hops = hops();
                if hops.is_empty() {
                    return peer.map(canonical);
                }
                let index = hops.len() - proxies.clamp(&1, &hops.len());
                match hops.get(index).and_then(|hop| hop.parse::<IpAddr>().ok()) {
                    Some(ip) => Some(canonical(ip)),
                    None => peer.map(canonical),
                }
            }
            Self::TrustedProxies(networks) => {
                let trusted = |ip: IpAddr| networks.iter().any(|net| net.contains(ip));
                let Some(mut client) = peer.filter(|_| self.trusts_peer(peer)) else {
                    return peer.map(canonical);
                };
                for hop in hops().into_iter().rev() {
                    let Ok(ip) = hop.parse::<IpAddr>() else {
                        break;
                    };
                    client = ip;
                    if !trusted(ip) {
                        break;
                    }
                }
                Some(canonical(client))
            }
        }
    }

    /// Whether proxy headers may be trusted under this policy (from some
    /// peer at least).
    pub fn trusts_proxies(&self) -> bool {
        !matches!(self, Self::PeerAddress)
    }

    /// Whether the proxy headers (`X-Forwarded-For`,
    /// `X-Forwarded-Proto`) of a request from `peer` are trusted: never
    /// under [`PeerAddress`](Self::PeerAddress), always under
    /// [`TrustForwardedFor`](Self::TrustForwardedFor), and under
    /// [`TrustedProxies`](Self::TrustedProxies) when the peer is in one of
    /// the networks.
    ///
    /// ```
    /// use auth_http::ClientAddressPolicy;
    /// let ours = ClientAddressPolicy::TrustedProxies(vec!["10.0.0.0/8".parse()?]);
    /// assert!(ours.trusts_peer(Some("10.1.1.1".parse().unwrap())));
    /// assert!(!ours.trusts_peer(Some("192.0.2.1".parse().unwrap())));
    /// assert!(!ours.trusts_peer(None));
    /// # Ok::<(), auth_http::IpNetworkError>(())
    /// ```
    pub fn trusts_peer(&self, peer: Option<IpAddr>) -> bool {
        match self {
            Self::PeerAddress => false,
            Self::TrustForwardedFor { .. } => true,
            Self::TrustedProxies(networks) => {
                peer.is_some_and(|peer| networks.iter().any(|net| net.contains(peer)))
            }
        }
    }
}

/// How the routes behave: groups, route prefix, body limit, client address
/// policy.
///
/// ```
/// use auth_http::{ApiOptions, ClientAddressPolicy, RouteGroups};
/// let options = ApiOptions::default()
///     .with_groups(RouteGroups { jwt: true, ..RouteGroups::none() })
///     .with_prefix("/v1/auth")?
///     .with_body_limit(16 * 1024)
///     .with_client_address(ClientAddressPolicy::TrustForwardedFor { proxies: 1 });
/// assert_eq!(options.body_limit, 16 * 1024);
/// assert_eq!(options.prefix(), "/v1/auth");
/// # Ok::<(), auth_http::PrefixError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiOptions {
    /// The route groups served (default: all).
    pub groups: RouteGroups,
    /// The largest request body accepted, in bytes (default 64 KiB); a
    /// larger one gets 413 `{"detail": "Request body is too large."}`.
    pub body_limit: usize,
    /// Where the client address comes from (default: the peer).
    pub client_address: ClientAddressPolicy,
    /// The page size when the client sends none (default 20; capped at
    /// [`MAX_PAGE_SIZE`](auth_core::flows::MAX_PAGE_SIZE)).
    pub default_page_size: u64,
    /// Where the routes are mounted (see [`with_prefix`](Self::with_prefix)).
    prefix: String,
    /// The templates of the browser pages (default: the embedded ones).
    pub pages: Pages,
    /// The JWTs in cookies too (default: off; see [`CookieTransport`]).
    pub cookie_transport: Option<CookieTransport>,
}

impl Default for ApiOptions {
    fn default() -> Self {
        Self {
            groups: RouteGroups::all(),
            body_limit: DEFAULT_BODY_LIMIT,
            client_address: ClientAddressPolicy::PeerAddress,
            default_page_size: DEFAULT_PAGE_SIZE,
            prefix: DEFAULT_PREFIX.to_string(),
            pages: Pages::default(),
            cookie_transport: None,
        }
    }
}

impl ApiOptions {
    /// Sets the templates of the browser pages (an app's overrides of the
    /// embedded ones, see [`Pages::with_template`]).
    pub fn with_pages(mut self, pages: Pages) -> Self {
        self.pages = pages;
        self
    }

    /// Turns on the cookie transport of the JWTs, with its CSRF check (see
    /// [`CookieTransport`]).
    pub fn with_cookie_transport(mut self, transport: CookieTransport) -> Self {
        self.cookie_transport = Some(transport);
        self
    }

    /// Sets the route groups.
    pub fn with_groups(mut self, groups: RouteGroups) -> Self {
        self.groups = groups;
        self
    }

    /// Sets the route prefix (default [`DEFAULT_PREFIX`], `/api`): every
    /// route but `/healthz` is served under it (`{prefix}/auth/...`,
    /// `{prefix}/users`, `{prefix}/openapi.json`, `{prefix}/docs`), and the
    /// pagination links and the OpenAPI document's paths carry it.
    /// `/healthz` stays at the root, as the HTTP contract has it.
    ///
    /// The prefix is `""` (the routes at the root: `/auth/...`, `/users`)
    /// or `/` followed by path segments of letters, digits, `-`, `.`, `_`
    /// and `~` (not `.` or `..`) separated by single slashes, with no
    /// trailing slash; anything else is a [`PrefixError`]. It is matched
    /// as it is, so it needs no percent-encoding.
    ///
    /// With `""` the OAuth2 provider's JSON routes (`/o/applications`,
    /// `/o/authorized`, `/o/logout`, ...) share their paths with the
    /// browser pages, which stay at `/o/...`: the JSON route answers and
    /// the page of that path cannot be reached. Keep a prefix when the
    /// pages are served.
    ///
    /// ```
    /// use auth_http::ApiOptions;
    /// assert_eq!(ApiOptions::default().prefix(), "/api");
    /// assert_eq!(ApiOptions::default().with_prefix("")?.prefix(), "");
    /// assert_eq!(ApiOptions::default().with_prefix("/v2/auth")?.prefix(), "/v2/auth");
    /// for refused in ["/", "api", "/api/", "/a//b", "/a b", "/{id}", "/..", "/a?b"] {
    ///     assert!(ApiOptions::default().with_prefix(refused).is_err(), "{refused}");
    /// }
    /// # Ok::<(), auth_http::PrefixError>(())
    /// ```
    pub fn with_prefix(mut self, prefix: &str) -> Result<Self, PrefixError> {
        let valid_segment = |segment: &str| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
        };
        let valid = prefix.is_empty()
            || prefix
                .strip_prefix('/')
                .is_some_and(|rest| rest.split('/').all(valid_segment));
        if !valid {
            return Err(PrefixError {
                prefix: prefix.to_string(),
            });
        }
        self.prefix = prefix.to_string();
        Ok(self)
    }

    /// The route prefix (default `/api`; `""` for the root).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Sets the body limit in bytes.
    pub fn with_body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Sets the client address policy.
    pub fn with_client_address(mut self, policy: ClientAddressPolicy) -> Self {
        self.client_address = policy;
        self
    }

    /// Sets the default page size (1 to
    /// [`MAX_PAGE_SIZE`](auth_core::flows::MAX_PAGE_SIZE)).
    pub fn with_default_page_size(mut self, size: u64) -> Self {
        self.default_page_size = size.clamp(1, auth_core::flows::MAX_PAGE_SIZE);
        self
    }
}

/// The routes of the HTTP contract over an [`Auth`]: what an adapter
/// serves with [`handle`](crate::handle). Cheap to clone.
///
/// ```
/// use auth_core::{Auth, config::AuthConfig};
/// use auth_http::{Api, ApiOptions};
/// let api = Api::with_options(Auth::in_memory(AuthConfig::default()), ApiOptions::default());
/// assert!(api.openapi_json().starts_with(b"{"));
/// ```
#[derive(Debug, Clone)]
pub struct Api {
    auth: Auth,
    options: Arc<ApiOptions>,
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    openapi: OnceLock<Arc<[u8]>>,
    /// Whether the unknown-peer warning was logged.
    peer_warned: AtomicBool,
}

impl Api {
    /// Every route group with the default options.
    pub fn new(auth: Auth) -> Self {
        Self::with_options(auth, ApiOptions::default())
    }

    /// The routes with these options.
    pub fn with_options(auth: Auth, options: ApiOptions) -> Self {
        Self {
            auth,
            options: Arc::new(options),
            shared: Arc::new(Shared::default()),
        }
    }

    /// The service.
    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    /// The options.
    pub fn options(&self) -> &ApiOptions {
        &self.options
    }

    /// The OpenAPI 3.1 document of the enabled routes, as JSON; built once.
    pub fn openapi_json(&self) -> Arc<[u8]> {
        self.shared
            .openapi
            .get_or_init(|| crate::openapi::document_json(&self.options).into())
            .clone()
    }

    /// The OpenAPI document as served from routes mounted under `mount`
    /// (see [`ApiRequest::mount`](crate::ApiRequest::mount)): for `""`,
    /// [`openapi_json`](Self::openapi_json); else the same document with
    /// `"servers": [{"url": mount}]` (a URL relative to the document's
    /// host), which puts every path of the document under the mount.
    ///
    /// ```
    /// use auth_core::{Auth, config::AuthConfig};
    /// use auth_http::Api;
    /// let api = Api::new(Auth::in_memory(AuthConfig::default()));
    /// assert_eq!(api.openapi_json_at(""), api.openapi_json());
    /// let mounted: serde_json::Value = serde_json::from_slice(&api.openapi_json_at("/v1")).unwrap();
    /// assert_eq!(mounted["servers"], serde_json::json!([{"url": "/v1"}]));
    /// assert!(mounted["paths"]["/api/users"].is_object());
    /// ```
    pub fn openapi_json_at(&self, mount: &str) -> Arc<[u8]> {
        let document = self.openapi_json();
        // The document is an object with members (it has `openapi` and
        // `paths`): the servers go in as its first member.
        let Some(members) = document.strip_prefix(b"{") else {
            return document;
        };
        if mount.is_empty() {
            return document;
        }
        let servers = serde_json::json!([{ "url": mount }]);
        let mut out = Vec::with_capacity(document.len() + mount.len() + 24);
        out.extend_from_slice(b"{\"servers\":");
        out.extend_from_slice(servers.to_string().as_bytes());
        out.push(b',');
        out.extend_from_slice(members);
        out.into()
    }

    /// Whether a request whose `Content-Length` header says this is over
    /// [`ApiOptions::body_limit`]: adapters answer it with
    /// [`ApiResponse::body_too_large`] before reading the body (and stop
    /// reading any body at the limit). A missing or unparsable value is not.
    ///
    /// ```
    /// use auth_core::{Auth, config::AuthConfig};
    /// use auth_http::{Api, ApiOptions};
    /// let api = Api::with_options(
    ///     Auth::in_memory(AuthConfig::default()),
    ///     ApiOptions::default().with_body_limit(10),
    /// );
    /// assert!(api.declares_body_too_large(Some("11")));
    /// assert!(!api.declares_body_too_large(Some("10")));
    /// assert!(!api.declares_body_too_large(None));
    /// ```
    ///
    /// [`ApiResponse::body_too_large`]: crate::ApiResponse::body_too_large
    pub fn declares_body_too_large(&self, content_length: Option<&str>) -> bool {
        content_length
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_some_and(|len| len > self.options.body_limit as u64)
    }

    /// Logs a warning, once per `Api` (at its first such request), that a
    /// request came without the peer's address, so per-address rate limits
    /// and the login history's address are off for it; `fix` names what
    /// makes the adapter pass the address. Adapters call this when they
    /// cannot tell the peer. Returns whether this call logged.
    pub fn warn_peer_unknown(&self, fix: &str) -> bool {
        if self.shared.peer_warned.swap(true, Ordering::Relaxed) {
            return false;
        }
        tracing::warn!(
            target: "auth",
            "the client's address is unknown: per-address rate limits (login_ip, \
             register_ip, email_ip) do not apply and the login history records no \
             address; {fix}"
        );
        true
    }

    /// What is known of the client: its address under the
    /// [`ClientAddressPolicy`] and its `User-Agent`. Adapters call this
    /// for their own handlers; [`ApiRequest::from_parts`] calls it too.
    ///
    /// [`ApiRequest::from_parts`]: crate::ApiRequest::from_parts
    pub fn client_info(
        &self,
        peer: Option<IpAddr>,
        forwarded_for: Option<&str>,
        user_agent: Option<&str>,
    ) -> ClientInfo {
        ClientInfo {
            ip: self.options.client_address.client_ip(peer, forwarded_for),
            user_agent: user_agent.map(|ua| ua.chars().take(512).collect()),
        }
    }
}
