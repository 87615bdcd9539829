//! The HTTP routes the demo serves: auth-http's `Api` mounted by the
//! framework adapter, and `GET /metrics`.

use std::sync::OnceLock;

use auth_core::Auth;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::DemoError;
use crate::web::{
    CORS_ALLOWED_HEADERS, CORS_ALLOWED_METHODS, CORS_EXPOSED_HEADERS, CORS_MAX_AGE, CorsOrigins,
    WebSettings,
};

/// The content type of the Prometheus text format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The process's Prometheus recorder, installed on first use (the
/// `metrics` facade takes one global recorder); `None` when another
/// recorder was installed first.
fn prometheus() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(handle) => Some(handle),
            Err(err) => {
                tracing::warn!(error = %err, "metrics: another recorder is installed; /metrics is off");
                None
            }
        })
        .as_ref()
}

/// Installs the Prometheus recorder (if not yet), so that what happens
/// from now on is counted.
pub(crate) fn install_metrics() {
    let _ = prometheus();
}

/// `GET /metrics`: the status and body (Prometheus text, or 404 when no
/// recorder of ours is installed).
fn render_metrics() -> (u16, String) {
    match prometheus() {
        Some(handle) => {
            handle.run_upkeep();
            (200, handle.render())
        }
        None => (404, String::new()),
    }
}

/// Every route of API.md (under `/api`, plus `/healthz` and `/metrics`) as
/// an axum router, behind the auth layer and, with origins set, CORS.
pub(crate) fn axum_router(auth: Auth, web: &WebSettings) -> Result<axum::Router, DemoError> {
    install_metrics();
    let api = auth_http::Api::with_options(auth, web.api_options()?);
    let metrics = axum::routing::get(|| async {
        let (status, body) = render_metrics();
        (
            axum::http::StatusCode::from_u16(status)
                .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
            [(axum::http::header::CONTENT_TYPE, PROMETHEUS_TEXT)],
            body,
        )
    });
    let layer = auth_axum::AuthLayer::from_api(&api);
    let mut router = axum::Router::new()
        .route("/metrics", metrics)
        .merge(auth_axum::router(api))
        .layer(layer);
    if let Some(origins) = &web.cors_origins {
        router = router.layer(axum_cors(origins)?);
    }
    Ok(router)
}

/// tower-http's CORS layer for these origins, with credentials.
fn axum_cors(origins: &CorsOrigins) -> Result<tower_http::cors::CorsLayer, DemoError> {
    use axum::http::{HeaderName, HeaderValue, Method};
    use tower_http::cors::{AllowCredentials, AllowOrigin, CorsLayer};
    let invalid = |what: &str| DemoError::Settings(format!("--cors-origin: {what:?} is not valid"));
    let origins = origins
        .as_slice()
        .iter()
        .map(|o| HeaderValue::from_str(o).map_err(|_| invalid(o)))
        .collect::<Result<Vec<_>, _>>()?;
    let methods = CORS_ALLOWED_METHODS
        .iter()
        .map(|m| Method::from_bytes(m.as_bytes()).map_err(|_| invalid(m)))
        .collect::<Result<Vec<_>, _>>()?;
    let headers = CORS_ALLOWED_HEADERS.map(HeaderName::from_static);
    // Credentials are allowed to the listed origins only: another origin
    // gets no CORS header at all.
    let listed = origins.clone();
    let credentials =
        AllowCredentials::predicate(move |origin, _| listed.iter().any(|o| o == origin));
    Ok(CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_credentials(credentials)
        .allow_methods(methods)
        .allow_headers(headers)
        .expose_headers(CORS_EXPOSED_HEADERS.map(HeaderName::from_static))
        .max_age(std::time::Duration::from_secs(CORS_MAX_AGE.into())))
}

/// actix-cors for these origins (none: a CORS middleware that is off).
fn actix_cors(origins: Option<&CorsOrigins>) -> actix_web::middleware::Condition<actix_cors::Cors> {
    let mut cors = actix_cors::Cors::default()
        .allowed_methods(CORS_ALLOWED_METHODS)
        .allowed_headers(CORS_ALLOWED_HEADERS)
        .expose_headers(CORS_EXPOSED_HEADERS)
        .supports_credentials()
        .max_age(Some(CORS_MAX_AGE as usize));
    for origin in origins.map(CorsOrigins::as_slice).unwrap_or_default() {
        cors = cors.allowed_origin(origin);
    }
    actix_web::middleware::Condition::new(origins.is_some(), cors)
}

/// `GET /metrics` on actix-web.
async fn actix_metrics() -> actix_web::HttpResponse {
    let (status, body) = render_metrics();
    actix_web::HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status)
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR),
    )
    .content_type(PROMETHEUS_TEXT)
    .body(body)
}

/// Every route of API.md and `/metrics` on actix-web, with its auth
/// middleware and, with origins set, CORS, on `listener` (one worker per
/// core; stopped through its handle).
pub(crate) async fn actix_server(
    auth: Auth,
    web: &WebSettings,
    listener: std::net::TcpListener,
) -> Result<actix_web::dev::Server, DemoError> {
    install_metrics();
    let api = auth_http::Api::with_options(auth, web.api_options()?);
    let origins = web.cors_origins.clone();
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .wrap(auth_actix::AuthMiddleware::from_api(&api))
            .wrap(actix_cors(origins.as_ref()))
            .route("/metrics", actix_web::web::get().to(actix_metrics))
            .configure(auth_actix::configure(api.clone()))
    })
    .listen(listener)
    .map_err(|err| DemoError::io("starting actix-web", err))?
    .run();
    Ok(server)
}
