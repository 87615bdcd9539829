//! [`StaticTokenStore`] for [`RedisStore`].
//!
//! The user's token is the hash `{p}static:user:<uuid>` with the fields `d`
//! (digest), `s` (seed; absent for an imported key, which has none) and `c`
//! (created, microseconds); the string
//! `{p}static:digest:<digest>` names its owner. Neither expires.

use std::sync::LazyLock;

use async_trait::async_trait;
use auth_core::error::StoreError;
use auth_core::store::{StaticTokenRecord, StaticTokenStore};
use auth_core::user::UserId;
use redis::{Script, Value};

use crate::error::RedisStoreError;
use crate::store::{
    Fields, RedisStore, array, field, fields, int, micros, parse_micros, parse_user, required,
    script, string,
};

/// Get or insert. KEYS: user hash, digest key. ARGV: user id, digest,
/// created, and the seed if there is one. Returns `{0}` when stored, `{1, hash}` when the user
/// already has a token, `{2}` when another user's token has the digest.
static GET_OR_INSERT: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local h = redis.call('HGETALL', KEYS[1])
if #h > 0 then return {1, h} end
if redis.call('EXISTS', KEYS[2]) == 1 then return {2} end
if ARGV[4] then
  redis.call('HSET', KEYS[1], 'd', ARGV[2], 's', ARGV[4], 'c', ARGV[3])
else
  redis.call('HSET', KEYS[1], 'd', ARGV[2], 'c', ARGV[3])
end
redis.call('SET', KEYS[2], ARGV[1])
return {0}
"#,
    )
});

/// By digest. KEYS: digest key. ARGV: digest, user-hash prefix. Returns
/// `{user, hash}`, or `{}` when there is none.
static BY_DIGEST: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local u = redis.call('GET', KEYS[1])
if not u then return {} end
local h = redis.call('HGETALL', ARGV[2] .. u)
for i = 1, #h, 2 do
  if h[i] == 'd' and h[i + 1] == ARGV[1] then return {u, h} end
end
return {}
"#,
    )
});

/// Delete. KEYS: user hash. ARGV: user id, digest prefix. Returns 1 if the
/// user had a token.
static DELETE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local d = redis.call('HGET', KEYS[1], 'd')
if not d then return 0 end
redis.call('DEL', KEYS[1])
if redis.call('GET', ARGV[2] .. d) == ARGV[1] then redis.call('DEL', ARGV[2] .. d) end
return 1
"#,
    )
});

/// A record of `user` from its hash.
fn record(user: UserId, fields: &Fields) -> Result<StaticTokenRecord, RedisStoreError> {
    Ok(StaticTokenRecord {
        user_id: user,
        digest: required(fields, "d", "static token digest")?.to_owned(),
        seed: field(fields, "s").map(str::to_owned),
        created: parse_micros(
            required(fields, "c", "static token created")?,
            "static token created",
        )?,
    })
}

#[async_trait]
impl StaticTokenStore for RedisStore {
    async fn get_or_insert_static_token(
        &self,
        record: &StaticTokenRecord,
    ) -> Result<StaticTokenRecord, StoreError> {
        let keys = self.keys();
        let mut invocation = GET_OR_INSERT.prepare_invoke();
        invocation
            .key(keys.static_user(record.user_id))
            .key(keys.static_digest(&record.digest))
            .arg(record.user_id.to_string())
            .arg(&record.digest)
            .arg(micros(record.created));
        if let Some(seed) = &record.seed {
            invocation.arg(seed);
        }
        let reply: Value = self
            .run(|mut conn| async move { invocation.invoke_async(&mut conn).await })
            .await?;
        let mut reply = array(reply, "static token reply")?.into_iter();
        let status = reply
            .next()
            .ok_or(RedisStoreError::Corrupt("static token reply"))?;
        match int(status, "static token reply")? {
            0 => Ok(record.clone()),
            1 => {
                let existing = reply
                    .next()
                    .ok_or(RedisStoreError::Corrupt("static token reply"))?;
                Ok(record_of(record.user_id, existing)?)
            }
            2 => Err(StoreError::Conflict("digest".into())),
            _ => Err(RedisStoreError::Corrupt("static token reply").into()),
        }
    }

    async fn static_token_by_digest(
        &self,
        digest: &str,
    ) -> Result<Option<StaticTokenRecord>, StoreError> {
        let keys = self.keys();
        let mut invocation = BY_DIGEST.prepare_invoke();
        invocation
            .key(keys.static_digest(digest))
            .arg(digest)
            .arg(keys.static_user_prefix());
        let reply: Value = self
            .run(|mut conn| async move { invocation.invoke_async(&mut conn).await })
            .await?;
        let mut reply = array(reply, "static token reply")?.into_iter();
        match (reply.next(), reply.next()) {
            (Some(user), Some(hash)) => {
                let user = parse_user(&string(user, "static token owner")?, "static token owner")?;
                Ok(Some(record_of(user, hash)?))
            }
            (None, None) => Ok(None),
            _ => Err(RedisStoreError::Corrupt("static token reply").into()),
        }
    }

    async fn static_token_for_user(
        &self,
        user: UserId,
    ) -> Result<Option<StaticTokenRecord>, StoreError> {
        let key = self.keys().static_user(user);
        let reply: Value =
            self.run(|mut conn| async move {
                redis::cmd("HGETALL").arg(key).query_async(&mut conn).await
            })
            .await?;
        let hash = fields(reply, "static token")?;
        if hash.is_empty() {
            return Ok(None);
        }
        Ok(Some(record(user, &hash)?))
    }

    async fn delete_static_token(&self, user: UserId) -> Result<bool, StoreError> {
        let keys = self.keys();
        let mut invocation = DELETE.prepare_invoke();
        invocation
            .key(keys.static_user(user))
            .arg(user.to_string())
            .arg(keys.static_digest_prefix());
        let reply: i64 = self
            .run(|mut conn| async move { invocation.invoke_async(&mut conn).await })
            .await?;
        Ok(reply == 1)
    }
}

/// A record of `user` from a hash reply.
fn record_of(user: UserId, hash: Value) -> Result<StaticTokenRecord, RedisStoreError> {
    record(user, &fields(hash, "static token")?)
}
