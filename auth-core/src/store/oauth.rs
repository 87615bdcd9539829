//! The store traits of the OAuth2 provider: applications, authorization
//! codes, tokens, consents and browser sessions.
//!
//! The stores are independent of each other and of the user store: deleting
//! an application or a user cascades into nothing (the service calls each
//! store), and users and applications named by a record need not exist in
//! any store. Codes, tokens and sessions are found by the digest of the
//! secret handed out (see [`oauth::digest`](crate::oauth::digest)); a digest
//! straight from a request may be any string, and as with every other store
//! (see [`store`](crate::store)), an odd one (NUL, 10,000 characters, any
//! Unicode) answers as a value that matches nothing: `None`, `Unknown`,
//! `false` or `0`, never an error.

use std::fmt::Debug;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::StoreError;
use crate::oauth::{
    Application, ApplicationId, AuthorizationCode, BrowserSession, Consent, FamilyId, OAuthToken,
};
use crate::user::UserId;

/// Registered OAuth2 applications.
#[async_trait]
pub trait OAuthApplicationStore: Debug + Send + Sync + 'static {
    /// Stores a new application. Fails with `Conflict("client_id")`, storing
    /// nothing, when another application has the same `client_id` or the
    /// same id. Atomic: of concurrent inserts of one `client_id`, exactly
    /// one succeeds.
    async fn insert_application(&self, application: &Application) -> Result<(), StoreError>;

    /// The application with this id, or `None`.
    async fn application(&self, id: ApplicationId) -> Result<Option<Application>, StoreError>;

    /// The application with this `client_id` (compared exactly, case
    /// included), or `None`.
    async fn application_by_client_id(
        &self,
        client_id: &str,
    ) -> Result<Option<Application>, StoreError>;

    /// The applications `owner` registered, oldest first (by `created`, then
    /// id).
    async fn user_applications(&self, owner: UserId) -> Result<Vec<Application>, StoreError>;

    /// Writes every field of `application` but `id`, `client_id`, `owner`
    /// and `created` over the stored application with its id, in one atomic
    /// write (concurrent updates: the last one wins whole). `false` if there
    /// is no application with that id.
    async fn update_application(&self, application: &Application) -> Result<bool, StoreError>;

    /// Deletes the application; `false` if there was none. Its codes,
    /// tokens and consents stay in their stores: the service revokes and
    /// deletes them there.
    async fn delete_application(&self, id: ApplicationId) -> Result<bool, StoreError>;
}

/// What [`OAuthCodeStore::consume_code`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeUse {
    /// The code was live and unused; this call marked it used (its
    /// `used_at` is the `now` given). Exactly one call per code gets this.
    First(AuthorizationCode),
    /// The code was used before (`used_at` says when), expired or not: a
    /// replay, so the service revokes the code's family.
    Reused(AuthorizationCode),
    /// The code was never used but expired at `now` (an `expires` at or
    /// before it); it stays unused.
    Expired(AuthorizationCode),
    /// No code has this digest.
    Unknown,
}

/// Authorization codes, single use.
#[async_trait]
pub trait OAuthCodeStore: Debug + Send + Sync + 'static {
    /// Stores a code, unused (its `used_at` is ignored). A duplicate digest
    /// is `Conflict("digest")`, storing nothing.
    async fn insert_code(&self, code: &AuthorizationCode) -> Result<(), StoreError>;

    /// The code with this digest, as stored (used or expired ones included,
    /// until purged), or `None`. Reading changes nothing: only
    /// [`consume_code`](Self::consume_code) uses a code. The token endpoint
    /// reads a code first, to check the exchange and store its tokens
    /// before it spends the code.
    async fn code(&self, digest: &str) -> Result<Option<AuthorizationCode>, StoreError>;

    /// Exchanges the code with this digest at `now`: see [`CodeUse`] (a used
    /// code is `Reused` even once expired; an unused one is `Expired` from
    /// its `expires` on, else `First`). Atomic: of any number of concurrent
    /// calls for one code, exactly one gets `First`, and every call after
    /// it gets `Reused` until the code is purged.
    async fn consume_code(&self, digest: &str, now: DateTime<Utc>) -> Result<CodeUse, StoreError>;

    /// Deletes every code expired at `now` (an `expires` at or before it),
    /// used or not, and returns how many. A store that expires records by
    /// itself (Redis) may already have dropped some (not counted).
    async fn purge_expired_codes(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// What [`OAuthTokenStore::rotate_refresh_token`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshUse {
    /// The refresh token was live; this call marked it rotated (its
    /// `rotated_at` is the `now` given). Exactly one call per token gets
    /// this.
    First(OAuthToken),
    /// The token was rotated before (`rotated_at` says when), whatever else
    /// happened to it since: a replay, so the service revokes the family.
    Reused(OAuthToken),
    /// The token was never rotated but is revoked or expired at `now`.
    Dead(OAuthToken),
    /// No refresh token has this digest (an access token's digest included).
    Unknown,
}

