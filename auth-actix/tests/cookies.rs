//! The cookie transport of the JWTs, served by actix-web with the
//! `AuthMiddleware` on 127.0.0.1:0, driven by the same flow as auth-axum's
//! test.

#[path = "../../auth-axum/tests/cookie_flow/mod.rs"]
mod cookie_flow;
mod support;

use actix_web::{App, web};
use auth_actix::{Api, ApiOptions, AuthMiddleware, CurrentUser};
use support::Actix;

async fn whoami(user: CurrentUser) -> web::Json<String> {
    web::Json(user.username.clone())
}

/// Serves the contract's routes and `/whoami` behind
/// `AuthMiddleware::from_api`.
async fn app(options: ApiOptions) -> Actix {
    let api = Api::with_options(cookie_flow::service().await, options);
    support::serve(move || {
        App::new()
            .wrap(AuthMiddleware::from_api(&api))
            .route("/whoami", web::get().to(whoami))
            .route("/whoami", web::post().to(whoami))
            .configure(auth_actix::configure(api.clone()))
    })
}

#[tokio::test]
async fn cookie_transport_with_csrf() {
    let actix = app(cookie_flow::cookies_on()).await;
    cookie_flow::cookie_transport_flow(&actix.base).await;
    actix.stop().await;
}

#[tokio::test]
async fn cookie_transport_off_sets_and_reads_no_cookie() {
    let actix = app(ApiOptions::default()).await;
    cookie_flow::cookies_off(&actix.base).await;
    actix.stop().await;
}
