//! The authorization endpoint's rules (RFC 6749 §4.1, RFC 7636, RFC 9700
//! §2.1.1, OpenID Connect `prompt` and `nonce`), as [`Auth`] methods taking
//! typed inputs: [`Auth::validate_authorization`] checks a request (the
//! client and redirect URI first: an error there is never redirected),
//! [`Auth::consent_needed`] says whether the consent page must be shown,
//! and [`Auth::issue_authorization_code`] issues the single-use code. The
//! HTTP layer reads the query or form, shows the pages and builds the
//! redirects.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use super::pkce::is_valid_challenge;
use super::redirect::redirect_uri_allowed;
use super::{
    Application, AuthorizationCode, ClientType, Consent, FamilyId, GrantType, PkceMethod, Scopes,
    digest,
};
use crate::Auth;
use crate::error::AuthError;
use crate::secret::random_bytes;
use crate::user::UserId;

/// An authorization request's parameters as received (`None`: absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizationRequest {
    /// `client_id`.
    pub client_id: Option<String>,
    /// `redirect_uri`.
    pub redirect_uri: Option<String>,
    /// `response_type` (only `code` is supported).
    pub response_type: Option<String>,
    /// `scope`.
    pub scope: Option<String>,
    /// `state`, returned as given.
    pub state: Option<String>,
    /// `code_challenge` (RFC 7636).
    pub code_challenge: Option<String>,
    /// `code_challenge_method` (`S256`; `plain` only when enabled).
    pub code_challenge_method: Option<String>,
    /// OpenID Connect `nonce`, carried to the ID token.
    pub nonce: Option<String>,
    /// OpenID Connect `prompt`: `none`, `login`, `consent`.
    pub prompt: Option<String>,
    /// OpenID Connect `max_age`: how many seconds ago the user may have
    /// last signed in.
    pub max_age: Option<String>,
}

/// The `prompt` of a request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Prompt {
    /// None given: sign in if needed, consent if needed.
    #[default]
    Default,
    /// `none`: show no page; fail with `login_required` or
    /// `consent_required` when one would be needed.
    None,
    /// `login`: the user signs in again.
    Login,
    /// `consent`: the consent page is shown even when remembered.
    Consent,
}

/// The error codes an authorization request redirects with (RFC 6749
/// §4.1.2.1, OpenID Connect Core §3.1.2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthorizeErrorCode {
    /// A parameter is missing, repeated, unsupported or malformed.
    InvalidRequest,
    /// The client may not use the authorization code grant.
    UnauthorizedClient,
    /// The user denied the request.
    AccessDenied,
    /// The `response_type` is not `code`.
    UnsupportedResponseType,
    /// The scope is malformed or unknown.
    InvalidScope,
    /// `prompt=none` and no one is signed in.
    LoginRequired,
    /// `prompt=none` and the user has not consented.
    ConsentRequired,
}

impl AuthorizeErrorCode {
    /// The code as the RFCs spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorizeErrorCode::InvalidRequest => "invalid_request",
            AuthorizeErrorCode::UnauthorizedClient => "unauthorized_client",
            AuthorizeErrorCode::AccessDenied => "access_denied",
            AuthorizeErrorCode::UnsupportedResponseType => "unsupported_response_type",
            AuthorizeErrorCode::InvalidScope => "invalid_scope",
            AuthorizeErrorCode::LoginRequired => "login_required",
            AuthorizeErrorCode::ConsentRequired => "consent_required",
        }
    }
}

/// Why an authorization request was refused.
#[derive(Debug)]
#[non_exhaustive]
pub enum AuthorizeError {
    /// The client is unknown or the redirect URI is missing or not one of
    /// its registered ones: show an error page, never redirect (RFC 6749
    /// §4.1.2.1).
    NoRedirect(&'static str),
    /// Any other error: redirect to `redirect_uri` with `error`,
    /// `error_description` and `state`.
    Redirect {
        /// The validated redirect URI.
        redirect_uri: String,
        /// The error.
        error: AuthorizeErrorCode,
        /// A human-readable description.
        description: &'static str,
        /// The request's `state`.
        state: Option<String>,
    },
    /// A store failed.
    Service(AuthError),
}

impl From<AuthError> for AuthorizeError {
    fn from(err: AuthError) -> Self {
        AuthorizeError::Service(err)
    }
}

/// A request whose client and redirect URI are valid and whose other
/// parameters are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedAuthorization {
    /// The client.
    pub application: Application,
    /// The redirect URI the request named (or the only registered one).
    pub redirect_uri: String,
    /// The scopes asked for (the configured default when none).
    pub scopes: Scopes,
    /// The request's `state`.
    pub state: Option<String>,
    /// The PKCE challenge and its method.
    pub pkce: Option<(String, PkceMethod)>,
    /// The OpenID Connect `nonce`.
    pub nonce: Option<String>,
    /// The `prompt`.
    pub prompt: Prompt,
    /// OpenID Connect `max_age`: a sign-in older than this is not enough
    /// ([`Auth::sign_in_again`]).
    pub max_age: Option<chrono::Duration>,
}

