//! [`OAuthConsentStore`] for every store: the same queries on every
//! database. A save adds scopes by compare-and-set: it reads the consent,
//! then inserts it or updates it only while its scopes are still the ones
//! read, and starts again when another save came in between.

use async_trait::async_trait;
use auth_core::error::StoreError;
use auth_core::oauth::{ApplicationId, Consent};
use auth_core::store::OAuthConsentStore;
use auth_core::user::UserId;

use crate::error::{db, is_duplicate};
use crate::rows::{CONSENT_COLUMNS, ConsentRow, Time};
use crate::store::{for_each_store, sql};

/// How many times a save reads again after losing a race before it gives
/// up (each loss means another save for the same pair succeeded).
const MAX_SAVE_ATTEMPTS: usize = 64;

/// Saves kept losing to concurrent ones.
#[derive(Debug, thiserror::Error)]
#[error("a consent save lost {MAX_SAVE_ATTEMPTS} races in a row")]
struct SaveContended;

macro_rules! impl_oauth_consent_store {
    ($store:ty, $db:ty) => {
        impl $store {
            /// One attempt at a save: the stored consent, or `None` when
            /// another save came in between.
            async fn try_save_consent(
                &self,
                consent: &Consent,
            ) -> Result<Option<Consent>, StoreError> {
                let (user, app) = (consent.user_id, consent.application_id);
                let Some(stored) = self.consent(user, app).await? else {
                    let sql = sql!(
                        $store,
                        "INSERT INTO auth_oauth_consents ({CONSENT_COLUMNS}) \
                         VALUES (?, ?, ?, ?, ?)"
                    );
                    let inserted = sqlx::query(sql)
                        .bind(user.0)
                        .bind(app.0)
                        .bind(consent.scopes.to_string())
                        .bind(Time(consent.created))
                        .bind(Time(consent.updated))
                        .execute(&self.pool)
                        .await;
                    return match inserted {
                        Ok(_) => Ok(Some(consent.clone())),
                        Err(err) if is_duplicate(&err) => Ok(None),
                        Err(err) => Err(db(err)),
                    };
                };
                let saved = Consent {
                    scopes: stored.scopes.union(&consent.scopes),
                    updated: consent.updated,
                    ..stored.clone()
                };
                let sql = sql!(
                    $store,
                    "UPDATE auth_oauth_consents SET scopes = ?, updated = ? \
                     WHERE user_id = ? AND application_id = ? AND scopes = ?"
                );
                let query = sqlx::query(sql)
                    .bind(saved.scopes.to_string())
                    .bind(Time(saved.updated))
                    .bind(user.0)
                    .bind(app.0)
                    .bind(stored.scopes.to_string());
                Ok((self.execute(query).await? == 1).then_some(saved))
            }
        }

        #[async_trait]
        impl OAuthConsentStore for $store {
            async fn consent(
                &self,
                user: UserId,
                application: ApplicationId,
            ) -> Result<Option<Consent>, StoreError> {
                let sql = sql!(
                    $store,
                    "SELECT {CONSENT_COLUMNS} FROM auth_oauth_consents \
                     WHERE user_id = ? AND application_id = ?"
                );
                let query = sqlx::query_as::<_, ConsentRow>(sql)
                    .bind(user.0)
                    .bind(application.0);
                self.fetch_optional(query).await
            }

            async fn save_consent(&self, consent: &Consent) -> Result<Consent, StoreError> {
                for _ in 0..MAX_SAVE_ATTEMPTS {
                    if let Some(saved) = self.try_save_consent(consent).await? {
                        return Ok(saved);
                    }
                }
                Err(StoreError::other(SaveContended))
            }

            async fn user_consents(&self, user: UserId) -> Result<Vec<Consent>, StoreError> {
                let sql = sql!(
                    $store,
                    "SELECT {CONSENT_COLUMNS} FROM auth_oauth_consents \
                     WHERE user_id = ? ORDER BY created, application_id"
                );
                self.fetch_all(sqlx::query_as::<_, ConsentRow>(sql).bind(user.0))
                    .await
            }

            async fn delete_consent(
                &self,
                user: UserId,
                application: ApplicationId,
            ) -> Result<bool, StoreError> {
                let sql = sql!(
                    $store,
                    "DELETE FROM auth_oauth_consents WHERE user_id = ? AND application_id = ?"
                );
                let query = sqlx::query(sql).bind(user.0).bind(application.0);
                Ok(self.execute(query).await? > 0)
            }

            async fn delete_application_consents(
                &self,
                application: ApplicationId,
            ) -> Result<u64, StoreError> {
                let sql = sql!(
                    $store,
                    "DELETE FROM auth_oauth_consents WHERE application_id = ?"
                );
                self.execute(sqlx::query(sql).bind(application.0)).await
            }
        }
    };
}

for_each_store!(impl_oauth_consent_store);
