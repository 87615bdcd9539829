//! Service configuration: [`AuthConfig`] and the server [`SecretKey`].

use chrono::Duration;

use crate::flows::{AuthSchemes, RefreshPolicy};
use crate::throttle::ThrottleConfig;
use crate::token::jwt::JwtConfig;
use crate::token::knox::KnoxConfig;

pub use crate::cache::LookupCacheConfig;
pub use crate::secret::{SECRET_MIN_BYTES, SecretKey, SecretTooShort, random_bytes};

/// What the service does, beyond its stores: links, lifetimes, limits.
///
/// `Default` gives djoser's and Django's defaults (activation links valid 3
/// days, reset links 1 hour, activation required) with a freshly generated
/// secret, which is fine for one process but voids emailed links on
/// restart: set [`secret`](Self::secret) in production.
///
/// ```
/// use auth_core::config::AuthConfig;
/// let config = AuthConfig::default()
///     .with_frontend_url("https://app.example.com/")
///     .unwrap();
/// assert_eq!(config.frontend_url, "https://app.example.com");
/// assert_eq!(config.reset_ttl, chrono::Duration::hours(1));
/// ```
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Base URL of the frontend the emailed links point to (no trailing
    /// slash). Never taken from a request.
    pub frontend_url: String,
    /// The product name used in email subjects.
    pub site_name: String,
    /// Keys link tokens and static-token derivation.
    pub secret: SecretKey,
    /// Registration leaves accounts inactive until the emailed link is used.
    pub require_activation: bool,
    /// How long an activation link works (default 3 days).
    pub activation_ttl: Duration,
    /// How long a password-reset link works (default 1 hour).
    pub reset_ttl: Duration,
    /// A password change revokes the user's other tokens (default true).
    pub revoke_tokens_on_password_change: bool,
    /// Rate limits.
    pub throttle: ThrottleConfig,
    /// Knox-style tokens.
    pub knox: KnoxConfig,
    /// JWT lifetimes, algorithm and claim names (simplejwt's defaults). The
    /// keys are given to [`AuthBuilder::jwt_keys`](crate::AuthBuilder::jwt_keys);
    /// without them, HS256 with a key derived from [`secret`](Self::secret)
    /// (not the secret itself, so a Django `SECRET_KEY` given as the secret
    /// does not verify Django's tokens: a
    /// [`DjangoCutover`](crate::token::jwt::DjangoCutover) does).
    pub jwt: JwtConfig,
    /// Refresh rotation and reuse detection.
    pub refresh: RefreshPolicy,
    /// Which `Authorization` schemes requests may use.
    pub schemes: AuthSchemes,
    /// The staleness budget of request authentication's lookups (off by
    /// default; see [`LookupCacheConfig`]).
    pub lookup_cache: LookupCacheConfig,
    /// The largest profile a user may keep, in bytes of its JSON form
    /// (default [`DEFAULT_MAX_PROFILE_BYTES`], 16 KiB): a write that would
    /// store a larger one is a field error on `profile`.
    pub max_profile_bytes: usize,
}

/// The default of [`AuthConfig::max_profile_bytes`]: 16 KiB.
pub const DEFAULT_MAX_PROFILE_BYTES: usize = 16 * 1024;

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            frontend_url: "http://localhost:3000".into(),
            site_name: "auth".into(),
            secret: SecretKey::generate(),
            require_activation: true,
            activation_ttl: Duration::days(3),
            reset_ttl: Duration::hours(1),
            revoke_tokens_on_password_change: true,
            throttle: ThrottleConfig::default(),
            knox: KnoxConfig::default(),
            jwt: JwtConfig::default(),
            refresh: RefreshPolicy::default(),
            schemes: AuthSchemes::default(),
            lookup_cache: LookupCacheConfig::default(),
            max_profile_bytes: DEFAULT_MAX_PROFILE_BYTES,
        }
    }
}

