//! The store traits: everything the service keeps, behind one trait per
//! concern, so a deployment can put users in PostgreSQL and tokens in Redis.
//!
//! Each method documents its contract: what `None` or `false` means, what a
//! duplicate does, and what must be atomic. The conformance suite in
//! [`testkit`](crate::testkit) (feature `testkit`) checks every one of them,
//! and every store crate runs it.
//!
//! All timestamps handed to a store are whole microseconds (the service
//! truncates them); a store returns them exactly as given. Something that
//! expires at `expires_at` is expired at every `now >= expires_at`: a
//! record whose expiry equals `now` is no longer live, and is purged.
//!
//! # Strings a store cannot hold
//!
//! A lookup or delete may be handed a string straight from a request (a
//! login's username or email, an admin's search term) or one of a token's
//! parts, and such a string may be one the database cannot hold or compares
//! oddly: PostgreSQL's `TEXT` refuses NUL; MySQL and MariaDB may refuse,
//! truncate or pad an over-long or odd value, or compare it under a
//! collation's rules. Whatever the string (control characters, NUL, 10,000
//! characters, any Unicode), every method that looks up, searches, touches,
//! clears or deletes by a string answers as for a value that matches
//! nothing stored: `None`, an empty list or page, `false`, or `Ok(())`,
//! never an error, and it changes nothing. It matches only a value equal
//! to it (in the [`fold_case`] form for usernames and emails): no padding,
//! truncation or collation may make `"ada "` or `"ada\0"` find `"ada"`.
//! The conformance suite's `odd_strings` tests (feature `testkit`) check
//! this for every such method.
//!
//! Writes (inserting a user, a token, a blacklist entry, a throttle hit)
//! take only values the service made or validated (usernames and emails
//! pass the validators, which refuse control characters; token parts are
//! hex; throttle keys are hashed), and may fail on values a database
//! cannot hold.
//!
//! Users may live in another store than their tokens: the token, revocation
//! and history stores accept user ids that exist in no user store (a SQL
//! store has no foreign keys from those tables to its users table).
//!
//! # Implementing your own user store
//!
//! An application with its own users table (Django's "custom user model")
//! implements [`UserStore`] over it and hands it to the service; the other
//! stores can stay the in-memory or SQL ones.
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::RwLock;
//! use async_trait::async_trait;
//! use auth_core::store::{Page, UserQuery, UserStore};
//! use auth_core::user::{fold_case, User, UserId, UserUpdate};
//! use auth_core::error::StoreError;
//! use chrono::{DateTime, Utc};
//!
//! /// Users kept in the application's own table (a map here).
//! #[derive(Debug, Default)]
//! struct MyUsers(RwLock<HashMap<UserId, User>>);
//!
//! impl MyUsers {
//!     fn find(&self, f: impl Fn(&User) -> bool) -> Option<User> {
//!         self.0.read().unwrap().values().find(|u| f(u)).cloned()
//!     }
//!     fn with_user(&self, id: UserId, f: impl FnOnce(&mut User)) -> Result<(), StoreError> {
//!         self.0.write().unwrap().get_mut(&id).map(f).ok_or(StoreError::NotFound)
//!     }
//! }
//!
//! #[async_trait]
//! impl UserStore for MyUsers {
//!     async fn insert_user(&self, user: &User) -> Result<(), StoreError> {
//!         let mut users = self.0.write().unwrap();
//!         for other in users.values() {
//!             if fold_case(&other.username) == fold_case(&user.username) {
//!                 return Err(StoreError::Conflict("username".into()));
//!             }
//!             if fold_case(&other.email) == fold_case(&user.email) {
//!                 return Err(StoreError::Conflict("email".into()));
//!             }
//!             if user.legacy_id.is_some() && other.legacy_id == user.legacy_id {
//!                 return Err(StoreError::Conflict("legacy_id".into()));
//!             }
//!         }
//!         users.insert(user.id, user.clone());
//!         Ok(())
//!     }
//!     async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
//!         Ok(self.0.read().unwrap().get(&id).cloned())
//!     }
//!     async fn user_by_legacy_id(&self, legacy_id: i64) -> Result<Option<User>, StoreError> {
//!         Ok(self.find(|u| u.legacy_id == Some(legacy_id)))
//!     }
//!     async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
//!         Ok(self.find(|u| fold_case(&u.username) == fold_case(username)))
//!     }
//!     async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
//!         Ok(self.find(|u| fold_case(&u.email) == fold_case(email)))
//!     }
//!     async fn update_user(&self, id: UserId, update: &UserUpdate) -> Result<(), StoreError> {
//!         // Only the named columns: `UPDATE ... SET col = COALESCE(?, col)`.
//!         // A real table relies on its unique indexes for the conflict rule.
//!         self.with_user(id, |u| update.apply_to(u))
//!     }
//!     async fn set_password_hash(&self, id: UserId, hash: Option<&str>) -> Result<(), StoreError> {
//!         self.with_user(id, |u| u.password_hash = hash.map(str::to_owned))
//!     }
//!     async fn replace_password_hash(
//!         &self,
//!         id: UserId,
//!         current: &str,
//!         new: &str,
//!     ) -> Result<bool, StoreError> {
//!         // `UPDATE ... SET password_hash = ? WHERE id = ? AND password_hash = ?`
//!         let mut users = self.0.write().unwrap();
//!         match users.get_mut(&id) {
//!             Some(u) if u.password_hash.as_deref() == Some(current) => {
//!                 u.password_hash = Some(new.to_owned());
//!                 Ok(true)
//!             }
//!             _ => Ok(false),
//!         }
//!     }
//!     async fn set_last_login(&self, id: UserId, at: DateTime<Utc>) -> Result<(), StoreError> {
//!         self.with_user(id, |u| u.last_login = Some(at))
//!     }
//!     async fn delete_user(&self, id: UserId) -> Result<bool, StoreError> {
//!         Ok(self.0.write().unwrap().remove(&id).is_some())
//!     }
//!     async fn list_users(&self, query: &UserQuery) -> Result<Page<User>, StoreError> {
//!         let mut all: Vec<User> = self.0.read().unwrap().values()
//!             .filter(|u| query.matches(u)).cloned().collect();
//!         all.sort_by_key(|u| (u.date_joined, u.id));
//!         Ok(Page::slice(all, query.offset, query.limit))
//!     }
//! }
//!
//! let store: std::sync::Arc<dyn UserStore> = std::sync::Arc::new(MyUsers::default());
//! ```

