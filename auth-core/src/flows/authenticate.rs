//! The request authenticator: from an `Authorization` header to a user,
//! with whichever strategies are configured.

use crate::Auth;
use crate::error::{AuthError, TokenRejection};
use crate::oauth::{OAuthToken, Scopes};
use crate::store::KnoxTokenRecord;
use crate::token::jwt::AccessClaims;
use crate::token::static_token::StaticTokens;
use crate::user::User;

/// Which `Authorization` schemes requests may use, and their keywords.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSchemes {
    /// The keyword for JWT access tokens and OAuth2 access tokens (default
    /// `Bearer`); `None` turns both off.
    pub bearer: Option<String>,
    /// The keyword for Knox and static tokens (default `Token`, as knox and
    /// DRF use); `None` turns both off.
    pub token: Option<String>,
    /// Accept Knox tokens under the token keyword (default true).
    pub knox: bool,
    /// Accept static tokens under the token keyword (default true).
    pub static_tokens: bool,
}

impl Default for AuthSchemes {
    fn default() -> Self {
        Self {
            bearer: Some("Bearer".into()),
            token: Some("Token".into()),
            knox: true,
            static_tokens: true,
        }
    }
}

/// What authenticated a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credential {
    /// A JWT access token, with its claims.
    Jwt(AccessClaims),
    /// A Knox token, with its stored record.
    Knox(KnoxTokenRecord),
    /// A static token.
    Static,
    /// An OAuth2 access token, with its stored record (its scopes, the
    /// application it was issued to).
    OAuth(OAuthToken),
}

impl Credential {
    /// The credential's kind, for logs and metrics: `"jwt"`, `"knox"`,
    /// `"static"` or `"oauth"` (never anything of the token itself).
    pub fn kind(&self) -> &'static str {
        match self {
            Credential::Jwt(_) => "jwt",
            Credential::Knox(_) => "knox",
            Credential::Static => "static",
            Credential::OAuth(_) => "oauth",
        }
    }

    /// The Knox token's digest, when a Knox token authenticated the request
    /// (to keep it alive through a password change).
    pub fn knox_digest(&self) -> Option<&str> {
        match self {
            Credential::Knox(record) => Some(&record.digest),
            _ => None,
        }
    }

    /// The scopes of an OAuth2 access token; `None` for this library's own
    /// credentials (JWT, Knox, static), which are not limited by scope.
    ///
    /// An extractor that requires a scope (Django OAuth Toolkit's
    /// `TokenHasScope`) refuses a request whose credential has no scopes
    /// or lacks one.
    pub fn oauth_scopes(&self) -> Option<&Scopes> {
        match self {
            Credential::OAuth(token) => Some(&token.scopes),
            _ => None,
        }
    }
}

/// An authenticated request: the user and how they proved it.
#[derive(Debug, Clone, PartialEq)]
pub struct Authenticated {
    /// The (active) user.
    pub user: User,
    /// The credential used.
    pub credential: Credential,
}

