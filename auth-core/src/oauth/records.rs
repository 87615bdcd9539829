//! The records of the OAuth2 provider, as its stores keep them.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::scopes::Scopes;
use crate::user::UserId;

/// The lower-case hex SHA-256 digest of `secret`: how client secrets,
/// codes, tokens and session cookies are stored (the random secret itself
/// never is).
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Writes a UUID newtype: `new`, `Debug` as `Name(uuid)`, `Display` and
/// `FromStr` as the hyphenated UUID.
macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh time-ordered id (UUID v7).
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// The id's 16 bytes.
            pub fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// A registered application's id (UUID v7): the key of the
    /// application, distinct from its public `client_id`.
    ApplicationId
);

uuid_id!(
    /// A token family: every token issued from one authorization (one code
    /// exchange, or one client-credentials or password grant) and from the
    /// rotations of its refresh tokens shares it, so that a reuse revokes
    /// them together.
    FamilyId
);

/// Writes an enum of wire names with `as_str`, `parse`, `ALL` and
/// `Display`.
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire),+
                }
            }

            /// The value with this wire name (exactly, case included), or
            /// `None`.
            pub fn parse(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == name)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum!(
    /// Whether a client can keep a secret (RFC 6749 §2.1).
    ClientType {
        /// A server-side client holding a secret.
        Confidential = "confidential",
        /// A browser or native client: no secret, PKCE instead.
        Public = "public",
    }
);

wire_enum!(
    /// A grant an application may use, by its RFC 6749 name.
    GrantType {
        /// `authorization_code` (with PKCE).
        AuthorizationCode = "authorization_code",
        /// `client_credentials`.
        ClientCredentials = "client_credentials",
        /// `refresh_token`.
        RefreshToken = "refresh_token",
        /// `password` (off unless the provider enables it).
        Password = "password",
    }
);

wire_enum!(
    /// A PKCE code challenge method (RFC 7636 §4.2).
    PkceMethod {
        /// `S256`: the challenge is the base64url SHA-256 of the verifier.
        S256 = "S256",
        /// `plain`: the challenge is the verifier (refused unless enabled).
        Plain = "plain",
    }
);

wire_enum!(
    /// Whether an [`OAuthToken`] is an access or a refresh token.
    OAuthTokenKind {
        /// An access token.
        Access = "access",
        /// A refresh token.
        Refresh = "refresh",
    }
);

/// A registered OAuth2 client. `Debug` hides the secret digests.
#[derive(Clone, PartialEq, Eq)]
pub struct Application {
    /// The id (never changes).
    pub id: ApplicationId,
    /// The public client identifier (random; unique; never changes).
    pub client_id: String,
    /// A name shown on the consent page.
    pub name: String,
    /// Confidential or public.
    pub client_type: ClientType,
    /// The grants it may use.
    pub grant_types: BTreeSet<GrantType>,
    /// The redirect URIs, matched exactly.
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the browser, matched exactly.
    pub post_logout_redirect_uris: Vec<String>,
    /// Origins allowed to call the token endpoint from a browser (CORS).
    pub allowed_origins: Vec<String>,
    /// Skip the consent page.
    pub skip_authorization: bool,
    /// The user who registered it (`None`: made by an administrator).
    pub owner: Option<UserId>,
    /// Lower-case hex SHA-256 of the secret; `None` for a public client.
    pub secret_digest: Option<String>,
    /// The digest of the secret before the last rotation, still accepted
    /// until [`previous_secret_until`](Self::previous_secret_until).
    pub previous_secret_digest: Option<String>,
    /// When the previous secret stops working.
    pub previous_secret_until: Option<DateTime<Utc>>,
    /// When it was registered.
    pub created: DateTime<Utc>,
    /// When it was last changed.
    pub updated: DateTime<Utc>,
}

/// `[redacted]` when there is something to hide.
fn redacted(value: &Option<String>) -> Option<&'static str> {
    value.as_ref().map(|_| "[redacted]")
}

