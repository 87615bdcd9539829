//! The OAuth2 provider (Django OAuth Toolkit's features on RFC 9700's
//! defaults): PKCE, redirect URI matching, client credentials and the
//! protocol errors. The settings are [`OAuthConfig`](crate::config::OAuthConfig).

mod client;
mod error;
mod pkce;
mod redirect;

pub use client::{ClientSecret, SecretDigests, generate_client_id, sha256_hex};
pub use error::{OAuthError, OAuthErrorCode};
pub use pkce::{PkceMethod, is_valid_challenge, is_valid_verifier, s256_challenge, verify_pkce};
pub use redirect::{redirect_uri_allowed, redirect_uri_matches};
