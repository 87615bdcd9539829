//! [`UserStore`] for every store: the same queries on every database but
//! for `set_last_login`, each store's `SET_LAST_LOGIN` (PostgreSQL skips a
//! row that is being written).

use async_trait::async_trait;
use auth_core::error::StoreError;
use auth_core::store::{Page, UserQuery, UserStore};
use auth_core::user::{User, UserId, UserUpdate, fold_case};
use chrono::{DateTime, Utc};
use sqlx::types::Json;

use crate::common::{clamp_i64, contains_pattern, nul_free};
use crate::error::{db, db_or_conflict};
use crate::rows::{Time, USER_COLUMNS, UserRow};
use crate::store::{for_each_store, sql};

/// Writes exactly the columns a `UserUpdate` names: a `NULL` value keeps
/// the stored column. The folded forms are set beside the names.
const UPDATE_USER: &str = "UPDATE auth_users SET \
     username = COALESCE(?, username), username_folded = COALESCE(?, username_folded), \
     email = COALESCE(?, email), email_folded = COALESCE(?, email_folded), \
     first_name = COALESCE(?, first_name), \
     first_name_folded = COALESCE(?, first_name_folded), \
     last_name = COALESCE(?, last_name), last_name_folded = COALESCE(?, last_name_folded), \
     is_active = COALESCE(?, is_active), is_staff = COALESCE(?, is_staff), \
     is_superuser = COALESCE(?, is_superuser), \
     email_verified = COALESCE(?, email_verified), profile = COALESCE(?, profile), \
     date_joined = COALESCE(?, date_joined) \
     WHERE id = ?";

/// A listing search: one pattern on four folded columns. `LIKE` is ASCII
/// case-insensitive in SQLite and compares bytes on MySQL's `VARBINARY`,
/// which changes nothing here: both sides are already folded.
const SEARCH: &str = " WHERE username_folded LIKE ? ESCAPE '!' \
     OR email_folded LIKE ? ESCAPE '!' \
     OR first_name_folded LIKE ? ESCAPE '!' \
     OR last_name_folded LIKE ? ESCAPE '!'";

