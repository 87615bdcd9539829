//! What the adapters' middlewares store and their extractors read:
//! [`RequestAuth`], and the extractors' rules ([`RequestAuth::current_user`],
//! [`RequestAuth::maybe_user`], [`RequestAuth::staff_user`]) with their
//! [`Rejection`]s, so axum and actix-web handlers accept and refuse the same
//! requests with the same bodies.

use std::sync::Arc;

use auth_core::Auth;
use auth_core::error::{AuthError, TokenRejection};
use auth_core::flows::{Access, Authenticated};

use crate::ApiResponse;
use crate::cookies::{self, CookieTransport, RequestCredentials};

/// The outcome of authenticating a request, stored in its extensions by an
/// adapter's middleware (auth-axum's `AuthLayer`, auth-actix's
/// `AuthMiddleware`): the user, or why not (no credentials is
/// `Err(AuthError::Unauthenticated(TokenRejection::Missing))`).
///
/// The routes served by [`handle`](crate::handle) reuse it through
/// [`ApiRequest::authenticated`](crate::ApiRequest::authenticated) instead of
/// authenticating the header a second time.
#[derive(Debug, Clone)]
pub struct RequestAuth(pub Result<Authenticated, Arc<AuthError>>);

impl RequestAuth {
    /// Authenticates an `Authorization` header value (`None` when the
    /// request has none, or when it is not valid UTF-8) with
    /// [`Auth::authenticate_header`]: what a middleware does once per
    /// request.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use auth_core::{Auth, config::AuthConfig};
    /// use auth_http::RequestAuth;
    /// let auth = Auth::in_memory(AuthConfig::default());
    /// let outcome = RequestAuth::from_header(&auth, None).await;
    /// // No credentials: an anonymous request, not an error for `MaybeUser`.
    /// assert!(matches!(RequestAuth::maybe_user(Some(&outcome)), Ok(None)));
    /// assert!(RequestAuth::current_user(Some(&outcome)).is_err());
    /// # });
    /// ```
    pub async fn from_header(auth: &Auth, header: Option<&str>) -> Self {
        let outcome = auth.authenticate_header(header).await;
        if let Ok(who) = &outcome {
            crate::trace::record_caller(who);
        }
        Self(outcome.map_err(Arc::new))
    }

    /// Authenticates a request's credentials: its `Authorization` header,
    /// or, with the cookie transport on and no such header, its access
    /// cookie (then a `POST`, `PUT`, `PATCH` or `DELETE` must echo the CSRF
    /// cookie in `X-CSRFToken`, else the outcome is
    /// [`AuthError::CsrfFailed`], a 403). What the adapters' middlewares
    /// and the routes do, so they see the same user.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use auth_core::{Auth, config::AuthConfig};
    /// use auth_http::{CookieTransport, RequestAuth, RequestCredentials};
    /// let auth = Auth::in_memory(AuthConfig::default());
    /// let forged = RequestCredentials {
    ///     method: "GET",
    ///     cookies: vec!["auth_access=not-a-jwt"],
    ///     ..RequestCredentials::default()
    /// };
    /// // Transport off: the cookie is not read, the request is anonymous.
    /// let off = RequestAuth::from_request(&auth, None, &forged).await;
    /// assert!(matches!(RequestAuth::maybe_user(Some(&off)), Ok(None)));
    /// // On: the cookie is read, and refused.
    /// let on = RequestAuth::from_request(&auth, Some(&CookieTransport::default()), &forged).await;
    /// assert!(RequestAuth::maybe_user(Some(&on)).is_err());
    /// # });
    /// ```
    pub async fn from_request(
        auth: &Auth,
        transport: Option<&CookieTransport>,
        request: &RequestCredentials<'_>,
    ) -> Self {
        let outcome = cookies::authenticate(auth, transport, request).await;
        if let Ok(who) = &outcome {
            crate::trace::record_caller(who);
        }
        Self(outcome.map_err(Arc::new))
    }

    /// The rule of the `CurrentUser` extractors: the authenticated user, or
    /// [`Rejection::Unauthenticated`]; `outcome` is what the middleware
    /// stored (`None`: it did not run, [`Rejection::MiddlewareMissing`]).
    pub fn current_user(outcome: Option<&Self>) -> Result<Authenticated, Rejection> {
        match &outcome.ok_or(Rejection::MiddlewareMissing)?.0 {
            Ok(who) => Ok(who.clone()),
            Err(err) => Err(Rejection::Unauthenticated(err.clone())),
        }
    }

