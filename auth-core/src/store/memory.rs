//! In-memory stores: [`MemoryStore`] keeps everything in process memory.
//!
//! It implements every store trait, so one value serves a whole service in
//! tests, examples and single-process deployments that can afford to forget
//! everything on restart. It passes the whole conformance suite
//! ([`testkit`](crate::testkit)).
//!
//! ```
//! use std::sync::Arc;
//! use auth_core::MemoryStore;
//! use auth_core::store::{KnoxTokenStore, UserStore};
//!
//! let store = Arc::new(MemoryStore::new());
//! let users: Arc<dyn UserStore> = store.clone();
//! let knox: Arc<dyn KnoxTokenStore> = store;
//! # let _ = (users, knox);
//! ```

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use super::{
    BlacklistEntry, HistoryEntry, JwtRevocationStore, KnoxInsert, KnoxTokenRecord, KnoxTokenStore,
    LoginHistoryStore, Page, RevocationState, StaticTokenRecord, StaticTokenStore, ThrottleCount,
    ThrottleStore, TokenLimit, UserQuery, UserStore,
};
use crate::error::StoreError;
use crate::user::{User, UserId, UserUpdate, fold_case};

mod oauth;

/// Every store trait, in process memory.
///
/// Each concern lives in its own table behind its own lock, with indexes so
/// that the lookups a request makes (a user by username or email, Knox
/// tokens by key, a blacklisted jti, a throttle counter) take constant time.
/// Every operation that a trait documents as atomic runs under one lock
/// acquisition. No lock is held across an `.await`, and a lock poisoned by a
/// panicking thread is recovered rather than propagated (no operation leaves
/// a table half-updated, so the data stays consistent).
///
/// `Debug` prints only how many records each table holds, never a token
/// digest, a password hash or any other record content.
///
/// Throttle windows that have ended are swept out now and then as new keys
/// arrive; expired Knox tokens and revocations stay until the service calls
/// the purge methods, as with every other store.
pub struct MemoryStore {
    users: RwLock<Users>,
    knox: RwLock<KnoxTokens>,
    static_tokens: RwLock<StaticTokens>,
    revocations: RwLock<Revocations>,
    throttle: Mutex<Throttle>,
    history: RwLock<History>,
    oauth: oauth::OAuthTables,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            users: RwLock::new(Users::default()),
            knox: RwLock::new(KnoxTokens::default()),
            static_tokens: RwLock::new(StaticTokens::default()),
            revocations: RwLock::new(Revocations::default()),
            throttle: Mutex::new(Throttle::default()),
            history: RwLock::new(History::default()),
            oauth: oauth::OAuthTables::default(),
        }
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let users = read(&self.users).by_id.len();
        let knox_tokens = read(&self.knox).by_digest.len();
        let static_tokens = read(&self.static_tokens).by_user.len();
        let (blacklisted_jtis, revoked_families, valid_after_marks) = {
            let revocations = read(&self.revocations);
            (
                revocations.blacklist.len(),
                revocations.families.len(),
                revocations.valid_after.len(),
            )
        };
        let throttle_keys = lock(&self.throttle).windows.len();
        let history_entries: usize = read(&self.history).by_user.values().map(Vec::len).sum();
        let mut debug = f.debug_struct("MemoryStore");
        debug
            .field("users", &users)
            .field("knox_tokens", &knox_tokens)
            .field("static_tokens", &static_tokens)
            .field("blacklisted_jtis", &blacklisted_jtis)
            .field("revoked_families", &revoked_families)
            .field("valid_after_marks", &valid_after_marks)
            .field("throttle_keys", &throttle_keys)
            .field("history_entries", &history_entries);
        for (name, count) in self.oauth.counts() {
            debug.field(name, &count);
        }
        debug.finish()
    }
}

/// Locks a mutex, recovering it if a panicking thread poisoned it.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Read-locks, recovering a poisoned lock.
fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

/// Write-locks, recovering a poisoned lock.
fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

/// A `u64` count or position as a `usize`, saturating on 32-bit targets.
fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// A `usize` length as a `u64`.
fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

// ---------------------------------------------------------------------------
// Users

/// The users table and its indexes.
#[derive(Default)]
struct Users {
    by_id: HashMap<UserId, User>,
    /// `fold_case(username)` to id.
    by_username: HashMap<String, UserId>,
    /// `fold_case(email)` to id.
    by_email: HashMap<String, UserId>,
    /// Legacy (Django) id to id, for the users that have one.
    by_legacy_id: HashMap<i64, UserId>,
    /// The listing order: `date_joined`, then id.
    order: BTreeSet<(DateTime<Utc>, UserId)>,
}

