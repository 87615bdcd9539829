//! [`LoginHistoryStore`] for [`RedisStore`].
//!
//! A user's history is the sorted set `{p}history:<uuid>`, scored by the
//! entry's time in microseconds; each member is a 20-digit sequence number
//! from the counter `{p}history:seq`, a `:`, and the entry as JSON. Equal
//! scores sort by member, so entries of one instant sort by the order they
//! were recorded in. Only the newest [`history_cap`] entries of each user
//! are kept; nothing expires.
//!
//! [`history_cap`]: crate::RedisStoreConfig::history_cap

use std::sync::LazyLock;

use async_trait::async_trait;
use auth_core::error::StoreError;
use auth_core::store::{HistoryEntry, HistoryEvent, LoginHistoryStore, Page};
use auth_core::user::UserId;
use chrono::{DateTime, Utc};
use redis::{Script, Value};
use serde::{Deserialize, Serialize};

use crate::error::RedisStoreError;
use crate::store::{RedisStore, array, int, micros, script, string};

/// Record. KEYS: history, sequence. ARGV: time (µs), entry JSON, cap.
static RECORD: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local seq = tostring(redis.call('INCR', KEYS[2]))
seq = string.rep('0', 20 - #seq) .. seq
redis.call('ZADD', KEYS[1], ARGV[1], seq .. ':' .. ARGV[2])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[3]) + 1))
return 1
"#,
    )
});

/// An entry as stored (the user is in the key).
#[derive(Serialize, Deserialize)]
struct Stored {
    /// When, in microseconds.
    at: i64,
    /// The event's name.
    e: String,
    /// The client address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ip: Option<String>,
    /// The client's `User-Agent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ua: Option<String>,
}

/// The entry in a sorted set member.
fn entry(user: UserId, member: Value) -> Result<HistoryEntry, RedisStoreError> {
    let member = string(member, "history entry")?;
    let (_seq, json) = member
        .split_once(':')
        .ok_or(RedisStoreError::Corrupt("history entry"))?;
    let stored: Stored =
        serde_json::from_str(json).map_err(|_| RedisStoreError::Corrupt("history entry"))?;
    Ok(HistoryEntry {
        user_id: user,
        at: DateTime::from_timestamp_micros(stored.at)
            .ok_or(RedisStoreError::Corrupt("history time"))?,
        event: HistoryEvent::parse(&stored.e).ok_or(RedisStoreError::Corrupt("history event"))?,
        ip: stored.ip,
        user_agent: stored.ua,
    })
}

#[async_trait]
impl LoginHistoryStore for RedisStore {
    async fn record_history(&self, entry: &HistoryEntry) -> Result<(), StoreError> {
        let stored = Stored {
            at: micros(entry.at),
            e: entry.event.as_str().to_owned(),
            ip: entry.ip.clone(),
            ua: entry.user_agent.clone(),
        };
        let json = serde_json::to_string(&stored).map_err(StoreError::other)?;
        let keys = self.keys();
        let mut invocation = RECORD.prepare_invoke();
        invocation
            .key(keys.history(entry.user_id))
            .key(keys.history_seq())
            .arg(stored.at)
            .arg(json)
            .arg(self.history_cap());
        let _: i64 = self
            .run(|mut conn| async move { invocation.invoke_async(&mut conn).await })
            .await?;
        Ok(())
    }

    /// The user's entries, newest first. `total` counts the entries kept:
    /// at most the [`history_cap`](crate::RedisStoreConfig::history_cap).
    async fn user_history(
        &self,
        user: UserId,
        offset: u64,
        limit: u64,
    ) -> Result<Page<HistoryEntry>, StoreError> {
        let key = self.keys().history(user);
        let start = i64::try_from(offset).unwrap_or(i64::MAX);
        let stop = start.saturating_add(i64::try_from(limit).unwrap_or(i64::MAX)) - 1;
        let mut pipe = redis::pipe();
        pipe.atomic().cmd("ZCARD").arg(&key);
        if limit > 0 && start < i64::MAX {
            pipe.cmd("ZREVRANGE").arg(&key).arg(start).arg(stop);
        }
        let replies: Vec<Value> = self
            .run(|mut conn| async move { pipe.query_async(&mut conn).await })
            .await?;
        let mut replies = replies.into_iter();
        let total = match replies.next() {
            Some(total) => u64::try_from(int(total, "history count")?)
                .map_err(|_| RedisStoreError::Corrupt("history count"))?,
            None => return Err(RedisStoreError::Corrupt("history reply").into()),
        };
        let items = match replies.next() {
            Some(members) => array(members, "history entries")?
                .into_iter()
                .map(|member| entry(user, member))
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        Ok(Page { items, total })
    }

    async fn delete_user_history(&self, user: UserId) -> Result<u64, StoreError> {
        let key = self.keys().history(user);
        let (count, _deleted): (i64, i64) = self
            .run(|mut conn| async move {
                redis::pipe()
                    .atomic()
                    .cmd("ZCARD")
                    .arg(&key)
                    .cmd("DEL")
                    .arg(&key)
                    .query_async(&mut conn)
                    .await
            })
            .await?;
        Ok(u64::try_from(count).map_err(|_| RedisStoreError::Corrupt("history count"))?)
    }

    /// Scans every user's history (`SCAN`, in batches): entries recorded
    /// while it runs are never touched, since they are newer than `before`
    /// unless the clocks disagree.
    async fn purge_history_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let seq = self.keys().history_seq().into_bytes();
        let max = format!("({}", micros(before));
        self.scan(self.keys().all_histories(), |keys| {
            let mut pipe = redis::pipe();
            for key in keys.iter().filter(|key| **key != seq) {
                pipe.cmd("ZREMRANGEBYSCORE").arg(key).arg("-inf").arg(&max);
            }
            async move {
                let removed: Vec<u64> = self
                    .run(|mut conn| async move { pipe.query_async(&mut conn).await })
                    .await?;
                Ok(removed.iter().sum())
            }
        })
        .await
    }
}
