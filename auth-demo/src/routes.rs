//! The HTTP routes the demo serves: auth-http's `Api` mounted by the
//! framework adapter, and `GET /metrics`.

use std::sync::OnceLock;

use auth_core::Auth;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

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
/// an axum router.
pub(crate) fn axum_router(auth: Auth) -> axum::Router {
    install_metrics();
    let metrics = axum::routing::get(|| async {
        let (status, body) = render_metrics();
        (
            axum::http::StatusCode::from_u16(status)
                .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
            [(axum::http::header::CONTENT_TYPE, PROMETHEUS_TEXT)],
            body,
        )
    });
    axum::Router::new()
        .route("/metrics", metrics)
        .merge(auth_axum::router(auth_http::Api::with_options(
            auth,
            auth_http::ApiOptions::default(),
        )))
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
/// middleware, on `listener` (one worker per core; stopped through its
/// handle).
pub(crate) async fn actix_server(
    auth: Auth,
    listener: std::net::TcpListener,
) -> std::io::Result<actix_web::dev::Server> {
    install_metrics();
    let api = auth_http::Api::with_options(auth, auth_http::ApiOptions::default());
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .wrap(auth_actix::AuthMiddleware::new(api.auth().clone()))
            .route("/metrics", actix_web::web::get().to(actix_metrics))
            .configure(auth_actix::configure(api.clone()))
    })
    .listen(listener)?
    .run();
    Ok(server)
}
