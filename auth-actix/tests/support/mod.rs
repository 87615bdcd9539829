//! What the actix-web test binaries share: a real server on 127.0.0.1:0,
//! and auth-axum's, to compare answers with.

#![allow(dead_code)] // Each test binary uses its own part.

use actix_web::body::MessageBody;
use actix_web::dev::{ServerHandle, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, HttpServer};
use auth_core::Auth;

#[path = "../../../auth-axum/tests/common/mod.rs"]
mod axum_common;

/// A running actix-web server: its base URL, stopped by [`Actix::stop`].
pub(crate) struct Actix {
    pub(crate) base: String,
    handle: ServerHandle,
}

impl Actix {
    /// Stops the server gracefully.
    pub(crate) async fn stop(self) {
        self.handle.stop(true).await;
    }
}

/// Serves the apps `app` makes with one worker on 127.0.0.1:0.
pub(crate) fn serve<F, T, B>(app: F) -> Actix
where
    F: Fn() -> App<T> + Send + Clone + 'static,
    T: ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
    B: MessageBody + 'static,
{
    let server = HttpServer::new(app)
        .workers(1)
        .bind(("127.0.0.1", 0))
        .expect("bind");
    let base = format!("http://{}", server.addrs()[0]);
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    Actix { base, handle }
}

/// Serves an axum app under auth-axum's layer on a random port; returns
/// its base URL.
pub(crate) async fn serve_axum_app(app: axum::Router, auth: &Auth) -> String {
    axum_common::serve(app.layer(auth_axum::AuthLayer::new(auth.clone()))).await
}

/// Serves auth-axum's router (under its layer) on a random port; returns
/// its base URL.
pub(crate) async fn serve_axum(api: auth_actix::Api) -> String {
    serve_axum_app(auth_axum::router(api.clone()), api.auth()).await
}
