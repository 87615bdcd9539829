//! RFC 9068 JWT access tokens ([`AccessTokenFormat::Jwt`]): issued signed
//! with the ID-token keys, verified here before their stored record is
//! read (the record is what revocation acts on).
//!
//! [`AccessTokenFormat::Jwt`]: crate::config::AccessTokenFormat::Jwt

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::oidc::{ACCESS_TOKEN_TYP, SignedJwt};
use super::{Application, Scopes};
use crate::Auth;
use crate::error::{AuthError, TokenRejection};
use crate::secret::random_bytes;
use crate::user::UserId;

/// The claims of a JWT access token this provider issues (RFC 9068 §2.2).
/// Its header is `{"alg":...,"kid":...,"typ":"at+jwt"}`, `alg` the
/// ID-token signing key's (RS256, ES256 or EdDSA: never `none`, never
/// HMAC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwtAccessTokenClaims {
    /// The issuer ([`OAuthConfig::issuer`](crate::config::OAuthConfig::issuer)).
    pub iss: String,
    /// When it expires (seconds since the epoch).
    pub exp: i64,
    /// The resource it is for
    /// ([`OAuthConfig::jwt_access_token_audience`](crate::config::OAuthConfig::jwt_access_token_audience):
    /// the configured audience, else the issuer).
    pub aud: String,
    /// The user's id, as in ID tokens; for `client_credentials`, where the
    /// client acts for itself, its `client_id` (RFC 9068 §2.2). Client ids
    /// this library generates are 32 base64url characters and user ids
    /// hyphenated UUIDs, so a client is never taken for a user (as RFC
    /// 9068's security considerations ask); an application registered with
    /// a hand-made `client_id` shaped as a UUID would break that.
    pub sub: String,
    /// The `client_id` of the application it was issued to.
    pub client_id: String,
    /// When it was issued (seconds since the epoch).
    pub iat: i64,
    /// A random identifier (128 bits, base64url).
    pub jti: String,
    /// The granted scopes, space-separated (RFC 8693 §4.2).
    pub scope: String,
}

/// Whether a JWS `typ` names a JWT access token: `at+jwt`, or its full
/// media type `application/at+jwt` (RFC 9068 §4), in any case.
fn is_access_token_typ(typ: &str) -> bool {
    let bare = match (typ.get(..12), typ.get(12..)) {
        (Some(prefix), Some(rest)) if prefix.eq_ignore_ascii_case("application/") => rest,
        _ => typ,
    };
    bare.eq_ignore_ascii_case(ACCESS_TOKEN_TYP)
}

impl Auth {
    /// A signed JWT access token for `user` (`None`: the application
    /// itself, `client_credentials`) granted `scopes` by `application` at
    /// `now`, expiring when its record does. `None` while ID-token keys
    /// are not set (the service refuses to build so).
    pub(crate) fn issue_jwt_access_token(
        &self,
        application: &Application,
        user: Option<UserId>,
        scopes: &Scopes,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, AuthError> {
        let Some(keys) = self.id_token_keys() else {
            return Ok(None);
        };
        let config = &self.inner.config.oauth;
        let claims = JwtAccessTokenClaims {
            iss: config.issuer.clone(),
            exp: (now + config.access_token_ttl).timestamp(),
            aud: config.jwt_access_token_audience().to_string(),
            sub: user.map_or_else(|| application.client_id.clone(), |user| user.to_string()),
            client_id: application.client_id.clone(),
            iat: now.timestamp(),
            jti: URL_SAFE_NO_PAD.encode(random_bytes::<16>()),
            scope: scopes.to_string(),
        };
        keys.sign(SignedJwt::AccessToken, &claims).map(Some)
    }

    /// Whether a bearer credential is a JWT access token rather than one of
    /// this library's own JWTs: its header's `typ` is `at+jwt` (checked on
    /// the unverified header, only to route it: the OAuth path verifies
    /// it). Always false while ID-token keys are not set. The headers the
    /// ID-token keys write on access tokens, and those the library's own
    /// JWT keys write, are recognized without decoding them, so tokens
    /// issued here cost a few string comparisons; only another header is
    /// decoded.
    pub(crate) fn is_jwt_access_token(&self, credentials: &str) -> bool {
        let Some(keys) = self.id_token_keys() else {
            return false;
        };
        let header = credentials.split('.').next().unwrap_or_default();
        if keys.writes_access_token_header(header) {
            return true;
        }
        !self.inner.jwt.writes_header(header)
            && crate::token::jwt::unverified_typ(credentials)
                .is_some_and(|typ| is_access_token_typ(&typ))
    }

    /// Verifies a JWT access token as RFC 9068 §4 asks of a resource
    /// server: signed by one of the ID-token keys (the header's `alg` must
    /// be that key's), `typ` `at+jwt`, `iss` this issuer, `aud` the
    /// configured audience, `exp` in the future. Any failure is
    /// [`TokenRejection::Invalid`]. Whether it was revoked is the stored
    /// record's to say ([`authenticate_oauth_access`](Self::authenticate_oauth_access)
    /// reads it next).
    pub fn verify_jwt_access_token(&self, token: &str) -> Result<JwtAccessTokenClaims, AuthError> {
        let invalid = || AuthError::Unauthenticated(TokenRejection::Invalid);
        let keys = self.id_token_keys().ok_or_else(invalid)?;
        let verified = keys.key_set().verify_jws(token).map_err(|_| invalid())?;
        if !verified
            .header
            .typ
            .as_deref()
            .is_some_and(is_access_token_typ)
        {
            return Err(invalid());
        }
        let claims: JwtAccessTokenClaims =
            serde_json::from_slice(&verified.payload).map_err(|_| invalid())?;
        let config = &self.inner.config.oauth;
        if claims.iss != config.issuer
            || claims.aud != config.jwt_access_token_audience()
            || claims.exp <= self.now().timestamp()
        {
            return Err(invalid());
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::is_access_token_typ;

    #[test]
    fn the_access_token_typ_is_at_jwt_with_or_without_its_media_type_prefix() {
        for typ in [
            "at+jwt",
            "AT+JWT",
            "application/at+jwt",
            "Application/At+Jwt",
        ] {
            assert!(is_access_token_typ(typ), "{typ}");
        }
        for typ in [
            "JWT",
            "",
            "application/",
            "at+jwt ",
            "x/at+jwt",
            "application/JWT",
        ] {
            assert!(!is_access_token_typ(typ), "{typ}");
        }
        // Not on a character boundary at 12: no panic, no match.
        assert!(!is_access_token_typ("applicationé/at+jwt"));
    }
}
