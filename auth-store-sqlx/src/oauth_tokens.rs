//! [`OAuthTokenStore`] for every store: the same queries on every database.
//!
//! A refresh token is rotated by a conditional `UPDATE ... WHERE rotated_at
//! IS NULL AND revoked_at IS NULL`: the one call whose update changes the
//! row wins. A family revocation first writes the family's mark in
//! `auth_oauth_revoked_families`, then revokes its tokens; an insert first
//! writes its token, then looks for the mark and takes the token back when
//! it finds one. Each statement runs on its own (autocommit), and each sees
//! what was committed before it began, so an insert that missed the mark
//! was committed before the mark, and so before the revocation's `UPDATE`
//! began, which therefore revokes it.

use async_trait::async_trait;
use auth_core::error::StoreError;
use auth_core::oauth::{ApplicationId, FamilyId, OAuthToken, OAuthTokenKind};
use auth_core::store::{OAuthTokenStore, RefreshUse};
use auth_core::user::UserId;
use chrono::{DateTime, Duration, Utc};

use crate::common::nul_free;
use crate::error::{db, db_or_conflict, is_duplicate};
use crate::rows::{OAUTH_TOKEN_COLUMNS, OAuthTokenRow, Time};
use crate::store::{for_each_store, sql};

/// The start of every revoking update: `revoked_at` is bound first.
const REVOKE: &str = "UPDATE auth_oauth_tokens SET revoked_at = ? WHERE revoked_at IS NULL AND";

/// How long a revoked-family mark is kept at least (the contract's hour).
const FAMILY_MARK_GRACE: Duration = Duration::hours(1);