macro_rules! impl_user_store {
    ($store:ty, $db:ty) => {
        impl $store {
            /// The user found by `sql` (which binds `value`).
            async fn user_where(&self, sql: &str, value: String) -> Result<Option<User>, StoreError> {
                if !nul_free(&value) {
                    return Ok(None);
                }
                self.fetch_optional(sqlx::query_as::<_, UserRow>(sql).bind(value)).await
            }
        }

        #[async_trait]
        impl UserStore for $store {
            async fn insert_user(&self, user: &User) -> Result<(), StoreError> {
                let sql = sql!($store, "INSERT INTO auth_users (id, username, username_folded, email, email_folded, \
                     first_name, first_name_folded, last_name, last_name_folded, is_active, \
                     is_staff, is_superuser, email_verified, date_joined, last_login, \
                     password_hash, profile, legacy_id) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
                sqlx::query(sql)
                    .bind(user.id.0)
                    .bind(&user.username)
                    .bind(fold_case(&user.username))
                    .bind(&user.email)
                    .bind(fold_case(&user.email))
                    .bind(&user.first_name)
                    .bind(fold_case(&user.first_name))
                    .bind(&user.last_name)
                    .bind(fold_case(&user.last_name))
                    .bind(user.is_active)
                    .bind(user.is_staff)
                    .bind(user.is_superuser)
                    .bind(user.email_verified)
                    .bind(Time(user.date_joined))
                    .bind(Time::of(user.last_login))
                    .bind(&user.password_hash)
                    .bind(Json(&user.profile))
                    .bind(user.legacy_id)
                    .execute(&self.pool)
                    .await
                    .map_err(|err| db_or_conflict(err, "id"))?;
                Ok(())
            }

            async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
                let sql = sql!($store, "SELECT {USER_COLUMNS} FROM auth_users WHERE id = ?");
                self.read_optional::<UserRow, _>(sqlx::query(sql).bind(id.0)).await
            }

            async fn user_by_legacy_id(&self, legacy_id: i64) -> Result<Option<User>, StoreError> {
                let sql = sql!($store, "SELECT {USER_COLUMNS} FROM auth_users WHERE legacy_id = ?");
                self.fetch_optional(sqlx::query_as::<_, UserRow>(sql).bind(legacy_id)).await
            }

            async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
                let sql = sql!($store, "SELECT {USER_COLUMNS} FROM auth_users WHERE username_folded = ?");
                self.user_where(sql, fold_case(username)).await
            }

            async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
                let sql = sql!($store, "SELECT {USER_COLUMNS} FROM auth_users WHERE email_folded = ?");
                self.user_where(sql, fold_case(email)).await
            }

            async fn update_user(&self, id: UserId, update: &UserUpdate) -> Result<(), StoreError> {
                let folded = |value: &Option<String>| value.as_deref().map(fold_case);
                let done = sqlx::query(sql!($store, "{UPDATE_USER}"))
                    .bind(update.username.as_deref())
                    .bind(folded(&update.username))
                    .bind(update.email.as_deref())
                    .bind(folded(&update.email))
                    .bind(update.first_name.as_deref())
                    .bind(folded(&update.first_name))
                    .bind(update.last_name.as_deref())
                    .bind(folded(&update.last_name))
                    .bind(update.is_active)
                    .bind(update.is_staff)
                    .bind(update.is_superuser)
                    .bind(update.email_verified)
                    .bind(update.profile.as_ref().map(Json))
                    .bind(Time::of(update.date_joined))
                    .bind(id.0)
                    .execute(&self.pool)
                    .await
                    .map_err(|err| db_or_conflict(err, "id"))?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }

            async fn set_password_hash(
                &self,
                id: UserId,
                hash: Option<&str>,
            ) -> Result<(), StoreError> {
                let sql = sql!($store, "UPDATE auth_users SET password_hash = ? WHERE id = ?");
                if self.execute(sqlx::query(sql).bind(hash).bind(id.0)).await? == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }

            async fn replace_password_hash(
                &self,
                id: UserId,
                current: &str,
                new: &str,
            ) -> Result<bool, StoreError> {
                let sql = sql!($store, "UPDATE auth_users SET password_hash = ? WHERE id = ? AND password_hash = ?");
                let query = sqlx::query(sql).bind(new).bind(id.0).bind(current);
                Ok(self.execute(query).await? > 0)
            }

            async fn set_last_login(&self, id: UserId, at: DateTime<Utc>) -> Result<(), StoreError> {
                let sql = sql!($store, "{}", <$store>::SET_LAST_LOGIN);
                if self.execute(sqlx::query(sql).bind(Time(at)).bind(id.0)).await? > 0 {
                    return Ok(());
                }
                // No such user, or (PostgreSQL) its row was being written
                // and was skipped.
                let sql = sql!($store, "SELECT 1 FROM auth_users WHERE id = ?");
                let found = sqlx::query(sql).bind(id.0).fetch_optional(&self.pool).await;
                found.map_err(db)?.map(drop).ok_or(StoreError::NotFound)
            }

            async fn delete_user(&self, id: UserId) -> Result<bool, StoreError> {
                let sql = sql!($store, "DELETE FROM auth_users WHERE id = ?");
                Ok(self.execute(sqlx::query(sql).bind(id.0)).await? > 0)
            }

            async fn list_users(&self, query: &UserQuery) -> Result<Page<User>, StoreError> {
                let search = query.search.as_deref();
                if search.is_some_and(|search| !nul_free(search)) {
                    return Ok(Page {
                        items: Vec::new(),
                        total: 0,
                    });
                }
                const PAGE: &str = "ORDER BY date_joined, id LIMIT ? OFFSET ?";
                let (mut count, mut page) = match search {
                    None => (
                        sqlx::query_scalar(sql!($store, "SELECT COUNT(*) FROM auth_users")),
                        sqlx::query_as::<_, UserRow>(sql!($store, "SELECT {USER_COLUMNS} FROM auth_users {PAGE}")),
                    ),
                    Some(_) => (
                        sqlx::query_scalar(sql!($store, "SELECT COUNT(*) FROM auth_users{SEARCH}")),
                        sqlx::query_as(sql!($store, "SELECT {USER_COLUMNS} FROM auth_users{SEARCH} {PAGE}")),
                    ),
                };
                let pattern = search.map(contains_pattern);
                if let Some(pattern) = &pattern {
                    count = count.bind(pattern).bind(pattern).bind(pattern).bind(pattern);
                    page = page.bind(pattern).bind(pattern).bind(pattern).bind(pattern);
                }
                let page = page.bind(clamp_i64(query.limit)).bind(clamp_i64(query.offset));
                let total = self.count(count).await?;
                Ok(Page { items: self.fetch_all(page).await?, total })
            }
        }
    };
}

for_each_store!(impl_user_store);
