//! axum adapter for `auth-core`: the ready-made routes of the HTTP
//! contract, a layer that authenticates each request once, and extractors.
//!
//! The routes themselves live in the framework-neutral `auth-http` crate
//! (re-exported here as [`http`]); this crate only converts axum requests
//! and responses, so axum and actix-web answer identically.
//!
//! Adding auth to your own axum application:
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use auth_axum::{Api, AuthLayer, CurrentUser};
//! use auth_core::{Auth, config::AuthConfig};
//!
//! async fn hello(user: CurrentUser) -> String {
//!     format!("Hello, {}!", user.username)
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let auth = Auth::in_memory(AuthConfig::default());
//! let app = Router::new()
//!     .route("/hello", get(hello))
//!     .merge(auth_axum::router(Api::new(auth.clone())))
//!     .layer(AuthLayer::new(auth));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
//! axum::serve(
//!     listener,
//!     app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
//! )
//! .await?;
//! # Ok(())
//! # }
//! ```

//! # Mounting
//!
//! - [`router`] and [`routes`] are a `Router<S>` for any state `S`: merge
//!   them into your `Router<AppState>` before its `with_state`.
//! - The routes sit under `/api` (and `/healthz` at the root); another
//!   prefix is [`ApiOptions::with_prefix`], and the pagination links and
//!   the OpenAPI document follow it:
//!
//! ```
//! use axum::Router;
//! use auth_axum::{Api, ApiOptions};
//! use auth_core::{Auth, config::AuthConfig};
//!
//! #[derive(Clone)]
//! struct AppState;
//!
//! # fn main() -> Result<(), auth_axum::http::PrefixError> {
//! let auth = Auth::in_memory(AuthConfig::default());
//! let api = Api::with_options(auth, ApiOptions::default().with_prefix("/v1")?);
//! // /v1/auth/..., /v1/users, /v1/openapi.json, /v1/docs and /healthz.
//! let app: Router = Router::<AppState>::new()
//!     .merge(auth_axum::router(api))
//!     .with_state(AppState);
//! # Ok(())
//! # }
//! ```
//!
//! - Under `Router::nest("/svc", router(api))` the routes answer at
//!   `/svc/api/...` and `/svc/healthz`, and the links and the document
//!   carry `/svc` too (the document names it as its server).
//! - axum merges one fallback only: [`router`] has one (the contract's
//!   404 for any other path); if your app has its own, merge [`routes`].
//! - Serve with `into_make_service_with_connect_info::<SocketAddr>()` so
//!   that per-address rate limits know the client.

mod extract;
mod layer;
mod routes;

pub use auth_http as http;
pub use auth_http::RequestAuth;
pub use auth_http::RequiredScope;
pub use auth_http::{
    Api, ApiOptions, ClientAddressPolicy, CookieTransport, IpNetwork, RouteGroups, SameSite,
};
pub use extract::{AuthRejection, CurrentUser, MaybeUser, ScopedUser, StaffUser};
pub use layer::{AuthLayer, AuthService};
pub use routes::{into_response, router, routes};
