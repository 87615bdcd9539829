//! Extractors over the outcome [`AuthLayer`](crate::AuthLayer) stored.

use std::ops::Deref;
use std::sync::Arc;

use auth_core::error::{AuthError, TokenRejection};
use auth_core::flows::Authenticated;
use auth_core::user::User;
use auth_http::ApiResponse;
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use crate::layer::RequestAuth;

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
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        let response = match self {
            AuthRejection::Unauthenticated(err) => ApiResponse::from_error(&err),
            AuthRejection::NotStaff => ApiResponse::from_error(&AuthError::PermissionDenied),
            AuthRejection::LayerMissing => ApiResponse::detail(
                500,
                "Authentication is not set up for this route: is the AuthLayer installed (Router::layer(AuthLayer::new(auth)))?",
            ),
        };
        crate::into_response(response)
    }
}

fn outcome(parts: &Parts) -> Result<&RequestAuth, AuthRejection> {
    parts
        .extensions
        .get::<RequestAuth>()
        .ok_or(AuthRejection::LayerMissing)
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
        match &outcome(parts)?.0 {
            Ok(who) => Ok(CurrentUser(who.clone())),
            Err(err) => Err(AuthRejection::Unauthenticated(err.clone())),
        }
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for CurrentUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let MaybeUser(who) =
            <MaybeUser as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        Ok(who.map(CurrentUser))
    }
}

/// The user when credentials were sent, `None` when none were. Invalid
/// credentials are still a 401, as DRF answers them on any route.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<Authenticated>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match &outcome(parts)?.0 {
            Ok(who) => Ok(MaybeUser(Some(who.clone()))),
            Err(err) if matches!(**err, AuthError::Unauthenticated(TokenRejection::Missing)) => {
                Ok(MaybeUser(None))
            }
            Err(err) => Err(AuthRejection::Unauthenticated(err.clone())),
        }
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

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let CurrentUser(who) =
            <CurrentUser as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        if who.user.is_staff {
            Ok(StaffUser(who))
        } else {
            Err(AuthRejection::NotStaff)
        }
    }
}
