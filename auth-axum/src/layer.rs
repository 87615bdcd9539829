//! [`AuthLayer`]: authenticates each request's `Authorization` header once
//! and leaves the outcome (a [`RequestAuth`]) in the request extensions
//! for the extractors, inside the request's span; [`request_trace`]: that
//! span, shared with the contract's routes.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use auth_core::Auth;
use auth_http::{Api, CookieTransport, RequestAuth, RequestCredentials, RequestTrace};
use axum::extract::{MatchedPath, Request};
use axum::http::Response;
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
    cookies: Option<Arc<CookieTransport>>,
}

impl AuthLayer {
    /// A layer over this service, reading the `Authorization` header only.
    pub fn new(auth: Auth) -> Self {
        Self {
            auth,
            cookies: None,
        }
    }

    /// A layer over the API's service that also reads the access cookie
    /// when the API's options turn the
    /// [cookie transport](auth_http::CookieTransport) on, as the API's
    /// routes do (with its CSRF check).
    pub fn from_api(api: &Api) -> Self {
        Self {
            auth: api.auth().clone(),
            cookies: api.options().cookie_transport.clone().map(Arc::new),
        }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            auth: self.auth.clone(),
            cookies: self.cookies.clone(),
            inner,
        }
    }
}

/// The service [`AuthLayer`] wraps around the inner one.
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    auth: Auth,
    cookies: Option<Arc<CookieTransport>>,
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
        let cookies = self.cookies.clone();
        let (trace, owned) = request_trace(&mut request);
        let span = trace.span().clone();
        let served = async move {
            let credentials =
                RequestCredentials::from_http(request.method().as_str(), request.headers());
            let outcome = RequestAuth::from_request(&auth, cookies.as_deref(), &credentials).await;
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
