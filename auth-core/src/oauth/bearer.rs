//! OAuth2 access tokens on protected routes: `Authorization: Bearer`
//! takes them beside this library's JWTs (told apart by shape: a JWT has
//! dots, an opaque OAuth token none; a JWT access token says `typ: at+jwt`
//! in its header, this library's JWTs `typ: JWT`).

use chrono::{DateTime, Utc};

use super::{OAuthToken, OAuthTokenKind, digest};
use crate::Auth;
use crate::error::{AuthError, TokenRejection};
use crate::user::{User, UserId};

/// Whether a bearer credential is shaped as an opaque OAuth token rather
/// than a JWT (which always has two dots).
pub(crate) fn is_opaque_token(credentials: &str) -> bool {
    !credentials.contains('.')
}

impl Auth {
    /// The user an OAuth grant or token made at `created` acts for, when
    /// they are still active and their tokens were not revoked since (a
    /// password change or reset, a deactivation, log-out-everywhere: the
    /// "tokens valid after" mark, to the millisecond as for JWTs). A token
    /// stored while such a revocation ran is caught here even if the
    /// store's revocation missed it.
    pub(crate) async fn oauth_user(
        &self,
        user_id: UserId,
        created: DateTime<Utc>,
    ) -> Result<Option<User>, AuthError> {
        let (state, user) = self.cached_revocation_state_and_user(user_id, None).await?;
        let revoked = state
            .tokens_valid_after
            .is_some_and(|mark| created.timestamp_millis() < mark.timestamp_millis());
        Ok(user.filter(|user| user.is_active && !revoked))
    }

    /// Authenticates an OAuth2 access token, opaque or JWT: it must be a
    /// live access token that acts for a user (a `client_credentials` token
    /// has none, so it opens no user's routes), and that user active. A JWT
    /// (anything with a dot) must first pass
    /// [`verify_jwt_access_token`](Self::verify_jwt_access_token), so a
    /// forged or foreign one costs no store read; then, as an opaque token,
    /// its stored record decides (revoked, rotated away, expired), read
    /// through the lookup cache when one is configured. A token
    /// of an inactive user is [`TokenRejection::UserInactive`]; any other
    /// refusal [`TokenRejection::Invalid`].
    pub async fn authenticate_oauth_access(
        &self,
        token: &str,
    ) -> Result<(User, OAuthToken), AuthError> {
        let invalid = || AuthError::Unauthenticated(TokenRejection::Invalid);
        if !is_opaque_token(token) {
            self.verify_jwt_access_token(token)?;
        }
        let now = self.now();
        let token_digest = digest(token);
        let cache = &self.inner.cache;
        let found = match cache.oauth_token(&token_digest, now) {
            Some(found) => Some(found),
            None => {
                let found = self
                    .inner
                    .stores
                    .oauth_tokens
                    .oauth_token(&token_digest)
                    .await?;
                if let Some(found) = found.as_ref().filter(|f| f.kind == OAuthTokenKind::Access) {
                    cache.put_oauth_token(found, now);
                }
                found
            }
        };
        let found = found
            .filter(|found| found.kind == OAuthTokenKind::Access && found.is_live(now))
            .ok_or_else(invalid)?;
        let user_id = found.user_id.ok_or_else(invalid)?;
        match self.oauth_user(user_id, found.created).await? {
            Some(user) => Ok((user, found)),
            None => Err(AuthError::Unauthenticated(TokenRejection::UserInactive)),
        }
    }
}
