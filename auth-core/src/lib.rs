//! The core of the auth workspace: users, password hashing and validation,
//! token strategies, the account flows, throttling, login history and the
//! store traits. No web framework and no database driver live here: the
//! `auth-axum` and `auth-actix` adapters and the `auth-store-*` crates plug
//! into it.
//!
//! The one handle an application holds is [`Auth`]; it is cheap to clone.

pub mod clock;
pub mod error;
pub mod password;
pub mod store;
pub mod token;
pub mod user;

#[cfg(feature = "testkit")]
pub mod testkit;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{AuthError, FieldErrors, StoreError};
pub use user::{NewUser, User, UserId, UserPatch};
