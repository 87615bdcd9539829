//! [`MySqlStore`]: every store trait over MySQL 8 or MariaDB 10.5+
//! (feature `mysql`).
//!
//! Schema: `migrations/mysql/` (InnoDB, `DATETIME(6)` times in UTC, UUIDs
//! as `BINARY(16)`, the profile as `JSON`, lookup keys and folded names as
//! `VARBINARY` so that they compare bytewise), applied by
//! [`MySqlStore::migrate`]. The server is expected in strict SQL mode (the
//! default of both), so that a value too long for its column is an error
//! rather than silently cut.
//!
//! The reads that authenticate a request can run on a few connections kept
//! beside the pool, which saves the ping sqlx makes on every connection
//! given back to it ([`MySqlStore::with_read_connections`];
//! [`MySqlStore::connect`] keeps [`DEFAULT_READ_CONNECTIONS`]).
//!
//! ```no_run
//! use auth_store_sqlx::MySqlStore;
//!
//! # async fn run() -> Result<(), auth_store_sqlx::SqlxStoreError> {
//! let store = MySqlStore::connect("mysql://app:secret@db.internal:3306/auth").await?;
//! store.migrate().await?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use auth_core::error::StoreError;
use auth_core::store::{
    BlacklistEntry, HistoryEntry, JwtRevocationStore, KnoxInsert, KnoxTokenRecord, KnoxTokenStore,
    LoginHistoryStore, Page, RevocationState, StaticTokenRecord, StaticTokenStore, ThrottleCount,
    ThrottleStore, TokenLimit, UserQuery, UserStore,
};
use auth_core::user::{User, UserId, UserUpdate, fold_case};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{Map, Value};
use sqlx::migrate::Migrator;
use sqlx::mysql::{MySqlConnectOptions, MySqlDatabaseError, MySqlPool, MySqlPoolOptions, MySqlRow};
use sqlx::types::Json;
use sqlx::{MySql, MySqlConnection, Row, Transaction};

use crate::common::{
    DEFAULT_READ_CONNECTIONS, PoolSettings, SWEEP_EVERY, SWEEP_MARGIN, clamp_i64, contains_pattern,
    count_u64, eviction_cutoff, impl_apply_settings, parse_event, require_runtime, retrying,
    window_end,
};
use crate::common::{bind_user_update, update_user_sql};

use crate::error::{SqlxStoreError, db, db_or_conflict, is_duplicate, is_retryable};
use crate::kept::{ReadConnections, impl_read_queries};

impl_apply_settings!(MySqlPoolOptions);
impl_read_queries!(MySql);

/// The embedded migrations (`migrations/mysql/`); applied migrations this
/// crate does not know are ignored.
static MIGRATOR: LazyLock<Migrator> = LazyLock::new(|| {
    let mut migrator = sqlx::migrate!("migrations/mysql");
    migrator.set_ignore_missing(true);
    migrator
});

/// How the transactions that lock a user's row begin: read committed, so
/// that once the lock is granted every statement sees what the previous
/// holder committed, and InnoDB takes no gap locks.
const BEGIN_READ_COMMITTED: &str =
    "SET TRANSACTION ISOLATION LEVEL READ COMMITTED; START TRANSACTION";

/// Whether the server's error says it could not be used for now: 1040 too
/// many connections, 1053 server shutdown in progress, 1927 connection
/// killed (MariaDB), 4031 idle client disconnected.
pub(crate) fn is_unavailable_code(err: &MySqlDatabaseError) -> bool {
    matches!(err.number(), 1040 | 1053 | 1927 | 4031)
}

/// The index a duplicate-key message names: `... for key 'name'` (MariaDB)
/// or `... for key 'table.name'` (MySQL 8).
pub(crate) fn duplicate_key_name(message: &str) -> Option<&str> {
    let (_, key) = message.rsplit_once(" for key '")?;
    let key = key.strip_suffix('\'').unwrap_or(key);
    Some(key.rsplit_once('.').map_or(key, |(_, name)| name))
}

/// A text column (read as bytes, whatever the column's collation flags).
fn text(row: &MySqlRow, column: &str) -> Result<String, StoreError> {
    let bytes: Vec<u8> = row.try_get(column).map_err(db)?;
    String::from_utf8(bytes).map_err(|err| db(sqlx::Error::Decode(Box::new(err))))
}

