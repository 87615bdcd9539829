//! Service configuration: [`AuthConfig`], the OAuth2 provider's
//! [`OAuthConfig`] and the server [`SecretKey`].

use std::collections::BTreeMap;

use chrono::Duration;

use crate::flows::{AuthSchemes, RefreshPolicy};
use crate::oauth::{IdTokenKeys, Scopes};
use crate::throttle::ThrottleConfig;
use crate::token::jwt::{JwtConfig, KeySet};
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
    /// The activation link: a template over `{frontend_url}`, `{uid}` and
    /// `{token}` (default [`DEFAULT_ACTIVATION_URL`], as djoser's
    /// `ACTIVATION_URL`); set with
    /// [`with_activation_url`](Self::with_activation_url).
    pub activation_url: String,
    /// The password-reset link: a template over `{frontend_url}`, `{uid}`
    /// and `{token}` (default [`DEFAULT_PASSWORD_RESET_CONFIRM_URL`], as
    /// djoser's `PASSWORD_RESET_CONFIRM_URL`); set with
    /// [`with_password_reset_confirm_url`](Self::with_password_reset_confirm_url).
    pub password_reset_confirm_url: String,
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
    /// A password change or reset emails the account a notice (default
    /// true, as OWASP advises; djoser's
    /// `PASSWORD_CHANGED_EMAIL_CONFIRMATION`, off there by default).
    pub password_changed_email: bool,
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
    /// How long login-history entries are kept: older ones go when
    /// [`Auth::clear_expired`](crate::Auth::clear_expired) runs (default
    /// `None`: kept until the account is deleted).
    pub history_retention: Option<Duration>,
    /// When set, the service runs
    /// [`Auth::clear_expired`](crate::Auth::clear_expired) in the
    /// background this often, from the Tokio runtime it is built in, until
    /// it is dropped (default `None`: off; call `clear_expired` yourself,
    /// or from a scheduled command).
    pub cleanup_interval: Option<std::time::Duration>,
    /// The OAuth2 provider: issuer, lifetimes, grants, scopes.
    pub oauth: OAuthConfig,
}

/// The default of [`AuthConfig::activation_url`].
pub const DEFAULT_ACTIVATION_URL: &str = "{frontend_url}/activate/{uid}/{token}";

/// The default of [`AuthConfig::password_reset_confirm_url`].
pub const DEFAULT_PASSWORD_RESET_CONFIRM_URL: &str =
    "{frontend_url}/password/reset/confirm/{uid}/{token}";

/// Checks a link template: it holds `{uid}` and `{token}` once each, no
/// placeholder but those and `{frontend_url}`, and renders to an
/// absolute http(s) URL.
fn checked_link_template(template: &str) -> Option<String> {
    let once = |name: &str| template.matches(name).count() == 1;
    let rest = template
        .replace("{frontend_url}", "")
        .replace("{uid}", "")
        .replace("{token}", "");
    // Queries and fragments are allowed here (`/#/activate?uid=...`).
    let sample = render_link(template, "http://localhost", "uid", "token");
    let absolute = ["http://", "https://"].iter().any(|scheme| {
        sample
            .strip_prefix(scheme)
            .is_some_and(|rest| !rest.is_empty() && !rest.starts_with(['/', '?', '#', '@']))
    });
    (once("{uid}")
        && once("{token}")
        && !rest.contains(['{', '}'])
        && absolute
        && !sample.contains(char::is_whitespace))
    .then(|| template.to_string())
}

/// Fills a link template (see [`AuthConfig::activation_url`]).
pub(crate) fn render_link(template: &str, frontend_url: &str, uid: &str, token: &str) -> String {
    template
        .replace("{frontend_url}", frontend_url)
        .replace("{uid}", uid)
        .replace("{token}", token)
}

