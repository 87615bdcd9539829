//! OpenID Connect on the OAuth2 provider (OpenID Connect Core 1.0,
//! Discovery 1.0, RP-Initiated Logout 1.0): the keys that sign ID tokens
//! ([`IdTokenKeys`], asymmetric only), the ID token's claims
//! ([`IdTokenClaims`], with [`at_hash`]), the userinfo claims by scope
//! ([`UserInfo`]) and the logout rule ([`Auth::end_session`]).
//!
//! The `openid` scope is only granted, and OpenID Connect only advertised,
//! when [`OAuthConfig::id_token_keys`](crate::config::OAuthConfig::id_token_keys)
//! is set: without keys an authorization or token request for `openid` is
//! `invalid_scope`.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::{Application, OAuthError, Scopes};
use crate::Auth;
use crate::config::ConfigError;
use crate::error::AuthError;
use crate::flows::{Access, Authenticated};
use crate::token::jwt::{Algorithm, JwkSet, KeySet};
use crate::user::UserId;

/// The scope that makes a request an OpenID Connect one.
pub const OPENID_SCOPE: &str = "openid";

/// The keys that sign ID tokens and JWT access tokens (and verify the
/// `id_token_hint` of a logout, and those access tokens): a [`KeySet`] of
/// asymmetric keys only (RS256, ES256, EdDSA),
/// whose public halves are served as the provider's JWK Set. An HMAC key
/// is refused: an ID token signed with a shared secret (Django OAuth
/// Toolkit signed them with the client secret before 3.4) can be forged
/// by anyone who holds that secret.
///
/// Two sets are equal when they hold the same public keys under the same
/// kids, the same one signing.
///
/// ```
/// use auth_core::oauth::IdTokenKeys;
/// use auth_core::token::jwt::{Algorithm, JwtKey, KeySet};
/// let hmac = KeySet::new(JwtKey::hmac(Algorithm::HS256, [7u8; 32]).unwrap()).unwrap();
/// assert!(IdTokenKeys::new(hmac).is_err());
/// ```
#[derive(Clone)]
pub struct IdTokenKeys {
    keys: KeySet,
    /// The encoded header of JWT access tokens (`typ: at+jwt`) each key
    /// writes, the signing key's first: built once, as the keys' own.
    access_token_headers: Vec<String>,
}

/// What a JWT the provider signs is, which its header's `typ` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignedJwt {
    /// An ID token: `typ: JWT`.
    IdToken,
    /// An RFC 9068 access token: `typ: at+jwt`.
    AccessToken,
}

/// The `typ` of JWT access tokens (RFC 9068 §2.1).
pub(crate) const ACCESS_TOKEN_TYP: &str = "at+jwt";

impl IdTokenKeys {
    /// The set, when every key in it (the signing key and the
    /// verification keys) is of an asymmetric algorithm;
    /// [`ConfigError::IdTokenKey`] otherwise.
    pub fn new(keys: KeySet) -> Result<Self, ConfigError> {
        if let Some(key) = keys.iter().find(|key| key.algorithm().is_hmac()) {
            return Err(ConfigError::IdTokenKey(format!(
                "key {:?} is {}",
                key.kid(),
                key.algorithm()
            )));
        }
        let access_token_headers = keys
            .iter()
            .map(|key| key.encoded_header_with_typ(ACCESS_TOKEN_TYP))
            .collect();
        Ok(Self {
            keys,
            access_token_headers,
        })
    }

