//! [`KnoxTokenStore`] for [`RedisStore`].
//!
//! A token's record is the hash `{p}knox:digest:<digest>` with the fields
//! `t` (token key), `u` (user id), `c` (created), and when set `e` (expiry),
//! `l` (last used) and `n` (name); times in microseconds. It expires at its
//! expiry (`PEXPIREAT`). The set `{p}knox:key:<token_key>` and the sorted
//! set `{p}knox:user:<uuid>` (scored by `created`) index the digests; each
//! lives as long as its longest-lived member, and members whose record has
//! expired are removed by the scripts that walk them.

use std::sync::LazyLock;

use async_trait::async_trait;
use auth_core::error::StoreError;
use auth_core::store::{KnoxInsert, KnoxTokenRecord, KnoxTokenStore, TokenLimit};
use auth_core::user::UserId;
use chrono::{DateTime, Utc};
use redis::{Script, Value};

use crate::error::RedisStoreError;
use crate::store::{
    Fields, RedisStore, expire_ms, field, int, micros, named_hashes, parse_micros, parse_user,
    required, script,
};

/// Lua: extend `k` (a set or sorted set of digests that `existed` before
/// this script added to it) to live at least until `exp` (milliseconds, or
/// `''` for ever).
const LUA_KEEP_UNTIL: &str = r#"
local function keep_until(k, existed, exp, r_ms)
  if exp == '' then
    redis.call('PERSIST', k)
  elseif existed == 0 then
    redis.call('PEXPIREAT', k, tonumber(exp))
  else
    local pttl = redis.call('PTTL', k)
    if pttl >= 0 and r_ms + pttl < tonumber(exp) then
      redis.call('PEXPIREAT', k, tonumber(exp))
    end
  end
end
"#;

/// Insert with a limit. KEYS: record, user set, key set. ARGV: digest,
/// digest prefix, key-set prefix, now, limit kind (`u`, `r`, `e`), limit,
/// created, expiry (ms or `''`), then the record's field/value pairs.
/// Returns -1 on a duplicate digest, -2 when refused, else the evictions.
static INSERT: LazyLock<Script> = LazyLock::new(|| {
    script(&format!(
        "{LUA_KEEP_UNTIL}{}",
        r#"
local rec, zuser, kset = KEYS[1], KEYS[2], KEYS[3]
local digest, dpre, kpre, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local kind, n, created, exp = ARGV[5], tonumber(ARGV[6]), ARGV[7], ARGV[8]
if redis.call('EXISTS', rec) == 1 then return -1 end
local r_ms = clock()
local live = {}
if kind ~= 'u' then
  for _, d in ipairs(redis.call('ZRANGE', zuser, 0, -1)) do
    local f = redis.call('HMGET', dpre .. d, 't', 'e')
    if not f[1] then
      redis.call('ZREM', zuser, d)
    elseif (not f[2]) or cmp(f[2], now) > 0 then
      table.insert(live, {d, f[1]})
    end
  end
end
if kind == 'r' and #live >= n then return -2 end
local evicted = 0
if kind == 'e' then
  local keep = n - 1
  if keep < 0 then keep = 0 end
  for i = 1, #live - keep do
    local d, tk = live[i][1], live[i][2]
    redis.call('DEL', dpre .. d)
    redis.call('ZREM', zuser, d)
    redis.call('SREM', kpre .. tk, d)
    evicted = evicted + 1
  end
end
if exp ~= '' and tonumber(exp) <= r_ms then
  return evicted
end
redis.call('HSET', rec, unpack(ARGV, 9))
if exp ~= '' then redis.call('PEXPIREAT', rec, tonumber(exp)) end
local existed = redis.call('EXISTS', zuser)
redis.call('ZADD', zuser, created, digest)
keep_until(zuser, existed, exp, r_ms)
existed = redis.call('EXISTS', kset)
redis.call('SADD', kset, digest)
keep_until(kset, existed, exp, r_ms)
return evicted
"#
    ))
});

/// Touch. KEYS: record. ARGV: digest, user-set prefix, key-set prefix,
/// expiry (µs or `''`), expiry (ms or `''`), last used. Returns 0 when
/// there is no such token, else 1.
static TOUCH: LazyLock<Script> = LazyLock::new(|| {
    script(&format!(
        "{LUA_KEEP_UNTIL}{}",
        r#"
local rec, digest = KEYS[1], ARGV[1]
local f = redis.call('HMGET', rec, 't', 'u', 'c')
if not f[1] then return 0 end
local zuser, kset = ARGV[2] .. f[2], ARGV[3] .. f[1]
local exp_us, exp = ARGV[4], ARGV[5]
local r_ms = clock()
if exp ~= '' and tonumber(exp) <= r_ms then
  redis.call('DEL', rec)
  redis.call('ZREM', zuser, digest)
  redis.call('SREM', kset, digest)
  return 1
end
redis.call('HSET', rec, 'l', ARGV[6])
if exp == '' then
  redis.call('HDEL', rec, 'e')
  redis.call('PERSIST', rec)
else
  redis.call('HSET', rec, 'e', exp_us)
  redis.call('PEXPIREAT', rec, tonumber(exp))
end
local existed = redis.call('EXISTS', zuser)
redis.call('ZADD', zuser, f[3], digest)
keep_until(zuser, existed, exp, r_ms)
existed = redis.call('EXISTS', kset)
redis.call('SADD', kset, digest)
keep_until(kset, existed, exp, r_ms)
return 1
"#
    ))
});