impl ValidatedAuthorization {
    /// An error redirect for this request.
    pub fn error(&self, error: AuthorizeErrorCode, description: &'static str) -> AuthorizeError {
        AuthorizeError::Redirect {
            redirect_uri: self.redirect_uri.clone(),
            error,
            description,
            state: self.state.clone(),
        }
    }
}

/// A code just issued. `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedCode {
    /// The code for the redirect (only its digest is stored).
    pub code: String,
    /// The stored record.
    pub record: AuthorizationCode,
}

impl fmt::Debug for IssuedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCode")
            .field("code", &"[redacted]")
            .field("record", &self.record)
            .finish()
    }
}

fn parse_prompt(prompt: Option<&str>) -> Option<Prompt> {
    let Some(prompt) = prompt else {
        return Some(Prompt::Default);
    };
    let values: Vec<&str> = prompt.split(' ').filter(|v| !v.is_empty()).collect();
    match values.as_slice() {
        [] => Some(Prompt::Default),
        ["none"] => Some(Prompt::None),
        // `none` with anything else is an error (OpenID Connect Core
        // §3.1.2.1); `login` wins over `consent`: the consent page follows
        // a fresh login anyway when consent is needed.
        many if many.contains(&"none") => None,
        many if many
            .iter()
            .all(|v| matches!(*v, "login" | "consent" | "select_account")) =>
        {
            Some(if many.contains(&"login") {
                Prompt::Login
            } else if many.contains(&"consent") {
                Prompt::Consent
            } else {
                Prompt::Default
            })
        }
        _ => None,
    }
}

/// A `max_age`: a non-negative whole number of seconds (at most a
/// century; more reads as a century).
fn parse_max_age(seconds: &str) -> Option<chrono::Duration> {
    if seconds.is_empty() || !seconds.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    const CENTURY: i64 = 100 * 366 * 24 * 3600;
    let seconds = seconds.parse::<i64>().unwrap_or(CENTURY).min(CENTURY);
    Some(chrono::Duration::seconds(seconds))
}

impl Auth {
    /// Checks an authorization request: first the client and redirect URI
    /// ([`AuthorizeError::NoRedirect`] when either is wrong), then the
    /// rest, whose errors redirect: the client may use the code grant,
    /// `response_type=code`, known scopes, PKCE (`S256` required by
    /// default and always for public clients; `plain` only when enabled),
    /// a valid `prompt` and `max_age`.
    pub async fn validate_authorization(
        &self,
        request: &AuthorizationRequest,
    ) -> Result<ValidatedAuthorization, AuthorizeError> {
        let config = &self.inner.config.oauth;
        let client_id = request
            .client_id
            .as_deref()
            .ok_or(AuthorizeError::NoRedirect("The client_id is missing."))?;
        let application = self
            .inner
            .stores
            .oauth_applications
            .application_by_client_id(client_id)
            .await
            .map_err(AuthError::from)?
            .ok_or(AuthorizeError::NoRedirect("The client is unknown."))?;
        let redirect_uri = match request.redirect_uri.as_deref() {
            Some(uri) if redirect_uri_allowed(&application.redirect_uris, uri) => uri.to_string(),
            Some(_) => {
                return Err(AuthorizeError::NoRedirect(
                    "The redirect_uri is not registered for this client.",
                ));
            }
            None => match application.redirect_uris.as_slice() {
                [only] => only.clone(),
                _ => {
                    return Err(AuthorizeError::NoRedirect("The redirect_uri is missing."));
                }
            },
        };
        let state = request.state.clone();
        let fail = |error, description| AuthorizeError::Redirect {
            redirect_uri: redirect_uri.clone(),
            error,
            description,
            state: state.clone(),
        };
        use AuthorizeErrorCode as E;
        match request.response_type.as_deref() {
            None => return Err(fail(E::InvalidRequest, "The response_type is missing.")),
            Some("code") => {}
            Some(_) => {
                return Err(fail(
                    E::UnsupportedResponseType,
                    "Only response_type=code is supported.",
                ));
            }
        }
        if !application
            .grant_types
            .contains(&GrantType::AuthorizationCode)
        {
            return Err(fail(
                E::UnauthorizedClient,
                "The client may not use the authorization code grant.",
            ));
        }
        let scopes = self
            .requested_scopes(request.scope.as_deref())
            .map_err(|_| fail(E::InvalidScope, "The scope is malformed or unknown."))?;
        let pkce = match request.code_challenge.as_deref() {
            None => {
                if config.pkce_required || application.client_type == ClientType::Public {
                    return Err(fail(
                        E::InvalidRequest,
                        "A PKCE code_challenge is required.",
                    ));
                }
                if request.code_challenge_method.is_some() {
                    return Err(fail(
                        E::InvalidRequest,
                        "A code_challenge_method needs a code_challenge.",
                    ));
                }
                None
            }
            Some(challenge) => {
                // RFC 7636 §4.3: no method means `plain`.
                let method =
                    PkceMethod::parse(request.code_challenge_method.as_deref().unwrap_or("plain"))
                        .filter(|method| *method == PkceMethod::S256 || config.allow_plain_pkce)
                        .ok_or_else(|| {
                            fail(E::InvalidRequest, "The code_challenge_method must be S256.")
                        })?;
                if !is_valid_challenge(method, challenge) {
                    return Err(fail(E::InvalidRequest, "The code_challenge is malformed."));
                }
                Some((challenge.to_string(), method))
            }
        };
        let prompt = parse_prompt(request.prompt.as_deref())
            .ok_or_else(|| fail(E::InvalidRequest, "The prompt is not supported."))?;
        let max_age = match request.max_age.as_deref() {
            None => None,
            Some(seconds) => Some(parse_max_age(seconds).ok_or_else(|| {
                fail(
                    E::InvalidRequest,
                    "The max_age is not a whole number of seconds.",
                )
            })?),
        };
        Ok(ValidatedAuthorization {
            application,
            redirect_uri,
            scopes,
            state,
            pkce,
            nonce: request.nonce.clone(),
            prompt,
            max_age,
        })
    }

