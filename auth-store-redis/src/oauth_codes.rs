//! [`OAuthCodeStore`] for [`RedisStore`].
//!
//! A code is the hash `{p}oauth:code:<digest>` with the fields `a`
//! (application id), `u` (user id), `r` (redirect URI), `s` (scopes), `f`
//! (family), `at` (auth time), `c` (created), `e` (expires), and when set
//! `cc` (PKCE challenge), `cm` (its method), `n` (nonce) and `x` (used at).
//! It expires at `e` plus the expiry grace (see the JWT records); one
//! written already expired is listed in `{p}oauth:expired:` as `c:<digest>`
//! for the purge. A script reads and marks it, so one call per code wins.

use std::sync::LazyLock;

use async_trait::async_trait;
use auth_core::error::StoreError;
use auth_core::oauth::{AuthorizationCode, PkceMethod, Scopes};
use auth_core::store::{CodeUse, OAuthCodeStore};
use chrono::{DateTime, Utc};
use redis::Script;

use crate::error::RedisStoreError;
use crate::store::{
    Fields, RedisStore, field, micros, oauth_script, optional_micros, parse_user, required,
    required_micros, required_parsed, status_and_hash, time_args,
};

/// Insert. KEYS: code, expired index. ARGV: member, expires (µs), expires
/// (ms), grace (ms), then the field/value pairs. Returns `{1}` if stored,
/// `{0}` if the digest is taken.
static INSERT: LazyLock<Script> = LazyLock::new(|| {
    oauth_script(
        r#"
if redis.call('EXISTS', KEYS[1]) == 1 then return {0} end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
expire_record(KEYS[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), KEYS[2], ARGV[1])
return {1}
"#,
    )
});

/// Consume. KEYS: code. ARGV: now (µs). Returns `{0}` (unknown), `{1, h}`
/// (first use: marked), `{2, h}` (used before) or `{3, h}` (expired).
static CONSUME: LazyLock<Script> = LazyLock::new(|| {
    oauth_script(
        r#"
local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then return {0} end
if redis.call('HEXISTS', KEYS[1], 'x') == 1 then return {2, h} end
if cmp(redis.call('HGET', KEYS[1], 'e'), ARGV[1]) <= 0 then return {3, h} end
redis.call('HSET', KEYS[1], 'x', ARGV[1])
return {1, redis.call('HGETALL', KEYS[1])}
"#,
    )
});

/// Purge. KEYS: expired index. ARGV: now (µs), code prefix.
static PURGE: LazyLock<Script> =
    LazyLock::new(|| oauth_script("return purge(KEYS[1], ARGV[1], 'c:', ARGV[2])"));

/// A code from its hash.
fn code(digest: &str, h: &Fields) -> Result<AuthorizationCode, RedisStoreError> {
    const WHAT: &str = "OAuth2 code";
    Ok(AuthorizationCode {
        digest: digest.to_owned(),
        application_id: required_parsed(h, "a", WHAT, |id| id.parse().ok())?,
        user_id: parse_user(required(h, "u", WHAT)?, WHAT)?,
        redirect_uri: required(h, "r", WHAT)?.to_owned(),
        scopes: required_parsed(h, "s", WHAT, |s| Scopes::parse(s).ok())?,
        code_challenge: field(h, "cc").map(str::to_owned),
        code_challenge_method: field(h, "cm")
            .map(|m| PkceMethod::parse(m).ok_or(RedisStoreError::Corrupt(WHAT)))
            .transpose()?,
        nonce: field(h, "n").map(str::to_owned),
        auth_time: required_micros(h, "at", WHAT)?,
        family: required_parsed(h, "f", WHAT, |id| id.parse().ok())?,
        created: required_micros(h, "c", WHAT)?,
        expires: required_micros(h, "e", WHAT)?,
        used_at: optional_micros(h, "x", WHAT)?,
    })
}

#[async_trait]
impl OAuthCodeStore for RedisStore {
    async fn insert_code(&self, c: &AuthorizationCode) -> Result<(), StoreError> {
        let keys = self.keys();
        let (e_us, e_ms) = time_args(Some(c.expires));
        let mut invocation = INSERT.prepare_invoke();
        invocation
            .key(keys.oauth("code", &c.digest))
            .key(keys.oauth("expired", ""))
            .arg(format!("c:{}", c.digest))
            .arg(&e_us)
            .arg(e_ms)
            .arg(self.grace_ms());
        let pairs = [
            ("a", Some(c.application_id.to_string())),
            ("u", Some(c.user_id.to_string())),
            ("r", Some(c.redirect_uri.clone())),
            ("s", Some(c.scopes.to_string())),
            ("f", Some(c.family.to_string())),
            ("at", Some(micros(c.auth_time).to_string())),
            ("c", Some(micros(c.created).to_string())),
            ("e", Some(e_us)),
            ("cc", c.code_challenge.clone()),
            ("cm", c.code_challenge_method.map(|m| m.as_str().to_owned())),
            ("n", c.nonce.clone()),
        ];
        for (name, value) in pairs {
            if let Some(value) = value {
                invocation.arg(name).arg(value);
            }
        }
        match status_and_hash(self, invocation, "OAuth2 code insert").await? {
            (1, _) => Ok(()),
            (0, _) => Err(StoreError::Conflict("digest".into())),
            _ => Err(RedisStoreError::Corrupt("OAuth2 code insert").into()),
        }
    }

    async fn code(&self, digest: &str) -> Result<Option<AuthorizationCode>, StoreError> {
        let key = self.keys().oauth("code", digest);
        match self.hash(key, "OAuth2 code").await? {
            Some(h) => Ok(Some(code(digest, &h)?)),
            None => Ok(None),
        }
    }

    async fn consume_code(&self, digest: &str, now: DateTime<Utc>) -> Result<CodeUse, StoreError> {
        let mut invocation = CONSUME.prepare_invoke();
        invocation
            .key(self.keys().oauth("code", digest))
            .arg(micros(now));
        let reply = status_and_hash(self, invocation, "OAuth2 code").await?;
        Ok(match reply {
            (0, None) => CodeUse::Unknown,
            (1, Some(h)) => CodeUse::First(code(digest, &h)?),
            (2, Some(h)) => CodeUse::Reused(code(digest, &h)?),
            (3, Some(h)) => CodeUse::Expired(code(digest, &h)?),
            _ => return Err(RedisStoreError::Corrupt("OAuth2 code").into()),
        })
    }

    async fn purge_expired_codes(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(self.purge_oauth(&PURGE, "code", now).await?)
    }
}
