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
