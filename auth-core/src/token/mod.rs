//! Token strategies, one module each.
//!
//! - [`jwt`]: simplejwt-style access and refresh JWTs, signed with keys that
//!   carry a `kid` so they rotate without logging anyone out.

pub mod jwt;
