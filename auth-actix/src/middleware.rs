//! [`AuthMiddleware`]: authenticates each request's `Authorization` header
//! once and leaves the outcome (a [`RequestAuth`]) in the request
//! extensions for the extractors and the contract's routes.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest};
use auth_core::Auth;
use auth_http::{Api, CookieTransport, RequestAuth, RequestCredentials, RequestTrace};
use tracing::Instrument;

/// An actix-web middleware that authenticates every request with
/// [`Auth::authenticate_header`] (JWT, Knox or static token, as
/// configured) before the handler runs. Use the [`CurrentUser`],
/// [`MaybeUser`] and [`StaffUser`] extractors in handlers; the routes of
/// [`configure`](crate::configure) reuse its outcome instead of
/// authenticating a second time.
///
/// Each request runs in a [`RequestTrace`] span (method, route pattern,
/// status, latency, user id and credential kind; never a token) and ends
/// with an access line at `INFO` (target [`auth_http::ACCESS_TARGET`]).
///
/// ```
/// use actix_web::App;
/// use auth_actix::AuthMiddleware;
/// use auth_core::{Auth, config::AuthConfig};
/// let auth = Auth::in_memory(AuthConfig::default());
/// let app = App::new().wrap(AuthMiddleware::new(auth));
/// ```
///
/// [`CurrentUser`]: crate::CurrentUser
/// [`MaybeUser`]: crate::MaybeUser
/// [`StaffUser`]: crate::StaffUser
#[derive(Debug, Clone)]
pub struct AuthMiddleware {
    auth: Auth,
    cookies: Option<Arc<CookieTransport>>,
}

impl AuthMiddleware {
    /// A middleware over this service, reading the `Authorization` header
    /// only.
    pub fn new(auth: Auth) -> Self {
        Self {
            auth,
            cookies: None,
        }
    }

    /// A middleware over the API's service that also reads the access
    /// cookie when the API's options turn the
    /// [cookie transport](auth_http::CookieTransport) on, as the API's
    /// routes do (with its CSRF check).
    pub fn from_api(api: &Api) -> Self {
        Self {
            auth: api.auth().clone(),
            cookies: api.options().cookie_transport.clone().map(Arc::new),
        }
    }
}

impl<S, B> Transform<S, ServiceRequest> for AuthMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = AuthMiddlewareService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(AuthMiddlewareService {
            auth: self.auth.clone(),
            cookies: self.cookies.clone(),
            service: Rc::new(service),
        }))
    }
}

/// The service [`AuthMiddleware`] wraps around the inner one.
#[derive(Debug)]
pub struct AuthMiddlewareService<S> {
    auth: Auth,
    cookies: Option<Arc<CookieTransport>>,
    service: Rc<S>,
}

impl<S, B> Service<ServiceRequest> for AuthMiddlewareService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<ServiceResponse<B>, actix_web::Error>>>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let auth = self.auth.clone();
        let cookies = self.cookies.clone();
        let (trace, owned) = request_trace(request.request());
        let span = trace.span().clone();
        let served = async move {
            let headers = request.headers();
            let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
            let credentials = RequestCredentials {
                method: request.method().as_str(),
                authorization: text(header::AUTHORIZATION.as_str()),
                cookies: headers
                    .get_all(header::COOKIE)
                    .filter_map(|v| v.to_str().ok())
                    .collect(),
                csrf_token: text(auth_http::CSRF_HEADER),
            };
            let outcome = RequestAuth::from_request(&auth, cookies.as_deref(), &credentials).await;
            request.extensions_mut().insert(outcome);
            let response = service.call(request).await?;
            if owned {
                trace.finish(response.status().as_u16());
            }
            Ok(response)
        };
        Box::pin(served.instrument(span))
    }
}

/// The request's [`RequestTrace`]: the one an outer middleware left in its
/// extensions (then `false`: that middleware finishes it), or a new one,
/// left there for what runs inside (then `true`: the caller finishes it).
pub(crate) fn request_trace(request: &HttpRequest) -> (RequestTrace, bool) {
    if let Some(trace) = request.extensions().get::<RequestTrace>() {
        return (trace.clone(), false);
    }
    let route = request.match_pattern();
    let trace = RequestTrace::begin(request.method().as_str(), route.as_deref());
    request.extensions_mut().insert(trace.clone());
    (trace, true)
}
