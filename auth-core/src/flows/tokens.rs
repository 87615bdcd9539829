//! Logging in through the Knox and static token strategies, authenticating
//! with their tokens, and logging out.

use chrono::{DateTime, Utc};

use crate::Auth;
use crate::error::{AuthError, StoreError, TokenRejection};
use crate::events::{AuthEvent, ClientInfo, TokenKind};
use crate::flows::Credentials;
use crate::store::{KnoxInsert, KnoxTokenRecord};
use crate::token::knox::{self, KnoxSecret};
use crate::token::static_token::StaticTokens;
use crate::user::{User, UserId};

/// A Knox token just issued: the secret to show once, and what was stored.
#[derive(Debug, Clone)]
pub struct IssuedKnoxToken {
    /// The token, for the client.
    pub token: KnoxSecret,
    /// The stored record (digest only).
    pub record: KnoxTokenRecord,
}

fn invalid_token() -> AuthError {
    AuthError::Unauthenticated(TokenRejection::Invalid)
}

impl Auth {
    /// Knox login (`POST /api/auth/token/login`): checks the credentials
    /// and issues a token. Bad credentials are
    /// [`AuthError::InvalidCredentials`] of [`TokenKind::Knox`] (answered
    /// as knox does); a user at a [`TokenLimit::Refuse`] limit gets
    /// [`AuthError::TokenLimitReached`].
    ///
    /// [`TokenLimit::Refuse`]: crate::store::TokenLimit::Refuse
    pub async fn knox_login(
        &self,
        credentials: &Credentials,
        name: Option<String>,
        client: &ClientInfo,
    ) -> Result<(User, IssuedKnoxToken), AuthError> {
        let read_at = self.now();
        let user = self
            .check_credentials(credentials, TokenKind::Knox, client)
            .await?;
        let issued = self.issue_knox_token(&user, name).await?;
        if self.revoked_since(user.id, read_at).await? {
            // A reset, password change or log-out-everywhere came between
            // reading the user and storing the token: it must not survive.
            let delete = self
                .inner
                .stores
                .knox
                .delete_knox_token(&issued.record.digest);
            self.write_about(user.id, delete).await?;
            return Err(AuthError::InvalidCredentials(TokenKind::Knox));
        }
        Ok((user, issued))
    }

    /// Whether the user's tokens were revoked (log out everywhere, a
    /// password change or reset: the "tokens valid after" mark) after
    /// `read_at`, to the millisecond as for JWTs.
    ///
    /// A login asks after storing its token: a revocation either set its
    /// mark before this read, and the login deletes its own token, or sets
    /// it after, and then deletes the tokens stored so far, this one too.
    async fn revoked_since(
        &self,
        user_id: UserId,
        read_at: DateTime<Utc>,
    ) -> Result<bool, AuthError> {
        let state = self
            .inner
            .stores
            .revocations
            .revocation_state(user_id, None)
            .await?;
        Ok(state
            .tokens_valid_after
            .is_some_and(|mark| read_at.timestamp_millis() < mark.timestamp_millis()))
    }

    /// Issues a Knox token for `user`, applying the per-user limit.
    pub async fn issue_knox_token(
        &self,
        user: &User,
        name: Option<String>,
    ) -> Result<IssuedKnoxToken, AuthError> {
        let config = &self.inner.config.knox;
        let now = self.now();
        let token = config.format.generate();
        let record = KnoxTokenRecord {
            token_key: token.token_key().to_string(),
            digest: token.digest(),
            user_id: user.id,
            created: now,
            expiry: config.ttl.map(|ttl| now + ttl),
            last_used: None,
            name: name.map(|n| n.chars().take(64).collect()),
        };
        // Evicting the oldest token at the limit is a write about the user.
        let insert = self
            .inner
            .stores
            .knox
            .insert_knox_token(&record, config.limit, now);
        match self.write_about(user.id, insert).await? {
            KnoxInsert::Inserted { .. } => {}
            KnoxInsert::LimitReached => return Err(AuthError::TokenLimitReached),
        }
        self.emit(AuthEvent::TokenIssued {
            user_id: user.id,
            kind: TokenKind::Knox,
            at: now,
        })
        .await;
        Ok(IssuedKnoxToken { token, record })
    }

