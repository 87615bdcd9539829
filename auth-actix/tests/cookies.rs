//! The cookie transport of the JWTs, served by actix-web with the
//! `AuthMiddleware` on 127.0.0.1:0, driven by the same flow as auth-axum's
//! test.

#[path = "../../auth-axum/tests/cookie_flow/mod.rs"]
mod cookie_flow;

use actix_web::{App, HttpServer, web};
use auth_actix::{Api, ApiOptions, AuthMiddleware, CurrentUser};

async fn whoami(user: CurrentUser) -> web::Json<String> {
    web::Json(user.username.clone())
}

/// Serves the contract's routes and `/whoami` behind
/// `AuthMiddleware::from_api`; returns the base URL and the server handle.
async fn app(options: ApiOptions) -> (String, actix_web::dev::ServerHandle) {
    let api = Api::with_options(cookie_flow::service().await, options);
    let server = HttpServer::new(move || {
        App::new()
            .wrap(AuthMiddleware::from_api(&api))
            .route("/whoami", web::get().to(whoami))
            .route("/whoami", web::post().to(whoami))
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
async fn cookie_transport_with_csrf() {
    let (base, handle) = app(cookie_flow::cookies_on()).await;
    cookie_flow::cookie_transport_flow(&base).await;
    handle.stop(true).await;
}

#[tokio::test]
async fn cookie_transport_off_sets_and_reads_no_cookie() {
    let (base, handle) = app(ApiOptions::default()).await;
    cookie_flow::cookies_off(&base).await;
    handle.stop(true).await;
}