/// Who may call an operation that needs an authenticated caller: the rules
/// auth-http's endpoint table names per route, checked by
/// [`Authenticated::admit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Access {
    /// Any authenticated user, whatever the credential.
    Any,
    /// A user authenticated by a Knox token (log out, log out everywhere,
    /// the session list act on that token), as knox's own authentication
    /// class sees it: a JWT is no credential there
    /// ([`TokenRejection::Missing`]: "not provided") and a static token
    /// an invalid one ([`TokenRejection::Invalid`]).
    KnoxToken,
    /// A user authenticated by their static token: a JWT is no credential
    /// there, a Knox token an invalid one.
    StaticToken,
    /// A staff user ([`AuthError::PermissionDenied`] for anyone else): the
    /// users admin and the `StaffUser` extractors. Never by an OAuth2
    /// access token, whatever its scopes ([`AuthError::InsufficientScope`]):
    /// an application a staff member signed in to must not administer
    /// users in their name.
    Staff,
    /// A user with one of this library's own credentials (JWT, Knox or
    /// static token); an OAuth2 access token is refused
    /// ([`AuthError::InsufficientScope`]): the built-in routes that change
    /// the account (password, profile, tokens).
    Own,
    /// As [`Own`](Self::Own), or an OAuth2 access token granted this scope:
    /// the built-in reads of the user's own data (`profile`).
    OwnOrScope(&'static str),
    /// Only an OAuth2 access token granted this scope; any other
    /// credential is [`AuthError::InsufficientScope`] (OpenID Connect's
    /// userinfo, which answers for `openid` tokens alone).
    OAuthScope(&'static str),
}

impl Authenticated {
    /// Whether this caller may call an operation of the given [`Access`];
    /// the error is what the refusal is answered with.
    ///
    /// ```
    /// use auth_core::{User, error::AuthError};
    /// use auth_core::flows::{Access, Authenticated, Credential};
    /// let mut user = User::new_for_tests("ada", "ada@example.com");
    /// let caller = Authenticated { user: user.clone(), credential: Credential::Static };
    /// assert!(caller.admit(Access::StaticToken).is_ok());
    /// assert!(matches!(caller.admit(Access::Staff), Err(AuthError::PermissionDenied)));
    /// assert!(matches!(caller.admit(Access::KnoxToken), Err(AuthError::Unauthenticated(_))));
    /// user.is_staff = true;
    /// let caller = Authenticated { user, credential: Credential::Static };
    /// assert!(caller.admit(Access::Staff).is_ok());
    /// ```
    pub fn admit(&self, access: Access) -> Result<(), AuthError> {
        let refused = |rejection| Err(AuthError::Unauthenticated(rejection));
        match (access, &self.credential) {
            (Access::OwnOrScope(scope), Credential::OAuth(token))
                if token.scopes.contains(scope) =>
            {
                Ok(())
            }
            (Access::OwnOrScope(scope), Credential::OAuth(_)) => {
                Err(AuthError::InsufficientScope(Some(scope)))
            }
            (Access::OAuthScope(scope), Credential::OAuth(token))
                if token.scopes.contains(scope) =>
            {
                Ok(())
            }
            (Access::OAuthScope(scope), _) => Err(AuthError::InsufficientScope(Some(scope))),
            (Access::Own | Access::Staff, Credential::OAuth(_)) => {
                Err(AuthError::InsufficientScope(None))
            }
            (Access::Any | Access::Own | Access::OwnOrScope(_), _)
            | (Access::KnoxToken, Credential::Knox(_))
            | (Access::StaticToken, Credential::Static) => Ok(()),
            (Access::KnoxToken, Credential::Static)
            | (Access::StaticToken, Credential::Knox(_)) => refused(TokenRejection::Invalid),
            (Access::KnoxToken | Access::StaticToken, _) => refused(TokenRejection::Missing),
            (Access::Staff, _) if self.user.is_staff => Ok(()),
            (Access::Staff, _) => Err(AuthError::PermissionDenied),
        }
    }
}

impl Auth {
    /// Authenticates a request from its `Authorization` header value.
    ///
    /// `None`, or a scheme that is not configured, is
    /// [`TokenRejection::Missing`] (as DRF treats a header for another
    /// authenticator). A keyword without credentials, or credentials with
    /// spaces, is [`TokenRejection::Malformed`]. Knox and static tokens
    /// share the token keyword and are told apart by shape, as JWTs (with
    /// dots) and opaque OAuth2 access tokens (without) share the bearer
    /// keyword, so the common case costs one store lookup for the token
    /// (plus the user). A JWT whose header says `typ: at+jwt` is an OAuth2
    /// access token ([`AccessTokenFormat::Jwt`](crate::config::AccessTokenFormat::Jwt)),
    /// when ID-token keys are set; this library's own JWTs say `typ: JWT`,
    /// and neither verifier accepts the other's.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use auth_core::{Auth, config::AuthConfig, error::{AuthError, TokenRejection}};
    /// let auth = Auth::in_memory(AuthConfig::default());
    /// assert!(matches!(
    ///     auth.authenticate_header(None).await,
    ///     Err(AuthError::Unauthenticated(TokenRejection::Missing))
    /// ));
    /// assert!(matches!(
    ///     auth.authenticate_header(Some("Token")).await,
    ///     Err(AuthError::Unauthenticated(TokenRejection::Malformed))
    /// ));
    /// # });
    /// ```
    pub async fn authenticate_header(
        &self,
        header: Option<&str>,
    ) -> Result<Authenticated, AuthError> {
        let schemes = &self.inner.config.schemes;
        let missing = AuthError::Unauthenticated(TokenRejection::Missing);
        let Some(header) = header else {
            return Err(missing);
        };
        // A request that needs no hash: logins beside it leave a core free.
        self.inner.passwords.note_request();
        let mut parts = header.split_ascii_whitespace();
        let keyword = parts.next().unwrap_or("");
        let is = |configured: &Option<String>| {
            configured
                .as_deref()
                .is_some_and(|k| k.eq_ignore_ascii_case(keyword))
        };
        let (bearer, token) = (is(&schemes.bearer), is(&schemes.token));
        if !bearer && !token {
            return Err(missing);
        }
        let (Some(credentials), None) = (parts.next(), parts.next()) else {
            return Err(AuthError::Unauthenticated(TokenRejection::Malformed));
        };
        if bearer
            && (crate::oauth::is_opaque_token(credentials) || self.is_jwt_access_token(credentials))
        {
            let (user, token) = self.authenticate_oauth_access(credentials).await?;
            return Ok(Authenticated {
                user,
                credential: Credential::OAuth(token),
            });
        }
        if bearer {
            let (user, claims) = self.authenticate_jwt(credentials).await?;
            return Ok(Authenticated {
                user,
                credential: Credential::Jwt(claims),
            });
        }
        if schemes.knox && self.inner.config.knox.format.is_well_formed(credentials) {
            let (user, record) = self.authenticate_knox(credentials).await?;
            return Ok(Authenticated {
                user,
                credential: Credential::Knox(record),
            });
        }
        if schemes.static_tokens && StaticTokens::is_well_formed(credentials) {
            let user = self.authenticate_static(credentials).await?;
            return Ok(Authenticated {
                user,
                credential: Credential::Static,
            });
        }
        Err(AuthError::Unauthenticated(TokenRejection::Invalid))
    }
}