impl Users {
    /// The id already holding `key` in `index`, unless it is `except`.
    fn taken(index: &HashMap<String, UserId>, key: &str, except: UserId) -> bool {
        index.get(key).is_some_and(|&holder| holder != except)
    }

    /// Applies `f` to the user with `id`; `NotFound` if there is none.
    fn with_user(&mut self, id: UserId, f: impl FnOnce(&mut User)) -> Result<(), StoreError> {
        let user = self.by_id.get_mut(&id).ok_or(StoreError::NotFound)?;
        f(user);
        Ok(())
    }
}

#[async_trait]
impl UserStore for MemoryStore {
    async fn insert_user(&self, user: &User) -> Result<(), StoreError> {
        let username_key = fold_case(&user.username);
        let email_key = fold_case(&user.email);
        let mut users = write(&self.users);
        if users.by_username.contains_key(&username_key) {
            return Err(StoreError::Conflict("username".into()));
        }
        if users.by_email.contains_key(&email_key) {
            return Err(StoreError::Conflict("email".into()));
        }
        if let Some(legacy_id) = user.legacy_id
            && users.by_legacy_id.contains_key(&legacy_id)
        {
            return Err(StoreError::Conflict("legacy_id".into()));
        }
        if users.by_id.contains_key(&user.id) {
            // Not in the contract (ids are fresh UUIDs), but never overwrite.
            return Err(StoreError::Conflict("id".into()));
        }
        users.by_username.insert(username_key, user.id);
        users.by_email.insert(email_key, user.id);
        if let Some(legacy_id) = user.legacy_id {
            users.by_legacy_id.insert(legacy_id, user.id);
        }
        users.order.insert((user.date_joined, user.id));
        users.by_id.insert(user.id, user.clone());
        Ok(())
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        Ok(read(&self.users).by_id.get(&id).cloned())
    }

    async fn user_by_legacy_id(&self, legacy_id: i64) -> Result<Option<User>, StoreError> {
        let users = read(&self.users);
        Ok(users
            .by_legacy_id
            .get(&legacy_id)
            .and_then(|id| users.by_id.get(id))
            .cloned())
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        let key = fold_case(username);
        let users = read(&self.users);
        Ok(users
            .by_username
            .get(&key)
            .and_then(|id| users.by_id.get(id))
            .cloned())
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let key = fold_case(email);
        let users = read(&self.users);
        Ok(users
            .by_email
            .get(&key)
            .and_then(|id| users.by_id.get(id))
            .cloned())
    }

    async fn update_user(&self, id: UserId, update: &UserUpdate) -> Result<(), StoreError> {
        let mut users = write(&self.users);
        let Some(old) = users.by_id.get(&id) else {
            return Err(StoreError::NotFound);
        };
        let mut user = old.clone();
        update.apply_to(&mut user);
        let (old_username_key, old_email_key) = (fold_case(&old.username), fold_case(&old.email));
        let username_key = fold_case(&user.username);
        let email_key = fold_case(&user.email);
        if Users::taken(&users.by_username, &username_key, id) {
            return Err(StoreError::Conflict("username".into()));
        }
        if Users::taken(&users.by_email, &email_key, id) {
            return Err(StoreError::Conflict("email".into()));
        }
        users.by_username.remove(&old_username_key);
        users.by_username.insert(username_key, id);
        users.by_email.remove(&old_email_key);
        users.by_email.insert(email_key, id);
        users.by_id.insert(id, user);
        Ok(())
    }

    async fn set_password_hash(&self, id: UserId, hash: Option<&str>) -> Result<(), StoreError> {
        write(&self.users).with_user(id, |user| user.password_hash = hash.map(str::to_owned))
    }