/// A nullable text column.
fn opt_text(row: &MySqlRow, column: &str) -> Result<Option<String>, StoreError> {
    let bytes: Option<Vec<u8>> = row.try_get(column).map_err(db)?;
    bytes
        .map(|bytes| String::from_utf8(bytes).map_err(|err| db(sqlx::Error::Decode(Box::new(err)))))
        .transpose()
}

/// A column read with sqlx's own decoding.
fn get<'r, T>(row: &'r MySqlRow, column: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, MySql> + sqlx::Type<MySql>,
{
    row.try_get(column).map_err(db)
}

/// The latest instant `DATETIME(6)` holds.
fn latest_time() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|day| day.and_hms_micro_opt(23, 59, 59, 999_999))
        .map_or(DateTime::<Utc>::MAX_UTC, |naive| naive.and_utc())
}

/// Every store trait over MySQL or MariaDB.
///
/// Cheap to clone (the pool is shared). Build it with
/// [`connect`](Self::connect), [`connect_with`](Self::connect_with),
/// [`connect_lazy_with`](Self::connect_lazy_with) or
/// [`from_pool`](Self::from_pool), then run [`migrate`](Self::migrate)
/// once. Operations that wait longer than the pool's acquire timeout fail
/// with [`StoreError::Unavailable`]; the pool reconnects by itself.
///
/// Atomicity: unique indexes decide username, email and digest conflicts;
/// a blacklist insert is one `INSERT` whose duplicate-key error says it
/// lost; a throttle hit is an `INSERT ... ON DUPLICATE KEY UPDATE` and a
/// read of the row in one transaction; Knox inserts under a limit and
/// static-token creation lock the user's row in `auth_user_locks`
/// (`SELECT ... FOR UPDATE`, read committed) for their transaction. A
/// transaction that deadlocks is run again.
///
/// `auth_user_locks` gains one 16-byte row per user who ever inserted a
/// Knox token under a limit or a static token. Rows are never deleted: a
/// deletion could slip between another transaction's lookup and its lock.
///
/// `Debug` shows the pool's size, never the connection URL or any record.
#[derive(Clone)]
pub struct MySqlStore {
    pool: MySqlPool,
    /// Throttle hits through this value, to sweep ended windows now and then.
    hits: std::sync::Arc<AtomicU64>,
    /// Connections kept out of the pool for the reads that authenticate a
    /// request.
    reads: std::sync::Arc<ReadConnections<MySql>>,
}

impl fmt::Debug for MySqlStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MySqlStore")
            .field("connections", &self.pool.size())
            .field("idle", &self.pool.num_idle())
            .field("closed", &self.pool.is_closed())
            .field("read_connections", &self.reads.limit())
            .finish()
    }
}

impl MySqlStore {
    /// Connects to `url` (`mysql://user:password@host:3306/database`) with
    /// the default [`PoolSettings`]. Fails if no connection can be made
    /// within the acquire timeout.
    ///
    /// The store keeps [`DEFAULT_READ_CONNECTIONS`] connections for the
    /// reads that authenticate a request (see
    /// [`with_read_connections`](Self::with_read_connections)).
    pub async fn connect(url: &str) -> Result<Self, SqlxStoreError> {
        let options = MySqlConnectOptions::from_str(url)?;
        let store = Self::connect_with(options, PoolSettings::default()).await?;
        Ok(store.with_read_connections(DEFAULT_READ_CONNECTIONS))
    }

    /// Connects with explicit connection options and pool settings (which
    /// are validated first). sqlx's defaults for the session (UTF-8
    /// `utf8mb4`, time zone `+00:00`) are what the store expects.
    pub async fn connect_with(
        options: MySqlConnectOptions,
        settings: PoolSettings,
    ) -> Result<Self, SqlxStoreError> {
        settings.validate()?;
        let pool = settings
            .apply_to(MySqlPoolOptions::new())
            .connect_with(options)
            .await?;
        Ok(Self::from_pool_pinging(pool, settings.ping_after_idle()))
    }

    /// Like [`connect_with`](Self::connect_with) but connects only when the
    /// first operation needs a connection, so building never fails on a
    /// server that is down. Must be called within a Tokio runtime.
    pub fn connect_lazy_with(
        options: MySqlConnectOptions,
        settings: PoolSettings,
    ) -> Result<Self, SqlxStoreError> {
        settings.validate()?;
        require_runtime()?;
        let pool = settings
            .apply_to(MySqlPoolOptions::new())
            .connect_lazy_with(options);
        Ok(Self::from_pool_pinging(pool, settings.ping_after_idle()))
    }

