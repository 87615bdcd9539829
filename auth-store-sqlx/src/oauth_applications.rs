//! [`OAuthApplicationStore`] for every store: the same queries on every
//! database. A taken id or `client_id` is refused by the table's keys.

use async_trait::async_trait;
use auth_core::error::StoreError;
use auth_core::oauth::{Application, ApplicationId};
use auth_core::store::OAuthApplicationStore;
use auth_core::user::UserId;
use sqlx::types::Json;

use crate::common::nul_free;
use crate::error::db_or_conflict;
use crate::rows::{APPLICATION_COLUMNS, ApplicationRow, Time, grant_types_text};
use crate::store::{Query, for_each_store, sql};

/// The columns `update_application` writes, in the order
/// `bind_changeable` binds them.
const CHANGEABLE: &str = "name, client_type, grant_types, redirect_uris, \
     post_logout_redirect_uris, allowed_origins, skip_authorization, secret_digest, \
     previous_secret_digest, previous_secret_until, updated";

macro_rules! impl_oauth_application_store {
    ($store:ty, $db:ty) => {
        impl $store {
            /// `query` with the [`CHANGEABLE`] columns of `app` bound.
            fn bind_changeable<'q>(query: Query<'q, $db>, app: &'q Application) -> Query<'q, $db> {
                query
                    .bind(&app.name)
                    .bind(app.client_type.as_str())
                    .bind(grant_types_text(&app.grant_types))
                    .bind(Json(&app.redirect_uris))
                    .bind(Json(&app.post_logout_redirect_uris))
                    .bind(Json(&app.allowed_origins))
                    .bind(app.skip_authorization)
                    .bind(&app.secret_digest)
                    .bind(&app.previous_secret_digest)
                    .bind(Time::of(app.previous_secret_until))
                    .bind(Time(app.updated))
            }
        }

        #[async_trait]
        impl OAuthApplicationStore for $store {
            async fn insert_application(&self, app: &Application) -> Result<(), StoreError> {
                let sql = sql!(
                    $store,
                    "INSERT INTO auth_oauth_applications (id, client_id, owner, created, \
                     {CHANGEABLE}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                );
                let query = sqlx::query(sql)
                    .bind(app.id.0)
                    .bind(&app.client_id)
                    .bind(app.owner.map(|owner| owner.0))
                    .bind(Time(app.created));
                Self::bind_changeable(query, app)
                    .execute(&self.pool)
                    .await
                    .map_err(|err| db_or_conflict(err, "client_id"))?;
                Ok(())
            }

            async fn application(
                &self,
                id: ApplicationId,
            ) -> Result<Option<Application>, StoreError> {
                let sql = sql!(
                    $store,
                    "SELECT {APPLICATION_COLUMNS} FROM auth_oauth_applications WHERE id = ?"
                );
                self.fetch_optional(sqlx::query_as::<_, ApplicationRow>(sql).bind(id.0))
                    .await
            }

            async fn application_by_client_id(
                &self,
                client_id: &str,
            ) -> Result<Option<Application>, StoreError> {
                if !nul_free(client_id) {
                    return Ok(None);
                }
                let sql = sql!(
                    $store,
                    "SELECT {APPLICATION_COLUMNS} FROM auth_oauth_applications \
                     WHERE client_id = ?"
                );
                self.fetch_optional(sqlx::query_as::<_, ApplicationRow>(sql).bind(client_id))
                    .await
            }

            async fn user_applications(
                &self,
                owner: UserId,
            ) -> Result<Vec<Application>, StoreError> {
                let sql = sql!(
                    $store,
                    "SELECT {APPLICATION_COLUMNS} FROM auth_oauth_applications \
                     WHERE owner = ? ORDER BY created, id"
                );
                self.fetch_all(sqlx::query_as::<_, ApplicationRow>(sql).bind(owner.0))
                    .await
            }

            async fn update_application(&self, app: &Application) -> Result<bool, StoreError> {
                let sql = sql!(
                    $store,
                    "UPDATE auth_oauth_applications SET {} WHERE id = ?",
                    CHANGEABLE.replace(',', " = ?,") + " = ?"
                );
                let query = Self::bind_changeable(sqlx::query(sql), app).bind(app.id.0);
                Ok(self.execute(query).await? > 0)
            }

            async fn delete_application(&self, id: ApplicationId) -> Result<bool, StoreError> {
                let sql = sql!($store, "DELETE FROM auth_oauth_applications WHERE id = ?");
                Ok(self.execute(sqlx::query(sql).bind(id.0)).await? > 0)
            }
        }
    };
}

for_each_store!(impl_oauth_application_store);
