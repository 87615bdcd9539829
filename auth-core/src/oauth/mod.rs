//! The OAuth2 / OpenID Connect provider: its records ([`Application`],
//! [`AuthorizationCode`], [`OAuthToken`], [`Consent`], [`BrowserSession`]),
//! their ids, and [`Scopes`].
//!
//! The stores that keep these records are the `OAuth*` traits in
//! [`store`](crate::store). Secrets never reach a store: client secrets,
//! codes, tokens and session cookies are stored as the lower-case hex
//! SHA-256 digest of the string handed out ([`digest`]).

mod records;
mod scopes;

pub use records::{
    Application, ApplicationId, AuthorizationCode, BrowserSession, ClientType, Consent, FamilyId,
    GrantType, OAuthToken, OAuthTokenKind, PkceMethod, digest,
};
pub use scopes::{InvalidScope, Scopes};
