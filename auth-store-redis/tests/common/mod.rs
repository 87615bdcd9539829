//! What the integration tests share: a store on a key prefix of its own
//! (failing the test when Redis cannot be reached), and cleaning up.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use auth_core::error::StoreError;
use auth_core::oauth::{ApplicationId, AuthorizationCode, BrowserSession, FamilyId, OAuthToken};
use auth_core::store::{
    BlacklistEntry, BrowserSessionStore, CodeUse, HistoryEntry, JwtRevocationStore, KnoxInsert,
    KnoxTokenRecord, KnoxTokenStore, LoginHistoryStore, OAuthCodeStore, OAuthTokenStore, Page,
    RefreshUse, RevocationState, StaticTokenRecord, StaticTokenStore, ThrottleCount, ThrottleStore,
    TokenLimit,
};
use auth_core::testkit::services::{self, Service};
use auth_core::user::UserId;
use auth_store_redis::redis::{ConnectionAddr, IntoConnectionInfo};
use auth_store_redis::{RedisStore, RedisStoreConfig};
use chrono::{DateTime, Utc};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The Redis the tests use: `AUTH_TEST_REDIS_URL`, by default the local one.
pub fn redis_url() -> String {
    std::env::var("AUTH_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A key prefix no other test (or run) uses.
pub fn unique_prefix() -> String {
    format!("{}:", auth_core::testkit::unique("authtest:"))
}

/// A config with `prefix` and a short timeout.
pub fn config(prefix: &str) -> RedisStoreConfig {
    RedisStoreConfig::default()
        .with_key_prefix(prefix)
        .expect("a valid test prefix")
        .with_timeout(Duration::from_secs(5))
        .expect("a valid timeout")
}

/// A store on `prefix` of the test Redis (started if it is down; the test
/// fails naming it when it cannot be reached).
pub async fn store_on(prefix: &str) -> RedisStore {
    let url = redis_url();
    let place = url
        .as_str()
        .into_connection_info()
        .map(|info| info.addr().to_string())
        .unwrap_or_else(|err| services::missing(Service::Redis, "AUTH_TEST_REDIS_URL", &err));
    let store = RedisStore::with_config(&url, config(prefix)).expect("a valid Redis URL");
    services::connect(Service::Redis, &place, || store.ping()).await;
    store
}

/// A fresh store on a prefix of its own that deletes its keys when dropped.
pub async fn test_store() -> TestStore {
    let prefix = unique_prefix();
    let store = store_on(&prefix).await;
    TestStore { store, prefix }
}

/// Like [`test_store`], with tracked revocation reads kept up to an hour
/// (so that only invalidations can make them go).
pub async fn tracked_test_store() -> TestStore {
    let prefix = unique_prefix();
    store_on(&prefix).await;
    let config = config(&prefix)
        .with_tracking(Duration::from_secs(3600))
        .expect("a valid maximum age");
    let store = RedisStore::with_config(&redis_url(), config).expect("a valid Redis URL");
    TestStore { store, prefix }
}

/// A fresh prefix (its keys deleted when the guard drops), a store on it,
/// and a proxy to the test Redis.
pub async fn proxied_prefix() -> (PrefixGuard, RedisStore, Proxy) {
    let prefix = unique_prefix();
    let guard = PrefixGuard(prefix.clone());
    let store = store_on(&prefix).await;
    let proxy = Proxy::to_test_redis().await;
    (guard, store, proxy)
}

/// The service's stores with users in memory and every other concern in
/// `store` (the composition this store is for).
pub fn stores_over(store: TestStore) -> auth_core::Stores {
    let store = Arc::new(store);
    auth_core::Stores {
        knox: store.clone(),
        static_tokens: store.clone(),
        revocations: store.clone(),
        throttle: store.clone(),
        history: store.clone(),
        oauth_codes: store.clone(),
        oauth_tokens: store.clone(),
        browser_sessions: store,
        ..auth_core::Stores::all_in(Arc::new(auth_core::MemoryStore::new()))
    }
}

/// A TCP proxy to the test Redis that can be cut (open connections
/// dropped, new ones closed at once) and restored, to see a store
/// reconnect, or frozen (connections kept open, nothing passed on) and
/// thawed, to see what a store answers without Redis.
pub struct Proxy {
    pub addr: SocketAddr,
    up: Arc<AtomicBool>,
    frozen: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    acceptor: JoinHandle<()>,
}

impl Proxy {
    /// A proxy to the test Redis, or `None` (after saying so) when its URL
    /// is not a TCP one.
    pub async fn to_test_redis() -> Self {
        let info = redis_url()
            .into_connection_info()
            .expect("a valid Redis URL");
        let ConnectionAddr::Tcp(host, port) = info.addr().clone() else {
            panic!(
                "this test needs a Redis on TCP, and AUTH_TEST_REDIS_URL is not a redis:// URL; \
                 skip the Redis tests explicitly with AUTH_TEST_SKIP=redis"
            );
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let up = Arc::new(AtomicBool::new(true));
        let frozen = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let (flag, ice, tasks) = (up.clone(), frozen.clone(), connections.clone());
        let acceptor = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if !flag.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let (target, ice) = ((host.clone(), port), ice.clone());
                let task = tokio::spawn(async move {
                    if let Ok(outbound) = TcpStream::connect(target).await {
                        let (from_client, to_client) = inbound.into_split();
                        let (from_redis, to_redis) = outbound.into_split();
                        tokio::join!(
                            pass(from_client, to_redis, &ice),
                            pass(from_redis, to_client, &ice)
                        );
                    }
                });
                tasks.lock().expect("lock").push(task);
            }
        });
        Self {
            addr,
            up,
            frozen,
            connections,
            acceptor,
        }
    }

    /// A client of the test Redis through this proxy.
    pub fn client(&self) -> redis::Client {
        let info = redis_url()
            .into_connection_info()
            .expect("a valid Redis URL")
            .set_addr(ConnectionAddr::Tcp("127.0.0.1".into(), self.addr.port()));
        redis::Client::open(info).expect("a client")
    }

    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for task in self.connections.lock().expect("lock").drain(..) {
            task.abort();
        }
    }

    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }

    pub fn freeze(&self) {
        self.frozen.store(true, Ordering::SeqCst);
    }

    pub fn thaw(&self) {
        self.frozen.store(false, Ordering::SeqCst);
    }
}

