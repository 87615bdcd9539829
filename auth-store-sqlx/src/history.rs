//! [`LoginHistoryStore`] for every store: the same queries on every
//! database.

use async_trait::async_trait;
use auth_core::error::StoreError;
use auth_core::store::{HistoryEntry, LoginHistoryStore, Page};
use auth_core::user::UserId;
use chrono::{DateTime, Utc};

use crate::common::clamp_i64;
use crate::rows::{HistoryRow, Time};
use crate::store::{for_each_store, sql};

macro_rules! impl_history_store {
    ($store:ty, $db:ty) => {
        #[async_trait]
        impl LoginHistoryStore for $store {
            async fn record_history(&self, entry: &HistoryEntry) -> Result<(), StoreError> {
                let sql = sql!(
                    $store,
                    "INSERT INTO auth_login_history (user_id, occurred_at, event, ip, user_agent) \
                     VALUES (?, ?, ?, ?, ?)"
                );
                let query = sqlx::query(sql)
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
                let sql = sql!(
                    $store,
                    "SELECT COUNT(*) FROM auth_login_history WHERE user_id = ?"
                );
                let total = self.count(sqlx::query_scalar(sql).bind(user.0)).await?;
                let sql = sql!(
                    $store,
                    "SELECT occurred_at, event, ip, user_agent FROM auth_login_history \
                     WHERE user_id = ? ORDER BY occurred_at DESC, id DESC LIMIT ? OFFSET ?"
                );
                let query = sqlx::query_as(sql).bind(user.0).bind(clamp_i64(limit));
                let rows: Vec<HistoryRow> = self.fetch_all(query.bind(clamp_i64(offset))).await?;
                let items = rows.into_iter().map(|row| row.entry(user));
                Ok(Page {
                    items: items.collect::<Result<_, _>>()?,
                    total,
                })
            }

            async fn delete_user_history(&self, user: UserId) -> Result<u64, StoreError> {
                let sql = sql!($store, "DELETE FROM auth_login_history WHERE user_id = ?");
                self.execute(sqlx::query(sql).bind(user.0)).await
            }

            async fn purge_history_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
                let sql = sql!(
                    $store,
                    "DELETE FROM auth_login_history WHERE occurred_at < ?"
                );
                self.execute(sqlx::query(sql).bind(Time(before))).await
            }
        }
    };
}

for_each_store!(impl_history_store);
