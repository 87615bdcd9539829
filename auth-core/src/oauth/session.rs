//! Browser sessions of the provider's pages (login, consent, applications)
//! and their CSRF tokens, as [`Auth`] methods. The HTTP layer puts
//! [`SignedIn::cookie_value`] in a cookie and reads it back; only its
//! digest reaches the [`BrowserSessionStore`](crate::store::BrowserSessionStore).
//!
//! CSRF: a form of a signed-in page carries [`Auth::session_csrf_token`],
//! an HMAC of the session's digest under the server secret, so it changes
//! with every session and needs no storage; a form shown before sign-in
//! (the login form) uses a double submit: a random value in a cookie and
//! the same value in the form ([`new_csrf_value`], [`double_submit_ok`]).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{BrowserSession, digest};
use crate::Auth;
use crate::error::{AuthError, CsrfFailure};
use crate::events::{ClientInfo, TokenKind};
use crate::flows::Credentials;
use crate::secret::{constant_time_eq, random_bytes};
use crate::user::User;

/// A browser session just started. `Debug` hides the cookie value.
#[derive(Clone)]
pub struct SignedIn {
    /// The cookie value: 256 random bits, base64url. Only its digest is
    /// stored.
    pub cookie_value: String,
    /// The session as stored.
    pub session: BrowserSession,
    /// Who signed in.
    pub user: User,
}

impl fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedIn")
            .field("cookie_value", &"[redacted]")
            .field("session", &self.session)
            .field("user", &self.user)
            .finish()
    }
}

/// A random value for a double-submit CSRF cookie (pre-login forms): 256
/// bits, base64url.
pub fn new_csrf_value() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// Whether a pre-login form's CSRF field equals its cookie, compared in
/// constant time; a missing or empty value on either side never matches.
pub fn double_submit_ok(cookie: Option<&str>, submitted: Option<&str>) -> bool {
    double_submit_check(cookie, submitted).is_ok()
}

/// A double-submit CSRF check, saying why it failed: the token submitted
/// (a form field, a header) must equal the cookie's value, compared in
/// constant time; a missing or empty value on either side never matches.
///
/// ```
/// use auth_core::error::CsrfFailure;
/// use auth_core::oauth::double_submit_check;
/// assert_eq!(double_submit_check(Some("abc"), Some("abc")), Ok(()));
/// assert_eq!(double_submit_check(None, Some("abc")), Err(CsrfFailure::CookieMissing));
/// assert_eq!(double_submit_check(Some("abc"), Some("")), Err(CsrfFailure::TokenMissing));
/// assert_eq!(double_submit_check(Some("abc"), Some("abd")), Err(CsrfFailure::TokenIncorrect));
/// ```
pub fn double_submit_check(
    cookie: Option<&str>,
    submitted: Option<&str>,
) -> Result<(), CsrfFailure> {
    let cookie = cookie
        .filter(|c| !c.is_empty())
        .ok_or(CsrfFailure::CookieMissing)?;
    let submitted = submitted
        .filter(|s| !s.is_empty())
        .ok_or(CsrfFailure::TokenMissing)?;
    if constant_time_eq(cookie.as_bytes(), submitted.as_bytes()) {
        Ok(())
    } else {
        Err(CsrfFailure::TokenIncorrect)
    }
}

impl Auth {
    /// Signs a user in to the provider's pages with a username or email and
    /// a password, through the same rules as every login (throttling, one
    /// answer for an unknown user, a wrong password and an inactive
    /// account: [`AuthError::InvalidCredentials`]), and starts a session
    /// lasting [`OAuthConfig::session_ttl`](crate::config::OAuthConfig::session_ttl).
    pub async fn sign_in(
        &self,
        credentials: &Credentials,
        client: &ClientInfo,
    ) -> Result<SignedIn, AuthError> {
        let user = self
            .check_credentials(credentials, TokenKind::Credentials, client)
            .await?;
        let cookie_value = URL_SAFE_NO_PAD.encode(random_bytes::<32>());
        let now = self.now();
        let session = BrowserSession {
            digest: digest(&cookie_value),
            user_id: user.id,
            auth_time: now,
            created: now,
            expires: now + self.inner.config.oauth.session_ttl,
        };
        self.inner
            .stores
            .browser_sessions
            .insert_session(&session)
            .await?;
        Ok(SignedIn {
            cookie_value,
            session,
            user,
        })
    }

    /// The live session whose cookie holds `cookie_value` and its user, or
    /// `None` when there is none: unknown, expired, or its user deleted or
    /// inactive.
    pub async fn browser_session(
        &self,
        cookie_value: &str,
    ) -> Result<Option<(BrowserSession, User)>, AuthError> {
        if cookie_value.is_empty() {
            return Ok(None);
        }
        let stores = &self.inner.stores;
        let Some(session) = stores
            .browser_sessions
            .session(&digest(cookie_value))
            .await?
        else {
            return Ok(None);
        };
        if session.expires <= self.now() {
            return Ok(None);
        }
        match stores.users.user_by_id(session.user_id).await? {
            Some(user) if user.is_active => Ok(Some((session, user))),
            _ => Ok(None),
        }
    }

    /// Signs out: deletes the session whose cookie holds `cookie_value`.
    /// `false` when there was none.
    pub async fn sign_out(&self, cookie_value: &str) -> Result<bool, AuthError> {
        Ok(self
            .inner
            .stores
            .browser_sessions
            .delete_session(&digest(cookie_value))
            .await?)
    }

    /// The CSRF token of the forms shown in `session`: base64url of
    /// HMAC-SHA256 over the session digest, keyed with the server secret.
    pub fn session_csrf_token(&self, session: &BrowserSession) -> String {
        URL_SAFE_NO_PAD.encode(self.session_csrf_mac(session))
    }

    /// Whether `submitted` is `session`'s CSRF token, compared in constant
    /// time; `None` or anything malformed is `false`.
    pub fn check_session_csrf(&self, session: &BrowserSession, submitted: Option<&str>) -> bool {
        let Some(submitted) = submitted.and_then(|s| URL_SAFE_NO_PAD.decode(s).ok()) else {
            return false;
        };
        constant_time_eq(&self.session_csrf_mac(session), &submitted)
    }

    fn session_csrf_mac(&self, session: &BrowserSession) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.inner.config.secret.expose())
            .expect("HMAC accepts keys of any length");
        mac.update(b"auth-core.browser-session-csrf\0");
        mac.update(session.digest.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}
