//! [`BrowserSessionStore`] for [`RedisStore`].
//!
//! A session is the hash `{p}oauth:session:<digest>` with the fields `u`
//! (user id), `at` (auth time), `c` (created) and `e` (expires); it expires
//! at `e` plus the expiry grace, and one written already expired is listed
//! in `{p}oauth:expired:` as `s:<digest>` for the purge. The set
//! `{p}oauth:user_sessions:<uuid>` holds the user's digests and lives as
//! long as the longest of them.

use std::sync::LazyLock;

use async_trait::async_trait;
use auth_core::error::StoreError;
use auth_core::oauth::BrowserSession;
use auth_core::store::BrowserSessionStore;
use auth_core::user::UserId;
use chrono::{DateTime, Utc};
use redis::Script;

use crate::error::RedisStoreError;
use crate::store::{
    RedisStore, micros, oauth_script, parse_user, required, required_micros, status_and_hash,
    time_args,
};

/// Insert. KEYS: session, user set, expired index. ARGV: digest, member,
/// expires (µs), expires (ms), grace (ms), then the field/value pairs.
/// Returns `{1}` if stored, `{0}` if the digest is taken.
static INSERT: LazyLock<Script> = LazyLock::new(|| {
    oauth_script(
        r#"
if redis.call('EXISTS', KEYS[1]) == 1 then return {0} end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
local target = expire_record(KEYS[1], ARGV[3], ARGV[4], tonumber(ARGV[5]), KEYS[3], ARGV[2])
local existed = redis.call('EXISTS', KEYS[2]) == 1
redis.call('SADD', KEYS[2], ARGV[1])
extend(KEYS[2], existed, target)
return {1}
"#,
    )
});

/// Delete the user's sessions. KEYS: user set. ARGV: session prefix, user
/// id. Returns how many it deleted.
static DELETE_USER: LazyLock<Script> = LazyLock::new(|| {
    oauth_script(
        r#"
local n = 0
for _, d in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local k = ARGV[1] .. d
  if redis.call('HGET', k, 'u') == ARGV[2] then
    redis.call('DEL', k)
    n = n + 1
  end
end
redis.call('DEL', KEYS[1])
return n
"#,
    )
});

/// Purge. KEYS: expired index. ARGV: now (µs), session prefix.
static PURGE: LazyLock<Script> =
    LazyLock::new(|| oauth_script("return purge(KEYS[1], ARGV[1], 's:', ARGV[2])"));

#[async_trait]
impl BrowserSessionStore for RedisStore {
    async fn insert_session(&self, session: &BrowserSession) -> Result<(), StoreError> {
        let keys = self.keys();
        let (e_us, e_ms) = time_args(Some(session.expires));
        let mut invocation = INSERT.prepare_invoke();
        invocation
            .key(keys.oauth("session", &session.digest))
            .key(keys.oauth("user_sessions", &session.user_id.to_string()))
            .key(keys.oauth("expired", ""))
            .arg(&session.digest)
            .arg(format!("s:{}", session.digest))
            .arg(&e_us)
            .arg(e_ms)
            .arg(self.grace_ms())
            .arg("u")
            .arg(session.user_id.to_string())
            .arg("at")
            .arg(micros(session.auth_time))
            .arg("c")
            .arg(micros(session.created))
            .arg("e")
            .arg(e_us);
        match status_and_hash(self, invocation, "browser session insert").await? {
            (1, _) => Ok(()),
            (0, _) => Err(StoreError::Conflict("digest".into())),
            _ => Err(RedisStoreError::Corrupt("browser session insert").into()),
        }
    }

    async fn session(&self, digest: &str) -> Result<Option<BrowserSession>, StoreError> {
        const WHAT: &str = "browser session";
        let key = self.keys().oauth("session", digest);
        let Some(h) = self.hash(key, WHAT).await? else {
            return Ok(None);
        };
        Ok(Some(BrowserSession {
            digest: digest.to_owned(),
            user_id: parse_user(required(&h, "u", WHAT)?, WHAT)?,
            auth_time: required_micros(&h, "at", WHAT)?,
            created: required_micros(&h, "c", WHAT)?,
            expires: required_micros(&h, "e", WHAT)?,
        }))
    }

    async fn delete_session(&self, digest: &str) -> Result<bool, StoreError> {
        let key = self.keys().oauth("session", digest);
        let deleted: u64 = self
            .run(|mut conn| async move { redis::cmd("DEL").arg(key).query_async(&mut conn).await })
            .await?;
        Ok(deleted > 0)
    }

    async fn delete_user_sessions(&self, user: UserId) -> Result<u64, StoreError> {
        let keys = self.keys();
        let mut invocation = DELETE_USER.prepare_invoke();
        invocation
            .key(keys.oauth("user_sessions", &user.to_string()))
            .arg(keys.oauth("session", ""))
            .arg(user.to_string());
        let deleted: u64 = self
            .run(|mut conn| async move { invocation.invoke_async(&mut conn).await })
            .await?;
        Ok(deleted)
    }

    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(self.purge_oauth(&PURGE, "session", now).await?)
    }
}
