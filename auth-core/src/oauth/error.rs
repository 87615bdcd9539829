//! [`OAuthError`]: the error codes of RFC 6749 §5.2 (and RFC 7009's), typed.
//! auth-core names no HTTP status: auth-http's error table maps each code
//! to its status and body.

use std::fmt;

/// An OAuth2 error code (RFC 6749 §5.2, RFC 7009 §2.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OAuthErrorCode {
    /// A parameter is missing, repeated, unsupported or malformed.
    InvalidRequest,
    /// Client authentication failed: an unknown client, a wrong secret, no
    /// authentication from a confidential client, or an unsupported method.
    InvalidClient,
    /// The code, refresh token or resource owner credentials are invalid,
    /// expired, revoked, issued to another client, or the `redirect_uri`
    /// or PKCE verifier does not match.
    InvalidGrant,
    /// The client may not use this grant type.
    UnauthorizedClient,
    /// The grant type is not supported (or not enabled) by this server.
    UnsupportedGrantType,
    /// The scope asked for is invalid, unknown, or exceeds what was granted.
    InvalidScope,
    /// The server cannot revoke this type of token (RFC 7009).
    UnsupportedTokenType,
}

impl OAuthErrorCode {
    /// The code as the RFCs spell it (`invalid_grant`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthErrorCode::InvalidRequest => "invalid_request",
            OAuthErrorCode::InvalidClient => "invalid_client",
            OAuthErrorCode::InvalidGrant => "invalid_grant",
            OAuthErrorCode::UnauthorizedClient => "unauthorized_client",
            OAuthErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            OAuthErrorCode::InvalidScope => "invalid_scope",
            OAuthErrorCode::UnsupportedTokenType => "unsupported_token_type",
        }
    }
}

impl fmt::Display for OAuthErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OAuth2 protocol error: a code and a fixed, human-readable
/// description (`error_description`), which never echoes the request.
///
/// ```
/// use auth_core::oauth::{OAuthError, OAuthErrorCode};
/// let err = OAuthError::new(OAuthErrorCode::InvalidGrant, "The code was already used.");
/// assert_eq!(err.code.as_str(), "invalid_grant");
/// assert_eq!(err.to_string(), "invalid_grant: The code was already used.");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct OAuthError {
    /// The code.
    pub code: OAuthErrorCode,
    /// What went wrong, for the client's developer.
    pub description: &'static str,
}

impl OAuthError {
    /// An error with this code and description.
    pub const fn new(code: OAuthErrorCode, description: &'static str) -> Self {
        Self { code, description }
    }

    /// `invalid_request`.
    pub const fn invalid_request(description: &'static str) -> Self {
        Self::new(OAuthErrorCode::InvalidRequest, description)
    }

    /// `invalid_client`.
    pub const fn invalid_client(description: &'static str) -> Self {
        Self::new(OAuthErrorCode::InvalidClient, description)
    }

    /// `invalid_grant`.
    pub const fn invalid_grant(description: &'static str) -> Self {
        Self::new(OAuthErrorCode::InvalidGrant, description)
    }

    /// `invalid_scope`.
    pub const fn invalid_scope(description: &'static str) -> Self {
        Self::new(OAuthErrorCode::InvalidScope, description)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_spelled_as_the_rfcs_do() {
        let all = [
            (OAuthErrorCode::InvalidRequest, "invalid_request"),
            (OAuthErrorCode::InvalidClient, "invalid_client"),
            (OAuthErrorCode::InvalidGrant, "invalid_grant"),
            (OAuthErrorCode::UnauthorizedClient, "unauthorized_client"),
            (
                OAuthErrorCode::UnsupportedGrantType,
                "unsupported_grant_type",
            ),
            (OAuthErrorCode::InvalidScope, "invalid_scope"),
            (
                OAuthErrorCode::UnsupportedTokenType,
                "unsupported_token_type",
            ),
        ];
        for (code, name) in all {
            assert_eq!(code.as_str(), name);
            assert_eq!(code.to_string(), name);
        }
    }
}
