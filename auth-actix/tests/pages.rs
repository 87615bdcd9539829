//! The browser pages and the authorization endpoint, served by actix-web
//! on 127.0.0.1:0, driven by the same flow as auth-axum's test.

#[path = "../../auth-axum/tests/applications_flow/mod.rs"]
mod applications_flow;
#[path = "../../auth-axum/tests/pages_flow/mod.rs"]
mod pages_flow;
mod support;

use actix_web::App;
use auth_actix::{Api, AuthMiddleware};
use auth_core::Auth;
use support::Actix;

/// Serves `auth` with actix-web on 127.0.0.1:0.
fn serve(auth: Auth) -> Actix {
    let api = Api::new(auth.clone());
    support::serve(move || {
        App::new()
            .wrap(AuthMiddleware::new(auth.clone()))
            .configure(auth_actix::configure(api.clone()))
    })
}

#[tokio::test]
async fn login_consent_code_and_token_over_http() {
    let (auth, client_id) = pages_flow::service().await;
    let actix = serve(auth);
    pages_flow::login_consent_code_and_token(&actix.base, &client_id).await;
    actix.stop().await;
}

#[tokio::test]
async fn applications_json_api_over_http() {
    let actix = serve(applications_flow::service().await);
    applications_flow::applications_json_api(&actix.base).await;
    actix.stop().await;
}

#[tokio::test]
async fn applications_pages_over_http() {
    let actix = serve(applications_flow::service().await);
    applications_flow::applications_pages(&actix.base).await;
    actix.stop().await;
}

#[tokio::test]
async fn openid_connect_over_http() {
    let (auth, client_id) = pages_flow::service().await;
    let actix = serve(auth);
    pages_flow::openid_connect_flow(&actix.base, &client_id).await;
    actix.stop().await;
}

#[tokio::test]
async fn token_endpoint_cors_over_http() {
    let actix = serve(applications_flow::service().await);
    applications_flow::token_endpoint_cors(&actix.base).await;
    actix.stop().await;
}
