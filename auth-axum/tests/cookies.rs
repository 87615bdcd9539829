//! The cookie transport of the JWTs, served by the axum router with the
//! `AuthLayer` on 127.0.0.1:0 (the flow is in `cookie_flow`).

mod common;
mod cookie_flow;

use auth_axum::{Api, ApiOptions, AuthLayer, CurrentUser};
use axum::Router;
use axum::routing::get;
use common::serve;

/// The caller's username, as a JSON string.
async fn name(user: CurrentUser) -> String {
    serde_json::Value::String(user.username.clone()).to_string()
}

/// The contract's routes and `/whoami` behind `AuthLayer::from_api`.
async fn app(options: ApiOptions) -> String {
    let api = Api::with_options(cookie_flow::service().await, options);
    let whoami = get(name).post(name);
    let layer = AuthLayer::from_api(&api);
    let app = Router::new()
        .route("/whoami", whoami)
        .merge(auth_axum::router(api))
        .layer(layer);
    serve(app).await
}

#[tokio::test]
async fn cookie_transport_with_csrf() {
    cookie_flow::cookie_transport_flow(&app(cookie_flow::cookies_on()).await).await;
}

#[tokio::test]
async fn cookie_transport_off_sets_and_reads_no_cookie() {
    cookie_flow::cookies_off(&app(ApiOptions::default()).await).await;
}
