//! The HTTP routes the demo serves: auth-http's `Api` mounted by the
//! framework adapter.

use auth_core::Auth;

/// Every route of API.md (under `/api`, plus `/healthz`) as an axum router.
pub(crate) fn axum_router(auth: Auth) -> axum::Router {
    auth_axum::router(auth_http::Api::with_options(
        auth,
        auth_http::ApiOptions::default(),
    ))
}

/// Every route of API.md on actix-web, with its auth middleware, on
/// `listener` (one worker per core; stopped through its handle).
pub(crate) async fn actix_server(
    auth: Auth,
    listener: std::net::TcpListener,
) -> std::io::Result<actix_web::dev::Server> {
    auth_actix::serve(
        auth_http::Api::with_options(auth, auth_http::ApiOptions::default()),
        listener,
    )
    .await
}
