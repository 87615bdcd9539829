//! [`LoginHistoryStore`] for every store: the same queries on every
//! database.

use async_trait::async_trait;
use auth_core::error::StoreError;
use auth_core::store::{HistoryEntry, LoginHistoryStore, Page};
use auth_core::user::UserId;

use crate::common::{clamp_i64, count_u64};
use crate::error::db;
use crate::rows::{HistoryRow, Time};
use crate::store::for_each_store;

macro_rules! impl_history_store {
    ($store:ty, $db:ty) => {
        #[async_trait]
        impl LoginHistoryStore for $store {
            async fn record_history(&self, entry: &HistoryEntry) -> Result<(), StoreError> {
                let sql = Self::sql(
                    "INSERT INTO auth_login_history (user_id, occurred_at, event, ip, user_agent) \
                     VALUES (?, ?, ?, ?, ?)",
                );
                let query = sqlx::query(&sql)
                    .bind(entry.user_id.0)
                    .bind(Time(entry.at))
                    .bind(entry.event.as_str())
                    .bind(&entry.ip)
                    .bind(&entry.user_agent);
                self.execute(query).await.map(drop)
            }

            async fn user_history(
                &self,
                user: UserId,
                offset: u64,
                limit: u64,
            ) -> Result<Page<HistoryEntry>, StoreError> {
                let sql = Self::sql("SELECT COUNT(*) FROM auth_login_history WHERE user_id = ?");
                let total: i64 = sqlx::query_scalar(&sql)
                    .bind(user.0)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db)?;
                let sql = Self::sql(
                    "SELECT occurred_at, event, ip, user_agent FROM auth_login_history \
                     WHERE user_id = ? ORDER BY occurred_at DESC, id DESC LIMIT ? OFFSET ?",
                );
                let rows: Vec<HistoryRow> = self
                    .fetch_all(
                        sqlx::query_as(&sql)
                            .bind(user.0)
                            .bind(clamp_i64(limit))
                            .bind(clamp_i64(offset)),
                    )
                    .await?;
                let items = rows
                    .into_iter()
                    .map(|row| row.entry(user))
                    .collect::<Result<_, _>>()?;
                Ok(Page {
                    items,
                    total: count_u64(total),
                })
            }

            async fn delete_user_history(&self, user: UserId) -> Result<u64, StoreError> {
                let sql = Self::sql("DELETE FROM auth_login_history WHERE user_id = ?");
                self.execute(sqlx::query(&sql).bind(user.0)).await
            }
        }
    };
}

for_each_store!(impl_history_store);
