//! [`RedisStore`]: the connection, the key names, and the helpers every
//! trait implementation shares.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use auth_core::error::StoreError;
use auth_core::user::UserId;
use chrono::{DateTime, Utc};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisResult, Value};

use crate::config::RedisStoreConfig;
use crate::error::RedisStoreError;
use crate::tracking::Tracking;

/// How many times the connection manager retries a failed connection
/// attempt before failing the commands waiting for it (it tries again on
/// the next command).
const CONNECT_RETRIES: usize = 2;
/// The first delay between connection attempts.
const CONNECT_RETRY_MIN_DELAY: Duration = Duration::from_millis(50);
/// The longest delay between connection attempts.
const CONNECT_RETRY_MAX_DELAY: Duration = Duration::from_millis(500);
/// How many keys [`RedisStore::delete_all`] asks `SCAN` for at a time.
const SCAN_BATCH: usize = 500;

/// A store for everything that changes per request, in Redis: Knox and
/// static tokens, JWT revocation, throttle counters and login history.
///
/// It implements [`KnoxTokenStore`](auth_core::store::KnoxTokenStore),
/// [`StaticTokenStore`](auth_core::store::StaticTokenStore),
/// [`JwtRevocationStore`](auth_core::store::JwtRevocationStore),
/// [`ThrottleStore`](auth_core::store::ThrottleStore) and
/// [`LoginHistoryStore`](auth_core::store::LoginHistoryStore), and the
/// OAuth2 [`OAuthCodeStore`](auth_core::store::OAuthCodeStore),
/// [`OAuthTokenStore`](auth_core::store::OAuthTokenStore) and
/// [`BrowserSessionStore`](auth_core::store::BrowserSessionStore), but not
/// [`UserStore`](auth_core::store::UserStore): users stay in SQL. See the
/// [crate docs](crate) for the composition, the key layout and how expiry
/// works.
///
/// Cheap to clone: clones share one multiplexed connection, which
/// reconnects by itself after Redis restarts or the network drops.
/// Construction does not connect; the first operation does, and every
/// operation, connecting included, ends within the configured
/// [`timeout`](RedisStoreConfig::timeout) (else
/// [`StoreError::Unavailable`]).
///
/// `Debug` shows the configuration, never the connection URL (which may
/// hold a password).
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    connection: ConnectionManager,
    /// The tracking connection and what was read over it, when
    /// [`RedisStoreConfig::with_tracking`] is set.
    tracking: Option<Tracking>,
    config: RedisStoreConfig,
    keys: Keys,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = &self.inner.config;
        f.debug_struct("RedisStore")
            .field("key_prefix", &config.key_prefix())
            .field("timeout", &config.timeout())
            .field("expiry_grace", &config.expiry_grace())
            .field("history_cap", &config.history_cap())
            .field("tracking", &config.tracking())
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A store over the Redis at `url` (`redis://[user:password@]host[:port][/db]`
    /// or `unix:///path`), with the default [`RedisStoreConfig`].
    ///
    /// Does not connect (the first operation does), so it neither fails nor
    /// waits when Redis is down. Must be called inside a Tokio runtime with
    /// its I/O and time drivers enabled, which runs the connection; outside
    /// any runtime it fails with [`RedisStoreError::InvalidConfig`]. A
    /// malformed URL is [`RedisStoreError::Redis`].
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use auth_store_redis::RedisStore;
    /// let store = RedisStore::new("redis://127.0.0.1:6379")?;
    /// store.ping().await?; // Err(StoreError::Unavailable) while Redis is down
    /// # Ok(()) }
    /// ```
    pub fn new(url: &str) -> Result<Self, RedisStoreError> {
        Self::with_config(url, RedisStoreConfig::default())
    }

    /// A store over the Redis at `url`, configured by `config`; see
    /// [`new`](Self::new).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), auth_store_redis::RedisStoreError> {
    /// use std::time::Duration;
    /// use auth_store_redis::{RedisStore, RedisStoreConfig};
    ///
    /// let config = RedisStoreConfig::default()
    ///     .with_key_prefix("shop:auth:")?
    ///     .with_timeout(Duration::from_secs(1))?;
    /// let store = RedisStore::with_config("redis://cache.internal:6379/2", config)?;
    /// # let _ = store;
    /// # Ok(()) }
    /// ```
    pub fn with_config(url: &str, config: RedisStoreConfig) -> Result<Self, RedisStoreError> {
        Self::from_client(Client::open(url)?, config)
    }

    /// A store over an already configured [`redis::Client`] (for connection
    /// settings a URL cannot express); see [`new`](Self::new).
    pub fn from_client(client: Client, config: RedisStoreConfig) -> Result<Self, RedisStoreError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(RedisStoreError::InvalidConfig(
                "a RedisStore must be created inside a Tokio runtime".into(),
            ));
        }
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.timeout()))
            .set_response_timeout(Some(config.timeout()))
            .set_number_of_retries(CONNECT_RETRIES)
            .set_min_delay(CONNECT_RETRY_MIN_DELAY)
            .set_max_delay(CONNECT_RETRY_MAX_DELAY);
        let tracking = config
            .tracking()
            .map(|max_age| Tracking::new(&client, manager_config.clone(), max_age))
            .transpose()?;
        let connection = ConnectionManager::new_lazy_with_config(client, manager_config)?;
        let keys = Keys::new(config.key_prefix());
        Ok(Self {
            inner: Arc::new(Inner {
                connection,
                tracking,
                config,
                keys,
            }),
        })
    }

    /// The store's configuration.
    pub fn config(&self) -> &RedisStoreConfig {
        &self.inner.config
    }

    /// Sends `PING`: `Ok` when Redis answers within the timeout, else
    /// [`StoreError::Unavailable`]. For readiness probes and tests.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let reply: String = self
            .run(|mut conn| async move { redis::cmd("PING").query_async(&mut conn).await })
            .await?;
        if reply == "PONG" {
            Ok(())
        } else {
            Err(RedisStoreError::Corrupt("the reply to PING").into())
        }
    }

    /// Deletes every key under this store's prefix (`SCAN` and `UNLINK`, in
    /// batches) and returns how many: for tests, and for retiring a prefix.
    ///
    /// Destructive: every token, revocation, mark, counter and history entry
    /// of this prefix is gone (every Knox and static token stops working,
    /// every blacklisted JWT works again until it expires). Keys written
    /// while it runs may survive. Each round trip has the configured
    /// timeout; the whole call may take longer.
    pub async fn delete_all(&self) -> Result<u64, StoreError> {
        let pattern = format!("{}*", self.inner.config.key_prefix());
        self.scan(pattern, |keys| async move {
            let removed: Result<u64, _> = self
                .run(|mut conn| async move {
                    redis::cmd("UNLINK").arg(keys).query_async(&mut conn).await
                })
                .await;
            self.forget_tracked(None);
            Ok(removed?)
        })
        .await
    }

    /// Runs `each` on every batch of the keys matching `pattern` (`SCAN`,
    /// [`SCAN_BATCH`] at a time; keys written meanwhile may be missed),
    /// and returns the sum of what it returned.
    pub(crate) async fn scan<F, Fut>(&self, pattern: String, mut each: F) -> Result<u64, StoreError>
    where
        F: FnMut(Vec<Vec<u8>>) -> Fut,
        Fut: std::future::Future<Output = Result<u64, StoreError>>,
    {
        let mut cursor = 0u64;
        let mut total = 0u64;
        loop {
            let pattern = pattern.clone();
            let (next, keys): (u64, Vec<Vec<u8>>) = self
                .run(|mut conn| async move {
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(pattern)
                        .arg("COUNT")
                        .arg(SCAN_BATCH)
                        .query_async(&mut conn)
                        .await
                })
                .await?;
            if !keys.is_empty() {
                total = total.saturating_add(each(keys).await?);
            }
            if next == 0 {
                return Ok(total);
            }
            cursor = next;
        }
    }

    /// The key names.
    pub(crate) fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    /// The expiry grace in milliseconds, as scripts take it.
    pub(crate) fn grace_ms(&self) -> i64 {
        i64::try_from(self.inner.config.expiry_grace().as_millis()).unwrap_or(i64::MAX)
    }

    /// The history cap.
    pub(crate) fn history_cap(&self) -> u32 {
        self.inner.config.history_cap()
    }

    /// The main connection.
    pub(crate) fn connection(&self) -> ConnectionManager {
        self.inner.connection.clone()
    }

    /// The tracking connection and what was read over it, if tracking is on.
    pub(crate) fn tracking(&self) -> Option<&Tracking> {
        self.inner.tracking.as_ref()
    }

    /// Forgets what tracking keeps of `key` (of every key, for `None`)
    /// after a write to it, whether the write succeeded or not (a failed
    /// write may still have landed).
    pub(crate) fn forget_tracked(&self, key: Option<&str>) {
        if let Some(tracking) = &self.inner.tracking {
            tracking.forget(key);
        }
    }

    /// The hash at `key` (`HGETALL`), or `None` when there is none; `what`
    /// names it in errors.
    pub(crate) async fn hash(
        &self,
        key: String,
        what: &'static str,
    ) -> Result<Option<Fields>, RedisStoreError> {
        let reply: Value =
            self.run(|mut conn| async move {
                redis::cmd("HGETALL").arg(key).query_async(&mut conn).await
            })
            .await?;
        let hash = fields(reply, what)?;
        Ok((!hash.is_empty()).then_some(hash))
    }

    /// Runs `op` on a clone of the connection, within the timeout.
    pub(crate) async fn run<T, F, Fut>(&self, op: F) -> Result<T, RedisStoreError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        self.run_on(self.connection(), op).await
    }

    /// Runs `op` on `connection`, within the timeout.
    pub(crate) async fn run_on<T, F, Fut>(
        &self,
        connection: ConnectionManager,
        op: F,
    ) -> Result<T, RedisStoreError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let timeout = self.inner.config.timeout();
        match tokio::time::timeout(timeout, op(connection)).await {
            Ok(result) => Ok(result?),
            Err(_elapsed) => Err(RedisStoreError::Timeout(timeout)),
        }
    }
}

