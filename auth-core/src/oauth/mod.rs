//! The OAuth2 / OpenID Connect provider: its records ([`Application`],
//! [`AuthorizationCode`], [`OAuthToken`], [`Consent`], [`BrowserSession`]),
//! their ids, and [`Scopes`]; PKCE, redirect URI matching, client
//! credentials and the protocol errors; OpenID Connect's ID tokens,
//! userinfo and logout ([`IdTokenKeys`], [`IdTokenClaims`], [`UserInfo`]);
//! RFC 9068 JWT access tokens ([`JwtAccessTokenClaims`]). The settings are
//! [`OAuthConfig`](crate::config::OAuthConfig).
//!
//! The stores that keep these records are the `OAuth*` traits in
//! [`store`](crate::store). Secrets never reach a store: client secrets,
//! codes, tokens and session cookies are stored as the lower-case hex
//! SHA-256 digest of the string handed out ([`digest`]).

mod applications;
mod authorize;
mod bearer;
mod client;
mod error;
mod jwt_access;
mod oidc;
mod pkce;
mod records;
mod redirect;
mod scopes;
mod session;
mod token_endpoint;

#[cfg(test)]
mod tests;

pub use applications::{
    ApplicationInput, ApplicationPatch, AuthorizedApplication, MAX_APPLICATION_NAME,
    MAX_APPLICATION_URIS, MAX_URI_LENGTH, NewApplicationSecret,
};
pub use authorize::{
    AuthorizationRequest, AuthorizeError, AuthorizeErrorCode, IssuedCode, Prompt,
    ValidatedAuthorization,
};
pub use client::{ClientSecret, SecretDigests, generate_client_id};
pub use error::{OAuthError, OAuthErrorCode};
pub use jwt_access::JwtAccessTokenClaims;
pub use oidc::{
    EndSessionRequest, EndedSession, IdTokenClaims, IdTokenKeys, OPENID_SCOPE, UserInfo, at_hash,
};
pub use pkce::{is_valid_challenge, is_valid_verifier, s256_challenge, verify_pkce};
pub use records::{
    Application, ApplicationId, AuthorizationCode, BrowserSession, ClientType, Consent, FamilyId,
    GrantType, OAuthToken, OAuthTokenKind, PkceMethod, digest,
};
pub use redirect::{redirect_uri_allowed, redirect_uri_matches};
pub use scopes::{InvalidScope, Scopes};
pub use session::{SignedIn, double_submit_check, double_submit_ok, new_csrf_value};
pub use token_endpoint::{
    ClientAuth, ClientAuthMethod, Introspection, IntrospectionDetails, IssuedOAuthTokens,
    OAuthClient, TokenGrant,
};

pub(crate) use bearer::is_opaque_token;
