//! simplejwt-style JSON Web Tokens: short-lived access tokens and longer-lived
//! refresh tokens, issued and verified by [`Jwt`].
//!
//! - The claims are simplejwt's (`token_type`, `exp`, `iat`, `jti`,
//!   `user_id`), plus `fam`, the rotation family a refresh chain shares,
//!   and `iss`/`aud` when configured. Tokens issued by simplejwt verify here,
//!   and tokens issued here pass simplejwt's checks.
//! - Verification follows RFC 8725: the compact form only, parsed strictly;
//!   the algorithm is fixed by the key and the configuration, never taken
//!   from the token (`alg: none` and any other algorithm fail); `crit` is
//!   refused; the claims are read only once the signature verified; `exp` is
//!   required and must be a number.
//! - Keys ([`JwtKey`]) carry a `kid`, and a [`KeySet`] holds the active
//!   signing key plus verification-only keys, so keys rotate without logging
//!   anyone out. Both halves of a key are built once, when it is made.
//! - Access and refresh tokens and their claims are distinct types
//!   ([`AccessToken`], [`RefreshToken`], [`AccessClaims`], [`RefreshClaims`]).
//! - Time comes from the [`Clock`] the [`Jwt`] holds (or is passed in to the
//!   `*_at` methods), so tests set it.
//! - A deployment moving from Django keeps its users signed in: with a
//!   [`DjangoCutover`], tokens simplejwt signed with Django's `SECRET_KEY`
//!   (HS256, simplejwt's claim names, `user_id` the Django id) verify until
//!   a given instant, while every token issued is signed with this
//!   library's keys.
//!
//! ```
//! use std::sync::Arc;
//! use auth_core::ManualClock;
//! use auth_core::token::jwt::{Algorithm, Jwt, JwtConfig, JwtKey, KeySet};
//!
//! let key = JwtKey::hmac(Algorithm::HS256, b"a secret of at least thirty-two bytes")?;
//! let clock = Arc::new(ManualClock::at_unix(1_700_000_000));
//! let jwt = Jwt::new(JwtConfig::default(), KeySet::new(key)?, clock.clone())?;
//!
//! let pair = jwt.issue_pair("42", None)?;
//! let claims = jwt.verify_access(pair.access.as_str())?;
//! assert_eq!(claims.user_id, "42");
//! assert!(jwt.verify_refresh(pair.access.as_str()).is_err()); // wrong type
//!
//! clock.advance(chrono::Duration::minutes(5)); // the access lifetime
//! assert!(jwt.verify_access(pair.access.as_str()).is_err());
//! assert!(jwt.verify_refresh(pair.refresh.as_str()).is_ok());
//! # Ok::<(), auth_core::token::jwt::JwtError>(())
//! ```

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::clock::Clock;

mod algorithm;
mod claims;
mod error;
mod jws;
mod keys;

pub use algorithm::Algorithm;
pub use claims::{AccessClaims, RefreshClaims, TokenType};
pub use error::JwtError;
pub use jws::{JwsHeader, VerifiedJws};
pub use keys::{JwkSet, JwtKey, KeySet, PublicJwk};

use claims::{Checked, ClaimNames, ClaimsOut, MAX_TIMESTAMP, Rules};

/// The `typ` of a compact JWS's protected header, read without verifying
/// anything: only to send a bearer token to the verifier that checks it
/// (which reads the header again, from the verified token). `None` for a
/// token without a well-formed header or without `typ`.
pub(crate) fn unverified_typ(token: &str) -> Option<String> {
    let header = token.split('.').next()?;
    if header.len() > jws::MAX_TOKEN_LEN {
        return None;
    }
    jws::parse_header(header).ok()?.typ
}

pub mod dangerous {
    //! Options that weaken security, for interoperating with deployments
    //! that already use them. Audit every use.

    use super::{Algorithm, JwtError, JwtKey};

    /// An HMAC key from a secret shorter than RFC 7518 section 3.2 requires
    /// (the hash output size), e.g. a 50-character Django `SECRET_KEY` used
    /// by simplejwt with HS512. Short secrets are easier to brute-force from
    /// a single token; prefer rotating to a longer one (see [`KeySet`]).
    /// The secret must still not be empty.
    ///
    /// [`KeySet`]: super::KeySet
    pub fn hmac_key_with_short_secret(
        alg: Algorithm,
        secret: impl AsRef<[u8]>,
    ) -> Result<JwtKey, JwtError> {
        JwtKey::hmac_unchecked(alg, secret.as_ref())
    }
}

