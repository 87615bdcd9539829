//! [`JwtRevocationStore`] for every store. The upserts differ per database
//! and are each store's `BLACKLIST_JTI`, `REVOKE_FAMILY` and
//! `RAISE_VALID_AFTER`; everything else is the same.

use async_trait::async_trait;
use auth_core::error::StoreError;
use auth_core::store::{BlacklistEntry, JwtRevocationStore, RevocationState};
use auth_core::user::{User, UserId};
use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::common::nul_free;
use crate::error::{db, is_duplicate};
use crate::rows::{
    BLACKLIST_COLUMNS, BlacklistRow, REVOCATION_COLUMNS, RevocationRow, Time, USER_COLUMNS, UserRow,
};
use crate::store::{for_each_store, sql};

macro_rules! impl_jwt_revocation_store {
    ($store:ty, $db:ty) => {
        #[async_trait]
        impl JwtRevocationStore for $store {
            async fn blacklist_jti(&self, entry: &BlacklistEntry) -> Result<bool, StoreError> {
                let result = sqlx::query(sql!(
                    $store,
                    "INSERT INTO auth_jwt_blacklist ({BLACKLIST_COLUMNS}) VALUES (?, ?, ?, ?, ?){}",
                    <$store>::BLACKLIST_TAKEN_JTI
                ))
                .bind(&entry.jti)
                .bind(entry.user_id.0)
                .bind(&entry.family)
                .bind(Time(entry.expires_at))
                .bind(Time(entry.blacklisted_at))
                .execute(&self.pool)
                .await;
                // The row count says who won where a taken jti inserts
                // nothing; the duplicate-key error says it where it fails.
                match result {
                    Ok(done) => Ok(done.rows_affected() == 1),
                    Err(err) if is_duplicate(&err) => Ok(false),
                    Err(err) => Err(db(err)),
                }
            }

            async fn blacklisted_jti(
                &self,
                jti: &str,
            ) -> Result<Option<BlacklistEntry>, StoreError> {
                if !nul_free(jti) {
                    return Ok(None);
                }
                let sql = sql!(
                    $store,
                    "SELECT {BLACKLIST_COLUMNS} FROM auth_jwt_blacklist WHERE jti = ?"
                );
                self.fetch_optional(sqlx::query_as::<_, BlacklistRow>(sql).bind(jti))
                    .await
            }

            async fn revoke_family(
                &self,
                family: &str,
                user: UserId,
                expires_at: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                let sql = sql!($store, "{}", <$store>::REVOKE_FAMILY);
                let query = sqlx::query(sql).bind(family).bind(user.0);
                self.execute(query.bind(Time(expires_at))).await.map(drop)
            }

            async fn set_tokens_valid_after(
                &self,
                user: UserId,
                at: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                let sql = sql!($store, "{}", <$store>::RAISE_VALID_AFTER);
                self.execute(sqlx::query(sql).bind(user.0).bind(Time(at)))
                    .await
                    .map(drop)
            }

            async fn revocation_state(
                &self,
                user: UserId,
                family: Option<&str>,
            ) -> Result<RevocationState, StoreError> {
                // A family no database can hold was never revoked.
                let family = family.filter(|family| nul_free(family));
                let query = sqlx::query(sql!($store, "SELECT {REVOCATION_COLUMNS}"));
                // A SELECT without FROM always gives one row.
                let state = self.read_optional::<RevocationRow, _>(query.bind(user.0).bind(family));
                state.await?.ok_or_else(|| db(sqlx::Error::RowNotFound))
            }

            async fn revocation_state_and_user(
                &self,
                user: UserId,
                family: Option<&str>,
            ) -> Result<Option<(RevocationState, Option<User>)>, StoreError> {
                let family = family.filter(|family| nul_free(family));
                let sql = sql!(
                    $store,
                    "SELECT {USER_COLUMNS}, {REVOCATION_COLUMNS} FROM auth_users WHERE id = ?"
                );
                let query = sqlx::query(sql).bind(user.0).bind(family).bind(user.0);
                let row = self
                    .reads
                    .fetch_optional(&self.pool, query)
                    .await
                    .map_err(db)?;
                let Some(row) = row else {
                    // No such user: the state alone (rare, so two round trips).
                    return Ok(Some((self.revocation_state(user, family).await?, None)));
                };
                let state = RevocationRow::from_row(&row).map_err(db)?;
                let found = UserRow::from_row(&row).map_err(db)?;
                Ok(Some((state.into(), Some(found.into()))))
            }

            async fn purge_expired_revocations(
                &self,
                now: DateTime<Utc>,
            ) -> Result<u64, StoreError> {
                let sql = sql!(
                    $store,
                    "DELETE FROM auth_jwt_blacklist WHERE expires_at <= ?"
                );
                let jtis = self.execute(sqlx::query(sql).bind(Time(now))).await?;
                let sql = sql!(
                    $store,
                    "DELETE FROM auth_jwt_revoked_families WHERE expires_at <= ?"
                );
                let families = self.execute(sqlx::query(sql).bind(Time(now))).await?;
                Ok(jtis + families)
            }
        }
    };
}

for_each_store!(impl_jwt_revocation_store);