    /// Wraps an existing pool (its own settings apply: sqlx's default
    /// acquire timeout is 30 s). No connections are kept for reads (see
    /// [`with_read_connections`](Self::with_read_connections), whose kept
    /// connections are pinged after a second idle, as with the default
    /// [`PoolSettings`]).
    pub fn from_pool(pool: MySqlPool) -> Self {
        Self::from_pool_pinging(pool, PoolSettings::default().ping_after_idle())
    }

    /// [`from_pool`](Self::from_pool), with kept connections pinged after
    /// `ping_after_idle` idle.
    fn from_pool_pinging(pool: MySqlPool, ping_after_idle: Option<std::time::Duration>) -> Self {
        Self {
            pool,
            hits: std::sync::Arc::default(),
            reads: std::sync::Arc::new(ReadConnections::new(0, ping_after_idle)),
        }
    }

    /// Keeps up to `count` connections out of the pool for the reads that
    /// authenticate a request: the user by id, the JWT revocation state
    /// (alone or with the user), Knox tokens by key and static tokens by
    /// digest. 0 sends them through the pool. [`connect`](Self::connect)
    /// sets [`DEFAULT_READ_CONNECTIONS`]; the other constructors set 0.
    ///
    /// sqlx checks each connection given back to its pool with a ping, a
    /// round trip to the server after the query's own. A kept connection
    /// is detached from the pool, used for one statement and kept again
    /// with no ping; one whose statement fails or is cancelled is closed
    /// instead. When all are in use, a read goes through the pool.
    ///
    /// Kept connections follow the pool's rules when they are taken for a
    /// read: one idle for at least the settings'
    /// [`test_after_idle`](PoolSettings::test_after_idle) is pinged first
    /// (within the acquire timeout), so a connection the server dropped
    /// (`wait_timeout`, a restart) is replaced instead of failing a
    /// request; one kept for longer than `max_lifetime` or idle longer
    /// than `idle_timeout` is closed and replaced. They do not count
    /// against the pool's `max_connections`, so the store may open up to
    /// `count` more than that, and an unused one stays open until the next
    /// read comes or the pool is closed.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::str::FromStr;
    /// use auth_store_sqlx::{MySqlStore, PoolSettings};
    /// use auth_store_sqlx::sqlx::mysql::MySqlConnectOptions;
    ///
    /// let options = MySqlConnectOptions::from_str("mysql://app@db.internal/app")?;
    /// let store = MySqlStore::connect_with(options, PoolSettings::default().max_connections(8))
    ///     .await?
    ///     .with_read_connections(2);
    /// # Ok(()) }
    /// ```
    pub fn with_read_connections(mut self, count: usize) -> Self {
        self.reads = std::sync::Arc::new(self.reads.with_limit(count));
        self
    }

    /// The connection pool.
    pub fn pool(&self) -> &MySqlPool {
        &self.pool
    }

