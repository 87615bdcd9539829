//! [`OAuthTokenStore`] for [`RedisStore`].
//!
//! A token is the hash `{p}oauth:token:<digest>` with the fields `k`
//! (kind), `a` (application id), `s` (scopes), `f` (family), `c` (created)
//! and when set `u` (user id), `e` (expires), `rv` (revoked at) and `ro`
//! (rotated at). One with an expiry expires at `e` plus the expiry grace
//! (one written already expired is listed in `{p}oauth:expired:` as
//! `t:<digest>` for the purge); one without never does. The sets
//! `{p}oauth:family:<family>`, `{p}oauth:user_tokens:<uuid>` and
//! `{p}oauth:app_tokens:<uuid>` hold the digests of a family, a user and an
//! application, and live as long as their longest-lived token.
//!
//! A revoked family is the string `{p}oauth:revoked:<family>` (when it was
//! revoked), listed in the sorted set `{p}oauth:revoked_index:` for the
//! purge; it lives at least an hour, and as long as its family's set. The
//! insert and the revocation are scripts, so one runs wholly before the
//! other: an insert after a revocation sees the mark, a revocation after an
//! insert revokes the token.

use std::sync::LazyLock;

use async_trait::async_trait;
use auth_core::error::StoreError;
use auth_core::oauth::{ApplicationId, FamilyId, OAuthToken, OAuthTokenKind, Scopes};
use auth_core::store::{OAuthTokenStore, RefreshUse};
use auth_core::user::UserId;
use chrono::{DateTime, Duration, Utc};
use redis::Script;

use crate::error::RedisStoreError;
use crate::store::{
    Fields, RedisStore, field, micros, oauth_script, optional_micros, required_micros,
    required_parsed, status_and_hash, time_args,
};

/// How long a revoked-family mark lives at least (the contract's hour).
const FAMILY_MARK_LIFE: Duration = Duration::hours(1);

/// `revoke(set, now, prefix, name, value)`: revokes at `now` the unrevoked
/// tokens listed in `set` (whose field `name` is `value`, when `name` is
/// not empty); returns how many.
const LUA_REVOKE: &str = r#"
local function revoke(set, now, prefix, name, value)
  local n = 0
  for _, d in ipairs(redis.call('SMEMBERS', set)) do
    local k = prefix .. d
    if redis.call('EXISTS', k) == 1 and redis.call('HEXISTS', k, 'rv') == 0
      and (name == '' or redis.call('HGET', k, name) == value) then
      redis.call('HSET', k, 'rv', now)
      n = n + 1
    end
  end
  return n
end
"#;

/// A token script: the OAuth2 helpers, `revoke`, then `body`.
fn token_script(body: &str) -> Script {
    oauth_script(&format!("{LUA_REVOKE}{body}"))
}

/// Insert. KEYS: token, family set, application set, user set, mark,
/// expired index. ARGV: digest, member, expires (µs, or ''), expires (ms,
/// or ''), grace (ms), whether there is a user ('1'), then the field/value
/// pairs. Returns `{1}` if stored, `{0}` if the digest is taken, `{2}` if
/// the family is revoked.
static INSERT: LazyLock<Script> = LazyLock::new(|| {
    token_script(
        r#"
if redis.call('EXISTS', KEYS[1]) == 1 then return {0} end
if redis.call('EXISTS', KEYS[5]) == 1 then return {2} end
redis.call('HSET', KEYS[1], unpack(ARGV, 7))
local target = expire_record(KEYS[1], ARGV[3], ARGV[4], tonumber(ARGV[5]), KEYS[6], ARGV[2])
local sets = {KEYS[2], KEYS[3]}
if ARGV[6] == '1' then table.insert(sets, KEYS[4]) end
for _, set in ipairs(sets) do
  local existed = redis.call('EXISTS', set) == 1
  redis.call('SADD', set, ARGV[1])
  extend(set, existed, target)
end
return {1}
"#,
    )
});

/// Rotate. KEYS: token. ARGV: now (µs). Returns `{0}` (no refresh token),
/// `{1, h}` (rotated now), `{2, h}` (rotated before) or `{3, h}` (revoked
/// or expired).
static ROTATE: LazyLock<Script> = LazyLock::new(|| {
    token_script(
        r#"
if redis.call('HGET', KEYS[1], 'k') ~= 'refresh' then return {0} end
local h = redis.call('HGETALL', KEYS[1])
if redis.call('HEXISTS', KEYS[1], 'ro') == 1 then return {2, h} end
local e = redis.call('HGET', KEYS[1], 'e')
if redis.call('HEXISTS', KEYS[1], 'rv') == 1 or (e and cmp(e, ARGV[1]) <= 0) then
  return {3, h}
end
redis.call('HSET', KEYS[1], 'ro', ARGV[1])
return {1, redis.call('HGETALL', KEYS[1])}
"#,
    )
});