/// Settings of the JWT strategy. `Default` is simplejwt's: HS256, access
/// tokens for 5 minutes, refresh tokens for 1 day, no leeway, claims
/// `token_type`, `user_id` and `jti` (plus `fam`), no issuer, no audience.
///
/// The builders validate what they take.
///
/// ```
/// use auth_core::token::jwt::{Algorithm, JwtConfig};
/// use chrono::Duration;
/// let config = JwtConfig::default()
///     .with_algorithm(Algorithm::EdDSA)
///     .with_access_lifetime(Duration::minutes(15))?
///     .with_user_id_claim("sub")?
///     .with_issuer("https://auth.example.com")?;
/// assert_eq!(config.access_lifetime(), Duration::minutes(15));
/// assert!(JwtConfig::default().with_leeway(Duration::seconds(-1)).is_err());
/// assert!(JwtConfig::default().with_user_id_claim("exp").is_err());
/// # Ok::<(), auth_core::token::jwt::JwtError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtConfig {
    algorithm: Algorithm,
    access_lifetime: Duration,
    refresh_lifetime: Duration,
    leeway: Duration,
    names: ClaimNames,
    issuer: Option<String>,
    audience: Option<String>,
    django: Option<DjangoCutover>,
}

/// The cut-over from a Django deployment: tokens that its
/// djangorestframework-simplejwt signed with its `SECRET_KEY` are accepted
/// until [`accept_until`](Self::accept_until), so nobody is logged out by
/// the move; every token issued is still signed with this library's keys.
///
/// Such a token verifies only as simplejwt writes them by default: HS256
/// (fixed here, never taken from the token, RFC 8725), no `kid`, the claims
/// `token_type`, `exp`, `iat`, `jti` and `user_id` under those names
/// whatever [`JwtConfig`] names them, and no `aud`; `iss` is not required.
/// Its `user_id` (a string or an integer) is the user's legacy id
/// ([`User::legacy_id`](crate::user::User::legacy_id)); its claims say
/// [`legacy`](AccessClaims::legacy). `exp` and the leeway apply as to any
/// token, and at `accept_until` or later every such token fails.
///
/// `Debug` hides the key; two cut-overs compare equal (in constant time)
/// when their keys and instants are the same.
///
/// ```
/// use auth_core::token::jwt::{DjangoCutover, JwtConfig};
/// let until = chrono::DateTime::parse_from_rfc3339("2027-01-31T00:00:00Z")?.to_utc();
/// let cutover = DjangoCutover::new("django-insecure-the-settings-SECRET_KEY", until)?;
/// let config = JwtConfig::default().with_django_cutover(cutover);
/// assert_eq!(config.django_cutover().map(|c| c.accept_until()), Some(until));
/// assert!(!format!("{config:?}").contains("insecure"));
/// assert!(DjangoCutover::new("", until).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct DjangoCutover {
    secret_key: Vec<u8>,
    accept_until: DateTime<Utc>,
}

impl DjangoCutover {
    /// Accepts tokens signed with `secret_key` (the bytes of Django's
    /// `SECRET_KEY` setting, or of simplejwt's `SIGNING_KEY` when it was
    /// set) until `accept_until`. Any non-empty key is taken, as Django
    /// took it, however short.
    pub fn new(
        secret_key: impl AsRef<[u8]>,
        accept_until: DateTime<Utc>,
    ) -> Result<Self, JwtError> {
        let secret_key = secret_key.as_ref().to_vec();
        if secret_key.is_empty() {
            return Err(config_error("the Django secret key cannot be empty"));
        }
        Ok(Self {
            secret_key,
            accept_until,
        })
    }

    /// The first instant at which Django's tokens fail.
    pub fn accept_until(&self) -> DateTime<Utc> {
        self.accept_until
    }
}

impl fmt::Debug for DjangoCutover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DjangoCutover")
            .field("secret_key", &"[redacted]")
            .field("accept_until", &self.accept_until)
            .finish()
    }
}

impl PartialEq for DjangoCutover {
    fn eq(&self, other: &Self) -> bool {
        crate::secret::constant_time_eq(&self.secret_key, &other.secret_key)
            && self.accept_until == other.accept_until
    }
}