/// A configuration value that was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The frontend URL is not an absolute http(s) URL.
    #[error(
        "frontend_url must be an absolute http:// or https:// URL without query or fragment, got {0:?}"
    )]
    FrontendUrl(String),
    /// A lifetime is zero or negative.
    #[error("{0} must be positive")]
    NonPositiveTtl(&'static str),
    /// A store the service needs was not given to the builder.
    #[error("no {0} store was configured")]
    MissingStore(&'static str),
    /// The JWT configuration or keys were refused.
    #[error("JWT configuration: {0}")]
    Jwt(String),
}

impl AuthConfig {
    /// Sets the frontend URL after checking it is an absolute http(s) URL
    /// with a host and no query or fragment; a trailing slash is dropped.
    pub fn with_frontend_url(mut self, url: &str) -> Result<Self, ConfigError> {
        let trimmed = url.trim().trim_end_matches('/');
        let rest = trimmed
            .strip_prefix("https://")
            .or_else(|| trimmed.strip_prefix("http://"));
        let host_ok = rest.is_some_and(|r| {
            let host = r.split('/').next().unwrap_or("");
            !host.is_empty() && !host.contains(char::is_whitespace) && !host.contains('@')
        });
        if !host_ok || trimmed.contains(['?', '#']) {
            return Err(ConfigError::FrontendUrl(url.to_string()));
        }
        self.frontend_url = trimmed.to_string();
        Ok(self)
    }

    /// Sets the activation link lifetime.
    pub fn with_activation_ttl(mut self, ttl: Duration) -> Result<Self, ConfigError> {
        if ttl <= Duration::zero() {
            return Err(ConfigError::NonPositiveTtl("activation_ttl"));
        }
        self.activation_ttl = ttl;
        Ok(self)
    }

    /// Sets the reset link lifetime.
    pub fn with_reset_ttl(mut self, ttl: Duration) -> Result<Self, ConfigError> {
        if ttl <= Duration::zero() {
            return Err(ConfigError::NonPositiveTtl("reset_ttl"));
        }
        self.reset_ttl = ttl;
        Ok(self)
    }

    /// Sets the server secret.
    pub fn with_secret(mut self, secret: SecretKey) -> Self {
        self.secret = secret;
        self
    }

    /// Sets the JWT settings.
    pub fn with_jwt(mut self, jwt: JwtConfig) -> Self {
        self.jwt = jwt;
        self
    }

    /// Sets the refresh policy.
    pub fn with_refresh_policy(mut self, refresh: RefreshPolicy) -> Self {
        self.refresh = refresh;
        self
    }

    /// Sets the Knox token settings.
    pub fn with_knox(mut self, knox: KnoxConfig) -> Self {
        self.knox = knox;
        self
    }

    /// Sets the lookup cache of request authentication.
    pub fn with_lookup_cache(mut self, lookup_cache: LookupCacheConfig) -> Self {
        self.lookup_cache = lookup_cache;
        self
    }

    /// Sets the rate limits.
    pub fn with_throttle(mut self, throttle: ThrottleConfig) -> Self {
        self.throttle = throttle;
        self
    }

    /// Sets the largest profile a user may keep, in bytes of its JSON form
    /// (`{}`, 2 bytes, always fits).
    pub fn with_max_profile_bytes(mut self, bytes: usize) -> Self {
        self.max_profile_bytes = bytes.max(2);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frontend_url_is_validated() {
        for bad in [
            "",
            "localhost:3000",
            "ftp://x",
            "https://",
            "https://x?next=evil",
            "https://x#frag",
            "https://user@evil.example",
            "javascript:alert(1)",
        ] {
            assert!(
                AuthConfig::default().with_frontend_url(bad).is_err(),
                "{bad}"
            );
        }
        let config = AuthConfig::default()
            .with_frontend_url("http://localhost:3000/app/")
            .unwrap();
        assert_eq!(config.frontend_url, "http://localhost:3000/app");
    }

    #[test]
    fn ttls_must_be_positive() {
        assert!(
            AuthConfig::default()
                .with_reset_ttl(Duration::zero())
                .is_err()
        );
        assert!(
            AuthConfig::default()
                .with_activation_ttl(Duration::seconds(-1))
                .is_err()
        );
        assert!(
            AuthConfig::default()
                .with_reset_ttl(Duration::seconds(1))
                .is_ok()
        );
    }
}