/// Delete one token. KEYS: record. ARGV: digest, user-set prefix, key-set
/// prefix. Returns 1 if it existed.
static DELETE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local f = redis.call('HMGET', KEYS[1], 't', 'u')
if not f[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', ARGV[2] .. f[2], ARGV[1])
redis.call('SREM', ARGV[3] .. f[1], ARGV[1])
return 1
"#,
    )
});

/// Delete a user's tokens with a key. KEYS: key set, user set. ARGV: user
/// id, digest prefix. Returns how many.
static DELETE_BY_KEY: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local n = 0
for _, d in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local u = redis.call('HGET', ARGV[2] .. d, 'u')
  if not u then
    redis.call('SREM', KEYS[1], d)
  elseif u == ARGV[1] then
    redis.call('DEL', ARGV[2] .. d)
    redis.call('SREM', KEYS[1], d)
    redis.call('ZREM', KEYS[2], d)
    n = n + 1
  end
end
return n
"#,
    )
});

/// Delete every token of a user. KEYS: user set. ARGV: digest prefix,
/// key-set prefix. Returns how many.
static DELETE_USER: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local n = 0
for _, d in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local tk = redis.call('HGET', ARGV[1] .. d, 't')
  if tk then
    redis.call('DEL', ARGV[1] .. d)
    redis.call('SREM', ARGV[2] .. tk, d)
    n = n + 1
  end
end
redis.call('DEL', KEYS[1])
return n
"#,
    )
});

/// The records of the digests in a set or sorted set, as `{digest, hash}`
/// pairs; members whose record is gone are removed. KEYS: the set. ARGV:
/// digest prefix, `set` or `zset`.
static RECORDS: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local members, remove
if ARGV[2] == 'zset' then
  members, remove = redis.call('ZRANGE', KEYS[1], 0, -1), 'ZREM'
else
  members, remove = redis.call('SMEMBERS', KEYS[1]), 'SREM'
end
local out = {}
for _, d in ipairs(members) do
  local h = redis.call('HGETALL', ARGV[1] .. d)
  if #h == 0 then
    redis.call(remove, KEYS[1], d)
  else
    table.insert(out, {d, h})
  end
end
return out
"#,
    )
});

/// Optional microseconds as a script argument (`''` for none).
fn opt_micros(at: Option<DateTime<Utc>>) -> String {
    at.map(|at| micros(at).to_string()).unwrap_or_default()
}

/// An optional expiry as a `PEXPIREAT` argument (`''` for none).
fn opt_expire_ms(at: Option<DateTime<Utc>>) -> String {
    at.map(|at| expire_ms(at).to_string()).unwrap_or_default()
}

/// A record from its digest and hash.
fn record(digest: String, fields: &Fields) -> Result<KnoxTokenRecord, RedisStoreError> {
    let optional_time = |name, what| {
        field(fields, name)
            .map(|value| parse_micros(value, what))
            .transpose()
    };
    Ok(KnoxTokenRecord {
        token_key: required(fields, "t", "knox token key")?.to_owned(),
        user_id: parse_user(required(fields, "u", "knox user id")?, "knox user id")?,
        created: parse_micros(required(fields, "c", "knox created")?, "knox created")?,
        expiry: optional_time("e", "knox expiry")?,
        last_used: optional_time("l", "knox last used")?,
        name: field(fields, "n").map(str::to_owned),
        digest,
    })
}

impl RedisStore {
    /// The records of the digests in `set` (a `zset` or a `set`).
    async fn knox_records(
        &self,
        set: String,
        kind: &'static str,
    ) -> Result<Vec<KnoxTokenRecord>, RedisStoreError> {
        let prefix = self.keys().knox_digest_prefix().to_owned();
        let reply: Value = self
            .run(|mut conn| async move {
                RECORDS
                    .key(set)
                    .arg(prefix)
                    .arg(kind)
                    .invoke_async(&mut conn)
                    .await
            })
            .await?;
        named_hashes(reply, "knox token records")?
            .into_iter()
            .map(|(digest, fields)| record(digest, &fields))
            .collect()
    }
}