/// The names of the store's keys, all under the configured prefix `{p}`.
/// The layout is documented in the crate docs.
#[derive(Debug)]
pub(crate) struct Keys {
    prefix: String,
    knox_digest: String,
    knox_key: String,
    knox_user: String,
    static_user: String,
    static_digest: String,
    jwt_jti: String,
    jwt_family: String,
}

impl Keys {
    fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            knox_digest: format!("{prefix}knox:digest:"),
            knox_key: format!("{prefix}knox:key:"),
            knox_user: format!("{prefix}knox:user:"),
            static_user: format!("{prefix}static:user:"),
            static_digest: format!("{prefix}static:digest:"),
            jwt_jti: format!("{prefix}jwt:jti:"),
            jwt_family: format!("{prefix}jwt:family:"),
        }
    }

    /// `{p}knox:digest:` (scripts append a digest).
    pub(crate) fn knox_digest_prefix(&self) -> &str {
        &self.knox_digest
    }

    /// `{p}knox:key:` (scripts append a token key).
    pub(crate) fn knox_key_prefix(&self) -> &str {
        &self.knox_key
    }

    /// `{p}knox:user:` (scripts append a user id).
    pub(crate) fn knox_user_prefix(&self) -> &str {
        &self.knox_user
    }

    /// `{p}knox:digest:<digest>`: a Knox token's record (hash).
    pub(crate) fn knox_digest(&self, digest: &str) -> String {
        format!("{}{digest}", self.knox_digest)
    }

    /// `{p}knox:key:<token_key>`: the digests with that token key (set).
    pub(crate) fn knox_key(&self, token_key: &str) -> String {
        format!("{}{token_key}", self.knox_key)
    }

    /// `{p}knox:user:<uuid>`: the user's digests by `created` (sorted set).
    pub(crate) fn knox_user(&self, user: UserId) -> String {
        format!("{}{user}", self.knox_user)
    }

    /// `{p}static:user:` (scripts append a user id).
    pub(crate) fn static_user_prefix(&self) -> &str {
        &self.static_user
    }

    /// `{p}static:digest:` (scripts append a digest).
    pub(crate) fn static_digest_prefix(&self) -> &str {
        &self.static_digest
    }

    /// `{p}static:user:<uuid>`: the user's static token (hash).
    pub(crate) fn static_user(&self, user: UserId) -> String {
        format!("{}{user}", self.static_user)
    }

    /// `{p}static:digest:<digest>`: the owner of a static token (string).
    pub(crate) fn static_digest(&self, digest: &str) -> String {
        format!("{}{digest}", self.static_digest)
    }

    /// `{p}jwt:jti:` (scripts append a jti).
    pub(crate) fn jwt_jti_prefix(&self) -> &str {
        &self.jwt_jti
    }

    /// `{p}jwt:family:` (scripts append a family).
    pub(crate) fn jwt_family_prefix(&self) -> &str {
        &self.jwt_family
    }

    /// `{p}jwt:jti:<jti>`: a blacklist entry (hash).
    pub(crate) fn jwt_jti(&self, jti: &str) -> String {
        format!("{}{jti}", self.jwt_jti)
    }

    /// `{p}jwt:family:<family>`: a revoked rotation family (hash).
    pub(crate) fn jwt_family(&self, family: &str) -> String {
        format!("{}{family}", self.jwt_family)
    }

    /// `{p}jwt:valid_after:<uuid>`: the user's "tokens valid after" mark.
    pub(crate) fn jwt_valid_after(&self, user: UserId) -> String {
        format!("{}jwt:valid_after:{user}", self.prefix)
    }

    /// `{p}jwt:expired`: revocation records written already expired
    /// (sorted set by `expires_at`), for the purge.
    pub(crate) fn jwt_expired(&self) -> String {
        format!("{}jwt:expired", self.prefix)
    }

    /// `{p}throttle:<key>`: a throttle window (hash).
    pub(crate) fn throttle(&self, key: &str) -> String {
        format!("{}throttle:{key}", self.prefix)
    }

    /// The `SCAN` pattern of every throttle window.
    pub(crate) fn all_throttles(&self) -> String {
        format!("{}throttle:*", self.prefix)
    }

    /// `{p}history:<uuid>`: the user's login history (sorted set).
    pub(crate) fn history(&self, user: UserId) -> String {
        format!("{}history:{user}", self.prefix)
    }

    /// `{p}history:seq`: the sequence that orders entries of one instant.
    pub(crate) fn history_seq(&self) -> String {
        format!("{}history:seq", self.prefix)
    }

    /// `{p}oauth:<kind>:<id>`: an OAuth2 record or index (the layout is in
    /// the crate docs); `oauth(kind, "")` is the prefix scripts append to.
    pub(crate) fn oauth(&self, kind: &str, id: &str) -> String {
        format!("{}oauth:{kind}:{id}", self.prefix)
    }

    /// The `SCAN` pattern of every user's history (it matches
    /// [`history_seq`](Self::history_seq) too).
    pub(crate) fn all_histories(&self) -> String {
        format!("{}history:*", self.prefix)
    }
}

