//! axum adapter for `auth-core`: layer, extractors and the ready-made routes.
//!
//! Not written yet: this crate holds its place in the workspace until the
//! axum issue lands.
