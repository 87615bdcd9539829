//! The lookup cache of request authentication (see [`LookupCacheConfig`],
//! re-exported from `config`, for what it trades and what it keeps).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, Utc};
use quick_cache::sync::Cache;

use crate::clock::{Clock, now_micros};
use crate::error::{AuthError, StoreError, TokenRejection};
use crate::oauth::{ApplicationId, FamilyId, OAuthToken};
use crate::store::{KnoxTokenRecord, OAuthTokenStore, RefreshUse, RevocationState};
use crate::user::{User, UserId};

/// How request authentication caches its lookups: users, revocation state
/// and token records read once and reused for a bounded time, the
/// *staleness budget* ([`max_staleness`](Self::max_staleness)).
///
/// What it trades, and what it keeps:
/// - Only request authentication reads through it (`Auth::authenticate_*`,
///   and checking an access token in `jwt/verify`). Refreshing, blacklisting,
///   logins and every write read the stores directly, so rotation stays
///   atomic and one refresh token still gives one rotation.
/// - Every write this service makes about a user (log out, log out
///   everywhere, password change or reset, profile or admin update,
///   deletion, a revoked rotation family) forgets what was cached for that
///   user at once, and every OAuth2 token revocation this service makes
///   (RFC 7009, a refresh replay, a deleted or revoked application, a
///   user's tokens) forgets every cached OAuth2 token: on one server
///   nothing is ever stale.
/// - A change made by another server (or straight in the database) is seen
///   here at most `max_staleness` later: a logged-out token may still
///   authenticate on another server for that long. That is the budget.
/// - Only hits are cached for tokens: an unknown token always reaches the
///   store, so garbage cannot fill the cache and a token issued elsewhere
///   works at once.
///
/// Entries are stamped with the service clock when their read *started*,
/// so a read racing a local write can never be stored as newer than the
/// write.
///
/// `Default` is off: every request reads the stores. A budget of a second
/// removes almost every store read from authenticated requests while
/// bounding how long a change made on *another* server goes unseen here.
///
/// ```
/// use auth_core::config::LookupCacheConfig;
/// use auth_core::config::AuthConfig;
/// let config = AuthConfig::default()
///     .with_lookup_cache(LookupCacheConfig::with_max_staleness(chrono::Duration::seconds(1)));
/// assert!(config.lookup_cache.is_on());
/// assert!(!LookupCacheConfig::default().is_on());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LookupCacheConfig {
    /// How old a cached read may be when it is used; zero or less turns the
    /// cache off.
    pub max_staleness: Duration,
    /// About how many entries each of the five caches (users, revocation
    /// states, Knox tokens, static tokens, OAuth2 access tokens) holds
    /// before evicting.
    pub capacity: usize,
}

impl Default for LookupCacheConfig {
    fn default() -> Self {
        Self {
            max_staleness: Duration::zero(),
            capacity: 100_000,
        }
    }
}

impl LookupCacheConfig {
    /// A cache with this staleness budget and the default capacity.
    pub fn with_max_staleness(max_staleness: Duration) -> Self {
        Self {
            max_staleness,
            ..Self::default()
        }
    }

    /// Whether lookups are cached at all.
    pub fn is_on(&self) -> bool {
        self.max_staleness > Duration::zero()
    }
}

/// A cached value and when the read that produced it started.
#[derive(Debug, Clone)]
struct Stamped<T> {
    value: T,
    read_at: DateTime<Utc>,
}

/// A revocation state's key: the user and the token's family.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct RevocationKey {
    user: UserId,
    family: Option<String>,
}

/// [`RevocationKey`] borrowed, to look one up without allocating; it
/// hashes exactly as the owned key does.
#[derive(Hash)]
struct RevocationKeyRef<'a> {
    user: UserId,
    family: Option<&'a str>,
}

impl quick_cache::Equivalent<RevocationKey> for RevocationKeyRef<'_> {
    fn equivalent(&self, key: &RevocationKey) -> bool {
        self.user == key.user && self.family == key.family.as_deref()
    }
}

/// The users this service last wrote something about, and when.
struct Forgotten {
    at: HashMap<UserId, DateTime<Utc>>,
    /// The size at which marks older than the budget are next swept out.
    sweep_at: usize,
}

const FIRST_SWEEP: usize = 1024;

