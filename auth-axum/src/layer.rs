//! [`AuthLayer`]: authenticates each request's `Authorization` header once
//! and leaves the outcome (a [`RequestAuth`]) in the request extensions
//! for the extractors, inside the request's span; [`request_trace`]: that
//! span, shared with the contract's routes.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use auth_core::Auth;
use auth_http::{RequestAuth, RequestTrace};
use axum::extract::{MatchedPath, Request};
use axum::http::{Response, header};
use tower_layer::Layer;
use tower_service::Service;
use tracing::Instrument;

/// A tower layer that authenticates every request with
/// [`Auth::authenticate_header`] (JWT, Knox or static token, as
/// configured) before the handler runs. Use the [`CurrentUser`],
/// [`MaybeUser`] and [`StaffUser`] extractors in handlers.
///
/// Each request runs in a [`RequestTrace`] span (method, route pattern,
/// status, latency, user id and credential kind; never a token) and ends
/// with an access line at `INFO` (target [`auth_http::ACCESS_TARGET`]).
/// Added with `Router::layer`, the route is axum's [`MatchedPath`].
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

impl<S, B> Service<Request> for AuthService<S>
where
    S: Service<Request, Response = Response<B>> + Clone + Send + 'static,
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
        let (trace, owned) = request_trace(&mut request);
        let span = trace.span().clone();
        let served = async move {
            let header = request
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let outcome = RequestAuth::from_header(&auth, header.as_deref()).await;
            request.extensions_mut().insert(outcome);
            let response = inner.call(request).await?;
            if owned {
                trace.finish(response.status().as_u16());
            }
            Ok(response)
        };
        Box::pin(served.instrument(span))
    }
}

/// The request's [`RequestTrace`]: the one an outer layer left in its
/// extensions (then `false`: that layer finishes it), or a new one, left
/// there for the layers inside (then `true`: the caller finishes it).
pub(crate) fn request_trace(request: &mut Request) -> (RequestTrace, bool) {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    if let Some(trace) = request.extensions().get::<RequestTrace>() {
        if let Some(route) = route {
            trace.record_route(route);
        }
        return (trace.clone(), false);
    }
    let trace = RequestTrace::begin(request.method().as_str(), route);
    request.extensions_mut().insert(trace.clone());
    (trace, true)
}