    /// The embedded migrations, for running them another way.
    pub fn migrator() -> &'static Migrator {
        &MIGRATOR
    }

    /// Creates or upgrades the tables (idempotent; sqlx serialises
    /// concurrent runs with a named lock).
    pub async fn migrate(&self) -> Result<(), SqlxStoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// Deletes throttle windows that ended before `before`, returning how
    /// many. The store also does this by itself every few thousand hits
    /// (for windows that ended a minute before the hit).
    pub async fn purge_ended_throttle_windows(
        &self,
        before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM auth_throttle WHERE resets_at < ?")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }

    /// A read-committed transaction holding the lock on the user's row in
    /// `auth_user_locks`. The row is created first, outside the
    /// transaction, when it is missing (inserting it inside would take a
    /// shared lock on a duplicate, and two transactions upgrading theirs
    /// deadlock).
    async fn begin_locked(&self, user: UserId) -> Result<Transaction<'static, MySql>, StoreError> {
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

    async fn try_insert_knox_token(
        &self,
        record: &KnoxTokenRecord,
        limit: TokenLimit,
        now: DateTime<Utc>,
    ) -> Result<KnoxInsert, StoreError> {
        let mut tx = self.begin_locked(record.user_id).await?;
        let mut evicted = 0;
        match limit {
            TokenLimit::Unlimited => {}
            TokenLimit::Refuse(max) => {
                let live: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM auth_knox_tokens \
                     WHERE user_id = ? AND (expiry IS NULL OR expiry > ?)",
                )
                .bind(record.user_id.0)
                .bind(now)
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?;
                if count_u64(live) >= u64::from(max) {
                    tx.rollback().await.map_err(db)?;
                    return Ok(KnoxInsert::LimitReached);
                }
            }
            TokenLimit::EvictOldest(max) => {
                let rows = sqlx::query(
                    "SELECT created, digest FROM auth_knox_tokens \
                     WHERE user_id = ? AND (expiry IS NULL OR expiry > ?) \
                     ORDER BY created, digest",
                )
                .bind(record.user_id.0)
                .bind(now)
                .fetch_all(&mut *tx)
                .await
                .map_err(db)?;
                let live = rows
                    .iter()
                    .map(|row| Ok((get(row, "created")?, text(row, "digest")?)))
                    .collect::<Result<Vec<(DateTime<Utc>, String)>, StoreError>>()?;
                if let Some((_, (created, digest))) = eviction_cutoff(&live, max) {
                    evicted = sqlx::query(
                        "DELETE FROM auth_knox_tokens \
                         WHERE user_id = ? AND (expiry IS NULL OR expiry > ?) \
                         AND (created < ? OR (created = ? AND digest <= ?))",
                    )
                    .bind(record.user_id.0)
                    .bind(now)
                    .bind(created)
                    .bind(created)
                    .bind(digest)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?
                    .rows_affected();
                }
            }
        }
        insert_knox(record, &mut tx).await?;
        tx.commit().await.map_err(db)?;
        Ok(KnoxInsert::Inserted { evicted })
    }

    async fn try_get_or_insert_static_token(
        &self,
        record: &StaticTokenRecord,
    ) -> Result<StaticTokenRecord, StoreError> {
        let mut tx = self.begin_locked(record.user_id).await?;
        let sql = format!("SELECT {STATIC_COLUMNS} FROM auth_static_tokens WHERE user_id = ?");
        let existing = sqlx::query(&sql)
            .bind(record.user_id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        if let Some(row) = existing {
            tx.commit().await.map_err(db)?;
            return static_from_row(&row);
        }
        sqlx::query(
            "INSERT INTO auth_static_tokens (user_id, digest, seed, created) VALUES (?, ?, ?, ?)",
        )
        .bind(record.user_id.0)
        .bind(&record.digest)
        .bind(&record.seed)
        .bind(record.created)
        .execute(&mut *tx)
        .await
        .map_err(|err| db_or_conflict(err, "user_id"))?;
        tx.commit().await.map_err(db)?;
        Ok(record.clone())
    }

    async fn try_throttle_hit(
        &self,
        key: &str,
        window: Duration,
        now: DateTime<Utc>,
    ) -> Result<ThrottleCount, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        // MySQL assigns left to right: `hits` first, while `resets_at` still
        // holds the old window's end.
        sqlx::query(
            "INSERT INTO auth_throttle (throttle_key, hits, resets_at) VALUES (?, 1, ?) \
             ON DUPLICATE KEY UPDATE \
             hits = IF(resets_at > ?, hits + 1, 1), \
             resets_at = IF(resets_at > ?, resets_at, VALUES(resets_at))",
        )
        .bind(key)
        .bind(window_end(now, window, latest_time()))
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        // The row stays locked by this transaction until it commits.
        let (hits, resets_at): (i64, DateTime<Utc>) =
            sqlx::query_as("SELECT hits, resets_at FROM auth_throttle WHERE throttle_key = ?")
                .bind(key)
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(ThrottleCount {
            count: count_u64(hits),
            resets_at,
        })
    }
}

// ---------------------------------------------------------------------------
// Users

const USER_COLUMNS: &str = "id, username, email, first_name, last_name, is_active, is_staff, \
     is_superuser, email_verified, date_joined, last_login, password_hash, profile";

/// [`RevocationState`] as two columns, alone or beside a user's row (binding
/// the user's id, then the family, before any condition of the row); read
/// back by [`revocation_state_from_row`].
const REVOCATION_COLUMNS: &str = "\
    (SELECT valid_after FROM auth_jwt_valid_after WHERE user_id = ?) AS jwt_valid_after, \
    CAST(EXISTS (SELECT 1 FROM auth_jwt_revoked_families WHERE family = ?) AS SIGNED) \
    AS jwt_family_revoked";

fn revocation_state_from_row(row: &MySqlRow) -> Result<RevocationState, StoreError> {
    let revoked: i64 = get(row, "jwt_family_revoked")?;
    Ok(RevocationState {
        tokens_valid_after: get(row, "jwt_valid_after")?,
        family_revoked: revoked != 0,
    })
}