/// Copies one direction of a proxied connection, holding what it read
/// while the proxy is frozen.
async fn pass(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    frozen: &AtomicBool,
) {
    let mut buffer = vec![0; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        while frozen.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.acceptor.abort();
    }
}

/// Deletes every key under `prefix` over a blocking connection of its own
/// (it runs in `Drop`, possibly while a failed test unwinds: it never
/// panics).
pub fn delete_prefix_blocking(prefix: &str) {
    let Ok(client) = redis::Client::open(redis_url()) else {
        return;
    };
    let Ok(mut conn) = client.get_connection_with_timeout(Duration::from_secs(2)) else {
        return;
    };
    let pattern = format!("{prefix}*");
    let mut cursor = 0u64;
    loop {
        let Ok((next, keys)): Result<(u64, Vec<String>), _> = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(500)
            .query(&mut conn)
        else {
            return;
        };
        if !keys.is_empty() {
            let _: Result<i64, _> = redis::cmd("UNLINK").arg(keys).query(&mut conn);
        }
        if next == 0 {
            return;
        }
        cursor = next;
    }
}

/// Deletes the keys under its prefix when dropped (for tests that build
/// their stores themselves).
#[derive(Debug)]
pub struct PrefixGuard(pub String);

impl Drop for PrefixGuard {
    fn drop(&mut self) {
        delete_prefix_blocking(&self.0);
    }
}