/// The default of [`AuthConfig::max_profile_bytes`]: 16 KiB.
pub const DEFAULT_MAX_PROFILE_BYTES: usize = 16 * 1024;

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            frontend_url: "http://localhost:3000".into(),
            activation_url: DEFAULT_ACTIVATION_URL.into(),
            password_reset_confirm_url: DEFAULT_PASSWORD_RESET_CONFIRM_URL.into(),
            site_name: "auth".into(),
            secret: SecretKey::generate(),
            require_activation: true,
            activation_ttl: Duration::days(3),
            reset_ttl: Duration::hours(1),
            revoke_tokens_on_password_change: true,
            password_changed_email: true,
            throttle: ThrottleConfig::default(),
            knox: KnoxConfig::default(),
            jwt: JwtConfig::default(),
            refresh: RefreshPolicy::default(),
            schemes: AuthSchemes::default(),
            lookup_cache: LookupCacheConfig::default(),
            max_profile_bytes: DEFAULT_MAX_PROFILE_BYTES,
            history_retention: None,
            cleanup_interval: None,
            oauth: OAuthConfig::default(),
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
    /// A link template lacks `{uid}` or `{token}`, names another
    /// placeholder, or does not give an absolute http(s) URL.
    #[error(
        "a link template must hold {{uid}} and {{token}} once each, no other placeholder than {{frontend_url}}, and give an absolute http:// or https:// URL, got {0:?}"
    )]
    LinkTemplate(String),
    /// A lifetime is zero or negative.
    #[error("{0} must be positive")]
    NonPositiveTtl(&'static str),
    /// A store the service needs was not given to the builder.
    #[error("no {0} store was configured")]
    MissingStore(&'static str),
    /// The JWT configuration or keys were refused.
    #[error("JWT configuration: {0}")]
    Jwt(String),
    /// A background task was asked for (such as the cleanup of
    /// [`AuthConfig::cleanup_interval`]) but the service was built outside
    /// a Tokio runtime.
    #[error("{0} needs the service to be built within a Tokio runtime")]
    NoRuntime(&'static str),
    /// The OAuth2 issuer is not an absolute http(s) URL without query or
    /// fragment.
    #[error(
        "the OAuth2 issuer must be an absolute http:// or https:// URL without query or fragment, got {0:?}"
    )]
    Issuer(String),
    /// A scope name is not an RFC 6749 §3.3 scope token.
    #[error("{0:?} is not a valid scope name (RFC 6749 section 3.3)")]
    ScopeName(String),
    /// An ID-token key set holds a key of a symmetric (HMAC) algorithm:
    /// ID tokens are signed with RS256, ES256 or EdDSA only.
    #[error("ID tokens must be signed with an asymmetric key (RS256, ES256 or EdDSA): {0}")]
    IdTokenKey(String),
    /// JWT access tokens ([`AccessTokenFormat::Jwt`]) were asked for
    /// without the keys that sign them ([`OAuthConfig::id_token_keys`]).
    #[error(
        "JWT access tokens are signed with the ID-token keys: set OAuthConfig::with_id_token_keys (RS256, ES256 or EdDSA) or keep opaque access tokens"
    )]
    JwtAccessTokensWithoutKeys,
    /// The audience of JWT access tokens is empty or holds whitespace.
    #[error("the access token audience must be a non-empty string without whitespace, got {0:?}")]
    Audience(String),
}

/// `url` without a trailing slash, when it is an absolute http(s) URL with
/// a host and no query or fragment.
fn checked_base_url(url: &str) -> Option<String> {
    let trimmed = url.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"));
    let host_ok = rest.is_some_and(|r| {
        let host = r.split('/').next().unwrap_or("");
        !host.is_empty() && !host.contains(char::is_whitespace) && !host.contains('@')
    });
    (host_ok && !trimmed.contains(['?', '#'])).then(|| trimmed.to_string())
}

impl AuthConfig {
    /// Sets the frontend URL after checking it is an absolute http(s) URL
    /// with a host and no query or fragment; a trailing slash is dropped.
    pub fn with_frontend_url(mut self, url: &str) -> Result<Self, ConfigError> {
        self.frontend_url =
            checked_base_url(url).ok_or_else(|| ConfigError::FrontendUrl(url.to_string()))?;
        Ok(self)
    }