/// Revoke one token. KEYS: token. ARGV: now (µs). Returns 1 if it revoked.
static REVOKE_ONE: LazyLock<Script> = LazyLock::new(|| {
    token_script(
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'rv') == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'rv', ARGV[1])
return 1
"#,
    )
});

/// Revoke the tokens of a set. KEYS: set. ARGV: now (µs), token prefix,
/// field name (or ''), field value. Returns how many it revoked.
static REVOKE_SET: LazyLock<Script> =
    LazyLock::new(|| token_script("return revoke(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])"));

/// Revoke a family. KEYS: family set, mark, mark index. ARGV: now (µs),
/// token prefix, family, the mark's least life (ms). Returns how many
/// tokens it revoked.
static REVOKE_FAMILY: LazyLock<Script> = LazyLock::new(|| {
    token_script(
        r#"
local at = redis.call('GET', KEYS[2])
if (not at) or cmp(ARGV[1], at) > 0 then at = ARGV[1] end
redis.call('SET', KEYS[2], at)
redis.call('ZADD', KEYS[3], at, ARGV[3])
local pttl = redis.call('PTTL', KEYS[1])
if pttl ~= -1 then
  local r_ms = clock()
  local target = r_ms + tonumber(ARGV[4])
  if pttl >= 0 and r_ms + pttl > target then target = r_ms + pttl end
  redis.call('PEXPIREAT', KEYS[2], target)
end
return revoke(KEYS[1], ARGV[1], ARGV[2], '', '')
"#,
    )
});

/// Purge. KEYS: expired index, mark index. ARGV: now (µs), token prefix,
/// family-set prefix, mark prefix, the latest revocation whose mark may go
/// (µs). Returns how many tokens it deleted.
static PURGE: LazyLock<Script> = LazyLock::new(|| {
    token_script(
        r#"
local n = purge(KEYS[1], ARGV[1], 't:', ARGV[2])
for _, f in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[5])) do
  local mark = ARGV[4] .. f
  local at = redis.call('GET', mark)
  if not at then
    redis.call('ZREM', KEYS[2], f)
  elseif cmp(at, ARGV[5]) <= 0 then
    local kept = false
    for _, d in ipairs(redis.call('SMEMBERS', ARGV[3] .. f)) do
      if redis.call('EXISTS', ARGV[2] .. d) == 1 then
        kept = true
        break
      end
    end
    if not kept then
      redis.call('DEL', mark)
      redis.call('ZREM', KEYS[2], f)
    end
  end
end
return n
"#,
    )
});

/// A token from its hash.
fn token(digest: &str, h: &Fields) -> Result<OAuthToken, RedisStoreError> {
    const WHAT: &str = "OAuth2 token";
    Ok(OAuthToken {
        digest: digest.to_owned(),
        kind: required_parsed(h, "k", WHAT, OAuthTokenKind::parse)?,
        application_id: required_parsed(h, "a", WHAT, |id| id.parse().ok())?,
        user_id: field(h, "u")
            .map(|id| id.parse().map_err(|_| RedisStoreError::Corrupt(WHAT)))
            .transpose()?,
        scopes: required_parsed(h, "s", WHAT, |s| Scopes::parse(s).ok())?,
        family: required_parsed(h, "f", WHAT, |id| id.parse().ok())?,
        created: required_micros(h, "c", WHAT)?,
        expires: optional_micros(h, "e", WHAT)?,
        revoked_at: optional_micros(h, "rv", WHAT)?,
        rotated_at: optional_micros(h, "ro", WHAT)?,
    })
}

impl RedisStore {
    /// Runs `REVOKE_SET` on `set`, with an optional field filter.
    async fn revoke_set(
        &self,
        set: String,
        now: DateTime<Utc>,
        filter: Option<(&str, String)>,
    ) -> Result<u64, StoreError> {
        let (name, value) = filter.unwrap_or_default();
        let mut invocation = REVOKE_SET.prepare_invoke();
        invocation
            .key(set)
            .arg(micros(now))
            .arg(self.keys().oauth("token", ""))
            .arg(name)
            .arg(value);
        let revoked: u64 = self
            .run(|mut conn| async move { invocation.invoke_async(&mut conn).await })
            .await?;
        Ok(revoked)
    }
}

