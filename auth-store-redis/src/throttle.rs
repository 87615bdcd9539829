//! [`ThrottleStore`] for [`RedisStore`].
//!
//! A window is the hash `{p}throttle:<key>` with the fields `c` (count) and
//! `r` (resets at, microseconds). Whether a window is open is judged by the
//! `now` each call is given; Redis drops the hash one expiry grace after
//! `resets_at` (or, when that has already passed by its clock, one grace
//! after the window started).

use std::sync::LazyLock;

use async_trait::async_trait;
use auth_core::error::StoreError;
use auth_core::store::{ThrottleCount, ThrottleStore};
use chrono::{DateTime, Duration, Utc};
use redis::{Script, Value};

use crate::error::RedisStoreError;
use crate::store::{RedisStore, array, expire_ms, int, micros, parse_micros, script, string};

/// Hit. KEYS: window. ARGV: now (µs), the end of a new window (µs, ms),
/// grace (ms). Returns `{count, resets_at}`.
static HIT: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local f = redis.call('HMGET', KEYS[1], 'c', 'r')
if f[1] and f[2] and cmp(ARGV[1], f[2]) < 0 then
  return {redis.call('HINCRBY', KEYS[1], 'c', 1), f[2]}
end
local r_ms = clock()
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'c', 1, 'r', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], math.max(tonumber(ARGV[3]), r_ms) + tonumber(ARGV[4]))
return {1, ARGV[2]}
"#,
    )
});

/// Purge. KEYS: windows. ARGV: now (µs). Deletes each window that has
/// ended at `now`; returns how many.
static PURGE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local n = 0
for _, key in ipairs(KEYS) do
  local r = redis.call('HGET', key, 'r')
  if r and cmp(ARGV[1], r) >= 0 then
    redis.call('DEL', key)
    n = n + 1
  end
end
return n
"#,
    )
});

/// Release. KEYS: window. ARGV: now (µs), the window's end (µs). Takes one
/// off the count while that window is the open one and its count is above
/// zero; never creates, ends or moves a window.
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local f = redis.call('HMGET', KEYS[1], 'c', 'r')
if f[1] and f[2] and f[2] == ARGV[2] and cmp(ARGV[1], f[2]) < 0 and tonumber(f[1]) > 0 then
  redis.call('HINCRBY', KEYS[1], 'c', -1)
end
return 0
"#,
    )
});

/// A `{count, resets_at}` pair.
fn count(count: Value, resets_at: Value) -> Result<ThrottleCount, RedisStoreError> {
    Ok(ThrottleCount {
        count: u64::try_from(int(count, "throttle count")?)
            .map_err(|_| RedisStoreError::Corrupt("throttle count"))?,
        resets_at: parse_micros(
            &string(resets_at, "throttle resets_at")?,
            "throttle resets_at",
        )?,
    })
}

#[async_trait]
impl ThrottleStore for RedisStore {
    async fn throttle_hit(
        &self,
        key: &str,
        window: Duration,
        now: DateTime<Utc>,
    ) -> Result<ThrottleCount, StoreError> {
        let resets_at = now
            .checked_add_signed(window)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let mut invocation = HIT.prepare_invoke();
        invocation
            .key(self.keys().throttle(key))
            .arg(micros(now))
            .arg(micros(resets_at))
            .arg(expire_ms(resets_at))
            .arg(self.grace_ms());
        let reply: Value = self
            .run(|mut conn| async move { invocation.invoke_async(&mut conn).await })
            .await?;
        let mut reply = array(reply, "throttle reply")?.into_iter();
        match (reply.next(), reply.next(), reply.next()) {
            (Some(n), Some(resets_at), None) => Ok(count(n, resets_at)?),
            _ => Err(RedisStoreError::Corrupt("throttle reply").into()),
        }
    }

    async fn throttle_peek(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ThrottleCount>, StoreError> {
        let key = self.keys().throttle(key);
        let reply: Vec<Value> = self
            .run(|mut conn| async move {
                redis::cmd("HMGET")
                    .arg(key)
                    .arg("c")
                    .arg("r")
                    .query_async(&mut conn)
                    .await
            })
            .await?;
        let mut reply = reply.into_iter();
        match (reply.next(), reply.next()) {
            (Some(Value::Nil), _) | (_, Some(Value::Nil)) => Ok(None),
            (Some(n), Some(resets_at)) => {
                let current = count(n, resets_at)?;
                Ok((now < current.resets_at).then_some(current))
            }
            _ => Err(RedisStoreError::Corrupt("throttle reply").into()),
        }
    }

    async fn throttle_clear(&self, key: &str) -> Result<(), StoreError> {
        let key = self.keys().throttle(key);
        let _: i64 = self
            .run(|mut conn| async move { redis::cmd("DEL").arg(key).query_async(&mut conn).await })
            .await?;
        Ok(())
    }

    async fn throttle_release(
        &self,
        key: &str,
        resets_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut invocation = RELEASE.prepare_invoke();
        invocation
            .key(self.keys().throttle(key))
            .arg(micros(now))
            .arg(micros(resets_at));
        let _: i64 = self
            .run(|mut conn| async move { invocation.invoke_async(&mut conn).await })
            .await?;
        Ok(())
    }

    /// Redis drops each window by itself an expiry grace after it ends by
    /// Redis's clock; this scans the windows (`SCAN`, in batches) for the
    /// ones ended at `now` that it still holds.
    async fn purge_ended_throttle_windows(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let now = micros(now);
        self.scan(self.keys().all_throttles(), |keys| async move {
            let mut invocation = PURGE.prepare_invoke();
            for key in keys {
                invocation.key(key);
            }
            invocation.arg(now);
            let purged: i64 = self
                .run(|mut conn| async move { invocation.invoke_async(&mut conn).await })
                .await?;
            Ok(u64::try_from(purged).unwrap_or(0))
        })
        .await
    }
}