/// The caches themselves; `None` inside [`LookupCache`] when off.
struct Caches {
    max_staleness: Duration,
    users: Cache<UserId, Stamped<Option<User>>>,
    revocations: Cache<RevocationKey, Stamped<RevocationState>>,
    knox: Cache<String, Stamped<KnoxTokenRecord>>,
    static_tokens: Cache<String, Stamped<UserId>>,
    /// OAuth2 access tokens that act for a user, by digest.
    oauth_tokens: Cache<String, Stamped<OAuthToken>>,
    /// When this service last revoked OAuth2 tokens: cached ones read
    /// before that are not used.
    oauth_revoked: Arc<RevocationMark>,
    /// When this service last wrote something about a user; entries read
    /// before that are not used. Marks older than the budget are swept out
    /// (anything read before them is too old anyway).
    forgotten: RwLock<Forgotten>,
}

/// The service's lookup cache (see the [module docs](self)).
pub(crate) struct LookupCache(Option<Caches>);

impl std::fmt::Debug for LookupCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            None => f.write_str("LookupCache(off)"),
            Some(caches) => f
                .debug_struct("LookupCache")
                .field("max_staleness", &caches.max_staleness)
                .field("users", &caches.users.len())
                .field("revocations", &caches.revocations.len())
                .field("knox", &caches.knox.len())
                .field("static_tokens", &caches.static_tokens.len())
                .field("oauth_tokens", &caches.oauth_tokens.len())
                .finish(),
        }
    }
}

impl LookupCache {
    pub(crate) fn new(config: &LookupCacheConfig) -> Self {
        if !config.is_on() {
            return Self(None);
        }
        let capacity = config.capacity.max(1);
        Self(Some(Caches {
            max_staleness: config.max_staleness,
            users: Cache::new(capacity),
            revocations: Cache::new(capacity),
            knox: Cache::new(capacity),
            static_tokens: Cache::new(capacity),
            oauth_tokens: Cache::new(capacity),
            oauth_revoked: Arc::default(),
            forgotten: RwLock::new(Forgotten {
                at: HashMap::new(),
                sweep_at: FIRST_SWEEP,
            }),
        }))
    }

    pub(crate) fn user(&self, id: UserId, now: DateTime<Utc>) -> Option<Option<User>> {
        let caches = self.0.as_ref()?;
        let found = caches
            .users
            .get(&id)
            .and_then(|entry| caches.fresh(id, entry, now));
        crate::metrics::cache_lookup("user", found.is_some());
        found
    }

    pub(crate) fn put_user(&self, id: UserId, user: Option<User>, read_at: DateTime<Utc>) {
        if let Some(caches) = &self.0 {
            caches.users.insert(
                id,
                Stamped {
                    value: user,
                    read_at,
                },
            );
        }
    }

    pub(crate) fn revocation_state(
        &self,
        user: UserId,
        family: Option<&str>,
        now: DateTime<Utc>,
    ) -> Option<RevocationState> {
        let caches = self.0.as_ref()?;
        let found = caches
            .revocations
            .get(&RevocationKeyRef { user, family })
            .and_then(|entry| caches.fresh(user, entry, now));
        crate::metrics::cache_lookup("revocation", found.is_some());
        found
    }

    pub(crate) fn put_revocation_state(
        &self,
        user: UserId,
        family: Option<&str>,
        state: RevocationState,
        read_at: DateTime<Utc>,
    ) {
        if let Some(caches) = &self.0 {
            caches.revocations.insert(
                RevocationKey {
                    user,
                    family: family.map(str::to_owned),
                },
                Stamped {
                    value: state,
                    read_at,
                },
            );
        }
    }

    /// The Knox record whose digest is `digest`, if cached and fresh.
    pub(crate) fn knox(&self, digest: &str, now: DateTime<Utc>) -> Option<KnoxTokenRecord> {
        let caches = self.0.as_ref()?;
        let found = caches
            .knox
            .get(digest)
            .and_then(|entry| caches.fresh(entry.value.user_id, entry, now));
        crate::metrics::cache_lookup("knox", found.is_some());
        found
    }

    pub(crate) fn put_knox(&self, record: &KnoxTokenRecord, read_at: DateTime<Utc>) {
        if let Some(caches) = &self.0 {
            caches.knox.insert(
                record.digest.clone(),
                Stamped {
                    value: record.clone(),
                    read_at,
                },
            );
        }
    }

    /// The owner of the static token whose digest is `digest`, if cached
    /// and fresh.
    pub(crate) fn static_token(&self, digest: &str, now: DateTime<Utc>) -> Option<UserId> {
        let caches = self.0.as_ref()?;
        let found = caches
            .static_tokens
            .get(digest)
            .and_then(|entry| caches.fresh(entry.value, entry, now));
        crate::metrics::cache_lookup("static_token", found.is_some());
        found
    }

