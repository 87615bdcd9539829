//! The framework-neutral HTTP layer of the auth workspace.
//!
//! Both adapters (`auth-axum` and `auth-actix`) turn a framework request
//! into an [`ApiRequest`], call [`handle`], and send the [`ApiResponse`]
//! back. Everything between (routing every route of the HTTP contract,
//! OAuth2's token endpoints included, body limits, JSON parsing, authentication, pagination, the
//! OpenAPI document and the Swagger UI) lives here, so the two frameworks
//! answer byte for byte alike and hold no business logic.
//!
//! An adapter on the [`http`] crate's types (axum, hyper, anything on
//! tower) converts with [`ApiRequest::from_http`] and
//! `http::Response::from(response)`; one on other types (actix-web is on
//! `http` 0.2) builds the request with [`ApiRequest::from_parts`] and reads
//! the response's fields.
//!
//! The adapters' middlewares store a [`RequestAuth`] in each request, and
//! their `CurrentUser`, `MaybeUser` and `StaffUser` extractors follow its
//! rules and render its [`Rejection`]s, so handlers of both frameworks
//! accept and refuse the same requests alike.
//!
//! Browser apps can keep the JWTs in `HttpOnly` cookies instead of script
//! memory: [`ApiOptions::with_cookie_transport`] (see [`CookieTransport`];
//! off by default), with a CSRF double submit (`csrftoken` cookie,
//! `X-CSRFToken` header) for cookie-authenticated unsafe requests. Behind
//! reverse proxies, [`ClientAddressPolicy`] says whose `X-Forwarded-For`
//! is believed: a hop count, or the proxies' networks ([`IpNetwork`]).
//!
//! One endpoint table drives the routes: each row (method, path, route
//! group, who may call it, request and response types, handler) is
//! dispatched by [`handle`], listed by [`route_paths`] and documented in the
//! OpenAPI document, whose schemas are derived from the same request and
//! response types. Each handler reads its body into the core's typed input
//! with [`FromJson`] (DRF's messages for a missing or mistyped field), calls
//! one [`Auth`](auth_core::Auth) method and renders the
//! result; every service error is rendered by [`ApiResponse::from_error`],
//! through the one error table.
//!
//! The routes sit under a prefix, `/api` by default
//! ([`ApiOptions::with_prefix`]; `/healthz` stays at the root); the
//! pagination links and the OpenAPI document follow it.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use auth_core::{Auth, config::AuthConfig};
//! use auth_http::{Api, ApiOptions, ApiRequest, handle};
//!
//! let api = Api::with_options(Auth::in_memory(AuthConfig::default()), ApiOptions::default());
//! let body = br#"{"username": "ada", "password": "wrong"}"#;
//! let request = ApiRequest::from_parts(
//!     &api, "POST", "/api/auth/jwt/create/", None,
//!     vec![("Content-Type", "application/json")], body, None,
//! );
//! let response = handle(&api, request).await;
//! assert_eq!(response.status, 401);
//! assert_eq!(response.json_body()["code"], "no_active_account");
//! # });
//! ```

mod api;
mod application_pages;
mod applications;
mod bodies;
mod browser;
mod cookies;
mod docs;
mod endpoint;
mod error;
mod extract;
mod form;
mod network;
mod oauth;
mod oidc;
mod openapi;
mod pages;
mod request;
mod routes;
mod schemas;
mod trace;

pub use api::{
    Api, ApiOptions, ClientAddressPolicy, DEFAULT_BODY_LIMIT, DEFAULT_PAGE_SIZE, DEFAULT_PREFIX,
    PrefixError, RouteGroups,
};
pub use cookies::{
    ACCESS_COOKIE, CSRF_COOKIE, CSRF_HEADER, CookieTransport, REFRESH_COOKIE, RequestCredentials,
    SameSite,
};
pub use extract::{Rejection, RequestAuth, RequiredScope};
pub use form::{FromJson, admin_user_from_json};
pub use network::{IpNetwork, IpNetworkError};
pub use pages::{PageError, Pages, TEMPLATE_NAMES};
pub use request::{ApiRequest, ApiResponse};
pub use routes::{handle, route_paths};
pub use trace::{ACCESS_TARGET, RequestTrace};

#[cfg(test)]
mod tests;