    async fn replace_password_hash(
        &self,
        id: UserId,
        current: &str,
        new: &str,
    ) -> Result<bool, StoreError> {
        let mut users = write(&self.users);
        match users.by_id.get_mut(&id) {
            Some(user) if user.password_hash.as_deref() == Some(current) => {
                user.password_hash = Some(new.to_owned());
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn set_last_login(&self, id: UserId, at: DateTime<Utc>) -> Result<(), StoreError> {
        write(&self.users).with_user(id, |user| user.last_login = Some(at))
    }

    async fn delete_user(&self, id: UserId) -> Result<bool, StoreError> {
        let mut users = write(&self.users);
        let Some(user) = users.by_id.remove(&id) else {
            return Ok(false);
        };
        users.by_username.remove(&fold_case(&user.username));
        users.by_email.remove(&fold_case(&user.email));
        if let Some(legacy_id) = user.legacy_id {
            users.by_legacy_id.remove(&legacy_id);
        }
        users.order.remove(&(user.date_joined, user.id));
        Ok(true)
    }

    async fn list_users(&self, query: &UserQuery) -> Result<Page<User>, StoreError> {
        let offset = to_usize(query.offset);
        let limit = to_usize(query.limit);
        let users = read(&self.users);
        let mut total = 0usize;
        let mut items = Vec::new();
        let in_order = users.order.iter().filter_map(|(_, id)| users.by_id.get(id));
        if query.search.is_none() {
            // Every user matches: no need to visit them all.
            total = users.by_id.len();
            items.extend(in_order.skip(offset).take(limit).cloned());
        } else {
            for user in in_order.filter(|user| query.matches(user)) {
                if total >= offset && items.len() < limit {
                    items.push(user.clone());
                }
                total += 1;
            }
        }
        Ok(Page {
            items,
            total: to_u64(total),
        })
    }
}

// ---------------------------------------------------------------------------
// Knox tokens

/// The Knox tokens table and its indexes.
#[derive(Default)]
struct KnoxTokens {
    by_digest: HashMap<String, KnoxTokenRecord>,
    /// `token_key` to the digests of the tokens with that key.
    by_key: HashMap<String, HashSet<String>>,
    /// User to the digests of their tokens.
    by_user: HashMap<UserId, HashSet<String>>,
}

impl KnoxTokens {
    fn insert(&mut self, record: KnoxTokenRecord) {
        self.by_key
            .entry(record.token_key.clone())
            .or_default()
            .insert(record.digest.clone());
        self.by_user
            .entry(record.user_id)
            .or_default()
            .insert(record.digest.clone());
        self.by_digest.insert(record.digest.clone(), record);
    }

    fn remove(&mut self, digest: &str) -> Option<KnoxTokenRecord> {
        let record = self.by_digest.remove(digest)?;
        if let Some(digests) = self.by_key.get_mut(&record.token_key) {
            digests.remove(digest);
            if digests.is_empty() {
                self.by_key.remove(&record.token_key);
            }
        }
        if let Some(digests) = self.by_user.get_mut(&record.user_id) {
            digests.remove(digest);
            if digests.is_empty() {
                self.by_user.remove(&record.user_id);
            }
        }
        Some(record)
    }

    /// The user's tokens live at `now`, oldest first (ties by digest).
    fn live_oldest_first(&self, user: UserId, now: DateTime<Utc>) -> Vec<&KnoxTokenRecord> {
        let mut live: Vec<&KnoxTokenRecord> = self
            .by_user
            .get(&user)
            .into_iter()
            .flatten()
            .filter_map(|digest| self.by_digest.get(digest))
            .filter(|record| record.is_live(now))
            .collect();
        live.sort_by(|a, b| (a.created, &a.digest).cmp(&(b.created, &b.digest)));
        live
    }
}

#[async_trait]
impl KnoxTokenStore for MemoryStore {
    async fn insert_knox_token(
        &self,
        record: &KnoxTokenRecord,
        limit: TokenLimit,
        now: DateTime<Utc>,
    ) -> Result<KnoxInsert, StoreError> {
        let mut knox = write(&self.knox);
        if knox.by_digest.contains_key(&record.digest) {
            return Err(StoreError::Conflict("digest".into()));
        }
        let mut evicted = 0u64;
        match limit {
            TokenLimit::Unlimited => {}
            TokenLimit::Refuse(max) => {
                if knox.live_oldest_first(record.user_id, now).len() >= to_usize(max.into()) {
                    return Ok(KnoxInsert::LimitReached);
                }
            }
            TokenLimit::EvictOldest(max) => {
                let live = knox.live_oldest_first(record.user_id, now);
                // Room for the new token: keep at most `max - 1` of the others.
                // (`EvictOldest(0)` cannot be honoured while storing a token:
                // it evicts every live token and stores the new one.)
                let keep = to_usize(max.into()).saturating_sub(1);
                let doomed: Vec<String> = live
                    .iter()
                    .take(live.len().saturating_sub(keep))
                    .map(|record| record.digest.clone())
                    .collect();
                for digest in &doomed {
                    knox.remove(digest);
                }
                evicted = to_u64(doomed.len());
            }
        }
        knox.insert(record.clone());
        Ok(KnoxInsert::Inserted { evicted })
    }

    async fn knox_tokens_by_key(
        &self,
        token_key: &str,
    ) -> Result<Vec<KnoxTokenRecord>, StoreError> {
        let knox = read(&self.knox);
        Ok(knox
            .by_key
            .get(token_key)
            .into_iter()
            .flatten()
            .filter_map(|digest| knox.by_digest.get(digest))
            .cloned()
            .collect())
    }

    async fn touch_knox_token(
        &self,
        digest: &str,
        expiry: Option<DateTime<Utc>>,
        last_used: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut knox = write(&self.knox);
        Ok(match knox.by_digest.get_mut(digest) {
            Some(record) => {
                record.expiry = expiry;
                record.last_used = Some(last_used);
                true
            }
            None => false,
        })
    }

    async fn delete_knox_token(&self, digest: &str) -> Result<bool, StoreError> {
        Ok(write(&self.knox).remove(digest).is_some())
    }

    async fn delete_knox_token_by_key(
        &self,
        user: UserId,
        token_key: &str,
    ) -> Result<bool, StoreError> {
        let mut knox = write(&self.knox);
        let doomed: Vec<String> = knox
            .by_key
            .get(token_key)
            .into_iter()
            .flatten()
            .filter(|digest| {
                knox.by_digest
                    .get(*digest)
                    .is_some_and(|record| record.user_id == user)
            })
            .cloned()
            .collect();
        for digest in &doomed {
            knox.remove(digest);
        }
        Ok(!doomed.is_empty())
    }

    async fn delete_user_knox_tokens(&self, user: UserId) -> Result<u64, StoreError> {
        let mut knox = write(&self.knox);
        let doomed: Vec<String> = knox
            .by_user
            .get(&user)
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        for digest in &doomed {
            knox.remove(digest);
        }
        Ok(to_u64(doomed.len()))
    }

    async fn user_knox_tokens(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<KnoxTokenRecord>, StoreError> {
        let knox = read(&self.knox);
        Ok(knox
            .live_oldest_first(user, now)
            .into_iter()
            .rev()
            .cloned()
            .collect())
    }

    async fn purge_expired_knox_tokens(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut knox = write(&self.knox);
        let doomed: Vec<String> = knox
            .by_digest
            .values()
            .filter(|record| !record.is_live(now))
            .map(|record| record.digest.clone())
            .collect();
        for digest in &doomed {
            knox.remove(digest);
        }
        Ok(to_u64(doomed.len()))
    }
}

// ---------------------------------------------------------------------------
// Static tokens

/// The static tokens table: one per user, indexed by digest.
#[derive(Default)]
struct StaticTokens {
    by_user: HashMap<UserId, StaticTokenRecord>,
    /// Digest to owner.
    by_digest: HashMap<String, UserId>,
}

#[async_trait]
impl StaticTokenStore for MemoryStore {
    async fn get_or_insert_static_token(
        &self,
        record: &StaticTokenRecord,
    ) -> Result<StaticTokenRecord, StoreError> {
        let mut tokens = write(&self.static_tokens);
        if let Some(existing) = tokens.by_user.get(&record.user_id) {
            return Ok(existing.clone());
        }
        if tokens.by_digest.contains_key(&record.digest) {
            // Another user's token has this digest: digests are unique.
            return Err(StoreError::Conflict("digest".into()));
        }
        tokens
            .by_digest
            .insert(record.digest.clone(), record.user_id);
        tokens.by_user.insert(record.user_id, record.clone());
        Ok(record.clone())
    }

    async fn static_token_by_digest(
        &self,
        digest: &str,
    ) -> Result<Option<StaticTokenRecord>, StoreError> {
        let tokens = read(&self.static_tokens);
        Ok(tokens
            .by_digest
            .get(digest)
            .and_then(|user| tokens.by_user.get(user))
            .cloned())
    }

    async fn static_token_for_user(
        &self,
        user: UserId,
    ) -> Result<Option<StaticTokenRecord>, StoreError> {
        Ok(read(&self.static_tokens).by_user.get(&user).cloned())
    }

    async fn delete_static_token(&self, user: UserId) -> Result<bool, StoreError> {
        let mut tokens = write(&self.static_tokens);
        let Some(record) = tokens.by_user.remove(&user) else {
            return Ok(false);
        };
        tokens.by_digest.remove(&record.digest);
        Ok(true)
    }
}

// ---------------------------------------------------------------------------
// JWT revocation

/// Blacklisted jtis, revoked families and per-user marks.
#[derive(Default)]
struct Revocations {
    blacklist: HashMap<String, BlacklistEntry>,
    /// Revoked family to when its record may be purged.
    families: HashMap<String, DateTime<Utc>>,
    valid_after: HashMap<UserId, DateTime<Utc>>,
}

#[async_trait]
impl JwtRevocationStore for MemoryStore {
    async fn blacklist_jti(&self, entry: &BlacklistEntry) -> Result<bool, StoreError> {
        let mut revocations = write(&self.revocations);
        if revocations.blacklist.contains_key(&entry.jti) {
            return Ok(false);
        }
        revocations
            .blacklist
            .insert(entry.jti.clone(), entry.clone());
        Ok(true)
    }

    async fn blacklisted_jti(&self, jti: &str) -> Result<Option<BlacklistEntry>, StoreError> {
        Ok(read(&self.revocations).blacklist.get(jti).cloned())
    }

    async fn revoke_family(
        &self,
        family: &str,
        _user: UserId,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut revocations = write(&self.revocations);
        match revocations.families.get_mut(family) {
            // Already revoked: keep the record as long as either call asked.
            Some(existing) => *existing = (*existing).max(expires_at),
            None => {
                revocations.families.insert(family.to_owned(), expires_at);
            }
        }
        Ok(())
    }

    async fn set_tokens_valid_after(
        &self,
        user: UserId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut revocations = write(&self.revocations);
        let mark = revocations.valid_after.entry(user).or_insert(at);
        *mark = (*mark).max(at);
        Ok(())
    }

    async fn revocation_state(
        &self,
        user: UserId,
        family: Option<&str>,
    ) -> Result<RevocationState, StoreError> {
        let revocations = read(&self.revocations);
        Ok(RevocationState {
            tokens_valid_after: revocations.valid_after.get(&user).copied(),
            family_revoked: family.is_some_and(|family| revocations.families.contains_key(family)),
        })
    }

    async fn revocation_state_and_user(
        &self,
        user: UserId,
        family: Option<&str>,
    ) -> Result<Option<(RevocationState, Option<User>)>, StoreError> {
        let state = self.revocation_state(user, family).await?;
        Ok(Some((state, self.user_by_id(user).await?)))
    }

    async fn purge_expired_revocations(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut revocations = write(&self.revocations);
        let before = revocations.blacklist.len() + revocations.families.len();
        revocations
            .blacklist
            .retain(|_, entry| entry.expires_at > now);
        revocations
            .families
            .retain(|_, expires_at| *expires_at > now);
        let after = revocations.blacklist.len() + revocations.families.len();
        Ok(to_u64(before - after))
    }
}

// ---------------------------------------------------------------------------
// Throttle counters

/// Fewest keys before ended windows are swept out.
const THROTTLE_SWEEP_MIN: usize = 1024;

/// Throttle windows by key.
struct Throttle {
    windows: HashMap<String, ThrottleCount>,
    /// Sweep ended windows when a new key would make the table this big.
    sweep_at: usize,
}

impl Default for Throttle {
    fn default() -> Self {
        Self {
            windows: HashMap::new(),
            sweep_at: THROTTLE_SWEEP_MIN,
        }
    }
}

#[async_trait]
impl ThrottleStore for MemoryStore {
    async fn throttle_hit(
        &self,
        key: &str,
        window: Duration,
        now: DateTime<Utc>,
    ) -> Result<ThrottleCount, StoreError> {
        let fresh = ThrottleCount {
            count: 1,
            resets_at: now
                .checked_add_signed(window)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        };
        let mut throttle = lock(&self.throttle);
        if let Some(current) = throttle.windows.get_mut(key) {
            if now < current.resets_at {
                current.count = current.count.saturating_add(1);
            } else {
                *current = fresh;
            }
            return Ok(*current);
        }
        if throttle.windows.len() >= throttle.sweep_at {
            throttle.windows.retain(|_, count| now < count.resets_at);
            throttle.sweep_at = THROTTLE_SWEEP_MIN.max(throttle.windows.len().saturating_mul(2));
        }
        throttle.windows.insert(key.to_owned(), fresh);
        Ok(fresh)
    }

    async fn throttle_peek(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ThrottleCount>, StoreError> {
        Ok(lock(&self.throttle)
            .windows
            .get(key)
            .filter(|count| now < count.resets_at)
            .copied())
    }

    async fn throttle_clear(&self, key: &str) -> Result<(), StoreError> {
        lock(&self.throttle).windows.remove(key);
        Ok(())
    }

    async fn throttle_release(
        &self,
        key: &str,
        resets_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if let Some(current) = lock(&self.throttle).windows.get_mut(key)
            && current.resets_at == resets_at
            && now < resets_at
        {
            current.count = current.count.saturating_sub(1);
        }
        Ok(())
    }

    async fn purge_ended_throttle_windows(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut throttle = lock(&self.throttle);
        let before = throttle.windows.len();
        throttle.windows.retain(|_, count| now < count.resets_at);
        Ok(to_u64(before - throttle.windows.len()))
    }
}

// ---------------------------------------------------------------------------
// Login history

/// Each user's history, oldest first (entries at one instant in the order
/// they were recorded).
#[derive(Default)]
struct History {
    by_user: HashMap<UserId, Vec<HistoryEntry>>,
}

#[async_trait]
impl LoginHistoryStore for MemoryStore {
    async fn record_history(&self, entry: &HistoryEntry) -> Result<(), StoreError> {
        let mut history = write(&self.history);
        let entries = history.by_user.entry(entry.user_id).or_default();
        // After every entry at the same instant or earlier: usually the end.
        let at = entries.partition_point(|other| other.at <= entry.at);
        entries.insert(at, entry.clone());
        Ok(())
    }

    async fn user_history(
        &self,
        user: UserId,
        offset: u64,
        limit: u64,
    ) -> Result<Page<HistoryEntry>, StoreError> {
        let history = read(&self.history);
        let Some(entries) = history.by_user.get(&user) else {
            return Ok(Page {
                items: Vec::new(),
                total: 0,
            });
        };
        Ok(Page {
            items: entries
                .iter()
                .rev()
                .skip(to_usize(offset))
                .take(to_usize(limit))
                .cloned()
                .collect(),
            total: to_u64(entries.len()),
        })
    }

    async fn delete_user_history(&self, user: UserId) -> Result<u64, StoreError> {
        Ok(write(&self.history)
            .by_user
            .remove(&user)
            .map_or(0, |entries| to_u64(entries.len())))
    }

    async fn purge_history_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut history = write(&self.history);
        let mut purged = 0;
        history.by_user.retain(|_, entries| {
            // Oldest first: the entries to go are a prefix.
            let old = entries.partition_point(|entry| entry.at < before);
            entries.drain(..old);
            purged += old;
            !entries.is_empty()
        });
        Ok(to_u64(purged))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_counts_not_secrets() {
        let store = MemoryStore::new();
        let mut user = User::new_for_tests("ada", "ada@example.com");
        user.password_hash = Some("$argon2id$v=19$secret-hash".into());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            store.insert_user(&user).await.expect("insert");
            let record = KnoxTokenRecord {
                token_key: "abcdefgh".into(),
                digest: "f00dfeed".repeat(16),
                user_id: user.id,
                created: user.date_joined,
                expiry: None,
                last_used: None,
                name: None,
            };
            store
                .insert_knox_token(&record, TokenLimit::Unlimited, user.date_joined)
                .await
                .expect("insert token");
        });
        let debug = format!("{store:?}");
        assert!(debug.contains("users: 1"), "{debug}");
        assert!(debug.contains("knox_tokens: 1"), "{debug}");
        for secret in ["argon2id", "f00dfeed", "ada", "abcdefgh"] {
            assert!(!debug.contains(secret), "{debug} shows {secret}");
        }
    }

    #[test]
    fn a_poisoned_lock_is_recovered() {
        let store = std::sync::Arc::new(MemoryStore::new());
        let poisoner = store.clone();
        let _ = std::thread::spawn(move || {
            let _guard = write(&poisoner.users);
            panic!("poison the users table");
        })
        .join();
        assert!(store.users.is_poisoned());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let found = runtime.block_on(store.user_by_username("nobody"));
        assert!(matches!(found, Ok(None)));
        assert!(format!("{store:?}").contains("users: 0"));
    }
}