use std::fmt::Debug;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::error::StoreError;
use crate::user::{User, UserId, UserUpdate, fold_case};

mod memory;
mod oauth;

pub use memory::MemoryStore;
pub use oauth::{
    BrowserSessionStore, CodeUse, OAuthApplicationStore, OAuthCodeStore, OAuthConsentStore,
    OAuthStore, OAuthTokenStore, RefreshUse,
};

/// One page of a listing, with the total number of matches.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// How many items match in all pages.
    pub total: u64,
}

impl<T> Page<T> {
    /// The page `[offset, offset + limit)` of an already filtered and sorted
    /// list (for stores that filter in memory).
    pub fn slice(all: Vec<T>, offset: u64, limit: u64) -> Self {
        let total = all.len() as u64;
        let items = all
            .into_iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .collect();
        Page { items, total }
    }
}

/// Which users [`UserStore::list_users`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserQuery {
    /// Case-insensitive substring of the username, email, first or last name.
    pub search: Option<String>,
    /// How many matches to skip.
    pub offset: u64,
    /// How many matches to return at most.
    pub limit: u64,
}

impl Default for UserQuery {
    fn default() -> Self {
        Self {
            search: None,
            offset: 0,
            limit: 100,
        }
    }
}

impl UserQuery {
    /// Whether `user` matches [`search`](Self::search) (always, without one).
    pub fn matches(&self, user: &User) -> bool {
        match &self.search {
            None => true,
            Some(needle) => {
                let needle = fold_case(needle);
                [
                    &user.username,
                    &user.email,
                    &user.first_name,
                    &user.last_name,
                ]
                .iter()
                .any(|field| fold_case(field).contains(&needle))
            }
        }
    }
}