    /// Signs `claims` with the signing key, under the header of `kind`:
    /// the one signer of ID tokens and JWT access tokens.
    pub(crate) fn sign(
        &self,
        kind: SignedJwt,
        claims: &impl Serialize,
    ) -> Result<String, AuthError> {
        let key = self.keys.signing_key();
        let header = match kind {
            SignedJwt::IdToken => key.encoded_header(),
            SignedJwt::AccessToken => self.access_token_headers.first().map_or("", String::as_str),
        };
        let payload =
            serde_json::to_vec(claims).map_err(|err| AuthError::Internal(Box::new(err)))?;
        let input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(payload));
        let signature = key
            .sign(input.as_bytes())
            .map_err(|err| AuthError::Internal(Box::new(err)))?;
        Ok(format!("{input}.{signature}"))
    }

    /// Whether `encoded` is, byte for byte, the header one of these keys
    /// writes on a JWT access token.
    pub(crate) fn writes_access_token_header(&self, encoded: &str) -> bool {
        self.access_token_headers
            .iter()
            .any(|header| header == encoded)
    }

    /// The key set.
    pub fn key_set(&self) -> &KeySet {
        &self.keys
    }

    /// The public keys, the signing key first: the provider's JWKS.
    pub fn jwks(&self) -> JwkSet {
        self.keys.jwks()
    }

    /// The algorithms of the keys, the signing key's first, each once:
    /// the discovery document's `id_token_signing_alg_values_supported`.
    pub fn algorithms(&self) -> Vec<Algorithm> {
        let mut algorithms: Vec<Algorithm> = Vec::new();
        for key in self.keys.iter() {
            if !algorithms.contains(&key.algorithm()) {
                algorithms.push(key.algorithm());
            }
        }
        algorithms
    }
}

impl fmt::Debug for IdTokenKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IdTokenKeys").field(&self.keys).finish()
    }
}

impl PartialEq for IdTokenKeys {
    fn eq(&self, other: &Self) -> bool {
        self.keys.signing_key().kid() == other.keys.signing_key().kid()
            && self.jwks() == other.jwks()
    }
}

impl Eq for IdTokenKeys {}

/// `at_hash` (OpenID Connect Core §3.1.3.6): base64url of the left half
/// of the hash of the access token's ASCII octets, the hash being the one
/// of the ID token's `alg`: SHA-256 for RS256 and ES256 (and HS256),
/// SHA-384 and SHA-512 for HS384 and HS512, and SHA-512 for EdDSA, which
/// is Ed25519 here (the OpenID Connect working group's answer, recorded in
/// its Token Hash Algorithms guide: Ed25519 hashes with SHA-512).
///
/// ```
/// use auth_core::oauth::at_hash;
/// use auth_core::token::jwt::Algorithm;
/// // OpenID Connect Core 1.0, Appendix A.3.
/// assert_eq!(
///     at_hash(Algorithm::RS256, "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
///     "77QmUPtjPfzWtF2AnpK9RQ"
/// );
/// ```
pub fn at_hash(alg: Algorithm, access_token: &str) -> String {
    let token = access_token.as_bytes();
    let hash: Vec<u8> = match alg {
        Algorithm::HS256 | Algorithm::RS256 | Algorithm::ES256 => Sha256::digest(token).to_vec(),
        Algorithm::HS384 => Sha384::digest(token).to_vec(),
        Algorithm::HS512 | Algorithm::EdDSA => Sha512::digest(token).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&hash[..hash.len() / 2])
}

/// The claims of an ID token this provider issues (OpenID Connect Core
/// §2). The user's profile and email claims are not in it: they are
/// served by userinfo ([`Auth::userinfo`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    /// The issuer ([`OAuthConfig::issuer`](crate::config::OAuthConfig::issuer)).
    pub iss: String,
    /// The user's id.
    pub sub: String,
    /// The `client_id` of the application it was issued to.
    pub aud: String,
    /// When it expires (seconds since the epoch).
    pub exp: i64,
    /// When it was issued (seconds since the epoch).
    pub iat: i64,
    /// When the user authenticated (seconds since the epoch); left out of
    /// the ID tokens of a refresh (OpenID Connect Core §12.2 allows it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// The authorization request's `nonce`, when it had one (never in the
    /// ID tokens of a refresh).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The [`at_hash`] of the access token issued with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
}

