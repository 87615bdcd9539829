//! Token strategies, one module each.
//!
//! - [`knox`]: Knox-style opaque tokens, stored only as digests.
//! - [`static_token`]: DRF-style static tokens, one per user.

pub mod knox;
pub mod static_token;