/// Where users live.
///
/// Usernames and emails are each unique case-insensitively, compared in the
/// [`fold_case`] form.
#[async_trait]
pub trait UserStore: Debug + Send + Sync + 'static {
    /// Stores a new user.
    ///
    /// Fails with `Conflict("username")` or `Conflict("email")` when another
    /// user has the same username or email (case-insensitively), with
    /// `Conflict("legacy_id")` when `user.legacy_id` is set and another user
    /// has it (any number of users have none), and with `Conflict("id")`
    /// when a user with this id exists, storing nothing. Atomic: of
    /// concurrent inserts of one username (or one legacy id), exactly one
    /// succeeds.
    async fn insert_user(&self, user: &User) -> Result<(), StoreError>;

    /// The user with this id, or `None`.
    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError>;

    /// The user imported with this legacy id ([`User::legacy_id`], Django's
    /// integer primary key), or `None` when no user has it (a user created
    /// here has none, so no id finds one). Any `i64` may be asked for.
    async fn user_by_legacy_id(&self, legacy_id: i64) -> Result<Option<User>, StoreError>;

    /// The user with this username, compared case-insensitively, or `None`.
    async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError>;

    /// The user with this email, compared case-insensitively, or `None`.
    async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError>;

    /// Sets the columns `update` names on user `id`, and no other: a
    /// column left `None` keeps whatever is stored, even when another write
    /// changed it since the caller read the user (so a profile change made
    /// from an older read cannot reactivate or promote anyone). An update
    /// naming nothing changes nothing. Atomic: one write.
    ///
    /// `NotFound` if no user has this id; `Conflict("username")` or
    /// `Conflict("email")` if the new value is taken by another user
    /// (case-insensitively), in which case nothing changes.
    async fn update_user(&self, id: UserId, update: &UserUpdate) -> Result<(), StoreError>;

    /// Sets only the password hash, whatever it was (a reset, a change, a
    /// staff member setting it). `NotFound` if there is no such user.
    async fn set_password_hash(&self, id: UserId, hash: Option<&str>) -> Result<(), StoreError>;

    /// Compare-and-set of the password hash, for a login's rehash: stores
    /// `new` only if the stored hash is still exactly `current` (the hash
    /// the login verified), so a password changed or reset in between is
    /// never overwritten. `Ok(true)` if it wrote; `Ok(false)` if the stored
    /// hash differs or there is no such user. Atomic: of concurrent calls
    /// with one `current`, at most one writes.
    async fn replace_password_hash(
        &self,
        id: UserId,
        current: &str,
        new: &str,
    ) -> Result<bool, StoreError>;

    /// Sets only `last_login`. `NotFound` if there is no such user.
    ///
    /// A store need not wait for a write of the same user that another
    /// transaction has not committed yet: it may leave that write standing
    /// and return (`PostgresStore` does, so that concurrent logins to one
    /// account do not queue on the row's lock).
    async fn set_last_login(&self, id: UserId, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Deletes the user; `false` if there was none. The service deletes the
    /// user's tokens and history through the other stores.
    async fn delete_user(&self, id: UserId) -> Result<bool, StoreError>;

    /// Users matching `query`, ordered by `date_joined`, then `id`.
    async fn list_users(&self, query: &UserQuery) -> Result<Page<User>, StoreError>;
}