/// Lua helpers every script starts with.
///
/// Times travel as decimal strings of microseconds since the epoch and are
/// compared exactly with `cmp` (Lua numbers are doubles, and Lua prints them
/// with 14 significant digits); milliseconds for `PEXPIREAT` are numbers
/// below 10^14, which Lua computes and Redis receives exactly.
pub(crate) const LUA_PRELUDE: &str = r#"
local function cmp(a, b)
  local na, nb = string.sub(a, 1, 1) == '-', string.sub(b, 1, 1) == '-'
  if na ~= nb then
    if na then return -1 end
    return 1
  end
  local c
  if #a ~= #b then
    if #a < #b then c = -1 else c = 1 end
  elseif a == b then
    c = 0
  elseif a < b then
    c = -1
  else
    c = 1
  end
  if na then return -c end
  return c
end
local function clock()
  local t = redis.call('TIME')
  local us = string.rep('0', 6 - #t[2]) .. t[2]
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), t[1] .. us
end
"#;

/// A Lua script: the prelude followed by `body`.
pub(crate) fn script(body: &str) -> redis::Script {
    redis::Script::new(&format!("{LUA_PRELUDE}{body}"))
}

/// Lua helpers of the OAuth2 scripts, after the prelude.
///
/// `expire_record(key, e_us, e_ms, grace, index, member)` gives a record
/// expiring at `e_us` (`''`: never) its time to live, `e_ms` plus the
/// grace or, when that has passed by Redis's clock, one grace from now, and
/// lists one written already expired in the sorted set `index` for the
/// purge. `extend(key, existed, target)` makes an index set live at least
/// until `target` (ms; `false`: for ever), keeping a longer or unlimited
/// life it had. `purge(index, now, tag, prefix)` deletes the records listed
/// in `index` under `tag` that expired at `now`, and returns how many.
const LUA_OAUTH: &str = r#"
local function expire_record(key, e_us, e_ms, grace, index, member)
  if e_us == '' then return false end
  local r_ms, r_us = clock()
  local target = math.max(tonumber(e_ms), r_ms) + grace
  redis.call('PEXPIREAT', key, target)
  if cmp(e_us, r_us) <= 0 then
    redis.call('ZADD', index, e_us, member)
    redis.call('PEXPIREAT', index, r_ms + grace)
  end
  return target
