//! The browser pages and the authorization endpoint, served by actix-web
//! on 127.0.0.1:0, driven by the same flow as auth-axum's test.

#[path = "../../auth-axum/tests/applications_flow/mod.rs"]
mod applications_flow;
#[path = "../../auth-axum/tests/pages_flow/mod.rs"]
mod pages_flow;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer};
use auth_actix::{Api, AuthMiddleware};
use auth_core::Auth;

/// Serves `auth` with actix-web on 127.0.0.1:0: the base URL and the
/// server's handle.
fn serve(auth: Auth) -> (String, ServerHandle) {
    let api = Api::new(auth.clone());
    let server = HttpServer::new(move || {
        App::new()
            .wrap(AuthMiddleware::new(auth.clone()))
            .configure(auth_actix::configure(api.clone()))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .expect("bind");
    let base = format!("http://{}", server.addrs()[0]);
    let running = server.run();
    let handle = running.handle();
    tokio::spawn(running);
    (base, handle)
}

#[tokio::test]
async fn login_consent_code_and_token_over_http() {
    let (auth, client_id) = pages_flow::service().await;
    let (base, handle) = serve(auth);
    pages_flow::login_consent_code_and_token(&base, &client_id).await;
    handle.stop(true).await;
}

#[tokio::test]
async fn applications_json_api_over_http() {
    let (base, handle) = serve(applications_flow::service().await);
    applications_flow::applications_json_api(&base).await;
    handle.stop(true).await;
}

#[tokio::test]
async fn applications_pages_over_http() {
    let (base, handle) = serve(applications_flow::service().await);
    applications_flow::applications_pages(&base).await;
    handle.stop(true).await;
}

#[tokio::test]
async fn openid_connect_over_http() {
    let (auth, client_id) = pages_flow::service().await;
    let (base, handle) = serve(auth);
    pages_flow::openid_connect_flow(&base, &client_id).await;
    handle.stop(true).await;
}

#[tokio::test]
async fn token_endpoint_cors_over_http() {
    let (base, handle) = serve(applications_flow::service().await);
    applications_flow::token_endpoint_cors(&base).await;
    handle.stop(true).await;
}