    /// Authenticates a Knox token: its user (active) and its record.
    ///
    /// The token's shape is checked first (no store round trip for
    /// garbage); candidates sharing its `token_key` are compared by digest
    /// in constant time; expired candidates are deleted on the way, as
    /// knox does. With auto-refresh on, the expiry moves forward (never
    /// past the maximum lifetime), written only when it moves by more than
    /// the minimum refresh interval.
    ///
    /// With a lookup cache ([`LookupCacheConfig`](crate::config::LookupCacheConfig)) a token verified once is
    /// found again by its digest, and its user read through the cache.
    pub async fn authenticate_knox(
        &self,
        token: &str,
    ) -> Result<(User, KnoxTokenRecord), AuthError> {
        let config = &self.inner.config.knox;
        if !config.format.is_well_formed(token) {
            return Err(invalid_token());
        }
        let store = &self.inner.stores.knox;
        let now = self.now();
        let digest = knox::digest(token);
        let cache = &self.inner.cache;
        let mut record = match cache.knox(&digest, now) {
            // Found by its digest, the cache's key: only a token whose
            // SHA-512 equals a stored one gets here.
            Some(record) if record.is_live(now) => record,
            _ => {
                let mut found = None;
                for candidate in store.knox_tokens_by_key(knox::token_key(token)).await? {
                    if !candidate.is_live(now) {
                        store.delete_knox_token(&candidate.digest).await?;
                        continue;
                    }
                    if knox::digests_match(&candidate.digest, &digest) {
                        found = Some(candidate);
                    }
                }
                let record = found.ok_or_else(invalid_token)?;
                cache.put_knox(&record, now);
                record
            }
        };
        if config.auto_refresh
            && let (Some(current), Some(ttl)) = (record.expiry, config.ttl)
        {
            let mut renewed = now + ttl;
            if let Some(max) = config.max_lifetime {
                renewed = renewed.min(record.created + max);
            }
            if renewed - current > config.min_refresh_interval {
                store
                    .touch_knox_token(&record.digest, Some(renewed), now)
                    .await?;
                record.expiry = Some(renewed);
                record.last_used = Some(now);
                cache.put_knox(&record, now);
            }
        }
        let user = self.cached_active_user(record.user_id).await?;
        Ok((user, record))
    }

    /// Logs one Knox token out (`POST /api/auth/token/logout`).
    pub async fn knox_logout(
        &self,
        record: &KnoxTokenRecord,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let delete = self.inner.stores.knox.delete_knox_token(&record.digest);
        self.write_about(record.user_id, delete).await?;
        self.emit(AuthEvent::LoggedOut {
            user_id: record.user_id,
            kind: TokenKind::Knox,
            at: self.now(),
            client: client.clone(),
        })
        .await;
        Ok(())
    }

    /// Logs the user out everywhere (`POST /api/auth/token/logoutall`):
    /// every Knox token, the static token and every JWT issued so far stop
    /// working at once.
    pub async fn logout_all(&self, user_id: UserId, client: &ClientInfo) -> Result<(), AuthError> {
        self.revoke_user_tokens(user_id, None).await?;
        self.emit(AuthEvent::LoggedOutAll {
            user_id,
            at: self.now(),
            client: client.clone(),
        })
        .await;
        Ok(())
    }

    /// The user's live Knox tokens, newest first (`GET
    /// /api/auth/token/sessions`).
    pub async fn knox_sessions(&self, user_id: UserId) -> Result<Vec<KnoxTokenRecord>, AuthError> {
        Ok(self
            .inner
            .stores
            .knox
            .user_knox_tokens(user_id, self.now())
            .await?)
    }