macro_rules! impl_oauth_token_store {
    ($store:ty, $db:ty) => {
        #[async_trait]
        impl OAuthTokenStore for $store {
            async fn insert_oauth_token(&self, token: &OAuthToken) -> Result<(), StoreError> {
                let sql = sql!(
                    $store,
                    "INSERT INTO auth_oauth_tokens ({OAUTH_TOKEN_COLUMNS}) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                );
                sqlx::query(sql)
                    .bind(&token.digest)
                    .bind(token.kind.as_str())
                    .bind(token.application_id.0)
                    .bind(token.user_id.map(|user| user.0))
                    .bind(token.scopes.to_string())
                    .bind(token.family.0)
                    .bind(Time(token.created))
                    .bind(Time::of(token.expires))
                    .bind(Time::of(token.revoked_at))
                    .bind(Time::of(token.rotated_at))
                    .execute(&self.pool)
                    .await
                    .map_err(|err| db_or_conflict(err, "digest"))?;
                // After the insert is committed: see the module's docs.
                let sql = sql!(
                    $store,
                    "SELECT COUNT(*) FROM auth_oauth_revoked_families WHERE family = ?"
                );
                if self
                    .count(sqlx::query_scalar(sql).bind(token.family.0))
                    .await?
                    > 0
                {
                    let sql = sql!($store, "DELETE FROM auth_oauth_tokens WHERE digest = ?");
                    self.execute(sqlx::query(sql).bind(&token.digest)).await?;
                    return Err(StoreError::Conflict("family".into()));
                }
                Ok(())
            }

            async fn oauth_token(&self, digest: &str) -> Result<Option<OAuthToken>, StoreError> {
                if !nul_free(digest) {
                    return Ok(None);
                }
                let sql = sql!(
                    $store,
                    "SELECT {OAUTH_TOKEN_COLUMNS} FROM auth_oauth_tokens WHERE digest = ?"
                );
                self.read_optional::<OAuthTokenRow, _>(sqlx::query(sql).bind(digest))
                    .await
            }

            async fn rotate_refresh_token(
                &self,
                digest: &str,
                now: DateTime<Utc>,
            ) -> Result<RefreshUse, StoreError> {
                let refresh = |token: Option<OAuthToken>| {
                    token.filter(|token| token.kind == OAuthTokenKind::Refresh)
                };
                let Some(token) = refresh(self.oauth_token(digest).await?) else {
                    return Ok(RefreshUse::Unknown);
                };
                if token.rotated_at.is_some() {
                    return Ok(RefreshUse::Reused(token));
                }
                if !token.is_live(now) {
                    return Ok(RefreshUse::Dead(token));
                }
                let sql = sql!(
                    $store,
                    "UPDATE auth_oauth_tokens SET rotated_at = ? \
                     WHERE digest = ? AND rotated_at IS NULL AND revoked_at IS NULL"
                );
                let query = sqlx::query(sql).bind(Time(now)).bind(digest);
                if self.execute(query).await? == 1 {
                    return Ok(RefreshUse::First(OAuthToken {
                        rotated_at: Some(now),
                        ..token
                    }));
                }
                // Rotated or revoked in between (or purged).
                Ok(match refresh(self.oauth_token(digest).await?) {
                    Some(token) if token.rotated_at.is_some() => RefreshUse::Reused(token),
                    Some(token) => RefreshUse::Dead(token),
                    None => RefreshUse::Unknown,
                })
            }

            async fn revoke_oauth_token(
                &self,
                digest: &str,
                now: DateTime<Utc>,
            ) -> Result<bool, StoreError> {
                if !nul_free(digest) {
                    return Ok(false);
                }
                let sql = sql!($store, "{REVOKE} digest = ?");
                let query = sqlx::query(sql).bind(Time(now)).bind(digest);
                Ok(self.execute(query).await? > 0)
            }

            async fn revoke_oauth_family(
                &self,
                family: FamilyId,
                now: DateTime<Utc>,
            ) -> Result<u64, StoreError> {
                // The mark first: see the module's docs.
                let sql = sql!(
                    $store,
                    "INSERT INTO auth_oauth_revoked_families (family, revoked_at) VALUES (?, ?)"
                );
                let marked = sqlx::query(sql)
                    .bind(family.0)
                    .bind(Time(now))
                    .execute(&self.pool)
                    .await;
                match marked {
                    Ok(_) => {}
                    Err(err) if is_duplicate(&err) => {
                        let sql = sql!(
                            $store,
                            "UPDATE auth_oauth_revoked_families SET revoked_at = ? \
                             WHERE family = ? AND revoked_at < ?"
                        );
                        let query = sqlx::query(sql)
                            .bind(Time(now))
                            .bind(family.0)
                            .bind(Time(now));
                        self.execute(query).await?;
                    }
                    Err(err) => return Err(db(err)),
                }
                let sql = sql!($store, "{REVOKE} family = ?");
                let query = sqlx::query(sql).bind(Time(now)).bind(family.0);
                self.execute(query).await
            }

            async fn revoke_user_oauth_tokens(
                &self,
                user: UserId,
                now: DateTime<Utc>,
            ) -> Result<u64, StoreError> {
                let sql = sql!($store, "{REVOKE} user_id = ?");
                let query = sqlx::query(sql).bind(Time(now)).bind(user.0);
                self.execute(query).await
            }

            async fn revoke_application_tokens(
                &self,
                application: ApplicationId,
                user: Option<UserId>,
                now: DateTime<Utc>,
            ) -> Result<u64, StoreError> {
                let query = match user {
                    Some(user) => {
                        let sql = sql!($store, "{REVOKE} application_id = ? AND user_id = ?");
                        sqlx::query(sql)
                            .bind(Time(now))
                            .bind(application.0)
                            .bind(user.0)
                    }
                    None => {
                        let sql = sql!($store, "{REVOKE} application_id = ?");
                        sqlx::query(sql).bind(Time(now)).bind(application.0)
                    }
                };
                self.execute(query).await
            }

            async fn purge_oauth_tokens(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
                let sql = sql!($store, "DELETE FROM auth_oauth_tokens WHERE expires <= ?");
                let purged = self.execute(sqlx::query(sql).bind(Time(now))).await?;
                let sql = sql!(
                    $store,
                    "DELETE FROM auth_oauth_revoked_families WHERE revoked_at <= ? \
                     AND NOT EXISTS (SELECT 1 FROM auth_oauth_tokens \
                     WHERE auth_oauth_tokens.family = auth_oauth_revoked_families.family)"
                );
                let query = sqlx::query(sql).bind(Time(now - FAMILY_MARK_GRACE));
                self.execute(query).await?;
                Ok(purged)
            }
        }
    };
}

for_each_store!(impl_oauth_token_store);
