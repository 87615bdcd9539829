//! The HTTP routes the demo serves: auth-http's [`Api`] mounted by the
//! framework adapter.
//!
//! MERGE NOTE (auth-http): this branch was written before the auth-http
//! crate existed. Once it is in the workspace:
//! 1. add `auth-http.workspace = true` to auth-demo/Cargo.toml,
//! 2. delete `build.rs`, the stand-in below and the `cfg` attributes here,
//!    and make [`FULL_API`] `true`.
//!
//! [`Api`]: https://docs.rs/auth-http

use auth_core::Auth;

/// Whether this build serves every route of API.md. `false` only before
/// auth-http is merged: the stand-in then serves `/healthz` alone, and the
/// end-to-end suite says it is skipping.
pub const FULL_API: bool = cfg!(auth_demo_full_api);

/// Every route of API.md (under `/api`, plus `/healthz`) as an axum router.
#[cfg(auth_demo_full_api)]
pub(crate) fn axum_router(auth: Auth) -> axum::Router {
    auth_axum::router(auth_http::Api::new(auth, auth_http::ApiOptions::default()))
}

/// The stand-in until auth-http is merged: `/healthz` and a JSON 404.
#[cfg(not(auth_demo_full_api))]
pub(crate) fn axum_router(auth: Auth) -> axum::Router {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;

    fn json(status: StatusCode, body: &'static str) -> axum::response::Response {
        (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
    }

    axum::Router::new()
        .route(
            "/healthz",
            axum::routing::get(move || {
                let auth = auth.clone();
                async move {
                    match auth.health().await {
                        Ok(()) => json(StatusCode::OK, r#"{"status": "ok"}"#),
                        Err(_) => json(
                            StatusCode::SERVICE_UNAVAILABLE,
                            r#"{"detail": "Service temporarily unavailable."}"#,
                        ),
                    }
                }
            }),
        )
        .fallback(|| async { json(StatusCode::NOT_FOUND, r#"{"detail": "Not found."}"#) })
}