/// OAuth2 access and refresh tokens.
///
/// # Revoked families
///
/// [`revoke_oauth_family`](Self::revoke_oauth_family) also remembers the family as
/// revoked, and [`insert_oauth_token`](Self::insert_oauth_token) refuses a
/// token of a remembered family. A store checks that mark *after* its
/// insert is visible to other writers (or under the same lock or
/// transaction as the revocation), so a rotation racing a revocation either
/// has its new token revoked by it or sees the mark and takes its token
/// back: once `revoke_oauth_family` has returned, no token of the family is live,
/// now or later. The mark is kept while any token of the family is stored
/// and for at least an hour after the revocation.
#[async_trait]
pub trait OAuthTokenStore: Debug + Send + Sync + 'static {
    /// Stores a token. A duplicate digest is `Conflict("digest")`; a token
    /// of a revoked family is `Conflict("family")` (see the type's docs);
    /// either way nothing is stored. The token's `revoked_at` and
    /// `rotated_at` are stored as given.
    async fn insert_oauth_token(&self, token: &OAuthToken) -> Result<(), StoreError>;

    /// The token with this digest, in whatever state (revoked, rotated or
    /// expired ones included, until purged), or `None`.
    async fn oauth_token(&self, digest: &str) -> Result<Option<OAuthToken>, StoreError>;

    /// Rotates the refresh token with this digest at `now`: see
    /// [`RefreshUse`]. A token rotated before is `Reused` (even if revoked
    /// or expired since); one revoked or expired at `now` is `Dead`; a live
    /// one is marked rotated and returned as `First`. Atomic: of any number
    /// of concurrent calls for one token, exactly one gets `First`, and
    /// every later call gets `Reused` until the token is purged.
    async fn rotate_refresh_token(
        &self,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<RefreshUse, StoreError>;

    /// Revokes the token with this digest at `now` (sets `revoked_at`
    /// unless it is set). `false` if there is no such token or it was
    /// revoked before.
    async fn revoke_oauth_token(
        &self,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Revokes every token of the family at `now` and remembers the family
    /// as revoked (see the type's docs: a token of it inserted at any time
    /// after, concurrently or not, is refused). Returns how many tokens it
    /// revoked (those revoked before are left as they are and not
    /// counted). Idempotent.
    async fn revoke_oauth_family(
        &self,
        family: FamilyId,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// Revokes every token of the user at `now` (a password change, reset,
    /// deactivation or log-out everywhere); returns how many it revoked. A
    /// token inserted concurrently may escape; the service orders it after
    /// the change that made the user's tokens void.
    async fn revoke_user_oauth_tokens(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// Revokes every token of the application at `now`, only those of
    /// `user` when one is given (revoking one user's grant); returns how
    /// many it revoked.
    async fn revoke_application_tokens(
        &self,
        application: ApplicationId,
        user: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// Deletes every token expired at `now` (an `expires` at or before it),
    /// revoked and rotated ones included: until then a rotated or revoked
    /// token stays, so a replay is still recognised while the token could
    /// have worked. Tokens without an expiry are never purged. Also forgets
    /// revoked-family marks that no longer guard anything (see the type's
    /// docs). Returns how many tokens it deleted; a store that expires
    /// records by itself (Redis) may already have dropped some (not
    /// counted).
    async fn purge_oauth_tokens(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// Remembered consent: the scopes each user granted each application.
#[async_trait]
pub trait OAuthConsentStore: Debug + Send + Sync + 'static {
    /// The user's consent to the application, or `None`.
    async fn consent(
        &self,
        user: UserId,
        application: ApplicationId,
    ) -> Result<Option<Consent>, StoreError>;

    /// Adds `consent.scopes` to the user's consent to the application and
    /// returns the stored consent: a new one as given, or the existing one
    /// with the union of its scopes and the new ones, its `created` kept
    /// and its `updated` set to `consent.updated`. Atomic: concurrent saves
    /// for one pair end with the union of all their scopes.
    async fn save_consent(&self, consent: &Consent) -> Result<Consent, StoreError>;

    /// The user's consents, oldest first (by `created`, then application
    /// id).
    async fn user_consents(&self, user: UserId) -> Result<Vec<Consent>, StoreError>;

    /// Deletes the user's consent to the application; `false` if there was
    /// none.
    async fn delete_consent(
        &self,
        user: UserId,
        application: ApplicationId,
    ) -> Result<bool, StoreError>;

    /// Deletes every consent to the application; returns how many.
    async fn delete_application_consents(
        &self,
        application: ApplicationId,
    ) -> Result<u64, StoreError>;
}

/// Browser sessions of the provider's pages (login, consent, applications).
#[async_trait]
pub trait BrowserSessionStore: Debug + Send + Sync + 'static {
    /// Stores a session. A duplicate digest is `Conflict("digest")`,
    /// storing nothing.
    async fn insert_session(&self, session: &BrowserSession) -> Result<(), StoreError>;

    /// The session with this digest, or `None`. An expired session may be
    /// returned (until purged, or until a store expiring records by itself
    /// drops it): the caller checks `expires`.
    async fn session(&self, digest: &str) -> Result<Option<BrowserSession>, StoreError>;

    /// Deletes the session (sign-out); `false` if there was none.
    async fn delete_session(&self, digest: &str) -> Result<bool, StoreError>;

    /// Deletes every session of the user; returns how many (sessions a
    /// store expiring records by itself already dropped are not counted).
    async fn delete_user_sessions(&self, user: UserId) -> Result<u64, StoreError>;

    /// Deletes every session expired at `now` (an `expires` at or before
    /// it); returns how many (a store expiring records by itself may
    /// already have dropped some, not counted).
    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// A store that implements the five OAuth2 store traits; implemented
/// automatically.
pub trait OAuthStore:
    OAuthApplicationStore + OAuthCodeStore + OAuthTokenStore + OAuthConsentStore + BrowserSessionStore
{
}

impl<T> OAuthStore for T where
    T: OAuthApplicationStore
        + OAuthCodeStore
        + OAuthTokenStore
        + OAuthConsentStore
        + BrowserSessionStore
{
}