impl Eq for DjangoCutover {}

/// The cut-over's key, built once, with simplejwt's default claim names.
#[derive(Debug)]
struct DjangoKeys {
    keys: KeySet,
    names: ClaimNames,
    accept_until: DateTime<Utc>,
}

impl DjangoKeys {
    /// Whether the Django key is also one of `keys` (an HS256 key with the
    /// same secret: what one signs, the other verifies).
    fn is_among(&self, keys: &KeySet) -> bool {
        const PROBE: &[u8] = b"auth-core.jwt.django-cutover-probe";
        keys.iter()
            .filter(|key| key.algorithm() == Algorithm::HS256 && key.can_sign())
            .filter_map(|key| key.sign(PROBE).ok())
            .filter_map(|signature| URL_SAFE_NO_PAD.decode(signature).ok())
            .any(|signature| self.keys.signing_key().verify(PROBE, &signature).is_ok())
    }

    fn new(cutover: &DjangoCutover) -> Result<Self, JwtError> {
        let key = JwtKey::hmac_unchecked(Algorithm::HS256, &cutover.secret_key)?;
        Ok(Self {
            keys: KeySet::new(key)?,
            names: JwtConfig::default().names,
            accept_until: cutover.accept_until,
        })
    }
}

impl Default for JwtConfig {
    fn default() -> Self {
        Self {
            algorithm: Algorithm::HS256,
            access_lifetime: Duration::minutes(5),
            refresh_lifetime: Duration::days(1),
            leeway: Duration::zero(),
            names: ClaimNames {
                token_type: "token_type".into(),
                user_id: "user_id".into(),
                jti: "jti".into(),
                family: "fam".into(),
            },
            issuer: None,
            audience: None,
            django: None,
        }
    }
}

fn config_error(msg: impl Into<String>) -> JwtError {
    JwtError::InvalidConfig(msg.into())
}

impl JwtConfig {
    /// The algorithm tokens are signed with (simplejwt's `ALGORITHM`). The
    /// signing key must be for it, and tokens without a `kid` must use it.
    pub fn with_algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// How long access tokens live (`ACCESS_TOKEN_LIFETIME`): whole seconds,
    /// at least one.
    pub fn with_access_lifetime(mut self, lifetime: Duration) -> Result<Self, JwtError> {
        self.access_lifetime = whole_seconds(lifetime, "access lifetime", 1)?;
        Ok(self)
    }

    /// How long refresh tokens live (`REFRESH_TOKEN_LIFETIME`): whole
    /// seconds, at least one.
    pub fn with_refresh_lifetime(mut self, lifetime: Duration) -> Result<Self, JwtError> {
        self.refresh_lifetime = whole_seconds(lifetime, "refresh lifetime", 1)?;
        Ok(self)
    }

    /// Clock skew tolerated on `exp` and `nbf` (`LEEWAY`): whole seconds,
    /// not negative.
    pub fn with_leeway(mut self, leeway: Duration) -> Result<Self, JwtError> {
        self.leeway = whole_seconds(leeway, "leeway", 0)?;
        Ok(self)
    }

    /// The claim holding the token type (`TOKEN_TYPE_CLAIM`, default `token_type`).
    pub fn with_token_type_claim(mut self, name: impl Into<String>) -> Result<Self, JwtError> {
        self.names.token_type = name.into();
        self.check_names()?;
        Ok(self)
    }

    /// The claim holding the user id (`USER_ID_CLAIM`, default `user_id`).
    pub fn with_user_id_claim(mut self, name: impl Into<String>) -> Result<Self, JwtError> {
        self.names.user_id = name.into();
        self.check_names()?;
        Ok(self)
    }

    /// The claim holding the token id (`JTI_CLAIM`, default `jti`).
    pub fn with_jti_claim(mut self, name: impl Into<String>) -> Result<Self, JwtError> {
        self.names.jti = name.into();
        self.check_names()?;
        Ok(self)
    }

    /// The claim holding the rotation family (default `fam`).
    pub fn with_family_claim(mut self, name: impl Into<String>) -> Result<Self, JwtError> {
        self.names.family = name.into();
        self.check_names()?;
        Ok(self)
    }

    /// Sets `iss` in issued tokens and requires it in verified ones (`ISSUER`).
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Result<Self, JwtError> {
        self.issuer = Some(non_empty(issuer.into(), "issuer")?);
        Ok(self)
    }

