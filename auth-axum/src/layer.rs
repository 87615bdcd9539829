//! [`AuthLayer`]: authenticates each request's `Authorization` header once
//! and leaves the outcome (a [`RequestAuth`]) in the request extensions
//! for the extractors.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use auth_core::Auth;
use auth_http::RequestAuth;
use axum::extract::Request;
use axum::http::header;
use tower_layer::Layer;
use tower_service::Service;

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
            let outcome = RequestAuth::from_header(&auth, header.as_deref()).await;
            request.extensions_mut().insert(outcome);
            inner.call(request).await
        })
    }
}
