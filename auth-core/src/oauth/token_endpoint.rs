//! The token endpoint (RFC 6749 §3.2, §4, §6), revocation (RFC 7009) and
//! introspection (RFC 7662), as [`Auth`] methods taking typed inputs: the
//! HTTP layer reads the form and the `Authorization` header into a
//! [`ClientAuth`] and a [`TokenGrant`], and renders what comes back.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use super::client::SecretDigests;
use super::error::{OAuthError, OAuthErrorCode};
use super::oidc::IdTokenGrant;
use super::pkce::verify_pkce;
use super::{
    Application, AuthorizationCode, ClientType, FamilyId, GrantType, OAuthToken, OAuthTokenKind,
    OPENID_SCOPE, PkceMethod, Scopes, digest,
};
use crate::Auth;
use crate::config::AccessTokenFormat;
use crate::error::{AuthError, StoreError};
use crate::events::ClientInfo;
use crate::flows::Credentials;
use crate::secret::random_bytes;
use crate::store::{CodeUse, RefreshUse};
use crate::token::TokenKind;
use crate::user::UserId;

/// Logged when an authorization code is used a second time.
const CODE_REPLAY: &str = "an authorization code was used twice: its tokens are revoked";

/// Logged when a refresh token is used again or by another client.
const REFRESH_REPLAY: &str =
    "a refresh token was reused or presented by another client: its family is revoked";

/// How a client presented its credentials (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAuthMethod {
    /// `Authorization: Basic` (`client_secret_basic`).
    Basic,
    /// `client_id` and `client_secret` in the form (`client_secret_post`).
    Post,
    /// `client_id` alone: a public client (`none`).
    None,
}

impl ClientAuthMethod {
    /// The RFC 8414 name: `client_secret_basic`, `client_secret_post` or
    /// `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuthMethod::Basic => "client_secret_basic",
            ClientAuthMethod::Post => "client_secret_post",
            ClientAuthMethod::None => "none",
        }
    }
}

/// A client's credentials as the HTTP layer read them. `Debug` hides the
/// secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientAuth {
    /// The `client_id`.
    pub client_id: String,
    /// The `client_secret`, if one was sent.
    pub secret: Option<String>,
    /// How they came.
    pub method: ClientAuthMethod,
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientAuth")
            .field("client_id", &self.client_id)
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .field("method", &self.method)
            .finish()
    }
}

/// The client a token, revocation or introspection request names: the
/// credentials it presented and the application its `client_id` names, if
/// any, read once by [`Auth::oauth_client`]. It is not authenticated yet:
/// [`Auth::oauth_token`], [`Auth::revoke_oauth_token`] and
/// [`Auth::introspect_oauth_token`] check the credentials against the
/// application read here. Before that, [`allows_origin`](Self::allows_origin)
/// answers the CORS question, so the answer's headers cost no second read.
#[derive(Clone)]
pub struct OAuthClient {
    credentials: ClientAuth,
    application: Option<Application>,
}

impl OAuthClient {
    /// The `client_id` the request named.
    pub fn client_id(&self) -> &str {
        &self.credentials.client_id
    }

    /// Whether a browser page of `origin` may read the answer to this
    /// request (CORS): only when the named application lists the origin
    /// in its [`allowed_origins`](Application::allowed_origins) (scheme and
    /// host compared without regard to ASCII case, as browsers send them
    /// in lower case). An unknown client allows none. The answer does not
    /// depend on whether the client's authentication succeeds, so the
    /// page can read an error too; it only ever opens one application's
    /// answers to that application's own origins.
    ///
    /// There is no rule for preflight (`OPTIONS`) requests: they carry no
    /// client credentials, so no application can be told from another,
    /// and the endpoints approve none. A browser calls them with a simple
    /// request instead (a form body with the `client_id` in it, no
    /// `Authorization` header), which is how a public client, the one kind
    /// that belongs in a browser, authenticates anyway.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.application.as_ref().is_some_and(|application| {
            application
                .allowed_origins
                .iter()
                .any(|allowed| allowed.eq_ignore_ascii_case(origin))
        })
    }
}

impl fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthClient")
            .field("credentials", &self.credentials)
            .field("application", &self.application.as_ref().map(|a| a.id))
            .finish()
    }
}