    pub(crate) fn put_static_token(&self, digest: &str, user: UserId, read_at: DateTime<Utc>) {
        if let Some(caches) = &self.0 {
            caches.static_tokens.insert(
                digest.to_owned(),
                Stamped {
                    value: user,
                    read_at,
                },
            );
        }
    }

    /// The OAuth2 access token whose digest is `digest`, if cached, fresh
    /// and read after this service last revoked OAuth2 tokens.
    pub(crate) fn oauth_token(&self, digest: &str, now: DateTime<Utc>) -> Option<OAuthToken> {
        let caches = self.0.as_ref()?;
        let found = caches
            .oauth_tokens
            .get(digest)
            .filter(|entry| !caches.oauth_revoked.voids(entry.read_at))
            .and_then(|entry| {
                let user = entry.value.user_id?;
                caches.fresh(user, entry, now)
            });
        crate::metrics::cache_lookup("oauth_token", found.is_some());
        found
    }

    /// Caches `token`, read at `read_at`; only a token that acts for a
    /// user is kept (no other opens a route).
    pub(crate) fn put_oauth_token(&self, token: &OAuthToken, read_at: DateTime<Utc>) {
        if let Some(caches) = &self.0
            && token.user_id.is_some()
        {
            caches.oauth_tokens.insert(
                token.digest.clone(),
                Stamped {
                    value: token.clone(),
                    read_at,
                },
            );
        }
    }

    /// `tokens` as the service holds them: when the cache is on, wrapped
    /// so that each revocation passed on marks the cached OAuth2 tokens
    /// stale ([`MarkingRevocations`]).
    pub(crate) fn oauth_token_store(
        &self,
        tokens: Arc<dyn OAuthTokenStore>,
        clock: Arc<dyn Clock>,
    ) -> Arc<dyn OAuthTokenStore> {
        match &self.0 {
            None => tokens,
            Some(caches) => Arc::new(MarkingRevocations {
                inner: tokens,
                mark: caches.oauth_revoked.clone(),
                clock,
            }),
        }
    }

    /// Forgets everything cached about `user`: its record, revocation
    /// states and tokens. Called after every write about the user.
    pub(crate) fn forget_user(&self, user: UserId, now: DateTime<Utc>) {
        let Some(caches) = &self.0 else { return };
        caches.users.remove(&user);
        let mut forgotten = caches
            .forgotten
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if forgotten.at.len() >= forgotten.sweep_at {
            let budget = caches.max_staleness;
            forgotten.at.retain(|_, at| now - *at <= budget);
            // Sweeping again only once the map has doubled keeps the cost
            // of a write constant on average, however many users write.
            forgotten.sweep_at = (forgotten.at.len() * 2).max(FIRST_SWEEP);
        }
        let at = forgotten.at.entry(user).or_insert(now);
        *at = (*at).max(now);
    }
}

/// The service's reads through the cache, and the one way its writes
/// about a user reach it.
impl crate::Auth {
    /// The user with this id (`None`: deleted), through the cache.
    pub(crate) async fn cached_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let now = self.now();
        let cache = &self.inner.cache;
        if let Some(user) = cache.user(id, now) {
            return Ok(user);
        }
        let user = self.inner.stores.users.user_by_id(id).await?;
        cache.put_user(id, user.clone(), now);
        Ok(user)
    }

    /// The active user with this id, through the cache; like
    /// [`Auth::active_user`](crate::Auth::active_user) otherwise.
    pub(crate) async fn cached_active_user(&self, id: UserId) -> Result<User, AuthError> {
        match self.cached_user(id).await? {
            Some(user) if user.is_active => Ok(user),
            _ => Err(AuthError::Unauthenticated(TokenRejection::UserInactive)),
        }
    }

    /// The revocation state of `user`'s tokens in `family`, through the
    /// cache.
    pub(crate) async fn cached_revocation_state(
        &self,
        user: UserId,
        family: Option<&str>,
    ) -> Result<RevocationState, StoreError> {
        let now = self.now();
        let cache = &self.inner.cache;
        if let Some(state) = cache.revocation_state(user, family, now) {
            return Ok(state);
        }
        let state = self
            .inner
            .stores
            .revocations
            .revocation_state(user, family)
            .await?;
        cache.put_revocation_state(user, family, state, now);
        Ok(state)
    }

    /// The revocation state of `user`'s tokens in `family` and the user,
    /// through the cache; what the cache lacks is read from the stores, in
    /// one round trip when both are missing and one store keeps both.
    pub(crate) async fn cached_revocation_state_and_user(
        &self,
        user: UserId,
        family: Option<&str>,
    ) -> Result<(RevocationState, Option<User>), StoreError> {
        let now = self.now();
        let cache = &self.inner.cache;
        match (
            cache.revocation_state(user, family, now),
            cache.user(user, now),
        ) {
            (Some(state), Some(found)) => Ok((state, found)),
            (Some(state), None) => Ok((state, self.cached_user(user).await?)),
            (None, Some(found)) => Ok((self.cached_revocation_state(user, family).await?, found)),
            (None, None) => {
                let (state, found) = self.revocation_state_and_user(user, family).await?;
                cache.put_revocation_state(user, family, state, now);
                cache.put_user(user, found.clone(), now);
                Ok((state, found))
            }
        }
    }

    /// Awaits `write`, a store write about `user`, then forgets what the
    /// lookup cache holds about them, whether the write succeeded or not
    /// (a failed write may still have landed).
    pub(crate) async fn write_about<T>(
        &self,
        user: UserId,
        write: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let result = write.await;
        self.inner.cache.forget_user(user, self.now());
        result
    }
}