    /// Sets the activation link template (see
    /// [`AuthConfig::activation_url`]).
    ///
    /// ```
    /// use auth_core::config::AuthConfig;
    /// let config = AuthConfig::default()
    ///     .with_activation_url("{frontend_url}/#/activate?uid={uid}&token={token}")
    ///     .unwrap();
    /// assert!(AuthConfig::default().with_activation_url("{frontend_url}/a/{token}").is_err());
    /// # let _ = config;
    /// ```
    pub fn with_activation_url(mut self, template: &str) -> Result<Self, ConfigError> {
        self.activation_url = checked_link_template(template)
            .ok_or_else(|| ConfigError::LinkTemplate(template.to_string()))?;
        Ok(self)
    }

    /// Sets the password-reset link template (see
    /// [`AuthConfig::password_reset_confirm_url`]).
    pub fn with_password_reset_confirm_url(mut self, template: &str) -> Result<Self, ConfigError> {
        self.password_reset_confirm_url = checked_link_template(template)
            .ok_or_else(|| ConfigError::LinkTemplate(template.to_string()))?;
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

    /// Sets the OAuth2 provider's settings.
    pub fn with_oauth(mut self, oauth: OAuthConfig) -> Self {
        self.oauth = oauth;
        self
    }
}

/// The OAuth2 provider's settings, after Django OAuth Toolkit's
/// (`OAUTH2_PROVIDER`) but with RFC 9700's safe choices as defaults:
///
/// | setting | default | DOT's setting and default |
/// | --- | --- | --- |
/// | [`issuer`](Self::issuer) | `http://localhost:8000` | `OIDC_ISS_ENDPOINT` (derived from the request) |
/// | [`code_ttl`](Self::code_ttl) | 60 s | `AUTHORIZATION_CODE_EXPIRE_SECONDS`, 60 |
/// | [`access_token_ttl`](Self::access_token_ttl) | 3600 s | `ACCESS_TOKEN_EXPIRE_SECONDS`, 36000 |
/// | [`refresh_token_ttl`](Self::refresh_token_ttl) | 30 days | `REFRESH_TOKEN_EXPIRE_SECONDS`, none |
/// | [`rotate_refresh_tokens`](Self::rotate_refresh_tokens) | on | `ROTATE_REFRESH_TOKEN`, on |
/// | [`pkce_required`](Self::pkce_required) | on, every client | `PKCE_REQUIRED`, on |
/// | [`allow_plain_pkce`](Self::allow_plain_pkce) | off | (oauthlib accepts `plain`) |
/// | [`password_grant`](Self::password_grant) | off | (an application's grant type) |
/// | [`scopes`](Self::scopes) | `openid`, `profile`, `email` | `SCOPES`, `read` and `write` |
/// | [`default_scopes`](Self::default_scopes) | none | `DEFAULT_SCOPES`, all |
/// | [`secret_rotation_overlap`](Self::secret_rotation_overlap) | 1 day | (none) |
/// | [`id_token_keys`](Self::id_token_keys) | none: OpenID Connect off | `OIDC_RSA_PRIVATE_KEY` (RS256 only) |
/// | [`access_token_format`](Self::access_token_format) | opaque | (opaque; `ACCESS_TOKEN_GENERATOR` for others) |
/// | [`access_token_audience`](Self::access_token_audience) | none: the issuer | (none) |
///
/// ```
/// use auth_core::config::OAuthConfig;
/// let config = OAuthConfig::default()
///     .with_issuer("https://auth.example.com/")
///     .unwrap()
///     .with_scope("read", "Read your data")
///     .unwrap();
/// assert_eq!(config.issuer, "https://auth.example.com");
/// assert_eq!(config.code_ttl, chrono::Duration::seconds(60));
/// assert!(config.pkce_required && !config.allow_plain_pkce && !config.password_grant);
/// assert!(config.scopes.contains_key("openid") && config.scopes.contains_key("read"));
/// assert!(config.with_scope("bad scope", "").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthConfig {
    /// The issuer identifier (RFC 8414 §2, RFC 9207): an absolute http(s)
    /// URL without query, fragment or trailing slash. Never taken from a
    /// request.
    pub issuer: String,
    /// How long an authorization code may be exchanged (default 60 s).
    pub code_ttl: Duration,
    /// How long an access token works (default 1 hour).
    pub access_token_ttl: Duration,
    /// How long a refresh token works (default 30 days); `None` for refresh
    /// tokens that never expire (then rotated ones are never purged).
    pub refresh_token_ttl: Option<Duration>,
    /// A refresh exchanges the refresh token for a new one (default on):
    /// using the old one again revokes the whole family.
    pub rotate_refresh_tokens: bool,
    /// Every authorization code request needs a PKCE challenge, from
    /// confidential clients too (default on, RFC 9700 §2.1.1). Public
    /// clients need PKCE whatever this says.
    pub pkce_required: bool,
    /// Accept the `plain` PKCE method (default off: `S256` only).
    pub allow_plain_pkce: bool,
    /// Enable the resource owner password grant (default off; RFC 9700
    /// §2.4 says it must not be used). An application must also list it
    /// among its grant types.
    pub password_grant: bool,
    /// The scopes the server knows, each with the description the consent
    /// page shows; `openid`, `profile` and `email` are built in.
    pub scopes: BTreeMap<String, String>,
    /// The scopes granted when a request names none (default: none).
    pub default_scopes: Vec<String>,
    /// How long a rotated client secret keeps working beside the new one
    /// (default 1 day).
    pub secret_rotation_overlap: Duration,
    /// How long a browser session of the provider's pages lasts from
    /// sign-in (default 14 days, Django's `SESSION_COOKIE_AGE`).
    pub session_ttl: Duration,
    /// The server is reached over HTTPS: the session and CSRF cookies get
    /// the `Secure` attribute (default off, for plain-HTTP development).
    pub secure_cookies: bool,
    /// The keys that sign ID tokens (RS256, ES256 or EdDSA; never HMAC),
    /// and JWT access tokens when [`access_token_format`](Self::access_token_format)
    /// asks for them, published at `/api/o/jwks.json`. `None` (the default) turns OpenID
    /// Connect off: the `openid` scope is not advertised and a request for
    /// it is `invalid_scope`, there is no discovery document, and userinfo
    /// and logout have nothing to accept. ID tokens last as long as the
    /// access token issued with them.
    pub id_token_keys: Option<IdTokenKeys>,
    /// The form of the access tokens issued (default
    /// [`AccessTokenFormat::Opaque`]). [`AccessTokenFormat::Jwt`] needs
    /// [`id_token_keys`](Self::id_token_keys), which sign them: building
    /// the service without them fails with
    /// [`ConfigError::JwtAccessTokensWithoutKeys`].
    pub access_token_format: AccessTokenFormat,
    /// The `aud` of JWT access tokens (RFC 9068 §3: the resource they are
    /// for). `None` (the default) makes it the [`issuer`](Self::issuer):
    /// the routes this server protects are the resource. A resource server
    /// of its own gets its name here, and must check it.
    pub access_token_audience: Option<String>,
}

