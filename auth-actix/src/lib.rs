//! actix-web adapter for `auth-core`: the ready-made routes of the HTTP
//! contract, a middleware that authenticates each request once, and
//! extractors.
//!
//! The routes themselves live in the framework-neutral `auth-http` crate
//! (re-exported here as [`http`]); this crate only converts actix-web
//! requests and responses, so actix-web and axum answer byte for byte
//! alike: the same statuses, headers and bodies, the same OpenAPI document
//! and the same offline Swagger UI.
//!
//! Adding auth to your own actix-web application (see also the crate's
//! `README.md`):
//!
//! ```no_run
//! use actix_web::{App, HttpServer, web};
//! use auth_actix::{Api, AuthMiddleware, CurrentUser};
//! use auth_core::{Auth, config::AuthConfig};
//!
//! async fn hello(user: CurrentUser) -> String {
//!     format!("Hello, {}!", user.username)
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let auth = Auth::in_memory(AuthConfig::default());
//! let api = Api::new(auth.clone());
//! HttpServer::new(move || {
//!     App::new()
//!         .wrap(AuthMiddleware::new(auth.clone()))
//!         .route("/hello", web::get().to(hello))
//!         .configure(auth_actix::configure(api.clone()))
//! })
//! .bind(("127.0.0.1", 8000))?
//! .run()
//! .await
//! # }
//! ```
//!
//! - [`configure`] mounts every route of the contract but OAuth2's
//!   authorization endpoint and pages, which are not built yet (each
//!   group can be turned off through [`ApiOptions`]' [`RouteGroups`]), a
//!   JSON 404 for any other path and the `web::Data<Auth>` your handlers
//!   may take; [`routes`] leaves other paths to you.
//! - [`AuthMiddleware`] authenticates the `Authorization` header once per
//!   request; [`CurrentUser`], [`MaybeUser`] and [`StaffUser`] read its
//!   outcome and refuse with an [`AuthRejection`].
//! - [`serve`] is a ready-made server of all of it on a bound listener.
//!
//! # Mounting
//!
//! - On the `App` (`App::new().configure(configure(api))`), the routes sit
//!   under `/api`, with `/healthz` at the root.
//! - Inside a scope (`web::scope("/v1").configure(configure(api))`), they
//!   sit under the scope's path (`/v1/api/...`, `/v1/healthz`), the 404
//!   covers the scope's other paths, and the pagination links and the
//!   OpenAPI document carry the scope's path (the document names it as its
//!   server). The `web::Data<Auth>` is then the scope's.
//! - [`ApiOptions::with_prefix`] replaces `/api` (`""` puts the routes at
//!   the root of the app or scope); the links and the document follow it.
//!
//! ```
//! use actix_web::{App, web};
//! use auth_actix::{Api, ApiOptions, AuthMiddleware, configure};
//! use auth_core::{Auth, config::AuthConfig};
//!
//! # fn main() -> Result<(), auth_actix::http::PrefixError> {
//! let auth = Auth::in_memory(AuthConfig::default());
//! let api = Api::with_options(auth.clone(), ApiOptions::default().with_prefix("/auth-api")?);
//! // /v1/auth-api/auth/..., /v1/auth-api/users, /v1/auth-api/docs and /v1/healthz.
//! let app = App::new()
//!     .wrap(AuthMiddleware::new(auth))
//!     .service(web::scope("/v1").configure(configure(api)));
//! # Ok(())
//! # }
//! ```

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod extract;
mod middleware;
mod routes;

pub use auth_http as http;
pub use auth_http::RequiredScope;
pub use auth_http::{
    Api, ApiOptions, ClientAddressPolicy, CookieTransport, IpNetwork, RequestAuth, RouteGroups,
    SameSite,
};
pub use extract::{AuthRejection, CurrentUser, MaybeUser, ScopedUser, StaffUser};
pub use middleware::{AuthMiddleware, AuthMiddlewareService};
pub use routes::{configure, into_response, routes, serve};