    /// Sets `aud` in issued tokens and requires verified ones to name it
    /// (`AUDIENCE`). Without one, tokens that carry an `aud` are refused.
    pub fn with_audience(mut self, audience: impl Into<String>) -> Result<Self, JwtError> {
        self.audience = Some(non_empty(audience.into(), "audience")?);
        Ok(self)
    }

    /// Accepts a Django deployment's simplejwt tokens until the cut-over's
    /// instant (see [`DjangoCutover`]).
    pub fn with_django_cutover(mut self, cutover: DjangoCutover) -> Self {
        self.django = Some(cutover);
        self
    }

    /// The Django cut-over, if one is set.
    pub fn django_cutover(&self) -> Option<&DjangoCutover> {
        self.django.as_ref()
    }

    /// The signing algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The access token lifetime.
    pub fn access_lifetime(&self) -> Duration {
        self.access_lifetime
    }

    /// The refresh token lifetime.
    pub fn refresh_lifetime(&self) -> Duration {
        self.refresh_lifetime
    }

    /// The leeway on `exp` and `nbf`.
    pub fn leeway(&self) -> Duration {
        self.leeway
    }

    /// The token type claim's name.
    pub fn token_type_claim(&self) -> &str {
        &self.names.token_type
    }

    /// The user id claim's name.
    pub fn user_id_claim(&self) -> &str {
        &self.names.user_id
    }

    /// The token id claim's name.
    pub fn jti_claim(&self) -> &str {
        &self.names.jti
    }

    /// The rotation family claim's name.
    pub fn family_claim(&self) -> &str {
        &self.names.family
    }

    /// The required issuer, if any.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The required audience, if any.
    pub fn audience(&self) -> Option<&str> {
        self.audience.as_deref()
    }

    /// Whether a [`ClaimsHook`](crate::flows::ClaimsHook) may not add a
    /// claim named `name`: a registered claim of RFC 7519, a default claim
    /// name of simplejwt or `fam`, or one of the configured claim names.
    /// Issuing a token with such a claim added fails with
    /// [`JwtError::ReservedClaim`]; an application can check the names it
    /// will add when it starts.
    ///
    /// ```
    /// use auth_core::token::jwt::JwtConfig;
    /// let config = JwtConfig::default().with_user_id_claim("uid").unwrap();
    /// assert!(config.is_reserved_claim("exp"));
    /// assert!(config.is_reserved_claim("user_id"));
    /// assert!(config.is_reserved_claim("uid"));
    /// assert!(!config.is_reserved_claim("team"));
    /// ```
    pub fn is_reserved_claim(&self, name: &str) -> bool {
        claims::is_reserved(name, &self.names)
    }

    fn check_names(&self) -> Result<(), JwtError> {
        let names = [
            &self.names.token_type,
            &self.names.user_id,
            &self.names.jti,
            &self.names.family,
        ];
        for (i, name) in names.iter().enumerate() {
            if name.is_empty() {
                return Err(config_error("a claim name cannot be empty"));
            }
            if claims::FIXED_NAMES.contains(&name.as_str()) {
                return Err(config_error(format!("{name:?} is a registered claim")));
            }
            if names.iter().skip(i + 1).any(|other| other == name) {
                return Err(config_error(format!("claim name {name:?} is used twice")));
            }
        }
        Ok(())
    }
}

fn whole_seconds(duration: Duration, what: &str, min: i64) -> Result<Duration, JwtError> {
    let secs = duration.num_seconds();
    if secs < min || duration.subsec_nanos() != 0 {
        return Err(config_error(format!(
            "the {what} must be whole seconds, at least {min}"
        )));
    }
    if secs > MAX_TIMESTAMP {
        return Err(config_error(format!("the {what} is too long")));
    }
    Ok(duration)
}

fn non_empty(value: String, what: &str) -> Result<String, JwtError> {
    if value.is_empty() {
        Err(config_error(format!("the {what} cannot be empty")))
    } else {
        Ok(value)
    }
}

macro_rules! token_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// The encoded token.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The encoded token, owned.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }
    };
}

token_type!(
    /// An encoded access token (`header.claims.signature`), as sent in
    /// `Authorization: Bearer`. `Debug` prints `[redacted]`; `Serialize`
    /// writes the string.
    AccessToken
);

