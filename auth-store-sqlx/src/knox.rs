//! [`KnoxTokenStore`] for every store: the same queries on every database.
//! An insert under a limit runs in the transaction each store's
//! `begin_for_user` opens, which serialises the user's inserts (SQLite's
//! `BEGIN IMMEDIATE`, the user's row in `auth_user_locks` elsewhere), and is
//! run again when it deadlocks.

use async_trait::async_trait;
use auth_core::error::StoreError;
use auth_core::store::{KnoxInsert, KnoxTokenRecord, KnoxTokenStore, TokenLimit};
use auth_core::user::UserId;
use chrono::{DateTime, Utc};

use crate::common::{count_u64, eviction_cutoff, nul_free, retrying};
use crate::error::{db, db_or_conflict, is_retryable};
use crate::rows::{KNOX_COLUMNS, KnoxRow, Text, Time};
use crate::store::{for_each_store, sql};

macro_rules! impl_knox_store {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Inserts a Knox token; a taken digest is `Conflict("digest")`.
            async fn insert_knox<'c>(
                record: &KnoxTokenRecord,
                conn: impl sqlx::Executor<'c, Database = $db>,
            ) -> Result<(), StoreError> {
                let sql = sql!(
                    $store,
                    "INSERT INTO auth_knox_tokens ({KNOX_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
                );
                sqlx::query(sql)
                    .bind(&record.token_key)
                    .bind(&record.digest)
                    .bind(record.user_id.0)
                    .bind(Time(record.created))
                    .bind(Time::of(record.expiry))
                    .bind(Time::of(record.last_used))
                    .bind(&record.name)
                    .execute(conn)
                    .await
                    .map_err(|err| db_or_conflict(err, "digest"))?;
                Ok(())
            }

            /// One attempt at an insert under a limit.
            async fn try_insert_knox_token(
                &self,
                record: &KnoxTokenRecord,
                limit: TokenLimit,
                now: DateTime<Utc>,
            ) -> Result<KnoxInsert, StoreError> {
                const LIVE: &str = "user_id = ? AND (expiry IS NULL OR expiry > ?)";
                let mut tx = self.begin_for_user(record.user_id).await?;
                let (user, now) = (record.user_id.0, Time(now));
                let mut evicted = 0;
                match limit {
                    TokenLimit::Unlimited => {}
                    TokenLimit::Refuse(max) => {
                        let sql =
                            sql!($store, "SELECT COUNT(*) FROM auth_knox_tokens WHERE {LIVE}");
                        let live: i64 = sqlx::query_scalar(sql)
                            .bind(user)
                            .bind(now)
                            .fetch_one(&mut *tx)
                            .await
                            .map_err(db)?;
                        if count_u64(live) >= u64::from(max) {
                            tx.rollback().await.map_err(db)?;
                            return Ok(KnoxInsert::LimitReached);
                        }
                    }
                    TokenLimit::EvictOldest(max) => {
                        let sql = sql!(
                            $store,
                            "SELECT created, digest FROM auth_knox_tokens WHERE {LIVE} \
                             ORDER BY created, digest"
                        );
                        let rows: Vec<(Time, Text)> = sqlx::query_as(sql)
                            .bind(user)
                            .bind(now)
                            .fetch_all(&mut *tx)
                            .await
                            .map_err(db)?;
                        let live: Vec<_> = rows.into_iter().map(|(c, d)| (c.0, d.0)).collect();
                        if let Some((_, (created, digest))) = eviction_cutoff(&live, max) {
                            let sql = sql!(
                                $store,
                                "DELETE FROM auth_knox_tokens WHERE {LIVE} \
                                 AND (created < ? OR (created = ? AND digest <= ?))"
                            );
                            evicted = sqlx::query(sql)
                                .bind(user)
                                .bind(now)
                                .bind(Time(*created))
                                .bind(Time(*created))
                                .bind(digest)
                                .execute(&mut *tx)
                                .await
                                .map_err(db)?
                                .rows_affected();
                        }
                    }
                }
                Self::insert_knox(record, &mut *tx).await?;
                tx.commit().await.map_err(db)?;
                Ok(KnoxInsert::Inserted { evicted })
            }
        }

        #[async_trait]
        impl KnoxTokenStore for $store {
            async fn insert_knox_token(
                &self,
                record: &KnoxTokenRecord,
                limit: TokenLimit,
                now: DateTime<Utc>,
            ) -> Result<KnoxInsert, StoreError> {
                if limit == TokenLimit::Unlimited {
                    Self::insert_knox(record, &self.pool).await?;
                    return Ok(KnoxInsert::Inserted { evicted: 0 });
                }
                retrying(is_retryable, || {
                    self.try_insert_knox_token(record, limit, now)
                })
                .await
            }

            async fn knox_tokens_by_key(
                &self,
                token_key: &str,
            ) -> Result<Vec<KnoxTokenRecord>, StoreError> {
                if !nul_free(token_key) {
                    return Ok(Vec::new());
                }
                let sql = sql!(
                    $store,
                    "SELECT {KNOX_COLUMNS} FROM auth_knox_tokens WHERE token_key = ?"
                );
                self.read_all::<KnoxRow, _>(sqlx::query(sql).bind(token_key))
                    .await
            }

            async fn touch_knox_token(
                &self,
                digest: &str,
                expiry: Option<DateTime<Utc>>,
                last_used: DateTime<Utc>,
            ) -> Result<bool, StoreError> {
                if !nul_free(digest) {
                    return Ok(false);
                }
                let sql = sql!(
                    $store,
                    "UPDATE auth_knox_tokens SET expiry = ?, last_used = ? WHERE digest = ?"
                );
                let query = sqlx::query(sql)
                    .bind(Time::of(expiry))
                    .bind(Time(last_used))
                    .bind(digest);
                Ok(self.execute(query).await? > 0)
            }

            async fn delete_knox_token(&self, digest: &str) -> Result<bool, StoreError> {
                if !nul_free(digest) {
                    return Ok(false);
                }
                let sql = sql!($store, "DELETE FROM auth_knox_tokens WHERE digest = ?");
                Ok(self.execute(sqlx::query(sql).bind(digest)).await? > 0)
            }

            async fn delete_knox_token_by_key(
                &self,
                user: UserId,
                token_key: &str,
            ) -> Result<bool, StoreError> {
                if !nul_free(token_key) {
                    return Ok(false);
                }
                let sql = sql!(
                    $store,
                    "DELETE FROM auth_knox_tokens WHERE user_id = ? AND token_key = ?"
                );
                let query = sqlx::query(sql).bind(user.0).bind(token_key);
                Ok(self.execute(query).await? > 0)
            }

            async fn delete_user_knox_tokens(&self, user: UserId) -> Result<u64, StoreError> {
                let sql = sql!($store, "DELETE FROM auth_knox_tokens WHERE user_id = ?");
                self.execute(sqlx::query(sql).bind(user.0)).await
            }

            async fn user_knox_tokens(
                &self,
                user: UserId,
                now: DateTime<Utc>,
            ) -> Result<Vec<KnoxTokenRecord>, StoreError> {
                let sql = sql!(
                    $store,
                    "SELECT {KNOX_COLUMNS} FROM auth_knox_tokens \
                     WHERE user_id = ? AND (expiry IS NULL OR expiry > ?) \
                     ORDER BY created DESC, digest DESC"
                );
                let query = sqlx::query_as::<_, KnoxRow>(sql)
                    .bind(user.0)
                    .bind(Time(now));
                self.fetch_all(query).await
            }

            async fn purge_expired_knox_tokens(
                &self,
                now: DateTime<Utc>,
            ) -> Result<u64, StoreError> {
                let sql = sql!($store, "DELETE FROM auth_knox_tokens WHERE expiry <= ?");
                self.execute(sqlx::query(sql).bind(Time(now))).await
            }
        }
    };
}

for_each_store!(impl_knox_store);