    /// Revokes one of the user's Knox tokens by its `token_key` (`DELETE
    /// /api/auth/token/sessions/{token_key}`); [`AuthError::NotFound`] if
    /// the user has no such token.
    pub async fn revoke_knox_session(
        &self,
        user_id: UserId,
        token_key: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let delete = self
            .inner
            .stores
            .knox
            .delete_knox_token_by_key(user_id, token_key);
        if !self.write_about(user_id, delete).await? {
            return Err(AuthError::NotFound);
        }
        self.emit(AuthEvent::LoggedOut {
            user_id,
            kind: TokenKind::Knox,
            at: self.now(),
            client: client.clone(),
        })
        .await;
        Ok(())
    }

    /// Static-token login (`POST /api/auth/static-token`): checks the
    /// credentials and returns the user's one token, creating it on first
    /// call (DRF's `obtain_auth_token`). A user whose token is an imported
    /// DRF key gets a new token in its place (only the key's digest is
    /// stored, so it cannot be handed out): the old key stops working.
    pub async fn static_token_login(
        &self,
        credentials: &Credentials,
        client: &ClientInfo,
    ) -> Result<(User, String), AuthError> {
        let read_at = self.now();
        let user = self
            .check_credentials(credentials, TokenKind::Static, client)
            .await?;
        let (token, created) = self.static_token_created(user.id).await?;
        if self.revoked_since(user.id, read_at).await? {
            // As for Knox: the login read the user before a revocation, so
            // it gets no token, and one it made must not survive.
            if created {
                let delete = self.inner.stores.static_tokens.delete_static_token(user.id);
                self.write_about(user.id, delete).await?;
            }
            return Err(AuthError::InvalidCredentials(TokenKind::Static));
        }
        Ok((user, token))
    }

    /// The user's static token, created if there is none. Concurrent calls
    /// return the same token.
    pub async fn static_token_for(&self, user_id: UserId) -> Result<String, AuthError> {
        Ok(self.static_token_created(user_id).await?.0)
    }

    /// [`static_token_for`](Self::static_token_for), and whether this call
    /// created the token.
    async fn static_token_created(&self, user_id: UserId) -> Result<(String, bool), AuthError> {
        let store = &self.inner.stores.static_tokens;
        let tokens = &self.inner.static_tokens;
        // Twice at most: a record made under an older server secret, or an
        // imported DRF key (digest only), cannot give its token back, so it
        // is replaced once.
        for _ in 0..2 {
            let (record, token) = tokens.new_record(user_id, self.now());
            let stored = store.get_or_insert_static_token(&record).await?;
            if stored.digest == record.digest {
                self.emit(AuthEvent::TokenIssued {
                    user_id,
                    kind: TokenKind::Static,
                    at: record.created,
                })
                .await;
                return Ok((token, true));
            }
            if let Some(token) = tokens.token_for(&stored) {
                return Ok((token, false));
            }
            self.write_about(user_id, store.delete_static_token(user_id))
                .await?;
        }
        Err(AuthError::Internal(Box::new(StoreError::Conflict(
            "static token".into(),
        ))))
    }

    /// Authenticates a static token: its user (active); through the lookup
    /// cache when one is configured ([`LookupCacheConfig`](crate::config::LookupCacheConfig)).
    pub async fn authenticate_static(&self, token: &str) -> Result<User, AuthError> {
        if !StaticTokens::is_well_formed(token) {
            return Err(invalid_token());
        }
        let digest = StaticTokens::digest(token);
        let now = self.now();
        let cache = &self.inner.cache;
        let user_id = match cache.static_token(&digest, now) {
            Some(user_id) => user_id,
            None => {
                let record = self
                    .inner
                    .stores
                    .static_tokens
                    .static_token_by_digest(&digest)
                    .await?
                    .ok_or_else(invalid_token)?;
                cache.put_static_token(&digest, record.user_id, now);
                record.user_id
            }
        };
        self.cached_active_user(user_id).await
    }

    /// Deletes the user's static token (`DELETE /api/auth/static-token`).
    pub async fn delete_static_token(
        &self,
        user_id: UserId,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let delete = self.inner.stores.static_tokens.delete_static_token(user_id);
        self.write_about(user_id, delete).await?;
        self.emit(AuthEvent::LoggedOut {
            user_id,
            kind: TokenKind::Static,
            at: self.now(),
            client: client.clone(),
        })
        .await;
        Ok(())
    }
}
