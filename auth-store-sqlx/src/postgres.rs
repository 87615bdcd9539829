//! [`PostgresStore`]: every store trait over PostgreSQL (feature `postgres`).
//!
//! Schema: `migrations/postgres/` (UUID ids, `TIMESTAMPTZ` times at
//! microsecond precision, the profile as `JSONB`), applied by
//! [`PostgresStore::migrate`].
//!
//! Put the tables in a schema of their own with `search_path`:
//!
//! ```no_run
//! use std::str::FromStr;
//! use auth_store_sqlx::{PoolSettings, PostgresStore};
//! use auth_store_sqlx::sqlx::postgres::PgConnectOptions;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let options = PgConnectOptions::from_str("postgres://app@db.internal/app")?
//!     .options([("search_path", "auth")]);
//! let store = PostgresStore::connect_with(options, PoolSettings::default().max_connections(8))
//!     .await?
//!     .with_read_connections(2);
//! store.migrate().await?;
//! # Ok(()) }
//! ```

use auth_core::error::StoreError;
use auth_core::user::UserId;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

use crate::PoolSettings;
use crate::error::db;
use crate::store::{numbered, sql_store};

sql_store! {
    /// Every store trait over PostgreSQL. Knox inserts under a limit and
    /// static-token creation lock the user's row in `auth_user_locks`
    /// (`SELECT ... FOR UPDATE`) for their transaction.
    pub struct PostgresStore {
        database: Postgres,
        pool: PgPool,
        pool_options: PgPoolOptions,
        connect_options: PgConnectOptions,
        migrations: "migrations/postgres",
        placeholders: numbered,
        kept_ping: PoolSettings::ping_after_idle,
        connect_url: "postgres://user:password@host:port/database",
    }
}

impl PostgresStore {
    /// A transaction holding the lock on the user's row in
    /// `auth_user_locks` until it ends, creating the row first if needed.
    pub(crate) async fn begin_for_user(
        &self,
        user: UserId,
    ) -> Result<Transaction<'static, Postgres>, StoreError> {
        const LOCK: &str = "SELECT 1 FROM auth_user_locks WHERE user_id = $1 FOR UPDATE";
        let mut tx = self.pool.begin().await.map_err(db)?;
        let locked = sqlx::query(LOCK)
            .bind(user.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        if locked.is_none() {
            // A concurrent creator makes this wait for its commit, then do
            // nothing; either way the row exists afterwards.
            sqlx::query(
                "INSERT INTO auth_user_locks (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING",
            )
            .bind(user.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            sqlx::query(LOCK)
                .bind(user.0)
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?;
        }
        Ok(tx)
    }

    /// The latest instant PostgreSQL's `TIMESTAMPTZ` holds that chrono does
    /// too.
    pub(crate) fn latest_time() -> DateTime<Utc> {
        DateTime::<Utc>::MAX_UTC
    }

    /// How a blacklist insert ends: a taken jti inserts nothing.
    pub(crate) const BLACKLIST_TAKEN_JTI: &str = " ON CONFLICT (jti) DO NOTHING";

    /// A family's revocation, kept until the later of the two expiries.
    pub(crate) const REVOKE_FAMILY: &str = "INSERT INTO auth_jwt_revoked_families \
         (family, user_id, expires_at) VALUES (?, ?, ?) ON CONFLICT (family) DO UPDATE SET \
         expires_at = GREATEST(auth_jwt_revoked_families.expires_at, EXCLUDED.expires_at)";

    /// A user's "tokens valid after" mark, never moved back.
    pub(crate) const RAISE_VALID_AFTER: &str = "INSERT INTO auth_jwt_valid_after \
         (user_id, valid_after) VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET \
         valid_after = GREATEST(auth_jwt_valid_after.valid_after, EXCLUDED.valid_after)";

    /// The login time, not waiting for a user row that another transaction
    /// is writing: that write stands, and `last_login` keeps what it leaves.
    /// Waiting would make concurrent logins to one account queue on the
    /// row's lock, one commit (one WAL flush) at a time, each holding a pool
    /// connection, until every other query of the service waited for a
    /// connection too.
    pub(crate) const SET_LAST_LOGIN: &str = "UPDATE auth_users SET last_login = ? WHERE id = \
         (SELECT id FROM auth_users WHERE id = ? FOR NO KEY UPDATE SKIP LOCKED)";
}
