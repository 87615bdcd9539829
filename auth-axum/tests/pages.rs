//! The browser pages and the authorization endpoint, served by the axum
//! router on 127.0.0.1:0, and OpenID Connect on them (the flows are in
//! `pages_flow`).

mod applications_flow;
mod common;
mod pages_flow;

use auth_axum::Api;
use common::serve;

#[tokio::test]
async fn login_consent_code_and_token_over_http() {
    let (auth, client_id) = pages_flow::service().await;
    let base = serve(auth_axum::router(Api::new(auth))).await;
    pages_flow::login_consent_code_and_token(&base, &client_id).await;
}

#[tokio::test]
async fn applications_json_api_over_http() {
    let base = serve(auth_axum::router(Api::new(
        applications_flow::service().await,
    )))
    .await;
    applications_flow::applications_json_api(&base).await;
}

#[tokio::test]
async fn applications_pages_over_http() {
    let base = serve(auth_axum::router(Api::new(
        applications_flow::service().await,
    )))
    .await;
    applications_flow::applications_pages(&base).await;
}

#[tokio::test]
async fn openid_connect_over_http() {
    let (auth, client_id) = pages_flow::service().await;
    let base = serve(auth_axum::router(Api::new(auth))).await;
    pages_flow::openid_connect_flow(&base, &client_id).await;
}

#[tokio::test]
async fn token_endpoint_cors_over_http() {
    let base = serve(auth_axum::router(Api::new(
        applications_flow::service().await,
    )))
    .await;
    applications_flow::token_endpoint_cors(&base).await;
}
