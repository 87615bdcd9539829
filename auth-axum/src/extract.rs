//! Extractors over the outcome [`AuthLayer`](crate::AuthLayer) stored,
//! following the rules of [`RequestAuth`].

use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

use auth_core::error::AuthError;
use auth_core::flows::Authenticated;
use auth_core::user::User;
use auth_http::{Rejection, RequestAuth, RequiredScope};
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

/// Why an extractor refused a request. Renders the contract's bodies: 401
/// with `WWW-Authenticate`, 403 for non-staff, and a 500 naming the fix
/// when the [`AuthLayer`](crate::AuthLayer) is missing.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AuthRejection {
    /// Authentication failed or was not attempted for lack of credentials.
    Unauthenticated(Arc<AuthError>),
    /// Authenticated, but not staff.
    NotStaff,
    /// No [`AuthLayer`](crate::AuthLayer) ran on this request.
    LayerMissing,
    /// Authenticated by an OAuth2 access token without this scope.
    InsufficientScope(&'static str),
}

impl From<Rejection> for AuthRejection {
    fn from(rejection: Rejection) -> Self {
        match rejection {
            Rejection::Unauthenticated(err) => AuthRejection::Unauthenticated(err),
            Rejection::NotStaff => AuthRejection::NotStaff,
            Rejection::InsufficientScope(scope) => AuthRejection::InsufficientScope(scope),
            _ => AuthRejection::LayerMissing,
        }
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        let rejection = match self {
            AuthRejection::Unauthenticated(err) => Rejection::Unauthenticated(err),
            AuthRejection::NotStaff => Rejection::NotStaff,
            AuthRejection::LayerMissing => Rejection::MiddlewareMissing,
            AuthRejection::InsufficientScope(scope) => Rejection::InsufficientScope(scope),
        };
        crate::into_response(
            rejection.response("AuthLayer installed (Router::layer(AuthLayer::new(auth)))"),
        )
    }
}

fn outcome(parts: &Parts) -> Option<&RequestAuth> {
    parts.extensions.get::<RequestAuth>()
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

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(CurrentUser(RequestAuth::current_user(outcome(parts))?))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for CurrentUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(RequestAuth::maybe_user(outcome(parts))?.map(CurrentUser))
    }
}

/// The user when credentials were sent, `None` when none were. Invalid
/// credentials are still a 401, as DRF answers them on any route.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<Authenticated>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybeUser(RequestAuth::maybe_user(outcome(parts))?))
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

impl<S: Send + Sync> FromRequestParts<S> for StaffUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(StaffUser(RequestAuth::staff_user(outcome(parts))?))
    }
}

/// An authenticated user whose credential may act for `S`: this library's
/// own tokens always, an OAuth2 access token only when it grants
/// `S::SCOPE` (Django OAuth Toolkit's `IsAuthenticatedOrTokenHasScope`);
/// 401 without valid credentials, 403 with `error="insufficient_scope"`
/// for a token without the scope. Dereferences to the [`User`].
///
/// ```
/// use auth_axum::{RequiredScope, ScopedUser};
/// struct ReadInvoices;
/// impl RequiredScope for ReadInvoices {
///     const SCOPE: &'static str = "invoices:read";
/// }
/// async fn invoices(user: ScopedUser<ReadInvoices>) -> String {
///     format!("the invoices of {}", user.username)
/// }
/// let _: axum::Router = axum::Router::new().route("/invoices", axum::routing::get(invoices));
/// ```
pub struct ScopedUser<S: RequiredScope>(pub Authenticated, PhantomData<fn() -> S>);

impl<S: RequiredScope> Clone for ScopedUser<S> {
    fn clone(&self) -> Self {
        Self(self.0.clone(), PhantomData)
    }
}

impl<S: RequiredScope> std::fmt::Debug for ScopedUser<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
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

impl<St: Send + Sync, S: RequiredScope> FromRequestParts<St> for ScopedUser<S> {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &St) -> Result<Self, Self::Rejection> {
        let who = RequestAuth::scoped_user(outcome(parts), S::SCOPE)?;
        Ok(ScopedUser(who, PhantomData))
    }
}
