//! [`configure`]: every enabled route of the contract, served by
//! [`auth_http::handle`]; [`serve`]: a ready-made server of them.

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{ConnectionType, StatusCode};
use actix_web::{App, HttpMessage, HttpRequest, HttpResponse, HttpServer, web};
use auth_http::{Api, ApiRequest, ApiResponse, RequestAuth, handle};
use tracing::Instrument;

use crate::AuthMiddleware;

/// The contract's routes at their paths (`/api/auth/...`, `/api/users`,
/// `/api/openapi.json`, `/api/docs`, with `/api` the options'
/// [prefix](auth_http::ApiOptions::with_prefix), and `/healthz`), for the
/// groups enabled in the [`Api`]'s options, each with and without a
/// trailing slash, plus a default service answering any other path with
/// the contract's 404 `{"detail": "Not found."}`, and the [`Auth`] as
/// `web::Data<Auth>`: pass it to [`App::configure`] or
/// [`Scope::configure`].
///
/// Inside a scope the paths sit under the scope's path: with
/// `web::scope("/v1").configure(configure(api))`, the routes answer at
/// `/v1/api/auth/...`, the default service takes every other path under
/// `/v1`, and the `web::Data<Auth>` is the scope's (the handlers of that
/// scope may take it; register it with `App::app_data` too for handlers
/// outside the scope).
///
/// Bodies are read up to [`ApiOptions::body_limit`] (a larger one is a 413
/// `{"detail": "Request body is too large."}`, whatever actix-web's own
/// `PayloadConfig` says); the client address is
/// [`HttpRequest::peer_addr`] (subject to the
/// [`ClientAddressPolicy`](auth_http::ClientAddressPolicy)). When the
/// [`AuthMiddleware`] wraps the app, the routes use its outcome instead of
/// authenticating the header again (with the
/// [cookie transport](auth_http::CookieTransport) on, build it with
/// [`AuthMiddleware::from_api`] so your own handlers see cookie users too).
///
/// An app or scope has one default service: if yours has its own, use
/// [`routes`] instead.
///
/// ```
/// use actix_web::{App, web};
/// use auth_actix::{Api, AuthMiddleware, configure};
/// use auth_core::{Auth, config::AuthConfig};
///
/// // A handler of your own, reading the `web::Data<Auth>` that
/// // `configure` registered.
/// async fn ready(auth: web::Data<Auth>) -> &'static str {
///     if auth.health().await.is_ok() { "ready" } else { "stores down" }
/// }
///
/// let auth = Auth::in_memory(AuthConfig::default());
/// let app = App::new()
///     .wrap(AuthMiddleware::new(auth.clone()))
///     .service(
///         web::scope("/v1")
///             .configure(configure(Api::new(auth)))
///             .route("/ready", web::get().to(ready)),
///     );
/// ```
///
/// [`ApiOptions::body_limit`]: auth_http::ApiOptions::body_limit
/// [`Auth`]: auth_core::Auth
/// [`Scope::configure`]: actix_web::Scope::configure
pub fn configure(api: Api) -> impl FnOnce(&mut web::ServiceConfig) {
    move |config| {
        let fallback = api.clone();
        routes(api)(config);
        config.default_service(web::to(move |request: HttpRequest, payload| {
            // What the app or scope has not matched yet: the path under it.
            let depth = slashes(request.match_info().unprocessed());
            serve_one(fallback.clone(), depth, request, payload)
        }));
    }
}

/// The same routes as [`configure`] without its default service, for
/// applications that have their own: paths outside the contract are left
/// to the application. It registers the `web::Data<Auth>` too.
pub fn routes(api: Api) -> impl FnOnce(&mut web::ServiceConfig) {
    move |config| {
        config.app_data(web::Data::new(api.auth().clone()));
        for path in auth_http::route_paths(api.options()) {
            let api = api.clone();
            let depth = slashes(&path);
            config.route(
                &path,
                web::route()
                    .to(move |request, payload| serve_one(api.clone(), depth, request, payload)),
            );
        }
    }
}

/// How many `/` a path holds: its number of segments.
fn slashes(path: &str) -> usize {
    path.bytes().filter(|&b| b == b'/').count()
}

