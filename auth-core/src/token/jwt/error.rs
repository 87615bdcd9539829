//! [`JwtError`]: everything issuing or verifying a JWT can fail with.

use crate::error::AuthError;

/// Why a JWT was rejected, or why a key or configuration was refused.
///
/// Every rejection of a token is one of the variants up to
/// [`Audience`](JwtError::Audience) ([`JwtError::is_token_rejection`] is
/// true); they all become [`AuthError::TokenNotValid`] (simplejwt's
/// `token_not_valid`), so a client learns nothing about *why* its token
/// failed. The remaining variants are server-side problems (a bad key, a bad
/// configuration, a failing RNG) and become [`AuthError::Internal`].
///
/// ```
/// use auth_core::error::AuthError;
/// use auth_core::token::jwt::JwtError;
/// let err: AuthError = JwtError::Expired.into();
/// assert!(matches!(err, AuthError::TokenNotValid));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// Not a well-formed compact JWS/JWT: not exactly three base64url parts,
    /// a part that is not strict unpadded base64url, a header or claims set
    /// that is not a JSON object, a duplicate member name, or too long.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// Well-formed but using something this library does not accept: the
    /// JWS JSON serialization, a `crit` header, a `typ` other than `JWT`.
    #[error("unsupported token: {0}")]
    Unsupported(&'static str),
    /// The header's `alg` (kept here, as sent) is not the algorithm of the
    /// key that would verify it; this includes `none`. The algorithm is
    /// fixed by configuration and never taken from the token.
    #[error("algorithm {0:?} is not accepted")]
    Algorithm(String),
    /// The header names a `kid` that is not in the verification key set.
    #[error("no verification key with this kid")]
    UnknownKey,
    /// The signature does not verify.
    #[error("signature is not valid")]
    Signature,
    /// `exp` has passed (beyond the configured leeway).
    #[error("token has expired")]
    Expired,
    /// `nbf` is still in the future (beyond the configured leeway).
    #[error("token is not valid yet")]
    NotYetValid,
    /// A required claim is absent; holds the claim's name.
    #[error("token has no {0:?} claim")]
    MissingClaim(String),
    /// A claim has the wrong JSON type or an impossible value (e.g. `exp`
    /// as a string, an empty `jti`); holds the claim's name.
    #[error("token has an invalid {0:?} claim")]
    InvalidClaim(String),
    /// An access token where a refresh token was expected, or the reverse.
    #[error("wrong token type")]
    WrongTokenType,
    /// An issuer is configured and the token's `iss` differs.
    #[error("token issuer does not match")]
    Issuer,
    /// The token's `aud` does not contain the configured audience, or the
    /// token has an `aud` while none is configured (RFC 7519 section 4.1.3).
    #[error("token audience does not match")]
    Audience,
    /// A key was refused when it was built (too short a secret, wrong type
    /// for the algorithm, unparsable PEM or JWK, not for signatures), or a
    /// key set operation was refused (duplicate `kid`, no signing key).
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// A configuration value was refused by a [`JwtConfig`](super::JwtConfig) builder.
    #[error("invalid JWT configuration: {0}")]
    InvalidConfig(String),
    /// The signing primitive failed (should not happen with a valid key).
    #[error("signing failed")]
    Signing,
    /// An application's [`ClaimsHook`](crate::flows::ClaimsHook) added a
    /// claim under a name the library writes or checks (holds the name);
    /// nothing was issued.
    #[error("an added claim may not be named {0:?}: the library writes or checks it")]
    ReservedClaim(String),
    /// The operating system's random generator failed.
    #[error("random generator failed")]
    Random,
}

impl JwtError {
    /// True for a rejected token (the client's fault), false for a key,
    /// configuration or signing problem (the server's).
    pub fn is_token_rejection(&self) -> bool {
        !matches!(
            self,
            JwtError::InvalidKey(_)
                | JwtError::InvalidConfig(_)
                | JwtError::Signing
                | JwtError::ReservedClaim(_)
                | JwtError::Random
        )
    }
}

impl From<JwtError> for AuthError {
    fn from(err: JwtError) -> Self {
        if err.is_token_rejection() {
            AuthError::TokenNotValid
        } else {
            AuthError::Internal(Box::new(err))
        }
    }
}