/// A Knox-style token as stored: only its digest, never the token.
/// `Debug` prints the public `token_key` and hides the digest.
#[derive(Clone, PartialEq, Eq)]
pub struct KnoxTokenRecord {
    /// The token's first characters, public, used to find candidates.
    pub token_key: String,
    /// Lower-case hex digest of the whole token (SHA-512 for knox tokens);
    /// unique.
    pub digest: String,
    /// The owner.
    pub user_id: UserId,
    /// When the token was issued.
    pub created: DateTime<Utc>,
    /// When it stops working; `None` never.
    pub expiry: Option<DateTime<Utc>>,
    /// The last time it authenticated a request (set by auto-refresh).
    pub last_used: Option<DateTime<Utc>>,
    /// An optional label ("laptop", "CI").
    pub name: Option<String>,
}

impl std::fmt::Debug for KnoxTokenRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnoxTokenRecord")
            .field("token_key", &self.token_key)
            .field("digest", &"[redacted]")
            .field("user_id", &self.user_id)
            .field("created", &self.created)
            .field("expiry", &self.expiry)
            .field("last_used", &self.last_used)
            .field("name", &self.name)
            .finish()
    }
}

impl KnoxTokenRecord {
    /// Live at `now`: no expiry, or an expiry after `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.expiry.is_none_or(|expiry| expiry > now)
    }
}

/// The per-user limit on live Knox tokens (a token is live while its expiry,
/// if any, is after `now`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenLimit {
    /// No limit (knox's default).
    #[default]
    Unlimited,
    /// At most this many live tokens; a login past it is refused (knox).
    Refuse(u32),
    /// At most this many live tokens; the oldest are deleted to make room.
    /// `EvictOldest(0)` evicts every live token and stores the new one.
    EvictOldest(u32),
}

/// What [`KnoxTokenStore::insert_knox_token`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnoxInsert {
    /// Stored, after deleting this many of the user's oldest live tokens.
    Inserted {
        /// Tokens evicted to respect an [`TokenLimit::EvictOldest`] limit.
        evicted: u64,
    },
    /// Refused: the user already has the maximum under [`TokenLimit::Refuse`].
    LimitReached,
}

