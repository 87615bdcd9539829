//! [`SqliteStore`]: every store trait over an embedded SQLite database
//! (feature `sqlite`, on by default).
//!
//! Schema: `migrations/sqlite/` (`STRICT` tables; times as integer
//! microseconds since the Unix epoch, UUIDs as 16-byte blobs, the profile
//! as JSON text), applied by [`SqliteStore::migrate`].
//!
//! A file database is opened in WAL mode (readers never wait for the
//! writer) with `synchronous = NORMAL` and a 5 second busy timeout, and is
//! created on first use. Writers are serialised by SQLite itself; the
//! operations that must be atomic across statements (Knox inserts under a
//! limit, static-token creation) run in `BEGIN IMMEDIATE` transactions,
//! which take the write lock up front.
//!
//! ```no_run
//! use auth_store_sqlx::SqliteStore;
//!
//! # async fn run() -> Result<(), auth_store_sqlx::SqlxStoreError> {
//! let store = SqliteStore::connect("sqlite://auth.db").await?;
//! store.migrate().await?;
//!
//! // Or with options and settings of its own and two kept read connections.
//! let options = SqliteStore::file_options("auth.db");
//! let store = SqliteStore::connect_with(options, SqliteStore::pool_settings())
//!     .await?
//!     .with_read_connections(2);
//! # Ok(()) }
//! ```

use std::borrow::Cow;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration as StdDuration;

use auth_core::error::StoreError;
use auth_core::user::UserId;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};

use crate::error::{SqlxStoreError, db};
use crate::store::sql_store;
use crate::{DEFAULT_READ_CONNECTIONS, PoolSettings};

/// The busy timeout of the connections [`SqliteStore::file_options`] makes.
const BUSY_TIMEOUT: StdDuration = StdDuration::from_secs(5);

sql_store! {
    /// Every store trait over SQLite, in a file
    /// ([`connect`](Self::connect) creates it if missing) or in memory
    /// ([`memory`](Self::memory), for tests). Prefer `connect_with` to
    /// `connect_lazy_with` for a new file: it opens the first connection
    /// before it returns, which switches the file to WAL before other
    /// connections open it.
    ///
    /// Never keep read connections
    /// ([`with_read_connections`](Self::with_read_connections)) on an
    /// in-memory database: each connection detached from its pool would
    /// take the database with it (the pool would then open a new, empty
    /// one).
    pub struct SqliteStore {
        database: Sqlite,
        pool: SqlitePool,
        pool_options: SqlitePoolOptions,
        connect_options: SqliteConnectOptions,
        migrations: "migrations/sqlite",
        placeholders: Cow::Borrowed,
        // Nothing outside this process can close a SQLite connection, so a
        // kept one is never pinged.
        kept_ping: |_: &PoolSettings| None,
    }
}

impl SqliteStore {
    /// The connection options this store recommends for a database file:
    /// created if missing, WAL journal, `synchronous = NORMAL`, a 5 second
    /// busy timeout, foreign keys enforced (the schema has none).
    pub fn file_options(path: impl AsRef<Path>) -> SqliteConnectOptions {
        Self::for_a_file(SqliteConnectOptions::new().filename(path)).foreign_keys(true)
    }

    /// `options` set up for a file as [`file_options`](Self::file_options) says.
    fn for_a_file(options: SqliteConnectOptions) -> SqliteConnectOptions {
        options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
    }

    /// Opens the database file named by `url` (`sqlite://auth.db`,
    /// `sqlite:///var/lib/app/auth.db`, `sqlite:auth.db?mode=rwc`), creating
    /// it if missing, with the settings of [`file_options`](Self::file_options)
    /// and [`pool_settings`](Self::pool_settings). An in-memory URL
    /// (`sqlite::memory:`) gives [`memory`](Self::memory) instead.
    ///
    /// A file store keeps [`DEFAULT_READ_CONNECTIONS`] connections for the
    /// reads that authenticate a request (see
    /// [`with_read_connections`](Self::with_read_connections)).
    pub async fn connect(url: &str) -> Result<Self, SqlxStoreError> {
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Self::memory().await;
        }
        let options = Self::for_a_file(SqliteConnectOptions::from_str(url)?);
        let store = Self::connect_with(options, Self::pool_settings()).await?;
        Ok(store.with_read_connections(DEFAULT_READ_CONNECTIONS))
    }

    /// The pool settings this store recommends: [`PoolSettings::default`]
    /// without the ping before each acquire. A SQLite connection is a file
    /// handle inside this process that nothing outside can close, so the
    /// ping could never catch a dead connection; it would only add a round
    /// trip to the connection's worker thread to every query.
    ///
    /// ```
    /// use auth_store_sqlx::{PoolSettings, SqliteStore};
    ///
    /// let settings = SqliteStore::pool_settings().max_connections(4);
    /// assert_ne!(settings, PoolSettings::default().max_connections(4));
    /// ```
    pub fn pool_settings() -> PoolSettings {
        PoolSettings::default().test_before_acquire(false)
    }

    /// A fresh, migrated in-memory database, for tests and examples.
    ///
    /// It lives in the pool's one connection, which is never closed for
    /// idleness or age, so every operation sees the same data and they run
    /// one at a time; everything is gone when the store is dropped.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use auth_core::store::UserStore;
    /// use auth_core::user::User;
    ///
    /// let store = auth_store_sqlx::SqliteStore::memory().await?;
    /// let ada = User::new_for_tests("ada", "ada@example.com");
    /// store.insert_user(&ada).await?;
    /// assert_eq!(store.user_by_username("ADA").await?, Some(ada));
    /// # Ok(()) }
    /// ```
    pub async fn memory() -> Result<Self, SqlxStoreError> {
        let options = SqliteConnectOptions::new()
            .in_memory(true)
            .foreign_keys(true);
        let settings = Self::pool_settings()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None);
        let store = Self::connect_with(options, settings).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// A transaction holding SQLite's write lock from its start (`BEGIN
    /// IMMEDIATE`), so that what it counts and what it inserts see one
    /// state.
    pub(crate) async fn begin_for_user(
        &self,
        _user: UserId,
    ) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)
    }

    /// The latest time stored (as microseconds, it fits an `i64`).
    pub(crate) fn latest_time() -> DateTime<Utc> {
        DateTime::<Utc>::MAX_UTC
    }

    /// How a blacklist insert ends: a taken jti inserts nothing.
    pub(crate) const BLACKLIST_TAKEN_JTI: &str = " ON CONFLICT (jti) DO NOTHING";

    /// A family's revocation, kept until the later of the two expiries.
    pub(crate) const REVOKE_FAMILY: &str = "INSERT INTO auth_jwt_revoked_families \
         (family, user_id, expires_at) VALUES (?, ?, ?) ON CONFLICT (family) DO UPDATE SET \
         expires_at = max(expires_at, excluded.expires_at)";

    /// A user's "tokens valid after" mark, never moved back.
    pub(crate) const RAISE_VALID_AFTER: &str = "INSERT INTO auth_jwt_valid_after \
         (user_id, valid_after) VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET \
         valid_after = max(valid_after, excluded.valid_after)";

    /// The login time (SQLite runs one writer at a time).
    pub(crate) const SET_LAST_LOGIN: &str = "UPDATE auth_users SET last_login = ? WHERE id = ?";
}
