//! `auth`: authentication for axum and actix-web services.
//!
//! One dependency line brings the core, the framework adapter and the
//! stores you pick, at versions that match:
//!
//! ```toml
//! [dependencies]
//! auth = { version = "0.1", features = ["axum", "sqlite"] }
//! ```
//!
//! The core ([`Auth`], its configuration, flows, token strategies, store
//! traits and in-memory store) is re-exported at the root, as `auth-core`
//! has it; each feature adds one module:
//!
//! | feature | adds | crate |
//! | --- | --- | --- |
//! | `axum` | `auth::axum`: `router(api)`, `AuthLayer`, the extractors (and `http`) | `auth-axum` |
//! | `actix` | `auth::actix`: `configure(api)`, `AuthMiddleware`, the extractors (and `http`) | `auth-actix` |
//! | `http` | `auth::http`: the framework-neutral routes, `Api`, `ApiOptions` | `auth-http` |
//! | `sqlite` | `auth::sqlx::SqliteStore` | `auth-store-sqlx` |
//! | `postgres` | `auth::sqlx::PostgresStore` | `auth-store-sqlx` |
//! | `mysql` | `auth::sqlx::MySqlStore` (MySQL 8, MariaDB 10.5+) | `auth-store-sqlx` |
//! | `redis` | `auth::redis::RedisStore` (tokens, revocation, throttling, history) | `auth-store-redis` |
//! | `smtp` | `auth::mail::SmtpMailer` (lettre) | `auth-core` |
//! | `smtp-tls` | SMTP over TLS (`smtps://`, STARTTLS) with rustls | `auth-core` |
//! | `bcrypt` | verifying Django's `bcrypt_sha256$` hashes | `auth-core` |
//! | `testkit` | `auth::testkit`: the store conformance suite | `auth-core` |
//!
//! No feature is on by default and every combination builds: features
//! only add modules. The store crates re-export their drivers
//! (`auth::sqlx::sqlx`, `auth::redis::redis`).
//!
//! With `features = ["axum", "sqlite"]`:
//!
//! ```no_run
//! # #[cfg(all(feature = "axum", feature = "sqlite"))]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use auth::axum::{Api, AuthLayer};
//! use auth::sqlx::SqliteStore;
//! use auth::{Auth, config::AuthConfig};
//!
//! let store = SqliteStore::connect("sqlite://auth.db?mode=rwc").await?;
//! store.migrate().await?;
//! let auth = Auth::builder(AuthConfig::default()).store(Arc::new(store)).build()?;
//! let app: axum::Router = auth::axum::router(Api::new(auth.clone())).layer(AuthLayer::new(auth));
//! # Ok(())
//! # }
//! ```
//!
//! The README's two examples (an axum app and an actix-web app) are
//! compiled as this crate's doc tests.

#[cfg(all(doctest, feature = "axum", feature = "actix", feature = "sqlite"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub use auth_core::*;

#[cfg(feature = "actix")]
pub use auth_actix as actix;
#[cfg(feature = "axum")]
pub use auth_axum as axum;
#[cfg(feature = "http")]
pub use auth_http as http;
#[cfg(feature = "redis")]
pub use auth_store_redis as redis;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub use auth_store_sqlx as sqlx;