/// Where Knox-style tokens live. The owner need not exist in any user store.
#[async_trait]
pub trait KnoxTokenStore: Debug + Send + Sync + 'static {
    /// Stores a token, applying `limit` to the user's tokens live at `now`.
    ///
    /// With `Refuse(n)`, when the user already has `n` live tokens nothing is
    /// stored and `LimitReached` is returned. With `EvictOldest(n)`, the
    /// oldest live tokens (by `created`) are deleted so that the user ends
    /// with at most `n` (with `n = 0`: every live token goes, and the new one
    /// is stored). Atomic per user: concurrent inserts never leave more than
    /// `n` live tokens. A duplicate digest is `Conflict("digest")`.
    async fn insert_knox_token(
        &self,
        record: &KnoxTokenRecord,
        limit: TokenLimit,
        now: DateTime<Utc>,
    ) -> Result<KnoxInsert, StoreError>;

    /// Every stored token with this `token_key` (the caller compares digests
    /// and checks expiry).
    ///
    /// Tokens whose expiry has passed may be included or left out: most
    /// stores keep them until purged, while a store that expires tokens by
    /// itself (Redis) may already have dropped them.
    async fn knox_tokens_by_key(&self, token_key: &str)
    -> Result<Vec<KnoxTokenRecord>, StoreError>;

    /// Sets `expiry` and `last_used` of the token with this digest (knox's
    /// auto-refresh); `false` if no such token.
    async fn touch_knox_token(
        &self,
        digest: &str,
        expiry: Option<DateTime<Utc>>,
        last_used: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Deletes the token with this digest; `false` if there was none.
    async fn delete_knox_token(&self, digest: &str) -> Result<bool, StoreError>;

    /// Deletes the user's tokens with this `token_key`; `false` if the user
    /// had none (another user's token is never touched).
    async fn delete_knox_token_by_key(
        &self,
        user: UserId,
        token_key: &str,
    ) -> Result<bool, StoreError>;

    /// Deletes every token of the user; returns how many it deleted (tokens
    /// that a store expiring tokens by itself has already dropped are not
    /// counted).
    async fn delete_user_knox_tokens(&self, user: UserId) -> Result<u64, StoreError>;

    /// The user's tokens live at `now` (no expiry, or one after `now`),
    /// newest first.
    async fn user_knox_tokens(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<KnoxTokenRecord>, StoreError>;

    /// Deletes every token expired at `now` (an expiry at or before `now`);
    /// returns how many it deleted.
    ///
    /// A store that expires tokens by itself (Redis) may already have
    /// dropped them (they are not counted, so it may return 0), and may
    /// leave a token whose expiry has passed by `now` but not yet by its own
    /// clock for that clock to drop.
    async fn purge_expired_knox_tokens(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// A DRF-style static token as stored: a digest to find it, and, for a
/// token made here, a seed from which the service (holding a server secret)
/// can derive the token again. Neither alone, nor both together without the
/// secret, yields the token. An imported token (a Django REST framework
/// `authtoken_token` key) has no seed: only its digest is kept, so it
/// authenticates but can never be shown again. `Debug` hides digest and
/// seed.
#[derive(Clone, PartialEq, Eq)]
pub struct StaticTokenRecord {
    /// The owner (one token per user).
    pub user_id: UserId,
    /// Lower-case hex digest of the token; unique.
    pub digest: String,
    /// Random per-token input to the derivation (not secret on its own);
    /// `None` for an imported token, which cannot be derived. Stores keep
    /// it as given, `None` included.
    pub seed: Option<String>,
    /// When it was created.
    pub created: DateTime<Utc>,
}

impl std::fmt::Debug for StaticTokenRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticTokenRecord")
            .field("user_id", &self.user_id)
            .field("digest", &"[redacted]")
            .field("seed", &self.seed.as_ref().map(|_| "[redacted]"))
            .field("created", &self.created)
            .finish()
    }
}

/// Where static tokens live: at most one per user. The owner need not exist
/// in any user store.
#[async_trait]
pub trait StaticTokenStore: Debug + Send + Sync + 'static {
    /// Stores `record` unless the user already has a token, and returns the
    /// user's token record: the existing one, or `record`. Atomic: of
    /// concurrent calls for one user, all return the same record. When the
    /// user has none and `record.digest` is another user's token,
    /// `Conflict("digest")`, storing nothing.
    async fn get_or_insert_static_token(
        &self,
        record: &StaticTokenRecord,
    ) -> Result<StaticTokenRecord, StoreError>;

    /// The token with this digest, or `None`.
    async fn static_token_by_digest(
        &self,
        digest: &str,
    ) -> Result<Option<StaticTokenRecord>, StoreError>;

    /// The user's token, or `None`.
    async fn static_token_for_user(
        &self,
        user: UserId,
    ) -> Result<Option<StaticTokenRecord>, StoreError>;

    /// Deletes the user's token; `false` if there was none.
    async fn delete_static_token(&self, user: UserId) -> Result<bool, StoreError>;
}

/// A blacklisted JWT id (simplejwt's `BlacklistedToken`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlacklistEntry {
    /// The token's `jti`.
    pub jti: String,
    /// The token's user.
    pub user_id: UserId,
    /// The rotation family (login) the token belongs to, if any.
    pub family: Option<String>,
    /// The token's `exp`: the entry may be purged after it.
    pub expires_at: DateTime<Utc>,
    /// When it was blacklisted (a refresh token: when it was rotated).
    pub blacklisted_at: DateTime<Utc>,
}

/// What a request-time revocation check needs, fetched in one round trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RevocationState {
    /// Tokens of the user issued before this instant are void.
    pub tokens_valid_after: Option<DateTime<Utc>>,
    /// The token's rotation family has been revoked.
    pub family_revoked: bool,
}