/// What userinfo says of the user (OpenID Connect Core §5.3.2, §5.4): `sub`
/// always; with the `profile` scope `preferred_username` and the names
/// that are set; with the `email` scope `email` and `email_verified`.
/// Claims without a value are left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(
    feature = "utoipa",
    derive(utoipa::ToSchema),
    schema(description = "OpenID Connect userinfo claims.")
)]
pub struct UserInfo {
    /// The user's id.
    pub sub: String,
    /// `profile`: the username.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// `profile`: given and family name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `profile`: the given name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// `profile`: the family name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// `email`: the email address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `email`: whether the user proved the address is theirs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

/// An RP-initiated logout request (OpenID Connect RP-Initiated Logout 1.0
/// §2) as received. `Debug` hides the hint.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct EndSessionRequest {
    /// `id_token_hint`: an ID token this provider issued (expired is
    /// fine).
    pub id_token_hint: Option<String>,
    /// `client_id`: must be the hint's `aud` when both are given.
    pub client_id: Option<String>,
    /// `post_logout_redirect_uri`: one of the application's registered
    /// post-logout redirect URIs, exactly.
    pub post_logout_redirect_uri: Option<String>,
    /// `state`, echoed on the redirect.
    pub state: Option<String>,
}

impl fmt::Debug for EndSessionRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndSessionRequest")
            .field(
                "id_token_hint",
                &self.id_token_hint.as_ref().map(|_| "[redacted]"),
            )
            .field("client_id", &self.client_id)
            .field("post_logout_redirect_uri", &self.post_logout_redirect_uri)
            .field("state", &self.state)
            .finish()
    }
}

/// What an RP-initiated logout did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndedSession {
    /// Whether the browser session was ended (it was the hint's user's).
    pub signed_out: bool,
    /// Where to send the browser: the registered post-logout redirect
    /// URI the request named (the HTTP layer adds `state`); `None` shows
    /// the signed-out page.
    pub redirect_uri: Option<String>,
}

/// What an ID token is issued for.
pub(crate) struct IdTokenGrant<'a> {
    /// The user.
    pub(crate) user: UserId,
    /// The scopes of the grant (the original one, for a refresh).
    pub(crate) scopes: &'a Scopes,
    /// When the user authenticated, if the ID token says it.
    pub(crate) auth_time: Option<DateTime<Utc>>,
    /// The authorization request's `nonce`.
    pub(crate) nonce: Option<&'a str>,
}

/// The `id_token_hint` is missing, forged, or not ours.
const BAD_HINT: OAuthError =
    OAuthError::invalid_request("The id_token_hint is missing or invalid.");

impl Auth {
    /// The ID-token keys, when OpenID Connect is on.
    pub fn id_token_keys(&self) -> Option<&IdTokenKeys> {
        self.inner.config.oauth.id_token_keys.as_ref()
    }