    /// The rule of the `MaybeUser` extractors: the user when credentials
    /// were sent, `None` when none were; invalid credentials are still
    /// [`Rejection::Unauthenticated`], as DRF answers them on any route.
    pub fn maybe_user(outcome: Option<&Self>) -> Result<Option<Authenticated>, Rejection> {
        match &outcome.ok_or(Rejection::MiddlewareMissing)?.0 {
            Ok(who) => Ok(Some(who.clone())),
            Err(err) if matches!(**err, AuthError::Unauthenticated(TokenRejection::Missing)) => {
                Ok(None)
            }
            Err(err) => Err(Rejection::Unauthenticated(err.clone())),
        }
    }

    /// The rule of the `ScopedUser` extractors (Django OAuth Toolkit's
    /// `IsAuthenticatedOrTokenHasScope`): an authenticated user whose
    /// credential is this library's own (a JWT, Knox or static token acts
    /// for the user wholly) or an OAuth2 access token granting `scope`;
    /// [`Rejection::InsufficientScope`] (403 with `WWW-Authenticate:
    /// Bearer ... error="insufficient_scope", scope="..."`) for an OAuth2
    /// token without it.
    ///
    /// An application reads the credential (`Authenticated::credential`)
    /// when a route must take OAuth2 tokens only.
    pub fn scoped_user(
        outcome: Option<&Self>,
        scope: &'static str,
    ) -> Result<Authenticated, Rejection> {
        let who = Self::current_user(outcome)?;
        match who.admit(Access::OwnOrScope(scope)) {
            Ok(()) => Ok(who),
            Err(_) => Err(Rejection::InsufficientScope(scope)),
        }
    }

    /// The rule of the `StaffUser` extractors: an authenticated staff user;
    /// [`Rejection::NotStaff`] for anyone else who is authenticated.
    pub fn staff_user(outcome: Option<&Self>) -> Result<Authenticated, Rejection> {
        let who = Self::current_user(outcome)?;
        match who.admit(Access::Staff) {
            Ok(()) => Ok(who),
            Err(_) => Err(Rejection::NotStaff),
        }
    }
}

/// Why an extractor refused a request.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Rejection {
    /// Authentication failed or was not attempted for lack of credentials.
    Unauthenticated(Arc<AuthError>),
    /// Authenticated, but not staff.
    NotStaff,
    /// No middleware stored a [`RequestAuth`] in this request.
    MiddlewareMissing,
    /// Authenticated by an OAuth2 access token that does not grant this
    /// scope.
    InsufficientScope(&'static str),
}

/// A scope that a `ScopedUser<S>` extractor requires of an OAuth2 access
/// token: implement it on a marker type, one per scope.
///
/// ```
/// use auth_http::RequiredScope;
/// /// The `invoices:read` scope.
/// struct ReadInvoices;
/// impl RequiredScope for ReadInvoices {
///     const SCOPE: &'static str = "invoices:read";
/// }
/// assert_eq!(ReadInvoices::SCOPE, "invoices:read");
/// ```
pub trait RequiredScope: Send + Sync + 'static {
    /// The scope's name, as configured with
    /// [`OAuthConfig::with_scope`](auth_core::config::OAuthConfig::with_scope).
    const SCOPE: &'static str;
}

impl Rejection {
    /// The contract's response: 401 with `WWW-Authenticate`, 403 for
    /// non-staff (both through [`ApiResponse::from_error`]), and a 500 whose
    /// detail names the fix for a missing middleware: `setup` says what to
    /// install, e.g. `"AuthLayer installed (Router::layer(AuthLayer::new(auth)))"`.
    ///
    /// ```
    /// use auth_http::Rejection;
    /// let response = Rejection::MiddlewareMissing.response("AuthMiddleware installed");
    /// assert_eq!(response.status, 500);
    /// assert!(response.json_body()["detail"].as_str().unwrap().contains("is the AuthMiddleware installed?"));
    /// assert_eq!(Rejection::NotStaff.response("").status, 403);
    /// ```
    pub fn response(&self, setup: &str) -> ApiResponse {
        match self {
            Rejection::Unauthenticated(err) => ApiResponse::from_error(err),
            Rejection::NotStaff => ApiResponse::from_error(&AuthError::PermissionDenied),
            Rejection::InsufficientScope(scope) => {
                ApiResponse::from_error(&AuthError::InsufficientScope(Some(scope)))
            }
            Rejection::MiddlewareMissing => ApiResponse::detail(
                500,
                &format!("Authentication is not set up for this route: is the {setup}?"),
            ),
        }
    }
}