fn user_from_row(row: &MySqlRow) -> Result<User, StoreError> {
    let Json(profile): Json<Map<String, Value>> = get(row, "profile")?;
    Ok(User {
        id: UserId(get(row, "id")?),
        username: text(row, "username")?,
        email: text(row, "email")?,
        first_name: text(row, "first_name")?,
        last_name: text(row, "last_name")?,
        is_active: get(row, "is_active")?,
        is_staff: get(row, "is_staff")?,
        is_superuser: get(row, "is_superuser")?,
        email_verified: get(row, "email_verified")?,
        date_joined: get(row, "date_joined")?,
        last_login: get(row, "last_login")?,
        password_hash: opt_text(row, "password_hash")?,
        profile,
    })
}

/// The folded forms stored beside a user's names.
struct Folded {
    username: String,
    email: String,
    first_name: String,
    last_name: String,
}

impl Folded {
    fn of(user: &User) -> Self {
        Self {
            username: fold_case(&user.username),
            email: fold_case(&user.email),
            first_name: fold_case(&user.first_name),
            last_name: fold_case(&user.last_name),
        }
    }
}

impl MySqlStore {
    async fn user_where(&self, condition: &str, value: String) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM auth_users WHERE {condition} = ?");
        let row = sqlx::query(&sql)
            .bind(value)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.as_ref().map(user_from_row).transpose()
    }
}

