//! [`MySqlStore`]: every store trait over MySQL 8 or MariaDB 10.5+
//! (feature `mysql`).
//!
//! Schema: `migrations/mysql/` (InnoDB, `DATETIME(6)` times in UTC, UUIDs
//! as `BINARY(16)`, the profile as `JSON`, lookup keys and folded names as
//! `VARBINARY` so that they compare bytewise), applied by
//! [`MySqlStore::migrate`]. The server is expected in strict SQL mode (the
//! default of both), so that a value too long for its column is an error
//! rather than silently cut. sqlx's defaults for the session (UTF-8
//! `utf8mb4`, time zone `+00:00`) are what the store expects.
//!
//! ```no_run
//! use std::str::FromStr;
//! use auth_store_sqlx::{MySqlStore, PoolSettings};
//! use auth_store_sqlx::sqlx::mysql::MySqlConnectOptions;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = MySqlStore::connect("mysql://app:secret@db.internal:3306/auth").await?;
//! store.migrate().await?;
//!
//! // Or with settings of its own and two kept read connections.
//! let options = MySqlConnectOptions::from_str("mysql://app@db.internal/app")?;
//! let store = MySqlStore::connect_with(options, PoolSettings::default().max_connections(8))
//!     .await?
//!     .with_read_connections(2);
//! # Ok(()) }
//! ```

use auth_core::error::StoreError;
use auth_core::store::ThrottleCount;
use auth_core::user::UserId;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::{MySql, Transaction};
use std::borrow::Cow;

use crate::PoolSettings;
use crate::common::retrying;
use crate::error::{SqlxStoreError, db, is_retryable};
use crate::rows::{ThrottleRow, Time};
use crate::store::sql_store;

/// How the transactions that lock a user's row begin: read committed, so
/// that once the lock is granted every statement sees what the previous
/// holder committed, and InnoDB takes no gap locks.
const BEGIN_READ_COMMITTED: &str =
    "SET TRANSACTION ISOLATION LEVEL READ COMMITTED; START TRANSACTION";

sql_store! {
    /// Every store trait over MySQL or MariaDB. A blacklist insert is one
    /// `INSERT` whose duplicate-key error says it lost; Knox inserts under a
    /// limit and static-token creation lock the user's row in
    /// `auth_user_locks` (`SELECT ... FOR UPDATE`, read committed) for their
    /// transaction.
    pub struct MySqlStore {
        database: MySql,
        pool: MySqlPool,
        pool_options: MySqlPoolOptions,
        connect_options: MySqlConnectOptions,
        migrations: "migrations/mysql",
        placeholders: Cow::Borrowed,
        kept_ping: PoolSettings::ping_after_idle,
        connect_url: "mysql://user:password@host:3306/database",
    }
}

impl MySqlStore {
    /// A read-committed transaction holding the lock on the user's row in
    /// `auth_user_locks`. The row is created first, outside the
    /// transaction, when it is missing (inserting it inside would take a
    /// shared lock on a duplicate, and two transactions upgrading theirs
    /// deadlock).
    pub(crate) async fn begin_for_user(
        &self,
        user: UserId,
    ) -> Result<Transaction<'static, MySql>, StoreError> {
        for _ in 0..2 {
            let mut tx = self
                .pool
                .begin_with(BEGIN_READ_COMMITTED)
                .await
                .map_err(db)?;
            let locked = sqlx::query("SELECT 1 FROM auth_user_locks WHERE user_id = ? FOR UPDATE")
                .bind(user.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
            if locked.is_some() {
                return Ok(tx);
            }
            tx.rollback().await.map_err(db)?;
            sqlx::query("INSERT IGNORE INTO auth_user_locks (user_id) VALUES (?)")
                .bind(user.0)
                .execute(&self.pool)
                .await
                .map_err(db)?;
        }
        Err(SqlxStoreError::LockRowVanished(user).into())
    }

    /// The latest instant `DATETIME(6)` holds.
    pub(crate) fn latest_time() -> DateTime<Utc> {
        NaiveDate::from_ymd_opt(9999, 12, 31)
            .and_then(|day| day.and_hms_micro_opt(23, 59, 59, 999_999))
            .map_or(DateTime::<Utc>::MAX_UTC, |naive| naive.and_utc())
    }

    /// Counts a hit on `key`'s window, opening a new one ending at `end`
    /// when the stored one ended at or before `now`: an upsert and a read
    /// of the row in one transaction, run again when it deadlocks.
    pub(crate) async fn count_hit(
        &self,
        key: &str,
        end: Time,
        now: Time,
    ) -> Result<ThrottleCount, StoreError> {
        retrying(is_retryable, || async move {
            let mut tx = self.pool.begin().await.map_err(db)?;
            // MySQL assigns left to right: `hits` first, while `resets_at`
            // still holds the old window's end.
            sqlx::query(
                "INSERT INTO auth_throttle (throttle_key, hits, resets_at) VALUES (?, 1, ?) \
                 ON DUPLICATE KEY UPDATE \
                 hits = IF(resets_at > ?, hits + 1, 1), \
                 resets_at = IF(resets_at > ?, resets_at, VALUES(resets_at))",
            )
            .bind(key)
            .bind(end)
            .bind(now)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            // The row stays locked by this transaction until it commits.
            let row: ThrottleRow =
                sqlx::query_as("SELECT hits, resets_at FROM auth_throttle WHERE throttle_key = ?")
                    .bind(key)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db)?;
            tx.commit().await.map_err(db)?;
            Ok(row.into())
        })
        .await
    }

    /// How a blacklist insert ends: a plain `INSERT`, whose duplicate-key
    /// error says the jti was taken (`INSERT IGNORE` would also turn a value
    /// too long for its column into a warning and a cut value).
    pub(crate) const BLACKLIST_TAKEN_JTI: &str = "";

    /// A family's revocation, kept until the later of the two expiries.
    pub(crate) const REVOKE_FAMILY: &str = "INSERT INTO auth_jwt_revoked_families \
         (family, user_id, expires_at) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE \
         expires_at = GREATEST(expires_at, VALUES(expires_at))";

    /// A user's "tokens valid after" mark, never moved back.
    pub(crate) const RAISE_VALID_AFTER: &str = "INSERT INTO auth_jwt_valid_after \
         (user_id, valid_after) VALUES (?, ?) \
         ON DUPLICATE KEY UPDATE valid_after = GREATEST(valid_after, VALUES(valid_after))";

    /// The login time.
    pub(crate) const SET_LAST_LOGIN: &str = "UPDATE auth_users SET last_login = ? WHERE id = ?";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_datetime_is_the_end_of_9999() {
        assert_eq!(
            MySqlStore::latest_time().to_rfc3339(),
            "9999-12-31T23:59:59.999999+00:00"
        );
    }
}