impl fmt::Debug for Application {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Application")
            .field("id", &self.id)
            .field("client_id", &self.client_id)
            .field("name", &self.name)
            .field("client_type", &self.client_type)
            .field("grant_types", &self.grant_types)
            .field("redirect_uris", &self.redirect_uris)
            .field("post_logout_redirect_uris", &self.post_logout_redirect_uris)
            .field("allowed_origins", &self.allowed_origins)
            .field("skip_authorization", &self.skip_authorization)
            .field("owner", &self.owner)
            .field("secret_digest", &redacted(&self.secret_digest))
            .field(
                "previous_secret_digest",
                &redacted(&self.previous_secret_digest),
            )
            .field("previous_secret_until", &self.previous_secret_until)
            .field("created", &self.created)
            .field("updated", &self.updated)
            .finish()
    }
}

/// An authorization code, as stored: only its digest. `Debug` hides the
/// digest.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthorizationCode {
    /// Lower-case hex SHA-256 of the code; unique.
    pub digest: String,
    /// The application it was issued to.
    pub application_id: ApplicationId,
    /// The user who authorized it.
    pub user_id: UserId,
    /// The redirect URI of the authorization request (the token request
    /// must repeat it).
    pub redirect_uri: String,
    /// The scopes granted.
    pub scopes: Scopes,
    /// The PKCE challenge, if the request sent one.
    pub code_challenge: Option<String>,
    /// The PKCE method of the challenge.
    pub code_challenge_method: Option<PkceMethod>,
    /// The OpenID Connect `nonce` of the request.
    pub nonce: Option<String>,
    /// When the user last authenticated (the ID token's `auth_time`).
    pub auth_time: DateTime<Utc>,
    /// The family of the tokens the exchange issues.
    pub family: FamilyId,
    /// When it was issued.
    pub created: DateTime<Utc>,
    /// When it stops working.
    pub expires: DateTime<Utc>,
    /// When it was exchanged; `None` until then (a store reports it; an
    /// insert ignores it and stores `None`).
    pub used_at: Option<DateTime<Utc>>,
}

impl fmt::Debug for AuthorizationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationCode")
            .field("digest", &"[redacted]")
            .field("application_id", &self.application_id)
            .field("user_id", &self.user_id)
            .field("redirect_uri", &self.redirect_uri)
            .field("scopes", &self.scopes)
            .field("code_challenge", &self.code_challenge)
            .field("code_challenge_method", &self.code_challenge_method)
            .field("nonce", &self.nonce)
            .field("auth_time", &self.auth_time)
            .field("family", &self.family)
            .field("created", &self.created)
            .field("expires", &self.expires)
            .field("used_at", &self.used_at)
            .finish()
    }
}

/// An OAuth2 access or refresh token, as stored: only its digest. `Debug`
/// hides the digest.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthToken {
    /// Lower-case hex SHA-256 of the token; unique.
    pub digest: String,
    /// Access or refresh.
    pub kind: OAuthTokenKind,
    /// The application it was issued to.
    pub application_id: ApplicationId,
    /// The user it acts for; `None` for `client_credentials`.
    pub user_id: Option<UserId>,
    /// The scopes granted.
    pub scopes: Scopes,
    /// The authorization it descends from.
    pub family: FamilyId,
    /// When it was issued.
    pub created: DateTime<Utc>,
    /// When it stops working; `None` never.
    pub expires: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When this refresh token was exchanged for new tokens, if it was.
    pub rotated_at: Option<DateTime<Utc>>,
}

impl OAuthToken {
    /// Live at `now`: neither revoked nor rotated, and no expiry or one
    /// after `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none()
            && self.rotated_at.is_none()
            && self.expires.is_none_or(|expires| expires > now)
    }
}

impl fmt::Debug for OAuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthToken")
            .field("digest", &"[redacted]")
            .field("kind", &self.kind)
            .field("application_id", &self.application_id)
            .field("user_id", &self.user_id)
            .field("scopes", &self.scopes)
            .field("family", &self.family)
            .field("created", &self.created)
            .field("expires", &self.expires)
            .field("revoked_at", &self.revoked_at)
            .field("rotated_at", &self.rotated_at)
            .finish()
    }
}

