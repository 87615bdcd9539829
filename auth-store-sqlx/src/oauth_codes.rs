//! [`OAuthCodeStore`] for every store: the same queries on every database.
//! A code is used by a conditional `UPDATE ... WHERE used_at IS NULL`: the
//! one call whose update changes the row wins.

use async_trait::async_trait;
use auth_core::error::StoreError;
use auth_core::oauth::AuthorizationCode;
use auth_core::store::{CodeUse, OAuthCodeStore};
use chrono::{DateTime, Utc};

use crate::common::nul_free;
use crate::error::db_or_conflict;
use crate::rows::{CODE_COLUMNS, CodeRow, Time};
use crate::store::{for_each_store, sql};

macro_rules! impl_oauth_code_store {
    ($store:ty, $db:ty) => {
        #[async_trait]
        impl OAuthCodeStore for $store {
            async fn insert_code(&self, code: &AuthorizationCode) -> Result<(), StoreError> {
                let sql = sql!(
                    $store,
                    "INSERT INTO auth_oauth_codes ({CODE_COLUMNS}) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)"
                );
                sqlx::query(sql)
                    .bind(&code.digest)
                    .bind(code.application_id.0)
                    .bind(code.user_id.0)
                    .bind(&code.redirect_uri)
                    .bind(code.scopes.to_string())
                    .bind(&code.code_challenge)
                    .bind(code.code_challenge_method.map(|method| method.as_str()))
                    .bind(&code.nonce)
                    .bind(Time(code.auth_time))
                    .bind(code.family.0)
                    .bind(Time(code.created))
                    .bind(Time(code.expires))
                    .execute(&self.pool)
                    .await
                    .map_err(|err| db_or_conflict(err, "digest"))?;
                Ok(())
            }

            async fn code(&self, digest: &str) -> Result<Option<AuthorizationCode>, StoreError> {
                if !nul_free(digest) {
                    return Ok(None);
                }
                let sql = sql!(
                    $store,
                    "SELECT {CODE_COLUMNS} FROM auth_oauth_codes WHERE digest = ?"
                );
                self.fetch_optional(sqlx::query_as::<_, CodeRow>(sql).bind(digest))
                    .await
            }

            async fn consume_code(
                &self,
                digest: &str,
                now: DateTime<Utc>,
            ) -> Result<CodeUse, StoreError> {
                let Some(code) = self.code(digest).await? else {
                    return Ok(CodeUse::Unknown);
                };
                if code.used_at.is_some() {
                    return Ok(CodeUse::Reused(code));
                }
                if code.expires <= now {
                    return Ok(CodeUse::Expired(code));
                }
                let sql = sql!(
                    $store,
                    "UPDATE auth_oauth_codes SET used_at = ? \
                     WHERE digest = ? AND used_at IS NULL"
                );
                let query = sqlx::query(sql).bind(Time(now)).bind(digest);
                if self.execute(query).await? == 1 {
                    return Ok(CodeUse::First(AuthorizationCode {
                        used_at: Some(now),
                        ..code
                    }));
                }
                // Another call used it in between (or a purge removed it).
                Ok(match self.code(digest).await? {
                    Some(code) => CodeUse::Reused(code),
                    None => CodeUse::Unknown,
                })
            }

            async fn purge_expired_codes(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
                let sql = sql!($store, "DELETE FROM auth_oauth_codes WHERE expires <= ?");
                self.execute(sqlx::query(sql).bind(Time(now))).await
            }
        }
    };
}

for_each_store!(impl_oauth_code_store);