/// A token request's grant, with its parameters (RFC 6749 §4.1.3, §4.3.2,
/// §4.4.2, §6). `Debug` hides the code, tokens, verifier and password.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenGrant {
    /// `authorization_code`.
    AuthorizationCode {
        /// The code.
        code: String,
        /// The `redirect_uri` of the authorization request.
        redirect_uri: Option<String>,
        /// The PKCE `code_verifier`.
        code_verifier: Option<String>,
    },
    /// `client_credentials`.
    ClientCredentials {
        /// The `scope` asked for (`None`: the configured default).
        scope: Option<String>,
    },
    /// `refresh_token`.
    RefreshToken {
        /// The refresh token.
        refresh_token: String,
        /// A narrower `scope` for the new access token (`None`: the same).
        scope: Option<String>,
    },
    /// `password` (off unless enabled).
    Password {
        /// The resource owner's username.
        username: String,
        /// Their password.
        password: String,
        /// The `scope` asked for (`None`: the configured default).
        scope: Option<String>,
    },
}

impl TokenGrant {
    /// The grant's type.
    pub fn grant_type(&self) -> GrantType {
        match self {
            TokenGrant::AuthorizationCode { .. } => GrantType::AuthorizationCode,
            TokenGrant::ClientCredentials { .. } => GrantType::ClientCredentials,
            TokenGrant::RefreshToken { .. } => GrantType::RefreshToken,
            TokenGrant::Password { .. } => GrantType::Password,
        }
    }
}

impl fmt::Debug for TokenGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scope = match self {
            TokenGrant::ClientCredentials { scope }
            | TokenGrant::RefreshToken { scope, .. }
            | TokenGrant::Password { scope, .. } => scope.as_deref(),
            TokenGrant::AuthorizationCode { .. } => None,
        };
        f.debug_struct("TokenGrant")
            .field("grant_type", &self.grant_type())
            .field("scope", &scope)
            .finish_non_exhaustive()
    }
}

/// Tokens just issued (RFC 6749 §5.1). `Debug` hides the tokens.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedOAuthTokens {
    /// The access token (`token_type` `Bearer`): opaque, or an RFC 9068
    /// JWT ([`AccessTokenFormat`]).
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// A refresh token, when the application may refresh.
    pub refresh_token: Option<String>,
    /// The scopes of the access token.
    pub scopes: Scopes,
    /// The OpenID Connect ID token: issued by the authorization code
    /// grant when the scopes hold `openid`, and by a refresh of such a
    /// grant (without `nonce` and `auth_time`, as OpenID Connect Core
    /// §12.2 allows), when ID-token keys are configured.
    pub id_token: Option<String>,
}

impl fmt::Debug for IssuedOAuthTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedOAuthTokens")
            .field("access_token", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("scopes", &self.scopes)
            .field("id_token", &self.id_token.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// What introspection says of a token (RFC 7662 §2.2). An inactive token
/// says nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Introspection {
    /// Whether the token is live (not expired, revoked or rotated) and its
    /// user, if any, active.
    pub active: bool,
    /// What is known of an active token.
    pub details: Option<IntrospectionDetails>,
}

/// The facts about an active token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntrospectionDetails {
    /// Its scopes.
    pub scopes: Scopes,
    /// The `client_id` of the application it was issued to.
    pub client_id: String,
    /// The username of its user (`None` for `client_credentials`).
    pub username: Option<String>,
    /// Its user's id (`sub`).
    pub user_id: Option<UserId>,
    /// Access or refresh.
    pub kind: OAuthTokenKind,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// When it expires, if it does.
    pub expires: Option<DateTime<Utc>>,
}

/// 32 bytes from the OS generator as 43 base64url characters: the shape of
/// an opaque OAuth token (no `.`, unlike a JWT).
fn new_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// The tokens a grant issues.
struct NewTokens {
    /// The user they act for.
    user_id: Option<UserId>,
    /// The access token's scopes.
    scopes: Scopes,
    /// The refresh token's scopes (RFC 6749 §6: a refresh keeps them even
    /// when it narrows the access token's).
    refresh_scopes: Scopes,
    /// Their family.
    family: FamilyId,
    /// Whether to issue a refresh token.
    refresh: bool,
}

const UNKNOWN_CLIENT: OAuthError = OAuthError::invalid_client("Client authentication failed.");
const BAD_GRANT: OAuthError = OAuthError::invalid_grant(
    "The grant is invalid, expired, revoked or was issued to another client.",
);