/// When a service last revoked OAuth2 tokens.
#[derive(Debug, Default)]
struct RevocationMark(RwLock<Option<DateTime<Utc>>>);

impl RevocationMark {
    fn set(&self, now: DateTime<Utc>) {
        let mut at = self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *at = Some(at.map_or(now, |at| at.max(now)));
    }

    /// Whether a read that started at `read_at` may predate the last
    /// revocation (one at the same instant may have seen either side).
    fn voids(&self, read_at: DateTime<Utc>) -> bool {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some_and(|at| read_at <= at)
    }
}

/// The OAuth2 token store a service with a lookup cache holds: every
/// revocation it passes on, whoever calls it, marks the time once the
/// write has returned, so no OAuth2 token cached before it is used
/// again. Writing the mark here rather than beside each revocation keeps
/// a new revocation path from being missed.
#[derive(Debug)]
struct MarkingRevocations {
    inner: Arc<dyn OAuthTokenStore>,
    mark: Arc<RevocationMark>,
    clock: Arc<dyn Clock>,
}

impl MarkingRevocations {
    /// `result`, after marking the time (a failed write may still have
    /// landed).
    fn marked<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        self.mark.set(now_micros(self.clock.as_ref()));
        result
    }
}

#[async_trait::async_trait]
impl OAuthTokenStore for MarkingRevocations {
    async fn insert_oauth_token(&self, token: &OAuthToken) -> Result<(), StoreError> {
        self.inner.insert_oauth_token(token).await
    }

    async fn oauth_token(&self, digest: &str) -> Result<Option<OAuthToken>, StoreError> {
        self.inner.oauth_token(digest).await
    }

