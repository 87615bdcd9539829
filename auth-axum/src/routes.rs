//! [`router`]: every enabled route of the contract, served by
//! [`auth_http::handle`].

use std::net::SocketAddr;

use auth_http::{Api, ApiRequest, ApiResponse, handle};
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, OriginalUri, Request, State};
use axum::http::{self, header};
use axum::response::Response;
use axum::routing::any;
use tracing::Instrument;

/// The contract's routes at their paths (`/api/auth/...`, `/api/users`,
/// `/api/openapi.json`, `/api/docs`, with `/api` the options'
/// [prefix](auth_http::ApiOptions::with_prefix), and `/healthz`), for the
/// groups enabled in the [`Api`]'s options, each with and without a
/// trailing slash.
///
/// The router takes any state `S`, so it merges into an application's
/// `Router<AppState>` before that application's `with_state`
/// (`Router::new().route(...).merge(router(api)).with_state(state)`).
/// Nested (`Router::nest("/svc", router(api))`), the routes answer under
/// `/svc` (`/svc/api/...`, `/svc/healthz`), and the pagination links and
/// the OpenAPI document carry `/svc` as well.
///
/// The client address is the peer's from [`ConnectInfo<SocketAddr>`] when
/// the server was started with
/// `into_make_service_with_connect_info::<SocketAddr>()` (subject to the
/// [`ClientAddressPolicy`](auth_http::ClientAddressPolicy)); without it
/// the first request logs a warning naming that fix, since per-address
/// rate limits cannot apply.
///
/// It also has a fallback answering any other path with the contract's 404
/// `{"detail": "Not found."}`. axum refuses to merge two routers that both
/// have a fallback: if your application has its own, merge [`routes`]
/// instead.
///
/// When the [`AuthLayer`](crate::AuthLayer) runs on the same requests, the
/// routes use its outcome instead of authenticating the header again (with
/// the [cookie transport](auth_http::CookieTransport) on, build it with
/// [`AuthLayer::from_api`](crate::AuthLayer::from_api) so your own handlers
/// see cookie users too).
///
/// To serve it alone on a random port (as the tests do):
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use auth_axum::{Api, router};
/// use auth_core::{Auth, config::AuthConfig};
/// let api = Api::new(Auth::in_memory(AuthConfig::default()));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?;
/// println!("listening on http://{addr}");
/// axum::serve(
///     listener,
///     router(api).into_make_service_with_connect_info::<std::net::SocketAddr>(),
/// )
/// .await
/// # }
/// ```
pub fn router<S>(api: Api) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    contract_routes(&api).fallback(serve).with_state(api)
}

/// The same routes as [`router`] without its fallback, for applications
/// that have their own: paths outside the contract are left to the
/// application.
pub fn routes<S>(api: Api) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    contract_routes(&api).with_state(api)
}

fn contract_routes(api: &Api) -> Router<Api> {
    let mut router = Router::new();
    for path in auth_http::route_paths(api.options()) {
        router = router.route(&path, any(serve));
    }
    router
}

/// Serves one request in its [`RequestTrace`](auth_http::RequestTrace)
/// span (the [`AuthLayer`](crate::AuthLayer)'s, or one of its own).
async fn serve(State(api): State<Api>, mut request: Request) -> Response {
    let (trace, owned) = crate::layer::request_trace(&mut request);
    let response = serve_in_span(api, request)
        .instrument(trace.span().clone())
        .await;
    if owned {
        trace.finish(response.status().as_u16());
    }
    response
}

async fn serve_in_span(api: Api, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok());
    if api.declares_body_too_large(declared) {
        return into_response(ApiResponse::body_too_large());
    }
    let body = match axum::body::to_bytes(body, api.options().body_limit).await {
        Ok(body) => body,
        Err(_) => return into_response(ApiResponse::body_too_large()),
    };
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    if peer.is_none() {
        api.warn_peer_unknown(
            "serve the router with `into_make_service_with_connect_info::<SocketAddr>()`",
        );
    }
    // Under `Router::nest`, the URI is what the nest left; the original
    // one's leading part is where the routes are mounted.
    let mount = parts
        .extensions
        .get::<OriginalUri>()
        .and_then(|OriginalUri(original)| original.path().strip_suffix(parts.uri.path()))
        .unwrap_or("");
    let request = ApiRequest::from_http(&api, &parts, &body, peer).with_mount(mount);
    into_response(handle(&api, request).await)
}

/// Converts an [`ApiResponse`] into an axum response, through its
/// conversion into an `http::Response<Vec<u8>>` (headers that are not
/// valid HTTP are left out and logged).
pub fn into_response(response: ApiResponse) -> Response {
    http::Response::<Vec<u8>>::from(response).map(Body::from)
}