/// JWT revocation: blacklisted ids, revoked rotation families, and a
/// per-user "tokens valid after" mark. The users need not exist in any user
/// store.
#[async_trait]
pub trait JwtRevocationStore: Debug + Send + Sync + 'static {
    /// Blacklists `entry.jti`. Returns `true` if this call added it, `false`
    /// if it was already there (the stored entry is left unchanged).
    ///
    /// Atomic: of concurrent calls with the same jti, exactly one gets
    /// `true`. Refresh rotation relies on this for "one rotation per token".
    async fn blacklist_jti(&self, entry: &BlacklistEntry) -> Result<bool, StoreError>;

    /// The blacklist entry for `jti`, or `None` (also, in a store that
    /// expires records by itself, once its `expires_at` is well past).
    async fn blacklisted_jti(&self, jti: &str) -> Result<Option<BlacklistEntry>, StoreError>;

    /// Revokes a rotation family: every token carrying it fails from now on.
    /// The record may be purged after `expires_at`. Idempotent; revoking a
    /// revoked family again keeps the later of the two `expires_at`.
    async fn revoke_family(
        &self,
        family: &str,
        user: UserId,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Sets the user's "tokens valid after" mark to `at`, unless it is
    /// already later (the mark never moves back).
    async fn set_tokens_valid_after(
        &self,
        user: UserId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The user's mark and whether `family` (if given) is revoked, in one
    /// round trip: this runs on every authenticated request. A revoked
    /// family counts whichever user it was revoked for.
    async fn revocation_state(
        &self,
        user: UserId,
        family: Option<&str>,
    ) -> Result<RevocationState, StoreError>;

    /// [`revocation_state`](Self::revocation_state) and the user with that
    /// id (`None` if there is none), in one round trip, for a store that
    /// also keeps users: authenticating a JWT needs both, on every request.
    ///
    /// Returns `Ok(None)` when this store cannot answer both at once; that
    /// is the default, and the service then asks its user store and its
    /// revocation store separately. The service calls this only when one
    /// store object serves both concerns, and relies on the answer being
    /// exactly what the two separate calls would give (the `combined`
    /// conformance group checks it).
    async fn revocation_state_and_user(
        &self,
        user: UserId,
        family: Option<&str>,
    ) -> Result<Option<(RevocationState, Option<User>)>, StoreError> {
        let _ = (user, family);
        Ok(None)
    }

    /// Deletes blacklist entries and family records expired at `now` (an
    /// `expires_at` at or before `now`), and returns how many it deleted.
    /// Never deletes a per-user mark.
    ///
    /// A store that expires records by itself (Redis) may already have
    /// dropped them (they are not counted, so it may return 0), and may
    /// leave a record whose `expires_at` has passed by `now` but only
    /// recently by its own clock for that clock to drop.
    async fn purge_expired_revocations(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// A counter in a fixed window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleCount {
    /// Hits in the current window (including the one just added).
    pub count: u64,
    /// When the current window ends and the count starts again from zero.
    pub resets_at: DateTime<Utc>,
}

/// Counters for throttling.
#[async_trait]
pub trait ThrottleStore: Debug + Send + Sync + 'static {
    /// Adds one hit to `key` and returns the count. A window starts at the
    /// first hit after the previous one ended and lasts `window`; it is over
    /// at exactly `resets_at` (a hit at that instant starts a new window).
    /// Atomic: `n` concurrent hits on a fresh key return the counts `1..=n`,
    /// each once.
    async fn throttle_hit(
        &self,
        key: &str,
        window: Duration,
        now: DateTime<Utc>,
    ) -> Result<ThrottleCount, StoreError>;

    /// The count of `key` at `now` without adding a hit; `None` if there is
    /// no window open.
    async fn throttle_peek(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ThrottleCount>, StoreError>;

    /// Forgets `key`.
    async fn throttle_clear(&self, key: &str) -> Result<(), StoreError>;

    /// Takes back one hit of `key`'s window that ends at `resets_at` (the
    /// `resets_at` returned by the `throttle_hit` that counted it), for an
    /// attempt that turned out not to count. Only while that window is
    /// `key`'s open one at `now` and its count is above zero does the count
    /// go down by one; if the window has ended (at `resets_at`, exactly),
    /// was cleared, or another one started, nothing changes. The window
    /// itself stays as it is: its end does not move and it is not removed.
    /// Atomic with `throttle_hit`: `n` hits and `m <= n` releases of them,
    /// all concurrent within one window, leave its count at `n - m`, and a
    /// hit after them returns `n - m + 1`.
    async fn throttle_release(
        &self,
        key: &str,
        resets_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Deletes every window that has ended at `now` (its `resets_at` at or
    /// before `now`); returns how many it deleted. A window still open is
    /// never touched.
    ///
    /// A store that expires windows by itself (Redis) may already have
    /// dropped them (they are not counted, so it may return 0).
    async fn purge_ended_throttle_windows(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// What happened, in a user's login history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HistoryEvent {
    /// A successful login.
    Login,
    /// A failed login on an existing account.
    LoginFailed,
    /// A token was logged out.
    Logout,
    /// Every token was logged out.
    LogoutAll,
    /// A refresh token was rotated.
    TokenRefreshed,
    /// The password was changed.
    PasswordChanged,
    /// The password was reset by email.
    PasswordReset,
    /// The account was activated.
    Activated,
}

impl HistoryEvent {
    /// Every event, in declaration order.
    pub const ALL: [HistoryEvent; 8] = [
        HistoryEvent::Login,
        HistoryEvent::LoginFailed,
        HistoryEvent::Logout,
        HistoryEvent::LogoutAll,
        HistoryEvent::TokenRefreshed,
        HistoryEvent::PasswordChanged,
        HistoryEvent::PasswordReset,
        HistoryEvent::Activated,
    ];

    /// The contract's name for it (`login`, `login_failed`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryEvent::Login => "login",
            HistoryEvent::LoginFailed => "login_failed",
            HistoryEvent::Logout => "logout",
            HistoryEvent::LogoutAll => "logout_all",
            HistoryEvent::TokenRefreshed => "token_refreshed",
            HistoryEvent::PasswordChanged => "password_changed",
            HistoryEvent::PasswordReset => "password_reset",
            HistoryEvent::Activated => "activated",
        }
    }

    /// The event with this name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == name)
    }
}

impl Serialize for HistoryEvent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One line of a user's login history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Whose history.
    pub user_id: UserId,
    /// When.
    pub at: DateTime<Utc>,
    /// What.
    pub event: HistoryEvent,
    /// The client address, if known.
    pub ip: Option<String>,
    /// The client's `User-Agent`, if sent (at most 512 characters are kept).
    pub user_agent: Option<String>,
}

/// Where login history lives. The users need not exist in any user store.
#[async_trait]
pub trait LoginHistoryStore: Debug + Send + Sync + 'static {
    /// Appends an entry.
    async fn record_history(&self, entry: &HistoryEntry) -> Result<(), StoreError>;

    /// The user's entries, newest first (entries at the same instant: the
    /// last recorded first), `limit` of them after skipping `offset`.
    async fn user_history(
        &self,
        user: UserId,
        offset: u64,
        limit: u64,
    ) -> Result<Page<HistoryEntry>, StoreError>;

    /// Deletes the user's entries; returns how many.
    async fn delete_user_history(&self, user: UserId) -> Result<u64, StoreError>;

    /// Deletes every entry, of every user, recorded before `before` (an
    /// `at` earlier than `before`; one at `before` stays); returns how
    /// many.
    async fn purge_history_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// A store that implements every trait (like
/// [`MemoryStore`]), the OAuth2 ones ([`OAuthStore`]) included;
/// implemented automatically.
pub trait FullStore:
    UserStore
    + KnoxTokenStore
    + StaticTokenStore
    + JwtRevocationStore
    + ThrottleStore
    + LoginHistoryStore
    + OAuthStore
{
}

impl<T> FullStore for T where
    T: UserStore
        + KnoxTokenStore
        + StaticTokenStore
        + JwtRevocationStore
        + ThrottleStore
        + LoginHistoryStore
        + OAuthStore
{
}
