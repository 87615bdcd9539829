//! [`JwtRevocationStore`] for [`RedisStore`].
//!
//! A blacklist entry is the hash `{p}jwt:jti:<jti>` with the fields `u`
//! (user id), `e` (expires at), `b` (blacklisted at) and, when set, `f`
//! (family); a revoked family is the hash `{p}jwt:family:<family>` with `u`
//! and `e`. Both expire at `expires_at` plus the expiry grace, or when that
//! has already passed by Redis's clock as they are written, one grace after
//! the write; those written already expired are also listed in the sorted
//! set `{p}jwt:expired` (scored by `expires_at`), which is what the purge
//! walks. A user's mark is the string `{p}jwt:valid_after:<uuid>` and never
//! expires. Times are microseconds.

use std::sync::LazyLock;

use async_trait::async_trait;
use auth_core::error::StoreError;
use auth_core::store::{BlacklistEntry, JwtRevocationStore, RevocationState};
use auth_core::user::UserId;
use chrono::{DateTime, Utc};
use redis::aio::ConnectionManager;
use redis::{Script, Value};

use crate::error::RedisStoreError;
use crate::store::{
    RedisStore, expire_ms, field, fields, int, micros, parse_micros, parse_user, required, script,
    string,
};
use crate::tracking::{Lookup, Read};

/// Blacklist. KEYS: entry, expired index. ARGV: index member, expires at
/// (µs), expires at (ms), grace (ms), then the entry's field/value pairs.
/// Returns 1 if this call added the entry, 0 if it was there.
static BLACKLIST: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local r_ms, r_us = clock()
local grace = tonumber(ARGV[4])
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('PEXPIREAT', KEYS[1], math.max(tonumber(ARGV[3]), r_ms) + grace)
if cmp(ARGV[2], r_us) <= 0 then
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
  redis.call('PEXPIREAT', KEYS[2], r_ms + grace)
end
return 1
"#,
    )
});

/// Revoke a family. KEYS: family, expired index. ARGV: index member, user
/// id, expires at (µs), expires at (ms), grace (ms). The record keeps the
/// later of its `expires_at` and the new one.
static REVOKE_FAMILY: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local r_ms, r_us = clock()
local grace = tonumber(ARGV[5])
local e = ARGV[3]
local cur = redis.call('HGET', KEYS[1], 'e')
if cur and cmp(cur, e) > 0 then e = cur end
local target = math.max(tonumber(ARGV[4]), r_ms) + grace
local pttl = redis.call('PTTL', KEYS[1])
if pttl >= 0 and r_ms + pttl > target then target = r_ms + pttl end
redis.call('HSET', KEYS[1], 'e', e)
redis.call('HSETNX', KEYS[1], 'u', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], target)
if cmp(e, r_us) <= 0 then
  redis.call('ZADD', KEYS[2], e, ARGV[1])
  redis.call('PEXPIREAT', KEYS[2], r_ms + grace)
else
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return 1
"#,
    )
});

/// Move a mark forward. KEYS: mark. ARGV: the new mark (µs).
static VALID_AFTER: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local cur = redis.call('GET', KEYS[1])
if (not cur) or cmp(ARGV[1], cur) > 0 then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
"#,
    )
});

/// Purge. KEYS: expired index. ARGV: now (µs), jti prefix, family prefix.
/// Deletes the indexed records expired at `now`; returns how many.
static PURGE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local n = 0
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])) do
  local k
  if string.sub(m, 1, 2) == 'j:' then k = ARGV[2] .. string.sub(m, 3)
  else k = ARGV[3] .. string.sub(m, 3) end
  local e = redis.call('HGET', k, 'e')
  if not e then
    redis.call('ZREM', KEYS[1], m)
  elseif cmp(e, ARGV[1]) <= 0 then
    redis.call('DEL', k)
    redis.call('ZREM', KEYS[1], m)
    n = n + 1
  end
end
return n
"#,
    )
});

#[async_trait]
impl JwtRevocationStore for RedisStore {
    async fn blacklist_jti(&self, entry: &BlacklistEntry) -> Result<bool, StoreError> {
        let keys = self.keys();
        let mut invocation = BLACKLIST.prepare_invoke();
        invocation
            .key(keys.jwt_jti(&entry.jti))
            .key(keys.jwt_expired())
            .arg(format!("j:{}", entry.jti))
            .arg(micros(entry.expires_at))
            .arg(expire_ms(entry.expires_at))
            .arg(self.grace_ms())
            .arg("u")
            .arg(entry.user_id.to_string())
            .arg("e")
            .arg(micros(entry.expires_at))
            .arg("b")
            .arg(micros(entry.blacklisted_at));
        if let Some(family) = &entry.family {
            invocation.arg("f").arg(family);
        }
        let reply: i64 = self
            .run(|mut conn| async move { invocation.invoke_async(&mut conn).await })
            .await?;
        Ok(reply == 1)
    }