#[async_trait]
impl KnoxTokenStore for RedisStore {
    async fn insert_knox_token(
        &self,
        record: &KnoxTokenRecord,
        limit: TokenLimit,
        now: DateTime<Utc>,
    ) -> Result<KnoxInsert, StoreError> {
        let keys = self.keys();
        let (kind, max) = match limit {
            TokenLimit::Unlimited => ("u", 0),
            TokenLimit::Refuse(max) => ("r", max),
            TokenLimit::EvictOldest(max) => ("e", max),
        };
        let mut pairs: Vec<(&str, String)> = vec![
            ("t", record.token_key.clone()),
            ("u", record.user_id.to_string()),
            ("c", micros(record.created).to_string()),
        ];
        if let Some(expiry) = record.expiry {
            pairs.push(("e", micros(expiry).to_string()));
        }
        if let Some(last_used) = record.last_used {
            pairs.push(("l", micros(last_used).to_string()));
        }
        if let Some(name) = &record.name {
            pairs.push(("n", name.clone()));
        }
        let mut invocation = INSERT.prepare_invoke();
        invocation
            .key(keys.knox_digest(&record.digest))
            .key(keys.knox_user(record.user_id))
            .key(keys.knox_key(&record.token_key))
            .arg(&record.digest)
            .arg(keys.knox_digest_prefix())
            .arg(keys.knox_key_prefix())
            .arg(micros(now))
            .arg(kind)
            .arg(max)
            .arg(micros(record.created))
            .arg(opt_expire_ms(record.expiry));
        for (name, value) in &pairs {
            invocation.arg(*name).arg(value);
        }
        let reply: i64 = self
            .run(|mut conn| async move { invocation.invoke_async(&mut conn).await })
            .await?;
        match reply {
            -1 => Err(StoreError::Conflict("digest".into())),
            -2 => Ok(KnoxInsert::LimitReached),
            evicted => Ok(KnoxInsert::Inserted {
                evicted: u64::try_from(evicted)
                    .map_err(|_| RedisStoreError::Corrupt("knox insert reply"))?,
            }),
        }
    }

    async fn knox_tokens_by_key(
        &self,
        token_key: &str,
    ) -> Result<Vec<KnoxTokenRecord>, StoreError> {
        Ok(self
            .knox_records(self.keys().knox_key(token_key), "set")
            .await?)
    }

    async fn touch_knox_token(
        &self,
        digest: &str,
        expiry: Option<DateTime<Utc>>,
        last_used: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let keys = self.keys();
        let mut invocation = TOUCH.prepare_invoke();
        invocation
            .key(keys.knox_digest(digest))
            .arg(digest)
            .arg(keys.knox_user_prefix())
            .arg(keys.knox_key_prefix())
            .arg(opt_micros(expiry))
            .arg(opt_expire_ms(expiry))
            .arg(micros(last_used));
        let reply: i64 = self
            .run(|mut conn| async move { invocation.invoke_async(&mut conn).await })
            .await?;
        Ok(reply == 1)
    }

    async fn delete_knox_token(&self, digest: &str) -> Result<bool, StoreError> {
        let keys = self.keys();
        let mut invocation = DELETE.prepare_invoke();
        invocation
            .key(keys.knox_digest(digest))
            .arg(digest)
            .arg(keys.knox_user_prefix())
            .arg(keys.knox_key_prefix());
        let reply: i64 = self
            .run(|mut conn| async move { invocation.invoke_async(&mut conn).await })
            .await?;
        Ok(reply == 1)
    }

    async fn delete_knox_token_by_key(
        &self,
        user: UserId,
        token_key: &str,
    ) -> Result<bool, StoreError> {
        let keys = self.keys();
        let mut invocation = DELETE_BY_KEY.prepare_invoke();
        invocation
            .key(keys.knox_key(token_key))
            .key(keys.knox_user(user))
            .arg(user.to_string())
            .arg(keys.knox_digest_prefix());
        let reply: i64 = self
            .run(|mut conn| async move { invocation.invoke_async(&mut conn).await })
            .await?;
        Ok(reply > 0)
    }

    async fn delete_user_knox_tokens(&self, user: UserId) -> Result<u64, StoreError> {
        let keys = self.keys();
        let mut invocation = DELETE_USER.prepare_invoke();
        invocation
            .key(keys.knox_user(user))
            .arg(keys.knox_digest_prefix())
            .arg(keys.knox_key_prefix());
        let reply: Value = self
            .run(|mut conn| async move { invocation.invoke_async(&mut conn).await })
            .await?;
        let deleted = int(reply, "knox delete reply")?;
        Ok(u64::try_from(deleted).map_err(|_| RedisStoreError::Corrupt("knox delete reply"))?)
    }

    async fn user_knox_tokens(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<KnoxTokenRecord>, StoreError> {
        let mut live: Vec<KnoxTokenRecord> = self
            .knox_records(self.keys().knox_user(user), "zset")
            .await?
            .into_iter()
            .filter(|record| record.user_id == user && record.is_live(now))
            .collect();
        live.sort_by(|a, b| (b.created, &b.digest).cmp(&(a.created, &a.digest)));
        Ok(live)
    }

    /// Redis drops each token at its expiry by itself (and never stores one
    /// whose expiry has already passed by its clock), so there is nothing
    /// to purge: returns 0 without a round trip. Tokens whose expiry has
    /// passed by `now` but not yet by Redis's clock (a server clock ahead
    /// of Redis's) stay until Redis's clock reaches it; readers judge expiry
    /// by their own `now` anyway.
    async fn purge_expired_knox_tokens(&self, _now: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(0)
    }
}
