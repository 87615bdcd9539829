//! Extractors over the outcome [`AuthMiddleware`](crate::AuthMiddleware)
//! stored, following the rules of [`RequestAuth`].

use std::fmt;
use std::future::{Ready, ready};
use std::marker::PhantomData;
use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use auth_core::flows::Authenticated;
use auth_core::user::User;
use auth_http::{Rejection, RequestAuth, RequiredScope};

/// What the detail of the 500 for a missing middleware asks about.
const SETUP: &str = "AuthMiddleware installed (App::wrap(AuthMiddleware::new(auth)))";

/// Why an extractor refused a request: an actix-web error that renders the
/// contract's bodies, 401 with `WWW-Authenticate`, 403 for non-staff, and a
/// 500 naming the fix when the [`AuthMiddleware`](crate::AuthMiddleware)
/// is missing.
///
/// ```
/// use actix_web::ResponseError;
/// use auth_actix::AuthRejection;
/// use auth_actix::http::Rejection;
/// let rejection = AuthRejection::from(Rejection::NotStaff);
/// assert_eq!(rejection.status_code(), 403);
/// ```
#[derive(Debug, Clone)]
pub struct AuthRejection(Rejection);

impl AuthRejection {
    /// Why the request was refused.
    pub fn reason(&self) -> &Rejection {
        &self.0
    }
}

impl From<Rejection> for AuthRejection {
    fn from(rejection: Rejection) -> Self {
        Self(rejection)
    }
}

impl fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Rejection::Unauthenticated(err) => write!(f, "not authenticated: {err}"),
            Rejection::NotStaff => f.write_str("not a staff user"),
            Rejection::InsufficientScope(scope) => {
                write!(f, "the OAuth2 token does not grant the scope {scope:?}")
            }
            _ => f.write_str("the AuthMiddleware is not installed"),
        }
    }
}

impl std::error::Error for AuthRejection {}

impl ResponseError for AuthRejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.response(SETUP).status)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        crate::into_response(self.0.response(SETUP))
    }
}

/// Reads the middleware's outcome with one of [`RequestAuth`]'s rules.
fn extract<T>(
    request: &HttpRequest,
    rule: impl FnOnce(Option<&RequestAuth>) -> Result<T, Rejection>,
) -> Ready<Result<T, AuthRejection>> {
    ready(rule(request.extensions().get::<RequestAuth>()).map_err(AuthRejection))
}

/// The authenticated user (and the credential used); 401 otherwise.
///
/// Dereferences to the [`User`].
#[derive(Debug, Clone)]
pub struct CurrentUser(pub Authenticated);

impl Deref for CurrentUser {
    type Target = User;

    fn deref(&self) -> &User {
        &self.0.user
    }
}

impl FromRequest for CurrentUser {
    type Error = AuthRejection;
    type Future = Ready<Result<Self, AuthRejection>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        extract(request, |outcome| {
            RequestAuth::current_user(outcome).map(CurrentUser)
        })
    }
}

/// The user when credentials were sent, `None` when none were. Invalid
/// credentials are still a 401, as DRF answers them on any route.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<Authenticated>);

impl FromRequest for MaybeUser {
    type Error = AuthRejection;
    type Future = Ready<Result<Self, AuthRejection>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        extract(request, |outcome| {
            RequestAuth::maybe_user(outcome).map(MaybeUser)
        })
    }
}

/// An authenticated staff user: 401 without valid credentials, 403 for
/// anyone else. Dereferences to the [`User`].
#[derive(Debug, Clone)]
pub struct StaffUser(pub Authenticated);

impl Deref for StaffUser {
    type Target = User;

    fn deref(&self) -> &User {
        &self.0.user
    }
}

impl FromRequest for StaffUser {
    type Error = AuthRejection;
    type Future = Ready<Result<Self, AuthRejection>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        extract(request, |outcome| {
            RequestAuth::staff_user(outcome).map(StaffUser)
        })
    }
}

/// An authenticated user whose credential may act for `S`: this library's
/// own tokens always, an OAuth2 access token only when it grants
/// `S::SCOPE` (Django OAuth Toolkit's `IsAuthenticatedOrTokenHasScope`);
/// 401 without valid credentials, 403 with `error="insufficient_scope"`
/// for a token without the scope. Dereferences to the [`User`].
///
/// ```
/// use auth_actix::{RequiredScope, ScopedUser};
/// struct ReadInvoices;
/// impl RequiredScope for ReadInvoices {
///     const SCOPE: &'static str = "invoices:read";
/// }
/// async fn invoices(user: ScopedUser<ReadInvoices>) -> String {
///     format!("the invoices of {}", user.username)
/// }
/// let _app = actix_web::App::new().route("/invoices", actix_web::web::get().to(invoices));
/// ```
pub struct ScopedUser<S: RequiredScope>(pub Authenticated, PhantomData<fn() -> S>);

impl<S: RequiredScope> Clone for ScopedUser<S> {
    fn clone(&self) -> Self {
        Self(self.0.clone(), PhantomData)
    }
}

impl<S: RequiredScope> fmt::Debug for ScopedUser<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ScopedUser")
            .field(&S::SCOPE)
            .field(&self.0)
            .finish()
    }
}

impl<S: RequiredScope> Deref for ScopedUser<S> {
    type Target = User;

    fn deref(&self) -> &User {
        &self.0.user
    }
}

impl<S: RequiredScope> FromRequest for ScopedUser<S> {
    type Error = AuthRejection;
    type Future = Ready<Result<Self, AuthRejection>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        extract(request, |outcome| {
            RequestAuth::scoped_user(outcome, S::SCOPE).map(|who| ScopedUser(who, PhantomData))
        })
    }
}