    /// Whether the user, signed in at `auth_time`, must sign in again
    /// before `request` goes on: `prompt=login`, or a sign-in older than
    /// the request's `max_age` (OpenID Connect Core §3.1.2.1; `max_age=0`
    /// asks for a fresh sign-in, as `prompt=login` does). With
    /// `prompt=none` the request then fails with `login_required` instead.
    pub fn sign_in_again(
        &self,
        request: &ValidatedAuthorization,
        auth_time: DateTime<Utc>,
    ) -> bool {
        request.prompt == Prompt::Login
            || request
                .max_age
                .is_some_and(|max_age| self.now().signed_duration_since(auth_time) > max_age)
    }

    /// Whether `user` must see the consent page for `request`: not when
    /// the application skips authorization or the user's remembered
    /// consent covers the scopes, unless the request says
    /// `prompt=consent`.
    pub async fn consent_needed(
        &self,
        user: UserId,
        request: &ValidatedAuthorization,
    ) -> Result<bool, AuthError> {
        if request.prompt == Prompt::Consent {
            return Ok(true);
        }
        if request.application.skip_authorization {
            return Ok(false);
        }
        let consent = self
            .inner
            .stores
            .oauth_consents
            .consent(user, request.application.id)
            .await?;
        Ok(!consent.is_some_and(|consent| consent.scopes.covers(&request.scopes)))
    }

    /// Issues a single-use authorization code for `request` to `user`
    /// (who authenticated at `auth_time`), lasting
    /// [`OAuthConfig::code_ttl`](crate::config::OAuthConfig::code_ttl),
    /// bound to the client, redirect URI, scopes, PKCE challenge and nonce,
    /// and remembers the consent (adding these scopes to the user's
    /// consent to the application).
    pub async fn issue_authorization_code(
        &self,
        user: UserId,
        auth_time: DateTime<Utc>,
        request: &ValidatedAuthorization,
    ) -> Result<IssuedCode, AuthError> {
        let now = self.now();
        let stores = &self.inner.stores;
        stores
            .oauth_consents
            .save_consent(&Consent {
                user_id: user,
                application_id: request.application.id,
                scopes: request.scopes.clone(),
                created: now,
                updated: now,
            })
            .await?;
        let code = URL_SAFE_NO_PAD.encode(random_bytes::<32>());
        let record = AuthorizationCode {
            digest: digest(&code),
            application_id: request.application.id,
            user_id: user,
            redirect_uri: request.redirect_uri.clone(),
            scopes: request.scopes.clone(),
            code_challenge: request.pkce.as_ref().map(|(c, _)| c.clone()),
            code_challenge_method: request.pkce.as_ref().map(|(_, m)| *m),
            nonce: request.nonce.clone(),
            auth_time,
            family: FamilyId::new(),
            created: now,
            expires: now + self.inner.config.oauth.code_ttl,
            used_at: None,
        };
        stores.oauth_codes.insert_code(&record).await?;
        Ok(IssuedCode { code, record })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts() {
        assert_eq!(parse_prompt(None), Some(Prompt::Default));
        assert_eq!(parse_prompt(Some("none")), Some(Prompt::None));
        assert_eq!(parse_prompt(Some("login consent")), Some(Prompt::Login));
        assert_eq!(parse_prompt(Some("consent")), Some(Prompt::Consent));
        assert_eq!(parse_prompt(Some("none login")), None);
        assert_eq!(parse_prompt(Some("bogus")), None);
    }

    #[test]
    fn max_ages() {
        let seconds = |s: i64| Some(chrono::Duration::seconds(s));
        assert_eq!(parse_max_age("0"), seconds(0));
        assert_eq!(parse_max_age("3600"), seconds(3600));
        assert_eq!(
            parse_max_age("99999999999999999999999"),
            seconds(100 * 366 * 24 * 3600)
        );
        for bad in ["", "-1", "+5", "1.5", " 1", "1e3", "soon"] {
            assert_eq!(parse_max_age(bad), None, "{bad:?}");
        }
    }
}
