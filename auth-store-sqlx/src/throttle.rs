//! [`ThrottleStore`] for every store. A hit is counted by each store's
//! `count_hit`: one upsert returning the row on SQLite and PostgreSQL
//! (below), an upsert and a read in one transaction on MySQL, which has no
//! `RETURNING`.

use std::sync::atomic::Ordering;

use async_trait::async_trait;
use auth_core::error::StoreError;
use auth_core::store::{ThrottleCount, ThrottleStore};
use chrono::{DateTime, Duration, Utc};

use crate::common::{SWEEP_EVERY, SWEEP_MARGIN, nul_free, retrying, window_end};
use crate::error::is_retryable;
use crate::rows::{ThrottleRow, Time};
use crate::store::{for_each_store, sql};

macro_rules! impl_throttle_store {
    ($store:ty, $db:ty) => {
        #[async_trait]
        impl ThrottleStore for $store {
            async fn throttle_hit(
                &self,
                key: &str,
                window: Duration,
                now: DateTime<Utc>,
            ) -> Result<ThrottleCount, StoreError> {
                if self.hits.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
                    self.purge_ended_throttle_windows(now - SWEEP_MARGIN)
                        .await?;
                }
                let end = window_end(now, window, Self::latest_time());
                self.count_hit(key, Time(end), Time(now)).await
            }

            async fn throttle_peek(
                &self,
                key: &str,
                now: DateTime<Utc>,
            ) -> Result<Option<ThrottleCount>, StoreError> {
                if !nul_free(key) {
                    return Ok(None);
                }
                let sql = sql!($store, "SELECT hits, resets_at FROM auth_throttle WHERE throttle_key = ? AND resets_at > ?");
                let query = sqlx::query_as::<_, ThrottleRow>(sql).bind(key).bind(Time(now));
                self.fetch_optional(query).await
            }

            async fn throttle_clear(&self, key: &str) -> Result<(), StoreError> {
                if !nul_free(key) {
                    return Ok(());
                }
                let sql = sql!($store, "DELETE FROM auth_throttle WHERE throttle_key = ?");
                self.execute(sqlx::query(sql).bind(key)).await.map(drop)
            }

            async fn throttle_release(
                &self,
                key: &str,
                resets_at: DateTime<Utc>,
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                let sql = sql!($store, "UPDATE auth_throttle SET hits = hits - 1 \
                     WHERE throttle_key = ? AND resets_at = ? AND resets_at > ? AND hits > 0");
                // Only MySQL is seen to deadlock here (InnoDB's next-key
                // locks); a deadlocked release is run again.
                retrying(is_retryable, || {
                    let query = sqlx::query(sql)
                        .bind(key)
                        .bind(Time(resets_at))
                        .bind(Time(now));
                    self.execute(query)
                })
                .await
                .map(drop)
            }

            async fn purge_ended_throttle_windows(
                &self,
                now: DateTime<Utc>,
            ) -> Result<u64, StoreError> {
                let sql = sql!($store, "DELETE FROM auth_throttle WHERE resets_at <= ?");
                self.execute(sqlx::query(sql).bind(Time(now))).await
            }
        }
    };
}

for_each_store!(impl_throttle_store);

/// `count_hit` for the databases with `RETURNING`: one statement, which
/// runs under the row's lock.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
macro_rules! impl_count_hit_returning {
    ($store:ty) => {
        impl $store {
            /// Counts a hit on `key`'s window, opening a new one ending at
            /// `end` when the stored one ended at or before `now`.
            async fn count_hit(
                &self,
                key: &str,
                end: Time,
                now: Time,
            ) -> Result<ThrottleCount, StoreError> {
                let sql = sql!(
                    $store,
                    "INSERT INTO auth_throttle (throttle_key, hits, resets_at) VALUES (?, 1, ?) \
                     ON CONFLICT (throttle_key) DO UPDATE SET \
                     hits = CASE WHEN auth_throttle.resets_at > ? \
                            THEN auth_throttle.hits + 1 ELSE 1 END, \
                     resets_at = CASE WHEN auth_throttle.resets_at > ? \
                            THEN auth_throttle.resets_at ELSE EXCLUDED.resets_at END \
                     RETURNING hits, resets_at"
                );
                let row: ThrottleRow = sqlx::query_as(sql)
                    .bind(key)
                    .bind(end)
                    .bind(now)
                    .bind(now)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(crate::error::db)?;
                Ok(row.into())
            }
        }
    };
}

#[cfg(feature = "sqlite")]
impl_count_hit_returning!(crate::SqliteStore);
#[cfg(feature = "postgres")]
impl_count_hit_returning!(crate::PostgresStore);