end
local function extend(key, existed, target)
  local pttl = redis.call('PTTL', key)
  if existed and pttl == -1 then return end
  if not target then
    redis.call('PERSIST', key)
    return
  end
  local r_ms = clock()
  if pttl >= 0 and r_ms + pttl >= target then return end
  redis.call('PEXPIREAT', key, target)
end
local function purge(index, now, tag, prefix)
  local n = 0
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', index, '-inf', now)) do
    if string.sub(m, 1, 2) == tag then
      local k = prefix .. string.sub(m, 3)
      local e = redis.call('HGET', k, 'e')
      if not e then
        redis.call('ZREM', index, m)
      elseif cmp(e, now) <= 0 then
        redis.call('DEL', k)
        redis.call('ZREM', index, m)
        n = n + 1
      end
    end
  end
  return n
end
"#;

/// An OAuth2 script: the prelude, the OAuth2 helpers, then `body`.
pub(crate) fn oauth_script(body: &str) -> redis::Script {
    script(&format!("{LUA_OAUTH}{body}"))
}

/// Runs `invocation` and reads its reply as a status and an optional hash
/// (`{status}` or `{status, hash}`); `what` names it.
pub(crate) async fn status_and_hash(
    store: &RedisStore,
    invocation: redis::ScriptInvocation<'static>,
    what: &'static str,
) -> Result<(i64, Option<Fields>), RedisStoreError> {
    let reply: Value = store
        .run(|mut conn| async move { invocation.invoke_async(&mut conn).await })
        .await?;
    let mut reply = array(reply, what)?.into_iter();
    let status = int(reply.next().ok_or(RedisStoreError::Corrupt(what))?, what)?;
    let hash = reply.next().map(|hash| fields(hash, what)).transpose()?;
    Ok((status, hash))
}