/// The form of the OAuth2 access tokens the provider issues. Either way
/// each token's record (a digest of the string handed out, its user,
/// scopes, family and expiry) is stored, so revocation (RFC 7009),
/// introspection (RFC 7662), a refresh replay's revocation of the family
/// and the revocation of a user's tokens work alike.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum AccessTokenFormat {
    /// 256 random bits as 43 base64url characters, meaningful to this
    /// server only: a resource server asks introspection about them.
    #[default]
    Opaque,
    /// RFC 9068 JWTs (header `typ: at+jwt`), signed with the signing key of
    /// [`OAuthConfig::id_token_keys`], with the claims `iss`, `exp`, `aud`
    /// ([`OAuthConfig::access_token_audience`]), `sub` (the user's id as in
    /// ID tokens, or the `client_id` for `client_credentials`),
    /// `client_id`, `iat`, `jti` and `scope`
    /// ([`JwtAccessTokenClaims`](crate::oauth::JwtAccessTokenClaims)).
    ///
    /// This server checks the signature, `typ`, `iss`, `aud` and `exp` and
    /// then the stored record, so a revoked token stops working at once. A
    /// resource server that validates them with the JWKS alone
    /// (`/api/o/jwks.json`) sees a revocation only when the token expires:
    /// keep [`OAuthConfig::access_token_ttl`] short, or have it use
    /// introspection.
    Jwt,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        let scopes = [
            ("openid", "Sign you in with your account"),
            ("profile", "See your name and username"),
            ("email", "See your email address"),
        ]
        .into_iter()
        .map(|(name, description)| (name.to_string(), description.to_string()))
        .collect();
        Self {
            issuer: "http://localhost:8000".into(),
            code_ttl: Duration::seconds(60),
            access_token_ttl: Duration::hours(1),
            refresh_token_ttl: Some(Duration::days(30)),
            rotate_refresh_tokens: true,
            pkce_required: true,
            allow_plain_pkce: false,
            password_grant: false,
            scopes,
            default_scopes: Vec::new(),
            secret_rotation_overlap: Duration::days(1),
            session_ttl: Duration::days(14),
            secure_cookies: false,
            id_token_keys: None,
            access_token_format: AccessTokenFormat::Opaque,
            access_token_audience: None,
        }
    }
}