token_type!(
    /// An encoded refresh token. `Debug` prints `[redacted]`; `Serialize`
    /// writes the string.
    RefreshToken
);

/// What a login or a refresh hands out: both tokens, sharing `iat` and the
/// rotation family, with their claims (the rotation layer records the
/// refresh token's `jti` and `exp`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenPair {
    /// The access token.
    pub access: AccessToken,
    /// The refresh token.
    pub refresh: RefreshToken,
    /// The access token's claims.
    pub access_claims: AccessClaims,
    /// The refresh token's claims.
    pub refresh_claims: RefreshClaims,
}

/// A token of either type that verified, from [`Jwt::verify_any`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifiedToken {
    /// An access token.
    Access(AccessClaims),
    /// A refresh token.
    Refresh(RefreshClaims),
}

impl VerifiedToken {
    /// Which type it is.
    pub fn token_type(&self) -> TokenType {
        match self {
            VerifiedToken::Access(_) => TokenType::Access,
            VerifiedToken::Refresh(_) => TokenType::Refresh,
        }
    }
}

/// A fresh UUID v4 as 32 lower-case hex digits (simplejwt's `jti` format),
/// from the operating system's random generator: a new rotation family id.
///
/// ```
/// let id = auth_core::token::jwt::new_token_id()?;
/// assert_eq!(id.len(), 32);
/// assert!(id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
/// # Ok::<(), auth_core::token::jwt::JwtError>(())
/// ```
pub fn new_token_id() -> Result<String, JwtError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| JwtError::Random)?;
    Ok(uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .simple()
        .to_string())
}

/// A `jti` for a token issued at `now`: a UUID v7 (its first 48 bits the
/// millisecond, the rest OS randomness) as 32 lower-case hex digits, the
/// same shape as simplejwt's. The millisecond lets a per-user "tokens valid
/// after" mark void exactly the tokens issued before it, where `iat` (whole
/// seconds) cannot tell; see [`issued_at_millis`].
///
/// ```
/// use auth_core::token::jwt::{issued_at_millis, time_ordered_token_id};
/// let now = chrono::DateTime::from_timestamp_millis(1_800_000_000_123).unwrap();
/// let jti = time_ordered_token_id(now)?;
/// assert_eq!(jti.len(), 32);
/// assert_eq!(issued_at_millis(&jti, 1_800_000_000), 1_800_000_000_123);
/// # Ok::<(), auth_core::token::jwt::JwtError>(())
/// ```
pub fn time_ordered_token_id(now: DateTime<Utc>) -> Result<String, JwtError> {
    let mut random = [0u8; 10];
    getrandom::fill(&mut random).map_err(|_| JwtError::Random)?;
    token_id_from(now, &random)
}

/// A `jti` as [`time_ordered_token_id`] makes them, with the given 80 bits
/// in place of fresh randomness (a rotation's successor, made again
/// identically for a client retrying within the grace window).
pub(crate) fn token_id_from(now: DateTime<Utc>, random: &[u8; 10]) -> Result<String, JwtError> {
    let millis =
        u64::try_from(now.timestamp_millis()).map_err(|_| JwtError::InvalidClaim("iat".into()))?;
    Ok(uuid::Builder::from_unix_timestamp_millis(millis, random)
        .into_uuid()
        .simple()
        .to_string())
}

/// When a token was issued, in milliseconds since the Unix epoch: from its
/// `jti` when that is a UUID v7 naming a millisecond within its `iat`
/// second (the tokens this library issues), else `iat` seconds (tokens
/// made elsewhere, such as simplejwt's).
pub fn issued_at_millis(jti: &str, iat: i64) -> i64 {
    let seconds = iat.saturating_mul(1000);
    let Ok(uuid) = uuid::Uuid::try_parse(jti) else {
        return seconds;
    };
    if uuid.get_version_num() != 7 {
        return seconds;
    }
    let Some((secs, nanos)) = uuid.get_timestamp().map(|ts| ts.to_unix()) else {
        return seconds;
    };
    match i64::try_from(secs) {
        Ok(secs) if secs == iat => seconds + i64::from(nanos / 1_000_000),
        _ => seconds,
    }
}