impl RedisStore {
    /// Runs a purge script of the records of `kind` listed in
    /// `{p}oauth:expired:` (KEYS: the index; ARGV: `now` in µs, the records'
    /// key prefix); returns how many it deleted.
    pub(crate) async fn purge_oauth(
        &self,
        script: &'static redis::Script,
        kind: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, RedisStoreError> {
        let keys = self.keys();
        let mut invocation = script.prepare_invoke();
        invocation
            .key(keys.oauth("expired", ""))
            .arg(micros(now))
            .arg(keys.oauth(kind, ""));
        self.run(|mut conn| async move { invocation.invoke_async(&mut conn).await })
            .await
    }
}

/// An optional time as a script takes it: microseconds and milliseconds,
/// or two empty strings for none.
pub(crate) fn time_args(at: Option<DateTime<Utc>>) -> (String, String) {
    at.map_or_else(Default::default, |at| {
        (micros(at).to_string(), expire_ms(at).to_string())
    })
}

/// An optional field of a hash parsed as a time; `what` names it.
pub(crate) fn optional_micros(
    fields: &Fields,
    name: &str,
    what: &'static str,
) -> Result<Option<DateTime<Utc>>, RedisStoreError> {
    field(fields, name)
        .map(|value| parse_micros(value, what))
        .transpose()
}

/// A required field of a hash parsed as a time; `what` names it.
pub(crate) fn required_micros(
    fields: &Fields,
    name: &str,
    what: &'static str,
) -> Result<DateTime<Utc>, RedisStoreError> {
    parse_micros(required(fields, name, what)?, what)
}

/// A required field of a hash parsed by `parse`; `what` names it.
pub(crate) fn required_parsed<T>(
    fields: &Fields,
    name: &str,
    what: &'static str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<T, RedisStoreError> {
    parse(required(fields, name, what)?).ok_or(RedisStoreError::Corrupt(what))
}

/// The largest millisecond timestamp handed to `PEXPIREAT` (in the year
/// 5138): later expiries are clamped to it.
const MAX_EXPIRE_MS: i64 = 99_999_999_999_999;

/// `at` as whole microseconds since the epoch, the form stored.
pub(crate) fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// `at` as the millisecond timestamp a key expiring at `at` gets: rounded
/// up (a key never goes before its time), clamped to `1..=MAX_EXPIRE_MS`.
pub(crate) fn expire_ms(at: DateTime<Utc>) -> i64 {
    let us = at.timestamp_micros();
    let ms = us
        .div_euclid(1000)
        .saturating_add(i64::from(us.rem_euclid(1000) != 0));
    ms.clamp(1, MAX_EXPIRE_MS)
}

/// Parses a stored microsecond timestamp; `what` names the field.
pub(crate) fn parse_micros(
    value: &str,
    what: &'static str,
) -> Result<DateTime<Utc>, RedisStoreError> {
    value
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or(RedisStoreError::Corrupt(what))
}

/// Parses a stored user id; `what` names the field.
pub(crate) fn parse_user(value: &str, what: &'static str) -> Result<UserId, RedisStoreError> {
    value.parse().map_err(|_| RedisStoreError::Corrupt(what))
}

/// A hash as read: field and value pairs.
pub(crate) type Fields = Vec<(String, String)>;

/// The value of `field`, if present.
pub(crate) fn field<'a>(fields: &'a Fields, name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// The value of `field`, which must be present; `what` names it.
pub(crate) fn required<'a>(
    fields: &'a Fields,
    name: &str,
    what: &'static str,
) -> Result<&'a str, RedisStoreError> {
    field(fields, name).ok_or(RedisStoreError::Corrupt(what))
}

