//! [`router`]: every enabled route of the contract, served by
//! [`auth_http::handle`].

use std::net::SocketAddr;

use auth_http::{Api, ApiRequest, ApiResponse, handle};
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::any;

/// The contract's routes at their paths (`/api/auth/...`, `/api/users`,
/// `/api/openapi.json`, `/api/docs`, `/healthz`), for the groups enabled in
/// the [`Api`]'s options, each with and without a trailing slash.
///
/// Merge it into your application (`app.merge(router(api))`), or nest it.
/// The client address is the peer's from [`ConnectInfo<SocketAddr>`] when
/// the server was started with
/// `into_make_service_with_connect_info::<SocketAddr>()` (subject to the
/// [`ClientAddressPolicy`](auth_http::ClientAddressPolicy)).
pub fn router(api: Api) -> Router {
    let mut router = Router::new();
    for path in auth_http::route_paths(api.options().groups) {
        router = router.route(&path, any(serve));
    }
    router.with_state(api)
}

async fn serve(State(api): State<Api>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let limit = api.options().body_limit;
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return into_response(ApiResponse::body_too_large());
    }
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(body) => body,
        Err(_) => return into_response(ApiResponse::body_too_large()),
    };
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let headers = parts
        .headers
        .iter()
        .filter_map(|(name, value)| value.to_str().ok().map(|v| (name.as_str(), v)))
        .collect();
    let request = ApiRequest::from_parts(
        &api,
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query(),
        headers,
        &body,
        peer,
    );
    into_response(handle(&api, request).await)
}

/// Converts an [`ApiResponse`] into an axum response (headers that are not
/// valid HTTP are dropped).
pub fn into_response(response: ApiResponse) -> Response {
    let mut out = Response::new(Body::from(response.body));
    *out.status_mut() =
        StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in response.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            out.headers_mut().append(name, value);
        }
    }
    out
}
