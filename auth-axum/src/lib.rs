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

mod extract;
mod layer;
mod routes;

pub use auth_http as http;
pub use auth_http::RequestAuth;
pub use auth_http::{Api, ApiOptions, ClientAddressPolicy, RouteGroups};
pub use extract::{AuthRejection, CurrentUser, MaybeUser, StaffUser};
pub use layer::{AuthLayer, AuthService};
pub use routes::{into_response, router, routes};