/// The scopes a user granted an application (remembered consent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    /// Who consented.
    pub user_id: UserId,
    /// To which application.
    pub application_id: ApplicationId,
    /// Every scope granted so far.
    pub scopes: Scopes,
    /// When the user first consented.
    pub created: DateTime<Utc>,
    /// When the consent last grew.
    pub updated: DateTime<Utc>,
}

/// A browser session of the provider's pages, as stored: only the digest of
/// the random cookie value. `Debug` hides the digest.
#[derive(Clone, PartialEq, Eq)]
pub struct BrowserSession {
    /// Lower-case hex SHA-256 of the cookie value; unique.
    pub digest: String,
    /// The signed-in user.
    pub user_id: UserId,
    /// When the user authenticated (OpenID Connect's `auth_time`).
    pub auth_time: DateTime<Utc>,
    /// When the session started.
    pub created: DateTime<Utc>,
    /// When it ends.
    pub expires: DateTime<Utc>,
}

impl fmt::Debug for BrowserSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrowserSession")
            .field("digest", &"[redacted]")
            .field("user_id", &self.user_id)
            .field("auth_time", &self.auth_time)
            .field("created", &self.created)
            .field("expires", &self.expires)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for grant in GrantType::ALL {
            assert_eq!(GrantType::parse(grant.as_str()), Some(*grant));
        }
        assert_eq!(
            GrantType::parse("client_credentials"),
            Some(GrantType::ClientCredentials)
        );
        assert_eq!(GrantType::parse("Password"), None);
        assert_eq!(GrantType::parse("implicit"), None);
        assert_eq!(ClientType::parse("public"), Some(ClientType::Public));
        assert_eq!(PkceMethod::parse("S256"), Some(PkceMethod::S256));
        assert_eq!(PkceMethod::parse("s256"), None);
    }

    #[test]
    fn digest_is_lower_hex_sha256() {
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn debug_redacts_digests() {
        let now = Utc::now();
        let app = Application {
            id: ApplicationId::new(),
            client_id: "client".into(),
            name: "App".into(),
            client_type: ClientType::Confidential,
            grant_types: BTreeSet::from([GrantType::AuthorizationCode]),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            allowed_origins: vec![],
            skip_authorization: false,
            owner: None,
            secret_digest: Some("secretdigest1".into()),
            previous_secret_digest: Some("secretdigest2".into()),
            previous_secret_until: None,
            created: now,
            updated: now,
        };
        let token = OAuthToken {
            digest: "tokendigest".into(),
            kind: OAuthTokenKind::Refresh,
            application_id: app.id,
            user_id: None,
            scopes: Scopes::default(),
            family: FamilyId::new(),
            created: now,
            expires: None,
            revoked_at: None,
            rotated_at: None,
        };
        let session = BrowserSession {
            digest: "sessiondigest".into(),
            user_id: UserId::new(),
            auth_time: now,
            created: now,
            expires: now,
        };
        let shown = format!("{app:?} {token:?} {session:?}");
        for secret in ["secretdigest", "tokendigest", "sessiondigest"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("[redacted]"));
    }

    #[test]
    fn liveness() {
        let now = Utc::now();
        let mut token = OAuthToken {
            digest: String::new(),
            kind: OAuthTokenKind::Refresh,
            application_id: ApplicationId::new(),
            user_id: None,
            scopes: Scopes::default(),
            family: FamilyId::new(),
            created: now,
            expires: Some(now + chrono::Duration::seconds(1)),
            revoked_at: None,
            rotated_at: None,
        };
        assert!(token.is_live(now));
        assert!(
            !token.is_live(now + chrono::Duration::seconds(1)),
            "expiry is exclusive"
        );
        token.rotated_at = Some(now);
        assert!(!token.is_live(now));
        token.rotated_at = None;
        token.revoked_at = Some(now);
        assert!(!token.is_live(now));
    }
}