impl OAuthConfig {
    /// Sets the issuer after checking it is an absolute http(s) URL with a
    /// host and no query or fragment; a trailing slash is dropped.
    pub fn with_issuer(mut self, issuer: &str) -> Result<Self, ConfigError> {
        self.issuer =
            checked_base_url(issuer).ok_or_else(|| ConfigError::Issuer(issuer.to_string()))?;
        Ok(self)
    }

    /// Adds (or redescribes) a scope.
    pub fn with_scope(
        mut self,
        name: &str,
        description: impl Into<String>,
    ) -> Result<Self, ConfigError> {
        // One RFC 6749 §3.3 scope token: printable ASCII but space, `"`
        // and `\`.
        if Scopes::parse(name).map_or(true, |scopes| scopes.len() != 1) {
            return Err(ConfigError::ScopeName(name.to_string()));
        }
        self.scopes.insert(name.to_string(), description.into());
        Ok(self)
    }

    /// Sets the scopes granted when a request names none; each must be a
    /// known scope.
    pub fn with_default_scopes<S: AsRef<str>>(mut self, names: &[S]) -> Result<Self, ConfigError> {
        let mut defaults = Vec::with_capacity(names.len());
        for name in names {
            let name = name.as_ref();
            if !self.scopes.contains_key(name) {
                return Err(ConfigError::ScopeName(name.to_string()));
            }
            defaults.push(name.to_string());
        }
        self.default_scopes = defaults;
        Ok(self)
    }

    /// Sets the authorization code lifetime.
    pub fn with_code_ttl(mut self, ttl: Duration) -> Result<Self, ConfigError> {
        self.code_ttl = positive(ttl, "code_ttl")?;
        Ok(self)
    }

    /// Sets the access token lifetime.
    pub fn with_access_token_ttl(mut self, ttl: Duration) -> Result<Self, ConfigError> {
        self.access_token_ttl = positive(ttl, "access_token_ttl")?;
        Ok(self)
    }

    /// Sets the refresh token lifetime (`None`: they never expire).
    pub fn with_refresh_token_ttl(mut self, ttl: Option<Duration>) -> Result<Self, ConfigError> {
        self.refresh_token_ttl = ttl
            .map(|ttl| positive(ttl, "refresh_token_ttl"))
            .transpose()?;
        Ok(self)
    }

    /// Sets the browser session lifetime.
    pub fn with_session_ttl(mut self, ttl: Duration) -> Result<Self, ConfigError> {
        self.session_ttl = positive(ttl, "session_ttl")?;
        Ok(self)
    }

    /// Marks the session and CSRF cookies `Secure` (the server is behind
    /// HTTPS).
    pub fn with_secure_cookies(mut self, secure: bool) -> Self {
        self.secure_cookies = secure;
        self
    }

    /// Turns OpenID Connect on with `keys` signing the ID tokens; a set
    /// holding an HMAC key is refused ([`ConfigError::IdTokenKey`]).
    ///
    /// ```
    /// use auth_core::config::OAuthConfig;
    /// use auth_core::token::jwt::{Algorithm, JwtKey, KeySet};
    /// let secret = JwtKey::hmac(Algorithm::HS256, [1u8; 32]).unwrap();
    /// let refused = OAuthConfig::default().with_id_token_keys(KeySet::new(secret).unwrap());
    /// assert!(refused.is_err());
    /// ```
    pub fn with_id_token_keys(mut self, keys: KeySet) -> Result<Self, ConfigError> {
        self.id_token_keys = Some(IdTokenKeys::new(keys)?);
        Ok(self)
    }