/// Issues and verifies access and refresh tokens with a [`KeySet`], a
/// [`JwtConfig`] and a [`Clock`]. Cheap to share behind an `Arc`; the key
/// set can be swapped while in use ([`set_keys`](Self::set_keys)).
#[derive(Debug)]
pub struct Jwt {
    config: JwtConfig,
    keys: RwLock<Arc<KeySet>>,
    django: Option<DjangoKeys>,
    clock: Arc<dyn Clock>,
}

impl Jwt {
    /// A JWT strategy. The key set's signing key must be for
    /// `config.algorithm()`.
    pub fn new(config: JwtConfig, keys: KeySet, clock: Arc<dyn Clock>) -> Result<Self, JwtError> {
        check_keys(&config, &keys)?;
        let django = config.django.as_ref().map(DjangoKeys::new).transpose()?;
        if let Some(django) = &django
            && django.is_among(&keys)
        {
            return Err(config_error(
                "the Django cut-over key is one of this library's keys: tokens issued here \
                 must be signed with a key Django does not hold",
            ));
        }
        Ok(Self {
            config,
            keys: RwLock::new(Arc::new(keys)),
            django,
            clock,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &JwtConfig {
        &self.config
    }

    /// The key set in use.
    pub fn keys(&self) -> Arc<KeySet> {
        Arc::clone(&self.keys.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Whether `encoded` is, byte for byte, the header one of the keys in
    /// use writes (`typ: JWT`): every token this strategy issued has one,
    /// so a bearer token is routed here without decoding its header.
    pub(crate) fn writes_header(&self, encoded: &str) -> bool {
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        keys.iter().any(|key| key.encoded_header() == encoded)
    }

    /// Replaces the key set, e.g. after [`KeySet::rotate`] or
    /// [`KeySet::remove`] on a copy of [`keys`](Self::keys). Requests in
    /// flight finish with the old set.
    pub fn set_keys(&self, keys: KeySet) -> Result<(), JwtError> {
        check_keys(&self.config, &keys)?;
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(keys);
        Ok(())
    }

    /// The public verification keys as a JWK Set, for `GET /api/auth/jwks.json`
    /// (empty `keys` with HMAC keys only).
    pub fn jwks(&self) -> JwkSet {
        self.keys().jwks()
    }

    /// Issues an access token for `user_id`, in rotation family `family`.
    pub fn issue_access(
        &self,
        user_id: &str,
        family: Option<&str>,
    ) -> Result<(AccessToken, AccessClaims), JwtError> {
        self.issue_access_at(user_id, family, self.now())
    }

    /// [`issue_access`](Self::issue_access) at a given time.
    pub fn issue_access_at(
        &self,
        user_id: &str,
        family: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(AccessToken, AccessClaims), JwtError> {
        let (token, checked) = self.issue(TokenType::Access, user_id, family, now, &Map::new())?;
        Ok((AccessToken(token), AccessClaims::from_checked(checked)))
    }

    /// Issues a refresh token for `user_id`, in rotation family `family`.
    pub fn issue_refresh(
        &self,
        user_id: &str,
        family: Option<&str>,
    ) -> Result<(RefreshToken, RefreshClaims), JwtError> {
        self.issue_refresh_at(user_id, family, self.now())
    }

    /// [`issue_refresh`](Self::issue_refresh) at a given time.
    pub fn issue_refresh_at(
        &self,
        user_id: &str,
        family: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(RefreshToken, RefreshClaims), JwtError> {
        let (token, checked) = self.issue(TokenType::Refresh, user_id, family, now, &Map::new())?;
        Ok((RefreshToken(token), RefreshClaims::from_checked(checked)))
    }

    /// Issues an access and a refresh token for `user_id`, both carrying
    /// `family` when given (simplejwt's `RefreshToken.for_user` and its
    /// `access_token`).
    pub fn issue_pair(&self, user_id: &str, family: Option<&str>) -> Result<TokenPair, JwtError> {
        self.issue_pair_at(user_id, family, self.now())
    }

    /// [`issue_pair`](Self::issue_pair) at a given time.
    pub fn issue_pair_at(
        &self,
        user_id: &str,
        family: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<TokenPair, JwtError> {
        let none = Map::new();
        self.issue_pair_with_claims(user_id, family, now, [&none, &none])
    }

    /// [`issue_pair_at`](Self::issue_pair_at) with claims added to the
    /// access and the refresh token (`extra`, in that order); a reserved
    /// name among them is [`JwtError::ReservedClaim`].
    pub(crate) fn issue_pair_with_claims(
        &self,
        user_id: &str,
        family: Option<&str>,
        now: DateTime<Utc>,
        extra: [&Map<String, Value>; 2],
    ) -> Result<TokenPair, JwtError> {
        let access_jti = time_ordered_token_id(now)?;
        let refresh_jti = time_ordered_token_id(now)?;
        self.issue_pair_with_ids(user_id, family, now, [access_jti, refresh_jti], extra)
    }

    /// [`issue_pair_with_claims`](Self::issue_pair_with_claims) with the
    /// tokens' `jti`s given (see [`token_id_from`]): the same arguments
    /// give the same pair.
    pub(crate) fn issue_pair_with_ids(
        &self,
        user_id: &str,
        family: Option<&str>,
        now: DateTime<Utc>,
        [access_jti, refresh_jti]: [String; 2],
        [access_extra, refresh_extra]: [&Map<String, Value>; 2],
    ) -> Result<TokenPair, JwtError> {
        let (access, access_claims) = self.issue_with_id(
            TokenType::Access,
            user_id,
            family,
            now,
            access_jti,
            access_extra,
        )?;
        let (refresh, refresh_claims) = self.issue_with_id(
            TokenType::Refresh,
            user_id,
            family,
            now,
            refresh_jti,
            refresh_extra,
        )?;
        Ok(TokenPair {
            access: AccessToken(access),
            refresh: RefreshToken(refresh),
            access_claims: AccessClaims::from_checked(access_claims),
            refresh_claims: RefreshClaims::from_checked(refresh_claims),
        })
    }

    /// Verifies an access token: signature, `exp` (and `nbf`), token type,
    /// issuer and audience. A refresh token fails with
    /// [`JwtError::WrongTokenType`]. Revocation is not checked here.
    pub fn verify_access(&self, token: &str) -> Result<AccessClaims, JwtError> {
        self.verify_access_at(token, self.now())
    }

    /// [`verify_access`](Self::verify_access) at a given time.
    pub fn verify_access_at(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<AccessClaims, JwtError> {
        let checked = self.verify(token, Some(TokenType::Access), now)?;
        Ok(AccessClaims::from_checked(checked))
    }

    /// Verifies a refresh token; an access token fails with
    /// [`JwtError::WrongTokenType`]. Blacklisting is not checked here.
    pub fn verify_refresh(&self, token: &str) -> Result<RefreshClaims, JwtError> {
        self.verify_refresh_at(token, self.now())
    }

    /// [`verify_refresh`](Self::verify_refresh) at a given time.
    pub fn verify_refresh_at(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<RefreshClaims, JwtError> {
        let checked = self.verify(token, Some(TokenType::Refresh), now)?;
        Ok(RefreshClaims::from_checked(checked))
    }

    /// Verifies a token of either type (simplejwt's `UntypedToken`, as the
    /// `/jwt/verify` endpoint does).
    pub fn verify_any(&self, token: &str) -> Result<VerifiedToken, JwtError> {
        self.verify_any_at(token, self.now())
    }

    /// [`verify_any`](Self::verify_any) at a given time.
    pub fn verify_any_at(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<VerifiedToken, JwtError> {
        let checked = self.verify(token, None, now)?;
        Ok(match checked.token_type {
            TokenType::Access => VerifiedToken::Access(AccessClaims::from_checked(checked)),
            TokenType::Refresh => VerifiedToken::Refresh(RefreshClaims::from_checked(checked)),
        })
    }

    /// The clock's time, truncated as everywhere in the service.
    fn now(&self) -> DateTime<Utc> {
        crate::clock::now_micros(&*self.clock)
    }

    /// Issues an access token with claims added (`extra`); a reserved name
    /// among them is [`JwtError::ReservedClaim`].
    pub(crate) fn issue_access_with_claims(
        &self,
        user_id: &str,
        family: Option<&str>,
        now: DateTime<Utc>,
        extra: &Map<String, Value>,
    ) -> Result<AccessToken, JwtError> {
        let (token, _) = self.issue(TokenType::Access, user_id, family, now, extra)?;
        Ok(AccessToken(token))
    }

    fn issue(
        &self,
        token_type: TokenType,
        user_id: &str,
        family: Option<&str>,
        now: DateTime<Utc>,
        extra: &Map<String, Value>,
    ) -> Result<(String, Checked), JwtError> {
        let jti = time_ordered_token_id(now)?;
        self.issue_with_id(token_type, user_id, family, now, jti, extra)
    }

    fn issue_with_id(
        &self,
        token_type: TokenType,
        user_id: &str,
        family: Option<&str>,
        now: DateTime<Utc>,
        jti: String,
        extra: &Map<String, Value>,
    ) -> Result<(String, Checked), JwtError> {
        let names = &self.config.names;
        if user_id.is_empty() {
            return Err(JwtError::InvalidClaim(names.user_id.clone()));
        }
        if let Some(name) = extra.keys().find(|name| claims::is_reserved(name, names)) {
            return Err(JwtError::ReservedClaim(name.clone()));
        }
        if family.is_some_and(str::is_empty) {
            return Err(JwtError::InvalidClaim(names.family.clone()));
        }
        let iat = now.timestamp();
        let lifetime = match token_type {
            TokenType::Access => self.config.access_lifetime,
            TokenType::Refresh => self.config.refresh_lifetime,
        };
        let exp = iat.saturating_add(lifetime.num_seconds());
        if !(0..=MAX_TIMESTAMP).contains(&iat) || exp > MAX_TIMESTAMP {
            return Err(JwtError::InvalidClaim("exp".into()));
        }
        let claims = ClaimsOut {
            names,
            token_type,
            exp,
            iat,
            jti: &jti,
            user_id,
            family,
            iss: self.config.issuer.as_deref(),
            aud: self.config.audience.as_deref(),
            extra,
        };
        let payload = serde_json::to_vec(&claims).map_err(|_| JwtError::Signing)?;
        let keys = self.keys();
        let key = keys.signing_key();
        let mut token = String::with_capacity(key.encoded_header().len() + payload.len() * 2 + 100);
        token.push_str(key.encoded_header());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let signature = key.sign(token.as_bytes())?;
        token.push('.');
        token.push_str(&signature);
        Ok((token, claims.to_checked()))
    }

    fn verify(
        &self,
        token: &str,
        expected: Option<TokenType>,
        now: DateTime<Utc>,
    ) -> Result<Checked, JwtError> {
        let config = &self.config;
        let rules = Rules {
            names: &config.names,
            now: now.timestamp(),
            leeway: config.leeway.num_seconds(),
            issuer: config.issuer.as_deref(),
            audience: config.audience.as_deref(),
        };
        let ours = {
            let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
            verify_with(&keys, token, expected, &rules)
        };
        match (ours, &self.django) {
            // Not signed by any key of ours: perhaps by Django, while its
            // tokens are still accepted.
            (Err(err @ (JwtError::Signature | JwtError::Algorithm(_))), Some(django))
                if now < django.accept_until =>
            {
                let rules = Rules {
                    names: &django.names,
                    issuer: None,
                    audience: None,
                    ..rules
                };
                match verify_with(&django.keys, token, expected, &rules) {
                    Ok(mut checked) => {
                        checked.legacy = true;
                        checked.family = None;
                        Ok(checked)
                    }
                    Err(JwtError::Signature | JwtError::Algorithm(_) | JwtError::UnknownKey) => {
                        Err(err)
                    }
                    Err(django_err) => Err(django_err),
                }
            }
            (ours, _) => ours,
        }
    }
}

/// Verifies `token` with `keys` under `rules`: the signature, then `typ`,
/// then the claims.
fn verify_with(
    keys: &KeySet,
    token: &str,
    expected: Option<TokenType>,
    rules: &Rules<'_>,
) -> Result<Checked, JwtError> {
    let accepted = keys.accept(token)?;
    // RFC 8725 3.11: a `typ`, when present, must say this is a JWT.
    if accepted
        .typ()
        .is_some_and(|typ| !typ.eq_ignore_ascii_case("JWT"))
    {
        return Err(JwtError::Unsupported("typ is not JWT"));
    }
    let raw = claims::read(&accepted.payload, rules.names)?;
    claims::check(raw, expected, rules)
}

fn check_keys(config: &JwtConfig, keys: &KeySet) -> Result<(), JwtError> {
    if keys.algorithm() == config.algorithm {
        Ok(())
    } else {
        Err(config_error(format!(
            "the signing key is for {}, the configuration for {}",
            keys.algorithm(),
            config.algorithm
        )))
    }
}
