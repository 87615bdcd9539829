//! The core of the auth workspace: users, password hashing and validation,
//! token strategies, the account flows, throttling, login history and the
//! store traits. No web framework, no database driver and no HTTP wire
//! format live here: the flows take typed inputs (plain structs such as
//! [`flows::Registration`]) and return typed errors ([`AuthError`]);
//! `auth-http` reads JSON bodies into those inputs and renders the errors,
//! the `auth-axum` and `auth-actix` adapters mount it, and the
//! `auth-store-*` crates plug into the store traits.
//!
//! The one handle an application holds is [`Auth`]; it is cheap to clone.

mod cache;
mod clock;
pub mod config;
pub mod error;
pub mod events;
pub mod flows;
pub mod link_token;
pub mod mail;
pub mod metrics;
pub mod oauth;
mod outbox;
pub mod password;
mod secret;
mod service;
pub mod store;
pub mod templates;
pub mod throttle;
pub mod token;
pub mod user;

#[cfg(feature = "testkit")]
pub mod testkit;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{AuthError, FieldErrors, StoreError};
pub use service::{Auth, AuthBuilder, Stores};
pub use store::MemoryStore;
pub use user::{NewUser, User, UserId, UserPatch};