impl Auth {
    /// Reads the application a token, revocation or introspection request
    /// names by its `client_id`, once, for the flow that authenticates it
    /// and for the CORS decision ([`OAuthClient::allows_origin`]). An
    /// unknown `client_id` is no error here: the flow refuses it.
    pub async fn oauth_client(&self, credentials: ClientAuth) -> Result<OAuthClient, AuthError> {
        let application = self
            .inner
            .stores
            .oauth_applications
            .application_by_client_id(&credentials.client_id)
            .await?;
        Ok(OAuthClient {
            credentials,
            application,
        })
    }

    /// Authenticates the client of a token, revocation or introspection
    /// request: a confidential client by its secret (the current one, or
    /// the previous one during a rotation's overlap), a public client by
    /// its `client_id` alone (it must then prove itself with PKCE), or by
    /// `Authorization: Basic` with an empty secret. A failure is
    /// `invalid_client`, the same for an unknown client, a wrong or missing
    /// secret and a secret sent by a public client.
    pub fn authenticate_oauth_client<'c>(
        &self,
        client: &'c OAuthClient,
    ) -> Result<&'c Application, AuthError> {
        let Some(application) = &client.application else {
            return Err(UNKNOWN_CLIENT.into());
        };
        let credentials = &client.credentials;
        let ok = match (application.client_type, &credentials.secret) {
            (ClientType::Confidential, Some(secret)) => SecretDigests {
                current: application.secret_digest.as_deref(),
                previous: application.previous_secret_digest.as_deref(),
                previous_until: application.previous_secret_until,
            }
            .verify(secret, self.now()),
            (ClientType::Public, None) => credentials.method == ClientAuthMethod::None,
            // `Authorization: Basic` with an empty secret, as some client
            // libraries send for a public client.
            (ClientType::Public, Some(secret)) => {
                secret.is_empty() && credentials.method == ClientAuthMethod::Basic
            }
            _ => false,
        };
        if !ok {
            return Err(UNKNOWN_CLIENT.into());
        }
        Ok(application)
    }

    /// The token endpoint (`POST /api/o/token`): authenticates the client,
    /// checks that it may use the grant (`unauthorized_client`) and that
    /// the grant is enabled (`unsupported_grant_type` for `password` unless
    /// [`OAuthConfig::password_grant`](crate::config::OAuthConfig::password_grant)),
    /// then runs the grant:
    ///
    /// - `authorization_code`: single use (a second exchange is
    ///   `invalid_grant` and revokes every token the first one issued; of
    ///   exchanges sent together exactly one is answered), the
    ///   `redirect_uri` must equal the code's, and the PKCE verifier must
    ///   match its challenge (a verifier without a challenge, or the
    ///   reverse, is refused), and the grant must still stand: a code
    ///   issued before the user revoked the application
    ///   ([`Auth::revoke_authorized_application`]) is `invalid_grant`, even
    ///   for an application that skips authorization and even once the
    ///   user has authorized it again (the rule is the user's consent
    ///   existing, covering the code's scopes and being no younger than
    ///   the code, to the second); a code of a deleted application is
    ///   `invalid_client`;
    /// - `client_credentials`: confidential clients only, no refresh token;
    /// - `refresh_token`: rotation (the old token stops working; using it
    ///   again revokes its whole family), a `scope` may only narrow;
    /// - `password`: the user's credentials, checked and throttled as a
    ///   login is.
    pub async fn oauth_token(
        &self,
        client: &OAuthClient,
        grant: &TokenGrant,
        info: &ClientInfo,
    ) -> Result<IssuedOAuthTokens, AuthError> {
        // Read before anything about the user: the tokens are stamped with
        // it, so a revocation of the user's tokens that lands meanwhile
        // voids them (see `oauth_user`).
        let now = self.now();
        let config = &self.inner.config.oauth;
        let grant_type = grant.grant_type();
        if grant_type == GrantType::Password && !config.password_grant {
            return Err(OAuthError::new(
                OAuthErrorCode::UnsupportedGrantType,
                "The password grant is not enabled.",
            )
            .into());
        }
        let application = self.authenticate_oauth_client(client)?;
        let public_client_credentials = grant_type == GrantType::ClientCredentials
            && application.client_type == ClientType::Public;
        if !application.grant_types.contains(&grant_type) || public_client_credentials {
            return Err(OAuthError::new(
                OAuthErrorCode::UnauthorizedClient,
                "The client may not use this grant type.",
            )
            .into());
        }
        match grant {
            TokenGrant::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => {
                self.exchange_code(
                    application,
                    now,
                    code,
                    redirect_uri.as_deref(),
                    code_verifier.as_deref(),
                )
                .await
            }
            TokenGrant::ClientCredentials { scope } => {
                let scopes = self.requested_scopes(scope.as_deref())?;
                let new = NewTokens {
                    user_id: None,
                    refresh_scopes: scopes.clone(),
                    scopes,
                    family: FamilyId::new(),
                    refresh: false,
                };
                self.issue_oauth_tokens(application, now, new).await
            }
            TokenGrant::RefreshToken {
                refresh_token,
                scope,
            } => {
                self.refresh_oauth_token(application, now, refresh_token, scope.as_deref())
                    .await
            }
            TokenGrant::Password {
                username,
                password,
                scope,
            } => {
                let scopes = self.requested_scopes(scope.as_deref())?;
                let credentials = Credentials::username(username.clone(), password.clone());
                let user = match self
                    .check_credentials(&credentials, TokenKind::Credentials, info)
                    .await
                {
                    Err(AuthError::InvalidCredentials(_)) => {
                        return Err(OAuthError::invalid_grant(
                            "Invalid resource owner credentials.",
                        )
                        .into());
                    }
                    other => other?,
                };
                let new = NewTokens {
                    user_id: Some(user.id),
                    refresh_scopes: scopes.clone(),
                    scopes,
                    family: FamilyId::new(),
                    refresh: application.grant_types.contains(&GrantType::RefreshToken),
                };
                self.issue_oauth_tokens(application, now, new).await
            }
        }
    }

    /// The scopes a `scope` parameter asks for, each known to the server
    /// (`invalid_scope` otherwise; `openid` too when no ID-token keys are
    /// set); none given is the configured default.
    pub(super) fn requested_scopes(&self, scope: Option<&str>) -> Result<Scopes, AuthError> {
        let config = &self.inner.config.oauth;
        let invalid = || OAuthError::invalid_scope("The scope is malformed or unknown.");
        let scopes = match scope {
            None => Scopes::from_tokens(config.default_scopes.iter().cloned()),
            Some(scope) => Scopes::parse(scope),
        }
        .map_err(|_| invalid())?;
        let openid_off = config.id_token_keys.is_none() && scopes.contains(OPENID_SCOPE);
        if openid_off || !scopes.iter().all(|s| config.scopes.contains_key(s)) {
            return Err(invalid().into());
        }
        Ok(scopes)
    }

    /// The `authorization_code` grant, after client authentication.
    ///
    /// The code is read and the exchange checked first; a refused exchange
    /// stores nothing, and spends the code unless it was unknown, used or
    /// expired. The tokens of an accepted one are stored *before* the code
    /// is spent: of exchanges sent together exactly one spends it, and its
    /// tokens exist by then, so a replay detected meanwhile revokes them
    /// with the family instead of revoking the family before they are
    /// stored (which would leave no exchange answered). An exchange that
    /// loses the race revokes the family it stored its tokens into.
    async fn exchange_code(
        &self,
        application: &Application,
        now: DateTime<Utc>,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
    ) -> Result<IssuedOAuthTokens, AuthError> {
        let stores = &self.inner.stores;
        let code_digest = digest(code);
        let code = match stores.oauth_codes.code(&code_digest).await? {
            Some(code) if code.used_at.is_some() => {
                return Err(self
                    .refuse_grant(application, code.family, now, Some(CODE_REPLAY))
                    .await);
            }
            Some(code) if code.expires > now => code,
            _ => return Err(BAD_GRANT.into()),
        };
        match self
            .check_exchange(application, &code, redirect_uri, verifier)
            .await
        {
            Ok(()) => {}
            // Codes are single use: a refused exchange spends the code too
            // (a store failure does not, so the client may try again).
            Err(AuthError::OAuth(refused)) => {
                return Err(
                    match stores.oauth_codes.consume_code(&code_digest, now).await? {
                        CodeUse::First(_) => refused.into(),
                        CodeUse::Reused(_) => {
                            self.refuse_grant(application, code.family, now, Some(CODE_REPLAY))
                                .await
                        }
                        CodeUse::Expired(_) | CodeUse::Unknown => BAD_GRANT.into(),
                    },
                );
            }
            Err(other) => return Err(other),
        }
        let new = NewTokens {
            user_id: Some(code.user_id),
            refresh_scopes: code.scopes.clone(),
            scopes: code.scopes.clone(),
            family: code.family,
            refresh: application.grant_types.contains(&GrantType::RefreshToken),
        };
        let mut issued = self.issue_oauth_tokens(application, now, new).await?;
        match stores.oauth_codes.consume_code(&code_digest, now).await? {
            CodeUse::First(_) => {}
            CodeUse::Reused(_) => {
                return Err(self
                    .refuse_grant(application, code.family, now, Some(CODE_REPLAY))
                    .await);
            }
            // Purged since it was read: the tokens just stored must not
            // outlive it.
            CodeUse::Expired(_) | CodeUse::Unknown => {
                return Err(self.refuse_grant(application, code.family, now, None).await);
            }
        }
        // Checked again once the tokens are stored: a revocation that
        // deletes the consent later also revokes them, one that deleted it
        // since the check is seen here, so no interleaving leaves live
        // tokens of a revoked grant.
        if !self.grant_still_stands(&code).await? {
            return Err(self.refuse_grant(application, code.family, now, None).await);
        }
        let grant = IdTokenGrant {
            user: code.user_id,
            scopes: &code.scopes,
            auth_time: Some(code.auth_time),
            nonce: code.nonce.as_deref(),
        };
        issued.id_token = self.issue_id_token(application, grant, &issued.access_token, now)?;
        Ok(issued)
    }

    /// Checks an exchange of the live, unused `code` by `application`: the
    /// client, the `redirect_uri`, PKCE, the user (still active, tokens not
    /// revoked since the code) and the grant (see
    /// [`grant_still_stands`](Self::grant_still_stands)). Stores nothing.
    async fn check_exchange(
        &self,
        application: &Application,
        code: &AuthorizationCode,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
    ) -> Result<(), AuthError> {
        let config = &self.inner.config.oauth;
        if code.application_id != application.id {
            return Err(BAD_GRANT.into());
        }
        let Some(redirect_uri) = redirect_uri else {
            return Err(OAuthError::invalid_request("The redirect_uri is required.").into());
        };
        if redirect_uri != code.redirect_uri {
            return Err(OAuthError::invalid_grant(
                "The redirect_uri differs from the authorization request's.",
            )
            .into());
        }
        let pkce_ok = match (&code.code_challenge, code.code_challenge_method, verifier) {
            (Some(challenge), Some(method), Some(verifier)) => {
                (method == PkceMethod::S256 || config.allow_plain_pkce)
                    && verify_pkce(method, challenge, verifier)
            }
            // A verifier without a challenge is a downgrade attempt (RFC
            // 9700 §2.1.1); a code without a challenge is only valid where
            // PKCE is not required.
            (None, _, None) => {
                !config.pkce_required && application.client_type == ClientType::Confidential
            }
            _ => false,
        };
        if !pkce_ok {
            return Err(OAuthError::invalid_grant("PKCE verification failed.").into());
        }
        if self.oauth_user(code.user_id, code.created).await?.is_none()
            || !self.grant_still_stands(code).await?
        {
            return Err(BAD_GRANT.into());
        }
        Ok(())
    }

    /// Whether the grant behind `code` still stands: the user's consent to
    /// the application exists, covers the code's scopes and dates from no
    /// later than the code (to the second). Every issued code remembers its consent (also
    /// for an application that skips authorization), and revoking an
    /// authorized application deletes it, so a code issued before a
    /// revocation fails this, even once the user has consented again (the
    /// new consent is younger than the code).
    async fn grant_still_stands(&self, code: &AuthorizationCode) -> Result<bool, AuthError> {
        let consent = self
            .inner
            .stores
            .oauth_consents
            .consent(code.user_id, code.application_id)
            .await?;
        // To the second: the consent and the code may sit in stores of
        // different precision (memory keeps nanoseconds, SQL and Redis
        // microseconds), and the two are stamped with the same instant.
        Ok(consent.is_some_and(|consent| {
            consent.created.timestamp() <= code.created.timestamp()
                && consent.scopes.covers(&code.scopes)
        }))
    }

    /// The `refresh_token` grant, after client authentication.
    ///
    /// With rotation on, the new tokens are stored *before* the old token
    /// is spent. Of requests sent together with one token exactly one
    /// spends it, and its tokens already exist by then, so a replay
    /// detected afterwards revokes them with the family instead of
    /// revoking the family before they are stored (which would leave no
    /// request answered). A request that loses the race revokes the family
    /// it stored its tokens into.
    async fn refresh_oauth_token(
        &self,
        application: &Application,
        now: DateTime<Utc>,
        refresh_token: &str,
        scope: Option<&str>,
    ) -> Result<IssuedOAuthTokens, AuthError> {
        let tokens = &self.inner.stores.oauth_tokens;
        let token_digest = digest(refresh_token);
        let rotate = self.inner.config.oauth.rotate_refresh_tokens;
        let old = match tokens.oauth_token(&token_digest).await? {
            Some(old) if old.kind == OAuthTokenKind::Refresh => old,
            _ => return Err(BAD_GRANT.into()),
        };
        if rotate && old.rotated_at.is_some() {
            return Err(self
                .refuse_grant(application, old.family, now, Some(REFRESH_REPLAY))
                .await);
        }
        if !old.is_live(now) {
            return Err(BAD_GRANT.into());
        }
        if old.application_id != application.id {
            return Err(if rotate {
                self.refuse_grant(application, old.family, now, Some(REFRESH_REPLAY))
                    .await
            } else {
                BAD_GRANT.into()
            });
        }
        // Checked before the token is spent, so a refused narrowing leaves
        // it usable.
        let scopes = match scope {
            None => old.scopes.clone(),
            Some(scope) => match Scopes::parse(scope) {
                Ok(asked) if old.scopes.covers(&asked) => asked,
                _ => {
                    return Err(OAuthError::invalid_scope(
                        "The scope exceeds what the refresh token was granted.",
                    )
                    .into());
                }
            },
        };
        if let Some(user_id) = old.user_id
            && self.oauth_user(user_id, old.created).await?.is_none()
        {
            return Err(BAD_GRANT.into());
        }
        let granted = old.scopes.clone();
        let new = NewTokens {
            user_id: old.user_id,
            scopes,
            refresh_scopes: old.scopes,
            family: old.family,
            refresh: rotate,
        };
        let mut issued = self.issue_oauth_tokens(application, now, new).await?;
        if rotate {
            match tokens.rotate_refresh_token(&token_digest, now).await? {
                RefreshUse::First(_) => {}
                RefreshUse::Reused(_) => {
                    return Err(self
                        .refuse_grant(application, old.family, now, Some(REFRESH_REPLAY))
                        .await);
                }
                // Revoked or purged since it was read: the tokens just
                // stored must not outlive it.
                RefreshUse::Dead(_) | RefreshUse::Unknown => {
                    return Err(self.refuse_grant(application, old.family, now, None).await);
                }
            }
        }
        if let Some(user_id) = old.user_id {
            // The original grant's scopes decide (OpenID Connect Core
            // §12.2), even when this access token's are narrower.
            let grant = IdTokenGrant {
                user: user_id,
                scopes: &granted,
                auth_time: None,
                nonce: None,
            };
            issued.id_token = self.issue_id_token(application, grant, &issued.access_token, now)?;
        }
        if !rotate {
            // The same refresh token keeps working.
            issued.refresh_token = Some(refresh_token.to_string());
        }
        Ok(issued)
    }

    /// Revokes `family` and gives the error to answer with
    /// (`invalid_grant`, or the store's failure). For a code or refresh
    /// token that was used again (or a refresh token presented by another
    /// client), whose tokens may be in the wrong hands (RFC 6749 §4.1.2,
    /// RFC 9700 §4.5, §4.14), `warning` says so in the log; for tokens
    /// just stored from a grant that no longer stands it is `None`.
    async fn refuse_grant(
        &self,
        application: &Application,
        family: FamilyId,
        now: DateTime<Utc>,
        warning: Option<&'static str>,
    ) -> AuthError {
        if let Err(error) = self
            .inner
            .stores
            .oauth_tokens
            .revoke_oauth_family(family, now)
            .await
        {
            return error.into();
        }
        if let Some(warning) = warning {
            tracing::warn!(target: "auth", application = %application.id, "{warning}");
        }
        BAD_GRANT.into()
    }

    /// Stores and returns the tokens `new` describes, created at `now`. A
    /// family revoked meanwhile (a replay detected concurrently) is
    /// `invalid_grant`.
    async fn issue_oauth_tokens(
        &self,
        application: &Application,
        now: DateTime<Utc>,
        new: NewTokens,
    ) -> Result<IssuedOAuthTokens, AuthError> {
        let config = &self.inner.config.oauth;
        let NewTokens {
            user_id,
            scopes,
            refresh_scopes,
            family,
            refresh,
        } = new;
        let record = |kind, token: &str, scopes: Scopes, expires| OAuthToken {
            digest: digest(token),
            kind,
            application_id: application.id,
            user_id,
            scopes,
            family,
            created: now,
            expires,
            revoked_at: None,
            rotated_at: None,
        };
        let access_token = match config.access_token_format {
            AccessTokenFormat::Jwt => self
                .issue_jwt_access_token(application, user_id, &scopes, now)?
                .unwrap_or_else(new_token),
            AccessTokenFormat::Opaque => new_token(),
        };
        let access = record(
            OAuthTokenKind::Access,
            &access_token,
            scopes.clone(),
            Some(now + config.access_token_ttl),
        );
        let refresh_token = refresh.then(new_token);
        let tokens = &self.inner.stores.oauth_tokens;
        let insert = |token: OAuthToken| async move {
            match tokens.insert_oauth_token(&token).await {
                Err(StoreError::Conflict(field)) if field == "family" => {
                    Err(AuthError::from(BAD_GRANT))
                }
                other => other.map_err(AuthError::from),
            }
        };
        if let Some(refresh_token) = &refresh_token {
            insert(record(
                OAuthTokenKind::Refresh,
                refresh_token,
                refresh_scopes,
                config.refresh_token_ttl.map(|ttl| now + ttl),
            ))
            .await?;
        }
        insert(access).await?;
        Ok(IssuedOAuthTokens {
            access_token,
            expires_in: config.access_token_ttl.num_seconds(),
            refresh_token,
            scopes,
            id_token: None,
        })
    }

    /// Token revocation (RFC 7009, `POST /api/o/revoke_token`): after
    /// client authentication, revokes the token if it was issued to this
    /// client; a refresh token takes its whole family (the access tokens
    /// issued with it and from it) along. An unknown token, or another
    /// client's, is no error (RFC 7009 §2.2) and changes nothing.
    pub async fn revoke_oauth_token(
        &self,
        client: &OAuthClient,
        token: &str,
    ) -> Result<(), AuthError> {
        let application = self.authenticate_oauth_client(client)?;
        let tokens = &self.inner.stores.oauth_tokens;
        let now = self.now();
        let token_digest = digest(token);
        match tokens.oauth_token(&token_digest).await? {
            Some(found) if found.application_id == application.id => match found.kind {
                OAuthTokenKind::Refresh => {
                    tokens.revoke_oauth_family(found.family, now).await?;
                }
                OAuthTokenKind::Access => {
                    tokens.revoke_oauth_token(&token_digest, now).await?;
                }
            },
            _ => {}
        }
        Ok(())
    }

    /// Token introspection (RFC 7662, `POST /api/o/introspect`): a
    /// confidential client (a resource server) asks whether a token is
    /// active and what it grants. A token is active while live and its
    /// user active; anything else, unknown tokens included, is
    /// `{"active": false}`. A public client is `invalid_client`.
    pub async fn introspect_oauth_token(
        &self,
        client: &OAuthClient,
        token: &str,
    ) -> Result<Introspection, AuthError> {
        let caller = self.authenticate_oauth_client(client)?;
        if caller.client_type != ClientType::Confidential {
            return Err(UNKNOWN_CLIENT.into());
        }
        let inactive = Introspection {
            active: false,
            details: None,
        };
        let now = self.now();
        let stores = &self.inner.stores;
        let Some(found) = stores.oauth_tokens.oauth_token(&digest(token)).await? else {
            return Ok(inactive);
        };
        if !found.is_live(now) {
            return Ok(inactive);
        }
        let username = match found.user_id {
            Some(user_id) => match self.oauth_user(user_id, found.created).await? {
                Some(user) => Some(user.username),
                None => return Ok(inactive),
            },
            None => None,
        };
        let client_id = if found.application_id == caller.id {
            caller.client_id.clone()
        } else {
            match stores
                .oauth_applications
                .application(found.application_id)
                .await?
            {
                Some(application) => application.client_id,
                None => return Ok(inactive),
            }
        };
        Ok(Introspection {
            active: true,
            details: Some(IntrospectionDetails {
                scopes: found.scopes,
                client_id,
                username,
                user_id: found.user_id,
                kind: found.kind,
                issued_at: found.created,
                expires: found.expires,
            }),
        })
    }
}