/// The keys under `prefix` (for checks of the layout).
pub async fn keys_under(prefix: &str) -> Vec<String> {
    let mut conn = raw_connection().await;
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .expect("KEYS failed");
    keys.sort();
    keys
}

/// A plain connection to the test Redis, to look at keys directly.
pub async fn raw_connection() -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis_url())
        .expect("a valid Redis URL")
        .get_multiplexed_async_connection()
        .await
        .expect("connecting to Redis")
}

/// A [`RedisStore`] that deletes its prefix's keys when dropped, so the
/// conformance suite leaves nothing behind (marks, static tokens and
/// history never expire).
#[derive(Debug)]
pub struct TestStore {
    store: RedisStore,
    prefix: String,
}

impl TestStore {
    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

impl Deref for TestStore {
    type Target = RedisStore;
    fn deref(&self) -> &RedisStore {
        &self.store
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        delete_prefix_blocking(&self.prefix);
    }
}

#[async_trait]
impl KnoxTokenStore for TestStore {
    async fn insert_knox_token(
        &self,
        record: &KnoxTokenRecord,
        limit: TokenLimit,
        now: DateTime<Utc>,
    ) -> Result<KnoxInsert, StoreError> {
        self.store.insert_knox_token(record, limit, now).await
    }
    async fn knox_tokens_by_key(
        &self,
        token_key: &str,
    ) -> Result<Vec<KnoxTokenRecord>, StoreError> {
        self.store.knox_tokens_by_key(token_key).await
    }
    async fn touch_knox_token(
        &self,
        digest: &str,
        expiry: Option<DateTime<Utc>>,
        last_used: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.store.touch_knox_token(digest, expiry, last_used).await
    }
    async fn delete_knox_token(&self, digest: &str) -> Result<bool, StoreError> {
        self.store.delete_knox_token(digest).await
    }
    async fn delete_knox_token_by_key(
        &self,
        user: UserId,
        token_key: &str,
    ) -> Result<bool, StoreError> {
        self.store.delete_knox_token_by_key(user, token_key).await
    }
    async fn delete_user_knox_tokens(&self, user: UserId) -> Result<u64, StoreError> {
        self.store.delete_user_knox_tokens(user).await
    }
    async fn user_knox_tokens(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<KnoxTokenRecord>, StoreError> {
        self.store.user_knox_tokens(user, now).await
    }
    async fn purge_expired_knox_tokens(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.store.purge_expired_knox_tokens(now).await
    }
}

#[async_trait]
impl StaticTokenStore for TestStore {
    async fn get_or_insert_static_token(
        &self,
        record: &StaticTokenRecord,
    ) -> Result<StaticTokenRecord, StoreError> {
        self.store.get_or_insert_static_token(record).await
    }
    async fn static_token_by_digest(
        &self,
        digest: &str,
    ) -> Result<Option<StaticTokenRecord>, StoreError> {
        self.store.static_token_by_digest(digest).await
    }
    async fn static_token_for_user(
        &self,
        user: UserId,
    ) -> Result<Option<StaticTokenRecord>, StoreError> {
        self.store.static_token_for_user(user).await
    }
    async fn delete_static_token(&self, user: UserId) -> Result<bool, StoreError> {
        self.store.delete_static_token(user).await
    }
}

#[async_trait]
impl JwtRevocationStore for TestStore {
    async fn blacklist_jti(&self, entry: &BlacklistEntry) -> Result<bool, StoreError> {
        self.store.blacklist_jti(entry).await
    }
    async fn blacklisted_jti(&self, jti: &str) -> Result<Option<BlacklistEntry>, StoreError> {
        self.store.blacklisted_jti(jti).await
    }
    async fn revoke_family(
        &self,
        family: &str,
        user: UserId,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.store.revoke_family(family, user, expires_at).await
    }
    async fn set_tokens_valid_after(
        &self,
        user: UserId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.store.set_tokens_valid_after(user, at).await
    }
    async fn revocation_state(
        &self,
        user: UserId,
        family: Option<&str>,
    ) -> Result<RevocationState, StoreError> {
        self.store.revocation_state(user, family).await
    }
    async fn purge_expired_revocations(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.store.purge_expired_revocations(now).await
    }
}

#[async_trait]
impl ThrottleStore for TestStore {
    async fn throttle_hit(
        &self,
        key: &str,
        window: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<ThrottleCount, StoreError> {
        self.store.throttle_hit(key, window, now).await
    }
    async fn throttle_peek(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ThrottleCount>, StoreError> {
        self.store.throttle_peek(key, now).await
    }
    async fn throttle_clear(&self, key: &str) -> Result<(), StoreError> {
        self.store.throttle_clear(key).await
    }
    async fn throttle_release(
        &self,
        key: &str,
        resets_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.store.throttle_release(key, resets_at, now).await
    }
    async fn purge_ended_throttle_windows(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.store.purge_ended_throttle_windows(now).await
    }
}

#[async_trait]
impl LoginHistoryStore for TestStore {
    async fn record_history(&self, entry: &HistoryEntry) -> Result<(), StoreError> {
        self.store.record_history(entry).await
    }
    async fn user_history(
        &self,
        user: UserId,
        offset: u64,
        limit: u64,
    ) -> Result<Page<HistoryEntry>, StoreError> {
        self.store.user_history(user, offset, limit).await
    }
    async fn delete_user_history(&self, user: UserId) -> Result<u64, StoreError> {
        self.store.delete_user_history(user).await
    }
    async fn purge_history_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.store.purge_history_before(before).await
    }
}

#[async_trait]
impl OAuthCodeStore for TestStore {
    async fn insert_code(&self, code: &AuthorizationCode) -> Result<(), StoreError> {
        self.store.insert_code(code).await
    }
    async fn code(&self, digest: &str) -> Result<Option<AuthorizationCode>, StoreError> {
        self.store.code(digest).await
    }
    async fn consume_code(&self, digest: &str, now: DateTime<Utc>) -> Result<CodeUse, StoreError> {
        self.store.consume_code(digest, now).await
    }
    async fn purge_expired_codes(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.store.purge_expired_codes(now).await
    }
}

#[async_trait]
impl OAuthTokenStore for TestStore {
    async fn insert_oauth_token(&self, token: &OAuthToken) -> Result<(), StoreError> {
        self.store.insert_oauth_token(token).await
    }
    async fn oauth_token(&self, digest: &str) -> Result<Option<OAuthToken>, StoreError> {
        self.store.oauth_token(digest).await
    }
    async fn rotate_refresh_token(
        &self,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<RefreshUse, StoreError> {
        self.store.rotate_refresh_token(digest, now).await
    }
    async fn revoke_oauth_token(
        &self,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.store.revoke_oauth_token(digest, now).await
    }
    async fn revoke_oauth_family(
        &self,
        family: FamilyId,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.store.revoke_oauth_family(family, now).await
    }
    async fn revoke_user_oauth_tokens(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.store.revoke_user_oauth_tokens(user, now).await
    }
    async fn revoke_application_tokens(
        &self,
        application: ApplicationId,
        user: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.store
            .revoke_application_tokens(application, user, now)
            .await
    }
    async fn purge_oauth_tokens(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.store.purge_oauth_tokens(now).await
    }
}

#[async_trait]
impl BrowserSessionStore for TestStore {
    async fn insert_session(&self, session: &BrowserSession) -> Result<(), StoreError> {
        self.store.insert_session(session).await
    }
    async fn session(&self, digest: &str) -> Result<Option<BrowserSession>, StoreError> {
        self.store.session(digest).await
    }
    async fn delete_session(&self, digest: &str) -> Result<bool, StoreError> {
        self.store.delete_session(digest).await
    }
    async fn delete_user_sessions(&self, user: UserId) -> Result<u64, StoreError> {
        self.store.delete_user_sessions(user).await
    }
    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.store.purge_expired_sessions(now).await
    }
}
