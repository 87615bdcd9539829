//! [`BrowserSessionStore`] for every store: the same queries on every
//! database.

use async_trait::async_trait;
use auth_core::error::StoreError;
use auth_core::oauth::BrowserSession;
use auth_core::store::BrowserSessionStore;
use auth_core::user::UserId;
use chrono::{DateTime, Utc};

use crate::common::nul_free;
use crate::error::db_or_conflict;
use crate::rows::{SESSION_COLUMNS, SessionRow, Time};
use crate::store::{for_each_store, sql};

macro_rules! impl_browser_session_store {
    ($store:ty, $db:ty) => {
        #[async_trait]
        impl BrowserSessionStore for $store {
            async fn insert_session(&self, session: &BrowserSession) -> Result<(), StoreError> {
                let sql = sql!(
                    $store,
                    "INSERT INTO auth_oauth_sessions ({SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
                );
                sqlx::query(sql)
                    .bind(&session.digest)
                    .bind(session.user_id.0)
                    .bind(Time(session.auth_time))
                    .bind(Time(session.created))
                    .bind(Time(session.expires))
                    .execute(&self.pool)
                    .await
                    .map_err(|err| db_or_conflict(err, "digest"))?;
                Ok(())
            }

            async fn session(&self, digest: &str) -> Result<Option<BrowserSession>, StoreError> {
                if !nul_free(digest) {
                    return Ok(None);
                }
                let sql = sql!(
                    $store,
                    "SELECT {SESSION_COLUMNS} FROM auth_oauth_sessions WHERE digest = ?"
                );
                self.read_optional::<SessionRow, _>(sqlx::query(sql).bind(digest))
                    .await
            }

            async fn delete_session(&self, digest: &str) -> Result<bool, StoreError> {
                if !nul_free(digest) {
                    return Ok(false);
                }
                let sql = sql!($store, "DELETE FROM auth_oauth_sessions WHERE digest = ?");
                Ok(self.execute(sqlx::query(sql).bind(digest)).await? > 0)
            }

            async fn delete_user_sessions(&self, user: UserId) -> Result<u64, StoreError> {
                let sql = sql!($store, "DELETE FROM auth_oauth_sessions WHERE user_id = ?");
                self.execute(sqlx::query(sql).bind(user.0)).await
            }

            async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
                let sql = sql!($store, "DELETE FROM auth_oauth_sessions WHERE expires <= ?");
                self.execute(sqlx::query(sql).bind(Time(now))).await
            }
        }
    };
}

for_each_store!(impl_browser_session_store);
