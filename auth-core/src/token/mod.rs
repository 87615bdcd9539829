//! Token strategies, one module each; each is usable alone and all three
//! together.
//!
//! - [`jwt`]: simplejwt-style access and refresh JWTs, signed with keys that
//!   carry a `kid` so they rotate without logging anyone out.
//! - [`knox`]: Knox-style opaque tokens, stored only as digests.
//! - [`static_token`]: DRF-style static tokens, one per user.

pub mod jwt;
mod kind;
pub mod knox;
pub mod static_token;

pub use kind::TokenKind;
