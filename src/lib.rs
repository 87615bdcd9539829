//! `auth`: authentication for axum and actix-web services.
//!
//! This facade re-exports [`auth_core`]; adapters and stores are added by
//! feature as they land.

pub use auth_core::*;