/// The last `depth` segments of `path` (from the `depth`-th `/` counted
/// from the end): the part of the request's path that a route registered
/// with `depth` slashes matched, inside whatever scopes hold it. A route's
/// parameters match one segment each and the request's path keeps `%2F`
/// encoded, so the count is the same on both sides.
fn tail(path: &str, depth: usize) -> &str {
    if depth == 0 {
        return "";
    }
    path.char_indices()
        .rev()
        .filter(|&(_, c)| c == '/')
        .nth(depth - 1)
        .map_or(path, |(i, _)| &path[i..])
}

/// An actix-web server of the contract's routes ([`configure`]) under the
/// [`AuthMiddleware`], on a listener that is already bound, e.g. to
/// `127.0.0.1:0`. It runs once awaited (or spawned) in a Tokio runtime,
/// with one worker per core; stop it with `server.handle().stop(true)`.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use auth_actix::{Api, serve};
/// use auth_core::{Auth, config::AuthConfig};
/// let api = Api::new(Auth::in_memory(AuthConfig::default()));
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// println!("listening on http://{}", listener.local_addr()?);
/// serve(api, listener).await?.await
/// # }
/// ```
pub async fn serve(
    api: Api,
    listener: std::net::TcpListener,
) -> std::io::Result<actix_web::dev::Server> {
    let server = HttpServer::new(move || {
        App::new()
            .wrap(AuthMiddleware::new(api.auth().clone()))
            .configure(configure(api.clone()))
    })
    .listen(listener)?
    .run();
    Ok(server)
}

/// Answers one request through [`handle`] in its
/// [`RequestTrace`](auth_http::RequestTrace) span (the
/// [`AuthMiddleware`]'s, or one of its own); `depth`: how many segments of
/// its path lie under the point where the routes are mounted.
async fn serve_one(
    api: Api,
    depth: usize,
    request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let (trace, owned) = crate::middleware::request_trace(&request);
    let response = serve_in_span(api, depth, request, payload)
        .instrument(trace.span().clone())
        .await;
    if owned {
        trace.finish(response.status().as_u16());
    }
    response
}

async fn serve_in_span(
    api: Api,
    depth: usize,
    request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok());
    if api.declares_body_too_large(declared) {
        return into_response(ApiResponse::body_too_large());
    }
    let body = match payload.to_bytes_limited(api.options().body_limit).await {
        Ok(Ok(body)) => body,
        // Over the limit, or the connection broke mid-body (as auth-axum).
        Ok(Err(_)) | Err(_) => return into_response(ApiResponse::body_too_large()),
    };
    let headers = request
        .headers()
        .iter()
        .filter_map(|(name, value)| value.to_str().ok().map(|v| (name.as_str(), v)))
        .collect();
    let outcome = request.extensions().get::<RequestAuth>().cloned();
    let peer = request.peer_addr().map(|addr| addr.ip());
    if peer.is_none() {
        api.warn_peer_unknown("serve over TCP so that `HttpRequest::peer_addr` is known");
    }
    let path = request.path();
    let relative = tail(path, depth);
    let mount = &path[..path.len() - relative.len()];
    let api_request = ApiRequest::from_parts(
        &api,
        request.method().as_str(),
        relative,
        Some(request.query_string()),
        headers,
        &body,
        peer,
    )
    .with_mount(mount)
    .with_request_auth(outcome.as_ref());
    into_response(handle(&api, api_request).await)
}

/// Converts an [`ApiResponse`] into an actix-web response with its status,
/// headers and body (headers that are not valid HTTP are dropped).
pub fn into_response(response: ApiResponse) -> HttpResponse {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut out = HttpResponse::with_body(status, response.body);
    for (name, value) in response.headers {
        if name.eq_ignore_ascii_case("connection") {
            // actix-web writes this header itself from the connection type.
            if value.eq_ignore_ascii_case("close") {
                out.head_mut().set_connection_type(ConnectionType::Close);
            }
            continue;
        }
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            out.headers_mut().append(name, value);
        }
    }
    out.map_into_boxed_body()
}
