//! A Redis store for `auth-core`: tokens, revocation and throttle counters.
//!
//! Not written yet: this crate holds its place in the workspace until the
//! stores issue lands.