    /// The signed ID token for `access_token`, just issued to
    /// `application` at `now` from `grant`, when the grant's scopes hold
    /// `openid` and ID-token keys are set (`None` otherwise).
    pub(crate) fn issue_id_token(
        &self,
        application: &Application,
        grant: IdTokenGrant<'_>,
        access_token: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, AuthError> {
        let IdTokenGrant {
            user,
            scopes,
            auth_time,
            nonce,
        } = grant;
        let Some(keys) = self.id_token_keys() else {
            return Ok(None);
        };
        if !scopes.contains(OPENID_SCOPE) {
            return Ok(None);
        }
        let config = &self.inner.config.oauth;
        let alg = keys.key_set().algorithm();
        let claims = IdTokenClaims {
            iss: config.issuer.clone(),
            sub: user.to_string(),
            aud: application.client_id.clone(),
            exp: (now + config.access_token_ttl).timestamp(),
            iat: now.timestamp(),
            auth_time: auth_time.map(|at| at.timestamp()),
            nonce: nonce.map(str::to_string),
            at_hash: Some(at_hash(alg, access_token)),
        };
        keys.sign(SignedJwt::IdToken, &claims).map(Some)
    }

    /// Verifies an ID token this provider issued, as the `id_token_hint`
    /// of a logout: signed by one of the ID-token keys, typed `JWT` (not
    /// `at+jwt`: an access token signed with the same keys is no hint) and
    /// naming this issuer. An expired one is accepted (RP-Initiated Logout 1.0 §2); a
    /// forged, altered or foreign one is `invalid_request`, as is any
    /// token when no ID-token keys are set.
    pub fn verify_id_token_hint(&self, hint: &str) -> Result<IdTokenClaims, AuthError> {
        let keys = self.id_token_keys().ok_or(BAD_HINT)?;
        let verified = keys.key_set().verify_jws(hint).map_err(|_| BAD_HINT)?;
        // A JWT access token is signed with the same keys and carries the
        // same claims: its `typ` tells it apart.
        if verified
            .header
            .typ
            .as_deref()
            .is_some_and(|typ| !typ.eq_ignore_ascii_case("JWT"))
        {
            return Err(BAD_HINT.into());
        }
        let claims: IdTokenClaims =
            serde_json::from_slice(&verified.payload).map_err(|_| BAD_HINT)?;
        if claims.iss != self.inner.config.oauth.issuer {
            return Err(BAD_HINT.into());
        }
        Ok(claims)
    }

    /// The userinfo claims (OpenID Connect Core §5.3) for a caller
    /// authenticated by an OAuth2 access token granted `openid` (any other
    /// caller is [`AuthError::InsufficientScope`]): `sub`, then what the
    /// token's `profile` and `email` scopes allow.
    pub fn userinfo(&self, who: &Authenticated) -> Result<UserInfo, AuthError> {
        who.admit(Access::OAuthScope(OPENID_SCOPE))?;
        let scopes = who.credential.oauth_scopes().cloned().unwrap_or_default();
        let user = &who.user;
        let set = |value: &str| (!value.is_empty()).then(|| value.to_string());
        let mut info = UserInfo {
            sub: user.id.to_string(),
            preferred_username: None,
            name: None,
            given_name: None,
            family_name: None,
            email: None,
            email_verified: None,
        };
        if scopes.contains("profile") {
            info.preferred_username = Some(user.username.clone());
            info.given_name = set(&user.first_name);
            info.family_name = set(&user.last_name);
            info.name = set(format!("{} {}", user.first_name, user.last_name).trim());
        }
        if scopes.contains("email") {
            info.email = set(&user.email);
            info.email_verified = Some(user.email_verified);
        }
        Ok(info)
    }

    /// RP-initiated logout (`GET /api/o/logout`): the `id_token_hint` is
    /// required and verified ([`verify_id_token_hint`](Self::verify_id_token_hint));
    /// a `client_id` must be its `aud`. The browser session whose cookie
    /// holds `session_cookie` is ended when it is the hint's user's (a
    /// logout never ends another user's session). The
    /// `post_logout_redirect_uri` is only returned when it is one of the
    /// application's registered post-logout URIs, exactly; otherwise the
    /// browser sees the signed-out page, never a redirect.
    pub async fn end_session(
        &self,
        request: &EndSessionRequest,
        session_cookie: Option<&str>,
    ) -> Result<EndedSession, AuthError> {
        let hint = request.id_token_hint.as_deref().ok_or(BAD_HINT)?;
        let claims = self.verify_id_token_hint(hint)?;
        if request
            .client_id
            .as_deref()
            .is_some_and(|client_id| client_id != claims.aud)
        {
            return Err(OAuthError::invalid_request(
                "The client_id is not the id_token_hint's audience.",
            )
            .into());
        }
        let application = self
            .inner
            .stores
            .oauth_applications
            .application_by_client_id(&claims.aud)
            .await?;
        let redirect_uri = match (&application, request.post_logout_redirect_uri.as_deref()) {
            (Some(application), Some(uri))
                if application
                    .post_logout_redirect_uris
                    .iter()
                    .any(|registered| registered == uri) =>
            {
                Some(uri.to_string())
            }
            _ => None,
        };
        let mut signed_out = false;
        if let Some(cookie) = session_cookie
            && let Some((session, _)) = self.browser_session(cookie).await?
            && session.user_id.to_string() == claims.sub
        {
            signed_out = self.sign_out(cookie).await?;
        }
        Ok(EndedSession {
            signed_out,
            redirect_uri,
        })
    }
}