    async fn rotate_refresh_token(
        &self,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<RefreshUse, StoreError> {
        // A refresh token opens no route, so spending one changes nothing
        // the cache holds.
        self.inner.rotate_refresh_token(digest, now).await
    }

    async fn revoke_oauth_token(
        &self,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.marked(self.inner.revoke_oauth_token(digest, now).await)
    }

    async fn revoke_oauth_family(
        &self,
        family: FamilyId,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.marked(self.inner.revoke_oauth_family(family, now).await)
    }

    async fn revoke_user_oauth_tokens(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.marked(self.inner.revoke_user_oauth_tokens(user, now).await)
    }

    async fn revoke_application_tokens(
        &self,
        application: ApplicationId,
        user: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.marked(
            self.inner
                .revoke_application_tokens(application, user, now)
                .await,
        )
    }

    async fn purge_oauth_tokens(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        // Only tokens that are dead anyway go.
        self.inner.purge_oauth_tokens(now).await
    }
}

impl Caches {
    /// `entry`'s value if it is within the budget and was read after the
    /// last local write about `user`.
    fn fresh<T>(&self, user: UserId, entry: Stamped<T>, now: DateTime<Utc>) -> Option<T> {
        if now - entry.read_at > self.max_staleness {
            return None;
        }
        let forgotten = self
            .forgotten
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // A read that started at the very instant of the write may have
        // seen either side of it: not used.
        if forgotten
            .at
            .get(&user)
            .is_some_and(|at| entry.read_at <= *at)
        {
            return None;
        }
        Some(entry.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    fn cache() -> LookupCache {
        LookupCache::new(&LookupCacheConfig::with_max_staleness(Duration::seconds(1)))
    }

    #[test]
    fn off_caches_nothing() {
        let cache = LookupCache::new(&LookupCacheConfig::default());
        let id = UserId(uuid::Uuid::now_v7());
        cache.put_user(id, None, at(0));
        assert!(cache.user(id, at(0)).is_none());
    }

    #[test]
    fn entries_expire_after_the_budget() {
        let cache = cache();
        let id = UserId(uuid::Uuid::now_v7());
        cache.put_static_token("d", id, at(0));
        assert_eq!(cache.static_token("d", at(1)), Some(id));
        assert_eq!(
            cache.static_token("d", at(1) + Duration::milliseconds(1)),
            None
        );
        assert_eq!(cache.static_token("other", at(0)), None);
    }

    #[test]
    fn a_local_write_voids_what_was_read_before_it() {
        let cache = cache();
        let (id, other) = (UserId(uuid::Uuid::now_v7()), UserId(uuid::Uuid::now_v7()));
        let state = RevocationState::default();
        cache.put_revocation_state(id, Some("fam"), state, at(0));
        cache.put_revocation_state(other, Some("fam"), state, at(0));
        cache.put_static_token("d", id, at(0));
        cache.forget_user(id, at(0));
        // Read at the same instant as the write: not trusted.
        assert_eq!(cache.revocation_state(id, Some("fam"), at(0)), None);
        assert_eq!(cache.static_token("d", at(0)), None);
        assert_eq!(
            cache.revocation_state(other, Some("fam"), at(0)),
            Some(state)
        );
        // Read after the write: used.
        let later = at(0) + Duration::milliseconds(1);
        cache.put_revocation_state(id, Some("fam"), state, later);
        assert_eq!(cache.revocation_state(id, Some("fam"), later), Some(state));
        assert_eq!(cache.revocation_state(id, None, later), None);
    }

    fn oauth_token(digest: &str, user: Option<UserId>) -> OAuthToken {
        OAuthToken {
            digest: digest.into(),
            kind: crate::oauth::OAuthTokenKind::Access,
            application_id: ApplicationId::new(),
            user_id: user,
            scopes: crate::oauth::Scopes::default(),
            family: FamilyId::new(),
            created: at(0),
            expires: None,
            revoked_at: None,
            rotated_at: None,
        }
    }

    #[test]
    fn oauth_tokens_are_voided_by_a_revocation_or_a_write_about_their_user() {
        let cache = cache();
        let (id, other) = (UserId(uuid::Uuid::now_v7()), UserId(uuid::Uuid::now_v7()));
        // A client-credentials token opens no route: not kept.
        cache.put_oauth_token(&oauth_token("app", None), at(0));
        assert_eq!(cache.oauth_token("app", at(0)), None);
        cache.put_oauth_token(&oauth_token("a", Some(id)), at(0));
        cache.put_oauth_token(&oauth_token("b", Some(other)), at(0));
        assert!(cache.oauth_token("a", at(0)).is_some());
        cache.forget_user(id, at(0));
        assert_eq!(cache.oauth_token("a", at(0)), None);
        assert!(cache.oauth_token("b", at(0)).is_some());
        // Any revocation passed through the store voids every token read
        // up to that instant, whoever it belongs to.
        let mark = cache.0.as_ref().unwrap().oauth_revoked.clone();
        mark.set(at(0));
        assert_eq!(cache.oauth_token("b", at(0)), None);
        let later = at(0) + Duration::milliseconds(1);
        cache.put_oauth_token(&oauth_token("b", Some(other)), later);
        assert!(cache.oauth_token("b", later).is_some());
    }

    #[test]
    fn old_write_marks_are_dropped_but_never_a_recent_one() {
        let cache = cache();
        let recent = UserId(uuid::Uuid::now_v7());
        for _ in 0..1100 {
            cache.forget_user(UserId(uuid::Uuid::now_v7()), at(0));
        }
        cache.forget_user(recent, at(10));
        // The map sweeps once it has doubled since the last sweep.
        for _ in 0..1000 {
            cache.forget_user(UserId(uuid::Uuid::now_v7()), at(10));
        }
        let caches = cache.0.as_ref().unwrap();
        let forgotten = caches.forgotten.read().unwrap();
        assert!(forgotten.at.values().all(|t| *t == at(10)));
        assert_eq!(forgotten.at.len(), 1001);
        assert!(forgotten.at.contains_key(&recent));
    }
}