#[async_trait]
impl OAuthTokenStore for RedisStore {
    async fn insert_oauth_token(&self, t: &OAuthToken) -> Result<(), StoreError> {
        let keys = self.keys();
        let family = t.family.to_string();
        let (e_us, e_ms) = time_args(t.expires);
        let user = t.user_id.map(|user| user.to_string());
        let mut invocation = INSERT.prepare_invoke();
        invocation
            .key(keys.oauth("token", &t.digest))
            .key(keys.oauth("family", &family))
            .key(keys.oauth("app_tokens", &t.application_id.to_string()))
            .key(keys.oauth("user_tokens", user.as_deref().unwrap_or_default()))
            .key(keys.oauth("revoked", &family))
            .key(keys.oauth("expired", ""))
            .arg(&t.digest)
            .arg(format!("t:{}", t.digest))
            .arg(&e_us)
            .arg(e_ms)
            .arg(self.grace_ms())
            .arg(if user.is_some() { "1" } else { "0" });
        let pairs = [
            ("k", Some(t.kind.as_str().to_owned())),
            ("a", Some(t.application_id.to_string())),
            ("s", Some(t.scopes.to_string())),
            ("f", Some(family)),
            ("c", Some(micros(t.created).to_string())),
            ("u", user),
            ("e", t.expires.map(|_| e_us)),
            ("rv", t.revoked_at.map(|at| micros(at).to_string())),
            ("ro", t.rotated_at.map(|at| micros(at).to_string())),
        ];
        for (name, value) in pairs {
            if let Some(value) = value {
                invocation.arg(name).arg(value);
            }
        }
        match status_and_hash(self, invocation, "OAuth2 token insert").await? {
            (1, _) => Ok(()),
            (0, _) => Err(StoreError::Conflict("digest".into())),
            (2, _) => Err(StoreError::Conflict("family".into())),
            _ => Err(RedisStoreError::Corrupt("OAuth2 token insert").into()),
        }
    }

    async fn oauth_token(&self, digest: &str) -> Result<Option<OAuthToken>, StoreError> {
        let key = self.keys().oauth("token", digest);
        match self.hash(key, "OAuth2 token").await? {
            Some(h) => Ok(Some(token(digest, &h)?)),
            None => Ok(None),
        }
    }

    async fn rotate_refresh_token(
        &self,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<RefreshUse, StoreError> {
        let mut invocation = ROTATE.prepare_invoke();
        invocation
            .key(self.keys().oauth("token", digest))
            .arg(micros(now));
        Ok(
            match status_and_hash(self, invocation, "OAuth2 token").await? {
                (0, None) => RefreshUse::Unknown,
                (1, Some(h)) => RefreshUse::First(token(digest, &h)?),
                (2, Some(h)) => RefreshUse::Reused(token(digest, &h)?),
                (3, Some(h)) => RefreshUse::Dead(token(digest, &h)?),
                _ => return Err(RedisStoreError::Corrupt("OAuth2 token").into()),
            },
        )
    }

    async fn revoke_oauth_token(
        &self,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut invocation = REVOKE_ONE.prepare_invoke();
        invocation
            .key(self.keys().oauth("token", digest))
            .arg(micros(now));
        let revoked: u64 = self
            .run(|mut conn| async move { invocation.invoke_async(&mut conn).await })
            .await?;
        Ok(revoked > 0)
    }

    async fn revoke_oauth_family(
        &self,
        family: FamilyId,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let keys = self.keys();
        let family = family.to_string();
        let life = FAMILY_MARK_LIFE.num_milliseconds() + self.grace_ms();
        let mut invocation = REVOKE_FAMILY.prepare_invoke();
        invocation
            .key(keys.oauth("family", &family))
            .key(keys.oauth("revoked", &family))
            .key(keys.oauth("revoked_index", ""))
            .arg(micros(now))
            .arg(keys.oauth("token", ""))
            .arg(&family)
            .arg(life);
        let revoked: u64 = self
            .run(|mut conn| async move { invocation.invoke_async(&mut conn).await })
            .await?;
        Ok(revoked)
    }

    async fn revoke_user_oauth_tokens(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let set = self.keys().oauth("user_tokens", &user.to_string());
        self.revoke_set(set, now, None).await
    }

    async fn revoke_application_tokens(
        &self,
        application: ApplicationId,
        user: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let set = self.keys().oauth("app_tokens", &application.to_string());
        let filter = user.map(|user| ("u", user.to_string()));
        self.revoke_set(set, now, filter).await
    }

    async fn purge_oauth_tokens(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let keys = self.keys();
        let mut invocation = PURGE.prepare_invoke();
        invocation
            .key(keys.oauth("expired", ""))
            .key(keys.oauth("revoked_index", ""))
            .arg(micros(now))
            .arg(keys.oauth("token", ""))
            .arg(keys.oauth("family", ""))
            .arg(keys.oauth("revoked", ""))
            .arg(micros(now - FAMILY_MARK_LIFE));
        let purged: u64 = self
            .run(|mut conn| async move { invocation.invoke_async(&mut conn).await })
            .await?;
        Ok(purged)
    }
}