#[async_trait]
impl UserStore for MySqlStore {
    async fn insert_user(&self, user: &User) -> Result<(), StoreError> {
        let folded = Folded::of(user);
        sqlx::query(
            "INSERT INTO auth_users (id, username, username_folded, email, email_folded, \
             first_name, first_name_folded, last_name, last_name_folded, is_active, is_staff, \
             is_superuser, email_verified, date_joined, last_login, password_hash, profile) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(user.id.0)
        .bind(&user.username)
        .bind(&folded.username)
        .bind(&user.email)
        .bind(&folded.email)
        .bind(&user.first_name)
        .bind(&folded.first_name)
        .bind(&user.last_name)
        .bind(&folded.last_name)
        .bind(user.is_active)
        .bind(user.is_staff)
        .bind(user.is_superuser)
        .bind(user.email_verified)
        .bind(user.date_joined)
        .bind(user.last_login)
        .bind(&user.password_hash)
        .bind(Json(&user.profile))
        .execute(&self.pool)
        .await
        .map_err(|err| db_or_conflict(err, "id"))?;
        Ok(())
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM auth_users WHERE id = ?");
        let query = sqlx::query(&sql).bind(id.0);
        let row = self
            .reads
            .fetch_optional(&self.pool, query)
            .await
            .map_err(db)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.user_where("username_folded", fold_case(username))
            .await
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        self.user_where("email_folded", fold_case(email)).await
    }

    async fn update_user(&self, id: UserId, update: &UserUpdate) -> Result<(), StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| update_user_sql(|_| "?".to_owned()));
        let done = bind_user_update!(sqlx::query(&SQL), id.0, update)
            .execute(&self.pool)
            .await
            .map_err(|err| db_or_conflict(err, "id"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn set_password_hash(&self, id: UserId, hash: Option<&str>) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE auth_users SET password_hash = ? WHERE id = ?")
            .bind(hash)
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
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
        let done = sqlx::query(
            "UPDATE auth_users SET password_hash = ? WHERE id = ? AND password_hash = ?",
        )
        .bind(new)
        .bind(id.0)
        .bind(current)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_last_login(&self, id: UserId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE auth_users SET last_login = ? WHERE id = ?")
            .bind(at)
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_user(&self, id: UserId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM auth_users WHERE id = ?")
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_users(&self, query: &UserQuery) -> Result<Page<User>, StoreError> {
        // VARBINARY columns: `LIKE` compares bytes, so a folded pattern
        // matches exactly the folded values that contain it.
        const FILTER: &str = " WHERE username_folded LIKE ? ESCAPE '!' \
             OR email_folded LIKE ? ESCAPE '!' \
             OR first_name_folded LIKE ? ESCAPE '!' \
             OR last_name_folded LIKE ? ESCAPE '!'";
        let pattern = query.search.as_deref().map(contains_pattern);
        let filter = if pattern.is_some() { FILTER } else { "" };
        let sql = format!("SELECT COUNT(*) FROM auth_users{filter}");
        let mut count = sqlx::query_scalar::<_, i64>(&sql);
        if let Some(pattern) = &pattern {
            count = count
                .bind(pattern)
                .bind(pattern)
                .bind(pattern)
                .bind(pattern);
        }
        let total = count.fetch_one(&self.pool).await.map_err(db)?;
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM auth_users{filter} \
             ORDER BY date_joined, id LIMIT ? OFFSET ?"
        );
        let mut page = sqlx::query(&sql);
        if let Some(pattern) = &pattern {
            page = page.bind(pattern).bind(pattern).bind(pattern).bind(pattern);
        }
        let rows = page
            .bind(clamp_i64(query.limit))
            .bind(clamp_i64(query.offset))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        let items = rows.iter().map(user_from_row).collect::<Result<_, _>>()?;
        Ok(Page {
            items,
            total: count_u64(total),
        })
    }
}

// ---------------------------------------------------------------------------
// Knox tokens

const KNOX_COLUMNS: &str = "token_key, digest, user_id, created, expiry, last_used, name";

fn knox_from_row(row: &MySqlRow) -> Result<KnoxTokenRecord, StoreError> {
    Ok(KnoxTokenRecord {
        token_key: text(row, "token_key")?,
        digest: text(row, "digest")?,
        user_id: UserId(get(row, "user_id")?),
        created: get(row, "created")?,
        expiry: get(row, "expiry")?,
        last_used: get(row, "last_used")?,
        name: opt_text(row, "name")?,
    })
}

/// Inserts a Knox token; a taken digest is `Conflict("digest")`.
async fn insert_knox(
    record: &KnoxTokenRecord,
    conn: &mut MySqlConnection,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO auth_knox_tokens (digest, token_key, user_id, created, expiry, last_used, name) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&record.digest)
    .bind(&record.token_key)
    .bind(record.user_id.0)
    .bind(record.created)
    .bind(record.expiry)
    .bind(record.last_used)
    .bind(&record.name)
    .execute(conn)
    .await
    .map_err(|err| db_or_conflict(err, "digest"))?;
    Ok(())
}

#[async_trait]
impl KnoxTokenStore for MySqlStore {
    async fn insert_knox_token(
        &self,
        record: &KnoxTokenRecord,
        limit: TokenLimit,
        now: DateTime<Utc>,
    ) -> Result<KnoxInsert, StoreError> {
        if limit == TokenLimit::Unlimited {
            let mut conn = self.pool.acquire().await.map_err(db)?;
            insert_knox(record, &mut conn).await?;
            return Ok(KnoxInsert::Inserted { evicted: 0 });
        }
        retrying(is_retryable, || {
            self.try_insert_knox_token(record, limit, now)
        })
        .await
    }

    async fn knox_tokens_by_key(
        &self,
        token_key: &str,
    ) -> Result<Vec<KnoxTokenRecord>, StoreError> {
        let sql = format!("SELECT {KNOX_COLUMNS} FROM auth_knox_tokens WHERE token_key = ?");
        let query = sqlx::query(&sql).bind(token_key);
        let rows = self.reads.fetch_all(&self.pool, query).await.map_err(db)?;
        rows.iter().map(knox_from_row).collect()
    }

    async fn touch_knox_token(
        &self,
        digest: &str,
        expiry: Option<DateTime<Utc>>,
        last_used: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE auth_knox_tokens SET expiry = ?, last_used = ? WHERE digest = ?")
                .bind(expiry)
                .bind(last_used)
                .bind(digest)
                .execute(&self.pool)
                .await
                .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_knox_token(&self, digest: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM auth_knox_tokens WHERE digest = ?")
            .bind(digest)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_knox_token_by_key(
        &self,
        user: UserId,
        token_key: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM auth_knox_tokens WHERE user_id = ? AND token_key = ?")
            .bind(user.0)
            .bind(token_key)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_user_knox_tokens(&self, user: UserId) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM auth_knox_tokens WHERE user_id = ?")
            .bind(user.0)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }

    async fn user_knox_tokens(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<KnoxTokenRecord>, StoreError> {
        let sql = format!(
            "SELECT {KNOX_COLUMNS} FROM auth_knox_tokens \
             WHERE user_id = ? AND (expiry IS NULL OR expiry > ?) \
             ORDER BY created DESC, digest DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(user.0)
            .bind(now)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter().map(knox_from_row).collect()
    }

    async fn purge_expired_knox_tokens(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM auth_knox_tokens WHERE expiry <= ?")
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }
}

// ---------------------------------------------------------------------------
// Static tokens

const STATIC_COLUMNS: &str = "user_id, digest, seed, created";

fn static_from_row(row: &MySqlRow) -> Result<StaticTokenRecord, StoreError> {
    Ok(StaticTokenRecord {
        user_id: UserId(get(row, "user_id")?),
        digest: text(row, "digest")?,
        seed: text(row, "seed")?,
        created: get(row, "created")?,
    })
}

#[async_trait]
impl StaticTokenStore for MySqlStore {
    async fn get_or_insert_static_token(
        &self,
        record: &StaticTokenRecord,
    ) -> Result<StaticTokenRecord, StoreError> {
        retrying(is_retryable, || self.try_get_or_insert_static_token(record)).await
    }

    async fn static_token_by_digest(
        &self,
        digest: &str,
    ) -> Result<Option<StaticTokenRecord>, StoreError> {
        let sql = format!("SELECT {STATIC_COLUMNS} FROM auth_static_tokens WHERE digest = ?");
        let query = sqlx::query(&sql).bind(digest);
        let row = self
            .reads
            .fetch_optional(&self.pool, query)
            .await
            .map_err(db)?;
        row.as_ref().map(static_from_row).transpose()
    }

    async fn static_token_for_user(
        &self,
        user: UserId,
    ) -> Result<Option<StaticTokenRecord>, StoreError> {
        let sql = format!("SELECT {STATIC_COLUMNS} FROM auth_static_tokens WHERE user_id = ?");
        let row = sqlx::query(&sql)
            .bind(user.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.as_ref().map(static_from_row).transpose()
    }

    async fn delete_static_token(&self, user: UserId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM auth_static_tokens WHERE user_id = ?")
            .bind(user.0)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }
}

// ---------------------------------------------------------------------------
// JWT revocation

#[async_trait]
impl JwtRevocationStore for MySqlStore {
    async fn blacklist_jti(&self, entry: &BlacklistEntry) -> Result<bool, StoreError> {
        // A plain INSERT, not INSERT IGNORE: IGNORE would also turn a value
        // too long for its column into a warning and a cut value.
        let result = sqlx::query(
            "INSERT INTO auth_jwt_blacklist (jti, user_id, family, expires_at, blacklisted_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&entry.jti)
        .bind(entry.user_id.0)
        .bind(&entry.family)
        .bind(entry.expires_at)
        .bind(entry.blacklisted_at)
        .execute(&self.pool)
        .await;
        match result {
            Ok(done) => Ok(done.rows_affected() == 1),
            Err(err) if is_duplicate(&err) => Ok(false),
            Err(err) => Err(db(err)),
        }
    }

    async fn blacklisted_jti(&self, jti: &str) -> Result<Option<BlacklistEntry>, StoreError> {
        let row = sqlx::query(
            "SELECT jti, user_id, family, expires_at, blacklisted_at \
             FROM auth_jwt_blacklist WHERE jti = ?",
        )
        .bind(jti)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(BlacklistEntry {
            jti: text(&row, "jti")?,
            user_id: UserId(get(&row, "user_id")?),
            family: opt_text(&row, "family")?,
            expires_at: get(&row, "expires_at")?,
            blacklisted_at: get(&row, "blacklisted_at")?,
        }))
    }

    async fn revoke_family(
        &self,
        family: &str,
        user: UserId,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO auth_jwt_revoked_families (family, user_id, expires_at) \
             VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE \
             expires_at = GREATEST(expires_at, VALUES(expires_at))",
        )
        .bind(family)
        .bind(user.0)
        .bind(expires_at)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn set_tokens_valid_after(
        &self,
        user: UserId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO auth_jwt_valid_after (user_id, valid_after) VALUES (?, ?) \
             ON DUPLICATE KEY UPDATE valid_after = GREATEST(valid_after, VALUES(valid_after))",
        )
        .bind(user.0)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn revocation_state(
        &self,
        user: UserId,
        family: Option<&str>,
    ) -> Result<RevocationState, StoreError> {
        let sql = format!("SELECT {REVOCATION_COLUMNS}");
        let query = sqlx::query(&sql).bind(user.0).bind(family);
        // A SELECT without FROM always gives one row.
        let row = self.reads.fetch_one(&self.pool, query).await.map_err(db)?;
        revocation_state_from_row(&row)
    }

    async fn revocation_state_and_user(
        &self,
        user: UserId,
        family: Option<&str>,
    ) -> Result<Option<(RevocationState, Option<User>)>, StoreError> {
        let sql =
            format!("SELECT {USER_COLUMNS}, {REVOCATION_COLUMNS} FROM auth_users WHERE id = ?");
        let query = sqlx::query(&sql).bind(user.0).bind(family).bind(user.0);
        let row = self
            .reads
            .fetch_optional(&self.pool, query)
            .await
            .map_err(db)?;
        let Some(row) = row else {
            // No such user: the state alone (rare, so two round trips).
            return Ok(Some((self.revocation_state(user, family).await?, None)));
        };
        Ok(Some((
            revocation_state_from_row(&row)?,
            Some(user_from_row(&row)?),
        )))
    }

    async fn purge_expired_revocations(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let jtis = sqlx::query("DELETE FROM auth_jwt_blacklist WHERE expires_at <= ?")
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        let families = sqlx::query("DELETE FROM auth_jwt_revoked_families WHERE expires_at <= ?")
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(jtis.rows_affected() + families.rows_affected())
    }
}

// ---------------------------------------------------------------------------
// Throttle counters

#[async_trait]
impl ThrottleStore for MySqlStore {
    async fn throttle_hit(
        &self,
        key: &str,
        window: Duration,
        now: DateTime<Utc>,
    ) -> Result<ThrottleCount, StoreError> {
        if self.hits.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.purge_ended_throttle_windows(now - SWEEP_MARGIN)
                .await?;
        }
        retrying(is_retryable, || self.try_throttle_hit(key, window, now)).await
    }

    async fn throttle_peek(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ThrottleCount>, StoreError> {
        let row: Option<(i64, DateTime<Utc>)> = sqlx::query_as(
            "SELECT hits, resets_at FROM auth_throttle WHERE throttle_key = ? AND resets_at > ?",
        )
        .bind(key)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        Ok(row.map(|(hits, resets_at)| ThrottleCount {
            count: count_u64(hits),
            resets_at,
        }))
    }

    async fn throttle_clear(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM auth_throttle WHERE throttle_key = ?")
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn throttle_release(
        &self,
        key: &str,
        resets_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        retrying(is_retryable, || async {
            sqlx::query(
                "UPDATE auth_throttle SET hits = hits - 1 \
                 WHERE throttle_key = ? AND resets_at = ? AND resets_at > ? AND hits > 0",
            )
            .bind(key)
            .bind(resets_at)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(db)
        })
        .await?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Login history

#[async_trait]
impl LoginHistoryStore for MySqlStore {
    async fn record_history(&self, entry: &HistoryEntry) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO auth_login_history (user_id, occurred_at, event, ip, user_agent) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(entry.user_id.0)
        .bind(entry.at)
        .bind(entry.event.as_str())
        .bind(&entry.ip)
        .bind(&entry.user_agent)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn user_history(
        &self,
        user: UserId,
        offset: u64,
        limit: u64,
    ) -> Result<Page<HistoryEntry>, StoreError> {
        let total: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM auth_login_history WHERE user_id = ?")
                .bind(user.0)
                .fetch_one(&self.pool)
                .await
                .map_err(db)?;
        let rows = sqlx::query(
            "SELECT occurred_at, event, ip, user_agent FROM auth_login_history \
             WHERE user_id = ? ORDER BY occurred_at DESC, id DESC LIMIT ? OFFSET ?",
        )
        .bind(user.0)
        .bind(clamp_i64(limit))
        .bind(clamp_i64(offset))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            items.push(HistoryEntry {
                user_id: user,
                at: get(&row, "occurred_at")?,
                event: parse_event(&text(&row, "event")?)?,
                ip: opt_text(&row, "ip")?,
                user_agent: opt_text(&row, "user_agent")?,
            });
        }
        Ok(Page {
            items,
            total: count_u64(total),
        })
    }

    async fn delete_user_history(&self, user: UserId) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM auth_login_history WHERE user_id = ?")
            .bind(user.0)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_key_names_are_parsed_from_both_servers() {
        assert_eq!(
            duplicate_key_name("Duplicate entry 'ada' for key 'auth_users_username_folded_key'"),
            Some("auth_users_username_folded_key")
        );
        assert_eq!(
            duplicate_key_name(
                "Duplicate entry 'x' for key 'auth_users.auth_users_email_folded_key'"
            ),
            Some("auth_users_email_folded_key")
        );
        assert_eq!(
            duplicate_key_name("Duplicate entry 'a for key 'b' for key 'PRIMARY'"),
            Some("PRIMARY")
        );
        assert_eq!(duplicate_key_name("something else"), None);
    }

    #[test]
    fn the_latest_datetime_is_the_end_of_9999() {
        assert_eq!(
            latest_time().to_rfc3339(),
            "9999-12-31T23:59:59.999999+00:00"
        );
    }
}
