//! actix-web adapter for `auth-core`: middleware, extractors and routes.
//!
//! Not written yet: this crate holds its place in the workspace until the
//! actix issue lands.