    async fn blacklisted_jti(&self, jti: &str) -> Result<Option<BlacklistEntry>, StoreError> {
        let key = self.keys().jwt_jti(jti);
        let reply: Value =
            self.run(|mut conn| async move {
                redis::cmd("HGETALL").arg(key).query_async(&mut conn).await
            })
            .await?;
        let hash = fields(reply, "blacklist entry")?;
        if hash.is_empty() {
            return Ok(None);
        }
        let time =
            |name, what| required(&hash, name, what).and_then(|value| parse_micros(value, what));
        Ok(Some(BlacklistEntry {
            jti: jti.to_owned(),
            user_id: parse_user(
                required(&hash, "u", "blacklist user id")?,
                "blacklist user id",
            )?,
            family: field(&hash, "f").map(str::to_owned),
            expires_at: time("e", "blacklist expires_at")?,
            blacklisted_at: time("b", "blacklist blacklisted_at")?,
        }))
    }

    async fn revoke_family(
        &self,
        family: &str,
        user: UserId,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let keys = self.keys();
        let key = keys.jwt_family(family);
        let mut invocation = REVOKE_FAMILY.prepare_invoke();
        invocation
            .key(&key)
            .key(keys.jwt_expired())
            .arg(format!("f:{family}"))
            .arg(user.to_string())
            .arg(micros(expires_at))
            .arg(expire_ms(expires_at))
            .arg(self.grace_ms());
        let written: Result<i64, _> = self
            .run(|mut conn| async move { invocation.invoke_async(&mut conn).await })
            .await;
        self.forget_tracked(Some(&key));
        written?;
        Ok(())
    }

    async fn set_tokens_valid_after(
        &self,
        user: UserId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let key = self.keys().jwt_valid_after(user);
        let mut invocation = VALID_AFTER.prepare_invoke();
        invocation.key(&key).arg(micros(at));
        let written: Result<i64, _> = self
            .run(|mut conn| async move { invocation.invoke_async(&mut conn).await })
            .await;
        self.forget_tracked(Some(&key));
        written?;
        Ok(())
    }

    async fn revocation_state(
        &self,
        user: UserId,
        family: Option<&str>,
    ) -> Result<RevocationState, StoreError> {
        let keys = self.keys();
        let mark = keys.jwt_valid_after(user);
        let family = family.map(|family| keys.jwt_family(family));
        let Some(tracking) = self.tracking() else {
            let (_, state) = self
                .read_revocation_state(self.connection(), false, &mark, family.as_deref())
                .await?;
            return Ok(state);
        };
        let generation = match tracking.lookup(&mark, family.as_deref()) {
            Lookup::Known(state) => return Ok(state),
            Lookup::Read(generation) => generation,
        };
        let (connection, state) = self
            .read_revocation_state(tracking.connection(), true, &mark, family.as_deref())
            .await?;
        if let Some(connection) = connection {
            tracking.remember(Read {
                generation,
                connection,
                mark,
                family,
                state,
            });
        }
        Ok(state)
    }

    /// Deletes the blacklist entries and families that were written already
    /// expired (by Redis's clock) and have expired at `now`, and returns how
    /// many. The others Redis drops by itself one expiry grace after their
    /// `expires_at`; they are not counted.
    async fn purge_expired_revocations(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let keys = self.keys();
        let mut invocation = PURGE.prepare_invoke();
        invocation
            .key(keys.jwt_expired())
            .arg(micros(now))
            .arg(keys.jwt_jti_prefix())
            .arg(keys.jwt_family_prefix());
        let reply: Result<i64, _> = self
            .run(|mut conn| async move { invocation.invoke_async(&mut conn).await })
            .await;
        self.forget_tracked(None);
        Ok(u64::try_from(reply?).map_err(|_| RedisStoreError::Corrupt("purge reply"))?)
    }
}

impl RedisStore {
    /// Reads the mark under `mark` and whether `family` exists, in one
    /// round trip on `connection`. `track` first turns tracking on for the
    /// connection (it may be a new one since the last read) and asks for
    /// its id, returned first.
    async fn read_revocation_state(
        &self,
        connection: ConnectionManager,
        track: bool,
        mark: &str,
        family: Option<&str>,
    ) -> Result<(Option<i64>, RevocationState), StoreError> {
        let mut pipe = redis::pipe();
        if track {
            pipe.cmd("CLIENT").arg("TRACKING").arg("ON").ignore();
            pipe.cmd("CLIENT").arg("ID");
        }
        pipe.cmd("GET").arg(mark);
        if let Some(family) = family {
            pipe.cmd("EXISTS").arg(family);
        }
        let replies: Vec<Value> = self
            .run_on(connection, |mut conn| async move {
                pipe.query_async(&mut conn).await
            })
            .await?;
        let mut replies = replies.into_iter();
        let missing = || RedisStoreError::Corrupt("revocation state reply");
        let connection_id = match track {
            true => Some(int(replies.next().ok_or_else(missing)?, "CLIENT ID reply")?),
            false => None,
        };
        let tokens_valid_after = match replies.next().ok_or_else(missing)? {
            Value::Nil => None,
            mark => Some(parse_micros(
                &string(mark, "tokens valid after")?,
                "tokens valid after",
            )?),
        };
        let family_revoked = match replies.next() {
            Some(exists) => int(exists, "revocation state reply")? > 0,
            None => false,
        };
        Ok((
            connection_id,
            RevocationState {
                tokens_valid_after,
                family_revoked,
            },
        ))
    }
}
