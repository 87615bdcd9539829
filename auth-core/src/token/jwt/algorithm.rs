//! [`Algorithm`]: the JWS signature algorithms, named as RFC 7518 names them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::error::JwtError;

/// The signature algorithms this library signs and verifies with
/// (RFC 7518 names).
///
/// The algorithm belongs to the key and to the configuration; it is never
/// taken from a token.
///
/// ```
/// use auth_core::token::jwt::Algorithm;
/// let alg: Algorithm = "EdDSA".parse().unwrap();
/// assert_eq!(alg, Algorithm::EdDSA);
/// assert_eq!(Algorithm::default().as_str(), "HS256");
/// assert!("none".parse::<Algorithm>().is_err());
/// ```
// The variant names are the RFC 7518 identifiers.
#[allow(clippy::upper_case_acronyms)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC with SHA-256 (simplejwt's default). Secret of at least 32 bytes.
    #[default]
    HS256,
    /// HMAC with SHA-384. Secret of at least 48 bytes.
    HS384,
    /// HMAC with SHA-512. Secret of at least 64 bytes.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256; RSA keys of 2048 to 4096 bits.
    RS256,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// EdDSA on Ed25519 (RFC 8037).
    EdDSA,
}

impl Algorithm {
    /// Every supported algorithm.
    pub const ALL: [Algorithm; 6] = [
        Algorithm::HS256,
        Algorithm::HS384,
        Algorithm::HS512,
        Algorithm::RS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
    ];

    /// The RFC 7518 name, as written in a JWS header's `alg`.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
            Algorithm::RS256 => "RS256",
            Algorithm::ES256 => "ES256",
            Algorithm::EdDSA => "EdDSA",
        }
    }

    /// True for the HMAC (shared secret) algorithms.
    pub fn is_hmac(self) -> bool {
        matches!(self, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
    }

    /// The shortest HMAC secret accepted: the hash's output size
    /// (RFC 7518 section 3.2); `None` for the public-key algorithms.
    pub fn min_secret_len(self) -> Option<usize> {
        match self {
            Algorithm::HS256 => Some(32),
            Algorithm::HS384 => Some(48),
            Algorithm::HS512 => Some(64),
            Algorithm::RS256 | Algorithm::ES256 | Algorithm::EdDSA => None,
        }
    }

    pub(crate) fn to_jsonwebtoken(self) -> jsonwebtoken::Algorithm {
        match self {
            Algorithm::HS256 => jsonwebtoken::Algorithm::HS256,
            Algorithm::HS384 => jsonwebtoken::Algorithm::HS384,
            Algorithm::HS512 => jsonwebtoken::Algorithm::HS512,
            Algorithm::RS256 => jsonwebtoken::Algorithm::RS256,
            Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
            Algorithm::EdDSA => jsonwebtoken::Algorithm::EdDSA,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = JwtError;

    /// Parses an RFC 7518 name, case-sensitively as the RFC has it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Algorithm::ALL
            .into_iter()
            .find(|alg| alg.as_str() == s)
            .ok_or_else(|| JwtError::InvalidConfig(format!("unsupported algorithm {s:?}")))
    }
}