    /// Sets the form of the access tokens issued (see
    /// [`AccessTokenFormat`]). [`AccessTokenFormat::Jwt`] also needs
    /// [`with_id_token_keys`](Self::with_id_token_keys) (in either order);
    /// the service refuses to build without them.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use auth_core::{Auth, MemoryStore};
    /// use auth_core::config::{AccessTokenFormat, AuthConfig, ConfigError, OAuthConfig};
    /// let oauth = OAuthConfig::default().with_access_token_format(AccessTokenFormat::Jwt);
    /// let built = Auth::builder(AuthConfig::default().with_oauth(oauth))
    ///     .store(Arc::new(MemoryStore::new()))
    ///     .build();
    /// assert!(matches!(built, Err(ConfigError::JwtAccessTokensWithoutKeys)));
    /// ```
    pub fn with_access_token_format(mut self, format: AccessTokenFormat) -> Self {
        self.access_token_format = format;
        self
    }

    /// Sets the `aud` of JWT access tokens (default: the issuer); it must
    /// be non-empty and hold no whitespace ([`ConfigError::Audience`]).
    pub fn with_access_token_audience(mut self, audience: &str) -> Result<Self, ConfigError> {
        if audience.is_empty() || audience.contains(char::is_whitespace) {
            return Err(ConfigError::Audience(audience.to_string()));
        }
        self.access_token_audience = Some(audience.to_string());
        Ok(self)
    }

    /// The `aud` of JWT access tokens:
    /// [`access_token_audience`](Self::access_token_audience), else the
    /// issuer.
    pub fn jwt_access_token_audience(&self) -> &str {
        self.access_token_audience
            .as_deref()
            .unwrap_or(&self.issuer)
    }

    /// Enables the password grant (RFC 9700 §2.4 says it must not be used:
    /// enable it only to keep clients of a Django OAuth Toolkit server
    /// working). The service logs a warning when built with it on.
    pub fn dangerous_enable_password_grant(mut self) -> Self {
        self.password_grant = true;
        self
    }
}

fn positive(ttl: Duration, name: &'static str) -> Result<Duration, ConfigError> {
    if ttl <= Duration::zero() {
        return Err(ConfigError::NonPositiveTtl(name));
    }
    Ok(ttl)
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
    fn oauth_defaults_are_on_the_safe_side() {
        let config = OAuthConfig::default();
        assert_eq!(config.code_ttl, Duration::seconds(60));
        assert_eq!(config.access_token_ttl, Duration::seconds(3600));
        assert!(config.rotate_refresh_tokens);
        assert!(config.pkce_required);
        assert!(!config.allow_plain_pkce);
        assert!(!config.password_grant);
        assert!(config.dangerous_enable_password_grant().password_grant);
        let names: Vec<_> = OAuthConfig::default().scopes.into_keys().collect();
        assert_eq!(names, ["email", "openid", "profile"]);
    }

    #[test]
    fn oauth_settings_are_validated() {
        for bad in ["", "auth.example", "https://x?y", "https://x#y", "ftp://x"] {
            assert!(OAuthConfig::default().with_issuer(bad).is_err(), "{bad}");
        }
        for bad in ["", "a b", "a\"b", "a\\b", "caf\u{e9}", "a\n"] {
            assert!(
                OAuthConfig::default().with_scope(bad, "").is_err(),
                "{bad:?}"
            );
        }
        assert!(OAuthConfig::default().with_scope("read:all!", "x").is_ok());
        assert!(
            OAuthConfig::default()
                .with_default_scopes(&["unknown"])
                .is_err()
        );
        let config = OAuthConfig::default()
            .with_default_scopes(&["profile"])
            .unwrap();
        assert_eq!(config.default_scopes, ["profile"]);
        assert!(
            OAuthConfig::default()
                .with_code_ttl(Duration::zero())
                .is_err()
        );
        assert!(
            OAuthConfig::default()
                .with_refresh_token_ttl(Some(Duration::seconds(-1)))
                .is_err()
        );
        assert!(
            OAuthConfig::default()
                .with_refresh_token_ttl(None)
                .unwrap()
                .refresh_token_ttl
                .is_none()
        );
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