/// A bulk or simple string reply as UTF-8; `what` names it.
pub(crate) fn string(value: Value, what: &'static str) -> Result<String, RedisStoreError> {
    match value {
        Value::BulkString(bytes) => {
            String::from_utf8(bytes).map_err(|_| RedisStoreError::Corrupt(what))
        }
        Value::SimpleString(text) => Ok(text),
        Value::Int(n) => Ok(n.to_string()),
        _ => Err(RedisStoreError::Corrupt(what)),
    }
}

/// An array reply (`Nil` is empty); `what` names it.
pub(crate) fn array(value: Value, what: &'static str) -> Result<Vec<Value>, RedisStoreError> {
    match value {
        Value::Array(items) | Value::Set(items) => Ok(items),
        Value::Nil => Ok(Vec::new()),
        _ => Err(RedisStoreError::Corrupt(what)),
    }
}

/// An integer reply; `what` names it.
pub(crate) fn int(value: Value, what: &'static str) -> Result<i64, RedisStoreError> {
    match value {
        Value::Int(n) => Ok(n),
        other => string(other, what)?
            .parse()
            .map_err(|_| RedisStoreError::Corrupt(what)),
    }
}

/// A hash as a script returns it (`HGETALL`'s flat field, value list) or
/// as a RESP3 map.
pub(crate) fn fields(value: Value, what: &'static str) -> Result<Fields, RedisStoreError> {
    if let Value::Map(pairs) = value {
        return pairs
            .into_iter()
            .map(|(key, value)| Ok((string(key, what)?, string(value, what)?)))
            .collect();
    }
    let items = array(value, what)?;
    if items.len() % 2 != 0 {
        return Err(RedisStoreError::Corrupt(what));
    }
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut items = items.into_iter();
    while let (Some(key), Some(value)) = (items.next(), items.next()) {
        out.push((string(key, what)?, string(value, what)?));
    }
    Ok(out)
}

