//! [`AuthLayer`]: authenticates each request's `Authorization` header once
//! and leaves the outcome in the request extensions for the extractors.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use auth_core::Auth;
use auth_core::error::AuthError;
use auth_core::flows::Authenticated;
use axum::extract::Request;
use axum::http::header;
use tower_layer::Layer;
use tower_service::Service;

/// The outcome of authenticating a request, stored in its extensions by
/// [`AuthLayer`]: the user, or why not (no credentials is
/// `Err(AuthError::Unauthenticated(TokenRejection::Missing))`).
///
/// [`TokenRejection::Missing`]: auth_core::error::TokenRejection::Missing
#[derive(Debug, Clone)]
pub struct RequestAuth(pub Result<Authenticated, Arc<AuthError>>);

/// A tower layer that authenticates every request with
/// [`Auth::authenticate_header`] (JWT, Knox or static token, as
/// configured) before the handler runs. Use the [`CurrentUser`],
/// [`MaybeUser`] and [`StaffUser`] extractors in handlers.
///
/// [`CurrentUser`]: crate::CurrentUser
/// [`MaybeUser`]: crate::MaybeUser
/// [`StaffUser`]: crate::StaffUser
#[derive(Debug, Clone)]
pub struct AuthLayer {
    auth: Auth,
}

impl AuthLayer {
    /// A layer over this service.
    pub fn new(auth: Auth) -> Self {
        Self { auth }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            auth: self.auth.clone(),
            inner,
        }
    }
}

/// The service [`AuthLayer`] wraps around the inner one.
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    auth: Auth,
    inner: S,
}

impl<S> Service<Request> for AuthService<S>
where
    S: Service<Request> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        // The clone that was polled ready is the one that serves.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let auth = self.auth.clone();
        Box::pin(async move {
            let header = request
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let outcome = auth
                .authenticate_header(header.as_deref())
                .await
                .map_err(Arc::new);
            request.extensions_mut().insert(RequestAuth(outcome));
            inner.call(request).await
        })
    }
}
