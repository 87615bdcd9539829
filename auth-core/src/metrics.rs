//! Metrics through the [`metrics`](https://docs.rs/metrics) facade, with the
//! `metrics` feature: install any recorder (e.g.
//! `metrics-exporter-prometheus`, as the demo server does for `GET
//! /metrics`) and the service records what is listed below. Without the
//! feature every function here is empty and the `metrics` crate is not a
//! dependency.
//!
//! | name | type | labels |
//! | --- | --- | --- |
//! | [`LOGINS`] | counter | `kind` (`jwt`, `knox`, `static`, `credentials`) |
//! | [`LOGIN_FAILURES`] | counter | `kind`, `reason` (`unknown_user`, `wrong_password`, `inactive`) |
//! | [`THROTTLED`] | counter | `scope` (`login_account`, `login_ip`, ...) |
//! | [`TOKENS_ISSUED`] | counter | `kind` |
//! | [`TOKENS_REFRESHED`] | counter | |
//! | [`TOKENS_REVOKED`] | counter | `kind` (a kind, `all` for a logout of every token, `jwt_family` for a reused refresh token's family) |
//! | [`CACHE_HITS`], [`CACHE_MISSES`] | counter | `cache` (`user`, `revocation`, `knox`, `static_token`) |
//! | [`STORE_ERRORS`] | counter | `store` (`sqlx`, `redis`, ...) |
//! | [`HASHING_QUEUE_DEPTH`] | gauge | |
//! | [`HASHING_WAIT`] | histogram (seconds) | |
//!
//! No label ever holds a user, a token or an address.

use crate::events::{AuthEvent, LoginFailure};
use crate::token::TokenKind;

/// Successful logins.
pub const LOGINS: &str = "auth_logins_total";
/// Refused logins.
pub const LOGIN_FAILURES: &str = "auth_login_failures_total";
/// Requests refused by a rate limit.
pub const THROTTLED: &str = "auth_throttled_requests_total";
/// Tokens issued.
pub const TOKENS_ISSUED: &str = "auth_tokens_issued_total";
/// Refresh tokens rotated.
pub const TOKENS_REFRESHED: &str = "auth_tokens_refreshed_total";
/// Tokens revoked (logouts, reused refresh tokens).
pub const TOKENS_REVOKED: &str = "auth_tokens_revoked_total";
/// Lookups the lookup cache answered.
pub const CACHE_HITS: &str = "auth_cache_hits_total";
/// Lookups the lookup cache could not answer (when the cache is on).
pub const CACHE_MISSES: &str = "auth_cache_misses_total";
/// Store failures (a conflict or a missing record is not one).
pub const STORE_ERRORS: &str = "auth_store_errors_total";
/// Password hashes and verifications queued or running.
pub const HASHING_QUEUE_DEPTH: &str = "auth_hashing_queue_depth";
/// How long a hash or verification waited for a hashing thread, in
/// seconds.
pub const HASHING_WAIT: &str = "auth_hashing_wait_seconds";

/// Counts one failure of `store` (a short backend name: `sqlx`,
/// `redis`); the store crates call it when a driver error becomes a
/// [`StoreError::Unavailable`](crate::StoreError::Unavailable) or
/// [`StoreError::Other`](crate::StoreError::Other).
#[inline]
pub fn store_error(store: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(STORE_ERRORS, "store" => store).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = store;
}

/// Records what an event counts for.
#[inline]
pub(crate) fn event(event: &AuthEvent) {
    #[cfg(feature = "metrics")]
    match event {
        AuthEvent::LoginSucceeded { kind, .. } => {
            metrics::counter!(LOGINS, "kind" => kind.as_str()).increment(1);
        }
        AuthEvent::TokenIssued { kind, .. } => {
            metrics::counter!(TOKENS_ISSUED, "kind" => kind.as_str()).increment(1);
        }
        AuthEvent::TokenRotated { .. } => metrics::counter!(TOKENS_REFRESHED).increment(1),
        AuthEvent::LoggedOut { kind, .. } => {
            metrics::counter!(TOKENS_REVOKED, "kind" => kind.as_str()).increment(1);
        }
        AuthEvent::LoggedOutAll { .. } => {
            metrics::counter!(TOKENS_REVOKED, "kind" => "all").increment(1);
        }
        AuthEvent::TokenReused { .. } => {
            metrics::counter!(TOKENS_REVOKED, "kind" => "jwt_family").increment(1);
        }
        _ => {}
    }
    #[cfg(not(feature = "metrics"))]
    let _ = event;
}

/// Counts a refused login of `kind`.
#[inline]
pub(crate) fn login_failed(kind: TokenKind, reason: LoginFailure) {
    #[cfg(feature = "metrics")]
    {
        let reason = match reason {
            LoginFailure::UnknownUser => "unknown_user",
            LoginFailure::WrongPassword => "wrong_password",
            LoginFailure::Inactive => "inactive",
        };
        metrics::counter!(LOGIN_FAILURES, "kind" => kind.as_str(), "reason" => reason).increment(1);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (kind, reason);
}

/// Counts a request a limit of `scope` refused.
#[inline]
pub(crate) fn throttled(scope: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(THROTTLED, "scope" => scope).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = scope;
}

/// Counts a lookup in the cache named `cache`.
#[inline]
pub(crate) fn cache_lookup(cache: &'static str, hit: bool) {
    #[cfg(feature = "metrics")]
    if hit {
        metrics::counter!(CACHE_HITS, "cache" => cache).increment(1);
    } else {
        metrics::counter!(CACHE_MISSES, "cache" => cache).increment(1);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (cache, hit);
}

/// Sets the hashing queue depth.
#[inline]
pub(crate) fn hashing_queue_depth(depth: usize) {
    #[cfg(feature = "metrics")]
    metrics::gauge!(HASHING_QUEUE_DEPTH).set(depth as f64);
    #[cfg(not(feature = "metrics"))]
    let _ = depth;
}

/// Records how long a hashing job waited for a thread.
#[cfg(feature = "metrics")]
pub(crate) fn hashing_wait(waited: std::time::Duration) {
    metrics::histogram!(HASHING_WAIT).record(waited.as_secs_f64());
}