/// A `{name, hash}` list as the Knox scripts return it.
pub(crate) fn named_hashes(
    value: Value,
    what: &'static str,
) -> Result<Vec<(String, Fields)>, RedisStoreError> {
    array(value, what)?
        .into_iter()
        .map(|pair| {
            let mut pair = array(pair, what)?.into_iter();
            match (pair.next(), pair.next(), pair.next()) {
                (Some(name), Some(hash), None) => Ok((string(name, what)?, fields(hash, what)?)),
                _ => Err(RedisStoreError::Corrupt(what)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expire_ms_rounds_up_and_clamps() {
        let at = |us| DateTime::from_timestamp_micros(us).expect("in range");
        assert_eq!(expire_ms(at(1_700_000_000_000_000)), 1_700_000_000_000);
        assert_eq!(expire_ms(at(1_700_000_000_000_001)), 1_700_000_000_001);
        assert_eq!(expire_ms(at(1_700_000_000_000_999)), 1_700_000_000_001);
        assert_eq!(expire_ms(at(-5)), 1, "before the epoch: at once");
        assert_eq!(expire_ms(DateTime::<Utc>::MAX_UTC), MAX_EXPIRE_MS);
        assert_eq!(expire_ms(DateTime::<Utc>::MIN_UTC), 1);
    }

    #[test]
    fn micros_round_trip() {
        for us in [
            0,
            1,
            -1,
            1_700_000_000_123_456,
            i64::from(i32::MAX) * 1_000_000,
        ] {
            let at = DateTime::from_timestamp_micros(us).expect("in range");
            assert_eq!(parse_micros(&micros(at).to_string(), "t").ok(), Some(at));
        }
        assert!(parse_micros("12x", "t").is_err());
        assert!(parse_micros(&i64::MAX.to_string(), "t").is_err());
    }

    #[test]
    fn hashes_parse_from_flat_lists_and_maps() {
        let bulk = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let flat = Value::Array(vec![bulk("a"), bulk("1"), bulk("b"), bulk("2")]);
        let expected = vec![
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "2".to_owned()),
        ];
        assert_eq!(fields(flat, "h").ok(), Some(expected.clone()));
        let map = Value::Map(vec![(bulk("a"), bulk("1")), (bulk("b"), bulk("2"))]);
        assert_eq!(fields(map, "h").ok(), Some(expected));
        assert!(fields(Value::Array(vec![bulk("a")]), "h").is_err());
        assert!(fields(Value::Int(3), "h").is_err());
        assert!(string(Value::BulkString(vec![0xff]), "s").is_err());
    }

    #[test]
    fn debug_shows_no_url() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let _guard = runtime.enter();
        let store =
            RedisStore::new("redis://user:hunter2@127.0.0.1:1/0").expect("construction is lazy");
        let debug = format!("{store:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("auth:"), "{debug}");
    }

    #[test]
    fn construction_outside_a_runtime_is_an_error_not_a_panic() {
        assert!(matches!(
            RedisStore::new("redis://127.0.0.1:6379"),
            Err(RedisStoreError::InvalidConfig(_))
        ));
    }
}
