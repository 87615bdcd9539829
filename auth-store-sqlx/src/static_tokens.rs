//! [`StaticTokenStore`] for every store: the same queries on every
//! database. Get-or-create runs in the transaction each store's
//! `begin_for_user` opens, and is run again when it deadlocks.

use async_trait::async_trait;
use auth_core::error::StoreError;
use auth_core::store::{StaticTokenRecord, StaticTokenStore};
use auth_core::user::UserId;

use crate::common::{nul_free, retrying};
use crate::error::{db, db_or_conflict, is_retryable};
use crate::rows::{STATIC_COLUMNS, StaticRow, Time};
use crate::store::{for_each_store, sql};

macro_rules! impl_static_token_store {
    ($store:ty, $db:ty) => {
        impl $store {
            /// One attempt at get-or-create.
            async fn try_get_or_insert_static_token(
                &self,
                record: &StaticTokenRecord,
            ) -> Result<StaticTokenRecord, StoreError> {
                let mut tx = self.begin_for_user(record.user_id).await?;
                let sql = sql!(
                    $store,
                    "SELECT {STATIC_COLUMNS} FROM auth_static_tokens WHERE user_id = ?"
                );
                let existing: Option<StaticRow> = sqlx::query_as(sql)
                    .bind(record.user_id.0)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db)?;
                if let Some(row) = existing {
                    tx.commit().await.map_err(db)?;
                    return Ok(row.into());
                }
                let sql = sql!(
                    $store,
                    "INSERT INTO auth_static_tokens ({STATIC_COLUMNS}) VALUES (?, ?, ?, ?)"
                );
                sqlx::query(sql)
                    .bind(record.user_id.0)
                    .bind(&record.digest)
                    .bind(&record.seed)
                    .bind(Time(record.created))
                    .execute(&mut *tx)
                    .await
                    .map_err(|err| db_or_conflict(err, "user_id"))?;
                tx.commit().await.map_err(db)?;
                Ok(record.clone())
            }
        }

        #[async_trait]
        impl StaticTokenStore for $store {
            async fn get_or_insert_static_token(
                &self,
                record: &StaticTokenRecord,
            ) -> Result<StaticTokenRecord, StoreError> {
                retrying(is_retryable, || self.try_get_or_insert_static_token(record)).await
            }

            async fn static_token_by_digest(
                &self,
                digest: &str,
            ) -> Result<Option<StaticTokenRecord>, StoreError> {
                if !nul_free(digest) {
                    return Ok(None);
                }
                let sql = sql!(
                    $store,
                    "SELECT {STATIC_COLUMNS} FROM auth_static_tokens WHERE digest = ?"
                );
                self.read_optional::<StaticRow, _>(sqlx::query(sql).bind(digest))
                    .await
            }

            async fn static_token_for_user(
                &self,
                user: UserId,
            ) -> Result<Option<StaticTokenRecord>, StoreError> {
                let sql = sql!(
                    $store,
                    "SELECT {STATIC_COLUMNS} FROM auth_static_tokens WHERE user_id = ?"
                );
                self.fetch_optional(sqlx::query_as::<_, StaticRow>(sql).bind(user.0))
                    .await
            }

            async fn delete_static_token(&self, user: UserId) -> Result<bool, StoreError> {
                let sql = sql!($store, "DELETE FROM auth_static_tokens WHERE user_id = ?");
                Ok(self.execute(sqlx::query(sql).bind(user.0)).await? > 0)
            }
        }
    };
}

for_each_store!(impl_static_token_store);
