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
//! The reads that authenticate a request run on a few connections kept
//! beside the pool, which saves the ping sqlx makes on every connection
//! given back to it (see [`SqliteStore::with_read_connections`]).
//!
//! ```no_run
//! use auth_store_sqlx::SqliteStore;
//!
//! # async fn run() -> Result<(), auth_store_sqlx::SqlxStoreError> {
//! let store = SqliteStore::connect("sqlite://auth.db").await?;
//! store.migrate().await?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use auth_core::error::StoreError;
use auth_core::store::{
    BlacklistEntry, HistoryEntry, JwtRevocationStore, KnoxInsert, KnoxTokenRecord, KnoxTokenStore,
    LoginHistoryStore, Page, RevocationState, StaticTokenRecord, StaticTokenStore, ThrottleCount,
    ThrottleStore, TokenLimit, UserQuery, UserStore,
};
use auth_core::user::{User, UserId, UserUpdate, fold_case};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::types::Json;
use sqlx::{Row, Sqlite, SqliteConnection};

use crate::DEFAULT_READ_CONNECTIONS;
use crate::common::{
    PoolSettings, SWEEP_EVERY, SWEEP_MARGIN, clamp_i64, contains_pattern, count_u64,
    eviction_cutoff, impl_apply_settings, nul_free, parse_event, require_runtime, window_end,
};
use crate::common::{bind_user_update, update_user_sql};
use crate::error::{SqlxStoreError, db, db_or_conflict};
use crate::kept::{ReadConnections, impl_read_queries};

impl_apply_settings!(SqlitePoolOptions);
impl_read_queries!(Sqlite);

/// The embedded migrations (`migrations/sqlite/`); applied migrations this
/// crate does not know are ignored.
static MIGRATOR: LazyLock<Migrator> = LazyLock::new(|| {
    let mut migrator = sqlx::migrate!("migrations/sqlite");
    migrator.set_ignore_missing(true);
    migrator
});

/// The busy timeout of the connections [`SqliteStore::file_options`] makes.
const BUSY_TIMEOUT: StdDuration = StdDuration::from_secs(5);

/// Whether SQLite's error says the database could not be used at all for
/// now: SQLITE_BUSY (a lock held past the busy timeout), SQLITE_LOCKED,
/// SQLITE_CANTOPEN, and their extended codes.
pub(crate) fn is_unavailable_code(err: &sqlx::sqlite::SqliteError) -> bool {
    use sqlx::error::DatabaseError as _;
    err.code()
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| matches!(code & 0xff, 5 | 6 | 14))
}

/// A time as stored: microseconds since the Unix epoch.
fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// A stored time back.
fn time(micros: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(micros).ok_or_else(|| {
        db(sqlx::Error::Decode(
            format!("time {micros} µs is out of range").into(),
        ))
    })
}

/// A stored optional time back.
fn opt_time(micros: Option<i64>) -> Result<Option<DateTime<Utc>>, StoreError> {
    micros.map(time).transpose()
}

/// Every store trait over SQLite.
///
/// Cheap to clone (the pool is shared). Build it with
/// [`connect`](Self::connect) (a file, created if missing),
/// [`connect_with`](Self::connect_with), [`memory`](Self::memory) (for
/// tests) or [`from_pool`](Self::from_pool), then run
/// [`migrate`](Self::migrate) once.
///
/// `Debug` shows the pool's size, never a path or a record.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Throttle hits through this value, to sweep ended windows now and then.
    hits: std::sync::Arc<AtomicU64>,
    /// Connections kept out of the pool for the reads that authenticate a
    /// request.
    reads: std::sync::Arc<ReadConnections<Sqlite>>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("connections", &self.pool.size())
            .field("idle", &self.pool.num_idle())
            .field("closed", &self.pool.is_closed())
            .field("read_connections", &self.reads.limit())
            .finish()
    }
}

impl SqliteStore {
    /// The connection options this store recommends for a database file:
    /// created if missing, WAL journal, `synchronous = NORMAL`, a 5 second
    /// busy timeout, foreign keys enforced (the schema has none).
    pub fn file_options(path: impl AsRef<Path>) -> SqliteConnectOptions {
        SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
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
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT);
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

    /// Opens the database with explicit options (see
    /// [`file_options`](Self::file_options)) and pool settings, which are
    /// validated first. The first connection is opened before this returns,
    /// so that it switches a new file to WAL before other connections open.
    pub async fn connect_with(
        options: SqliteConnectOptions,
        settings: PoolSettings,
    ) -> Result<Self, SqlxStoreError> {
        settings.validate()?;
        let pool = settings
            .apply_to(SqlitePoolOptions::new())
            .connect_with(options)
            .await?;
        Ok(Self::from_pool(pool))
    }

    /// Like [`connect_with`](Self::connect_with) but opens the database only
    /// when the first operation needs it. Must be called within a Tokio
    /// runtime. Prefer `connect_with` for a new file: it switches the file to
    /// WAL before concurrent connections open it.
    pub fn connect_lazy_with(
        options: SqliteConnectOptions,
        settings: PoolSettings,
    ) -> Result<Self, SqlxStoreError> {
        settings.validate()?;
        require_runtime()?;
        let pool = settings
            .apply_to(SqlitePoolOptions::new())
            .connect_lazy_with(options);
        Ok(Self::from_pool(pool))
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

    /// Wraps an existing pool (its own settings apply). No connections are
    /// kept for reads (see
    /// [`with_read_connections`](Self::with_read_connections)).
    pub fn from_pool(pool: SqlitePool) -> Self {
        Self {
            pool,
            hits: std::sync::Arc::default(),
            reads: std::sync::Arc::new(ReadConnections::new(0, None)),
        }
    }

    /// Keeps up to `count` connections out of the pool for the reads that
    /// authenticate a request: the user by id, the JWT revocation state
    /// (alone or with the user), Knox tokens by key and static tokens by
    /// digest. 0 sends them through the pool. [`connect`](Self::connect)
    /// on a file sets [`DEFAULT_READ_CONNECTIONS`]; the other constructors
    /// set 0.
    ///
    /// sqlx checks each connection given back to its pool with a ping,
    /// which for SQLite is a second round trip to the connection's worker
    /// thread after the query's own. A kept connection is detached from the
    /// pool, used for one statement and kept again with no ping; one whose
    /// statement fails or is cancelled is closed instead. When all are in
    /// use, a read goes through the pool. A kept connection kept for longer
    /// than the pool's `max_lifetime`, or idle longer than its
    /// `idle_timeout`, is closed and replaced when the next read comes. Kept connections do
    /// not count against the pool's `max_connections`, so the store may
    /// open up to `count` more than that. An unused one stays open until
    /// the next read, until the pool is closed, or until the store and all
    /// its clones are dropped.
    ///
    /// Never set this on an in-memory database: each connection detached
    /// from its pool would take the database with it (the pool would then
    /// open a new, empty one).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), auth_store_sqlx::SqlxStoreError> {
    /// use auth_store_sqlx::SqliteStore;
    ///
    /// let options = SqliteStore::file_options("auth.db");
    /// let store = SqliteStore::connect_with(options, SqliteStore::pool_settings())
    ///     .await?
    ///     .with_read_connections(2);
    /// # Ok(()) }
    /// ```
    pub fn with_read_connections(mut self, count: usize) -> Self {
        // Nothing outside this process can close a SQLite connection, so
        // a kept one is never pinged.
        self.reads = std::sync::Arc::new(ReadConnections::new(count, None));
        self
    }

    /// The connection pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The embedded migrations, for running them another way.
    pub fn migrator() -> &'static Migrator {
        &MIGRATOR
    }

    /// Creates or upgrades the tables (idempotent).
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
        let done = sqlx::query("DELETE FROM auth_throttle WHERE resets_at < ?1")
            .bind(micros(before))
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }
}

// ---------------------------------------------------------------------------
// Users

const USER_COLUMNS: &str = "id, username, email, first_name, last_name, is_active, is_staff, \
     is_superuser, email_verified, date_joined, last_login, password_hash, profile";

/// [`RevocationState`] as two columns (`?1` the user's id, `?2` the family),
/// alone or beside a user's row; read back by [`revocation_state_from_row`].
const REVOCATION_COLUMNS: &str = "\
    (SELECT valid_after FROM auth_jwt_valid_after WHERE user_id = ?1) AS jwt_valid_after, \
    EXISTS (SELECT 1 FROM auth_jwt_revoked_families WHERE family = ?2) AS jwt_family_revoked";

fn revocation_state_from_row(row: &SqliteRow) -> Result<RevocationState, StoreError> {
    Ok(RevocationState {
        tokens_valid_after: opt_time(row.try_get("jwt_valid_after").map_err(db)?)?,
        family_revoked: row.try_get("jwt_family_revoked").map_err(db)?,
    })
}

fn user_from_row(row: &SqliteRow) -> Result<User, StoreError> {
    let Json(profile): Json<Map<String, Value>> = row.try_get("profile").map_err(db)?;
    Ok(User {
        id: UserId(row.try_get("id").map_err(db)?),
        username: row.try_get("username").map_err(db)?,
        email: row.try_get("email").map_err(db)?,
        first_name: row.try_get("first_name").map_err(db)?,
        last_name: row.try_get("last_name").map_err(db)?,
        is_active: row.try_get("is_active").map_err(db)?,
        is_staff: row.try_get("is_staff").map_err(db)?,
        is_superuser: row.try_get("is_superuser").map_err(db)?,
        email_verified: row.try_get("email_verified").map_err(db)?,
        date_joined: time(row.try_get("date_joined").map_err(db)?)?,
        last_login: opt_time(row.try_get("last_login").map_err(db)?)?,
        password_hash: row.try_get("password_hash").map_err(db)?,
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

impl SqliteStore {
    async fn user_where(&self, condition: &str, value: String) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM auth_users WHERE {condition} = ?1");
        let row = sqlx::query(&sql)
            .bind(value)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.as_ref().map(user_from_row).transpose()
    }
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn insert_user(&self, user: &User) -> Result<(), StoreError> {
        let folded = Folded::of(user);
        sqlx::query(
            "INSERT INTO auth_users (id, username, username_folded, email, email_folded, \
             first_name, first_name_folded, last_name, last_name_folded, is_active, is_staff, \
             is_superuser, email_verified, date_joined, last_login, password_hash, profile) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
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
        .bind(micros(user.date_joined))
        .bind(user.last_login.map(micros))
        .bind(&user.password_hash)
        .bind(Json(&user.profile))
        .execute(&self.pool)
        .await
        .map_err(|err| db_or_conflict(err, "id"))?;
        Ok(())
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM auth_users WHERE id = ?1");
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
        static SQL: LazyLock<String> = LazyLock::new(|| update_user_sql(|i| format!("?{i}")));
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
        let done = sqlx::query("UPDATE auth_users SET password_hash = ?2 WHERE id = ?1")
            .bind(id.0)
            .bind(hash)
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
            "UPDATE auth_users SET password_hash = ?2 WHERE id = ?1 AND password_hash = ?3",
        )
        .bind(id.0)
        .bind(new)
        .bind(current)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_last_login(&self, id: UserId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE auth_users SET last_login = ?2 WHERE id = ?1")
            .bind(id.0)
            .bind(micros(at))
            .execute(&self.pool)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_user(&self, id: UserId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM auth_users WHERE id = ?1")
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_users(&self, query: &UserQuery) -> Result<Page<User>, StoreError> {
        if query
            .search
            .as_deref()
            .is_some_and(|search| !nul_free(search))
        {
            return Ok(Page {
                items: Vec::new(),
                total: 0,
            });
        }
        // One parameter, used four times. `LIKE` is ASCII case-insensitive in
        // SQLite, which changes nothing here: both sides are already folded.
        const FILTER: &str = " WHERE username_folded LIKE ?1 ESCAPE '!' \
             OR email_folded LIKE ?1 ESCAPE '!' \
             OR first_name_folded LIKE ?1 ESCAPE '!' \
             OR last_name_folded LIKE ?1 ESCAPE '!'";
        let pattern = query.search.as_deref().map(contains_pattern);
        let filter = if pattern.is_some() { FILTER } else { "" };
        let sql = format!("SELECT COUNT(*) FROM auth_users{filter}");
        let mut count = sqlx::query_scalar::<_, i64>(&sql);
        if let Some(pattern) = &pattern {
            count = count.bind(pattern);
        }
        let total = count.fetch_one(&self.pool).await.map_err(db)?;
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM auth_users{filter} \
             ORDER BY date_joined, id LIMIT ?2 OFFSET ?3"
        );
        // Without a search `?1` is absent from the text; bind it anyway (as
        // NULL) so that the limit and offset stay ?2 and ?3.
        let rows = sqlx::query(&sql)
            .bind(pattern.as_deref())
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

fn knox_from_row(row: &SqliteRow) -> Result<KnoxTokenRecord, StoreError> {
    Ok(KnoxTokenRecord {
        token_key: row.try_get("token_key").map_err(db)?,
        digest: row.try_get("digest").map_err(db)?,
        user_id: UserId(row.try_get("user_id").map_err(db)?),
        created: time(row.try_get("created").map_err(db)?)?,
        expiry: opt_time(row.try_get("expiry").map_err(db)?)?,
        last_used: opt_time(row.try_get("last_used").map_err(db)?)?,
        name: row.try_get("name").map_err(db)?,
    })
}

/// Inserts a Knox token; a taken digest is `Conflict("digest")`.
async fn insert_knox(
    record: &KnoxTokenRecord,
    conn: &mut SqliteConnection,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO auth_knox_tokens (digest, token_key, user_id, created, expiry, last_used, name) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .bind(&record.digest)
    .bind(&record.token_key)
    .bind(record.user_id.0)
    .bind(micros(record.created))
    .bind(record.expiry.map(micros))
    .bind(record.last_used.map(micros))
    .bind(&record.name)
    .execute(conn)
    .await
    .map_err(|err| db_or_conflict(err, "digest"))?;
    Ok(())
}

#[async_trait]
impl KnoxTokenStore for SqliteStore {
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
        // The write lock up front: the count and the insert see one state.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        let mut evicted = 0;
        match limit {
            TokenLimit::Unlimited => {}
            TokenLimit::Refuse(max) => {
                let live: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM auth_knox_tokens \
                     WHERE user_id = ?1 AND (expiry IS NULL OR expiry > ?2)",
                )
                .bind(record.user_id.0)
                .bind(micros(now))
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?;
                if count_u64(live) >= u64::from(max) {
                    tx.rollback().await.map_err(db)?;
                    return Ok(KnoxInsert::LimitReached);
                }
            }
            TokenLimit::EvictOldest(max) => {
                let rows: Vec<(i64, String)> = sqlx::query_as(
                    "SELECT created, digest FROM auth_knox_tokens \
                     WHERE user_id = ?1 AND (expiry IS NULL OR expiry > ?2) \
                     ORDER BY created, digest",
                )
                .bind(record.user_id.0)
                .bind(micros(now))
                .fetch_all(&mut *tx)
                .await
                .map_err(db)?;
                let live = rows
                    .into_iter()
                    .map(|(created, digest)| Ok((time(created)?, digest)))
                    .collect::<Result<Vec<_>, StoreError>>()?;
                if let Some((_, (created, digest))) = eviction_cutoff(&live, max) {
                    evicted = sqlx::query(
                        "DELETE FROM auth_knox_tokens \
                         WHERE user_id = ?1 AND (expiry IS NULL OR expiry > ?2) \
                         AND (created < ?3 OR (created = ?3 AND digest <= ?4))",
                    )
                    .bind(record.user_id.0)
                    .bind(micros(now))
                    .bind(micros(*created))
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

    async fn knox_tokens_by_key(
        &self,
        token_key: &str,
    ) -> Result<Vec<KnoxTokenRecord>, StoreError> {
        let sql = format!("SELECT {KNOX_COLUMNS} FROM auth_knox_tokens WHERE token_key = ?1");
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
        let done = sqlx::query(
            "UPDATE auth_knox_tokens SET expiry = ?2, last_used = ?3 WHERE digest = ?1",
        )
        .bind(digest)
        .bind(expiry.map(micros))
        .bind(micros(last_used))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_knox_token(&self, digest: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM auth_knox_tokens WHERE digest = ?1")
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
        let done =
            sqlx::query("DELETE FROM auth_knox_tokens WHERE user_id = ?1 AND token_key = ?2")
                .bind(user.0)
                .bind(token_key)
                .execute(&self.pool)
                .await
                .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_user_knox_tokens(&self, user: UserId) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM auth_knox_tokens WHERE user_id = ?1")
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
             WHERE user_id = ?1 AND (expiry IS NULL OR expiry > ?2) \
             ORDER BY created DESC, digest DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(user.0)
            .bind(micros(now))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter().map(knox_from_row).collect()
    }

    async fn purge_expired_knox_tokens(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM auth_knox_tokens WHERE expiry <= ?1")
            .bind(micros(now))
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }
}

// ---------------------------------------------------------------------------
// Static tokens

const STATIC_COLUMNS: &str = "user_id, digest, seed, created";

fn static_from_row(row: &SqliteRow) -> Result<StaticTokenRecord, StoreError> {
    Ok(StaticTokenRecord {
        user_id: UserId(row.try_get("user_id").map_err(db)?),
        digest: row.try_get("digest").map_err(db)?,
        seed: row.try_get("seed").map_err(db)?,
        created: time(row.try_get("created").map_err(db)?)?,
    })
}

#[async_trait]
impl StaticTokenStore for SqliteStore {
    async fn get_or_insert_static_token(
        &self,
        record: &StaticTokenRecord,
    ) -> Result<StaticTokenRecord, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        let sql = format!("SELECT {STATIC_COLUMNS} FROM auth_static_tokens WHERE user_id = ?1");
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
            "INSERT INTO auth_static_tokens (user_id, digest, seed, created) \
             VALUES (?1, ?2, ?3, ?4)",
        )
        .bind(record.user_id.0)
        .bind(&record.digest)
        .bind(&record.seed)
        .bind(micros(record.created))
        .execute(&mut *tx)
        .await
        .map_err(|err| db_or_conflict(err, "user_id"))?;
        tx.commit().await.map_err(db)?;
        Ok(record.clone())
    }

    async fn static_token_by_digest(
        &self,
        digest: &str,
    ) -> Result<Option<StaticTokenRecord>, StoreError> {
        let sql = format!("SELECT {STATIC_COLUMNS} FROM auth_static_tokens WHERE digest = ?1");
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
        let sql = format!("SELECT {STATIC_COLUMNS} FROM auth_static_tokens WHERE user_id = ?1");
        let row = sqlx::query(&sql)
            .bind(user.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.as_ref().map(static_from_row).transpose()
    }

    async fn delete_static_token(&self, user: UserId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM auth_static_tokens WHERE user_id = ?1")
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
impl JwtRevocationStore for SqliteStore {
    async fn blacklist_jti(&self, entry: &BlacklistEntry) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO auth_jwt_blacklist (jti, user_id, family, expires_at, blacklisted_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (jti) DO NOTHING",
        )
        .bind(&entry.jti)
        .bind(entry.user_id.0)
        .bind(&entry.family)
        .bind(micros(entry.expires_at))
        .bind(micros(entry.blacklisted_at))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn blacklisted_jti(&self, jti: &str) -> Result<Option<BlacklistEntry>, StoreError> {
        let row = sqlx::query(
            "SELECT jti, user_id, family, expires_at, blacklisted_at \
             FROM auth_jwt_blacklist WHERE jti = ?1",
        )
        .bind(jti)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(BlacklistEntry {
            jti: row.try_get("jti").map_err(db)?,
            user_id: UserId(row.try_get("user_id").map_err(db)?),
            family: row.try_get("family").map_err(db)?,
            expires_at: time(row.try_get("expires_at").map_err(db)?)?,
            blacklisted_at: time(row.try_get("blacklisted_at").map_err(db)?)?,
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
             VALUES (?1, ?2, ?3) ON CONFLICT (family) DO UPDATE SET \
             expires_at = max(expires_at, excluded.expires_at)",
        )
        .bind(family)
        .bind(user.0)
        .bind(micros(expires_at))
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
            "INSERT INTO auth_jwt_valid_after (user_id, valid_after) VALUES (?1, ?2) \
             ON CONFLICT (user_id) DO UPDATE SET \
             valid_after = max(valid_after, excluded.valid_after)",
        )
        .bind(user.0)
        .bind(micros(at))
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
            format!("SELECT {USER_COLUMNS}, {REVOCATION_COLUMNS} FROM auth_users WHERE id = ?1");
        let query = sqlx::query(&sql).bind(user.0).bind(family);
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
        let jtis = sqlx::query("DELETE FROM auth_jwt_blacklist WHERE expires_at <= ?1")
            .bind(micros(now))
            .execute(&self.pool)
            .await
            .map_err(db)?;
        let families = sqlx::query("DELETE FROM auth_jwt_revoked_families WHERE expires_at <= ?1")
            .bind(micros(now))
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(jtis.rows_affected() + families.rows_affected())
    }
}

// ---------------------------------------------------------------------------
// Throttle counters

#[async_trait]
impl ThrottleStore for SqliteStore {
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
        // One statement: SQLite runs it under the write lock.
        let (hits, resets_at): (i64, i64) = sqlx::query_as(
            "INSERT INTO auth_throttle (throttle_key, hits, resets_at) VALUES (?1, 1, ?2) \
             ON CONFLICT (throttle_key) DO UPDATE SET \
             hits = CASE WHEN resets_at > ?3 THEN hits + 1 ELSE 1 END, \
             resets_at = CASE WHEN resets_at > ?3 THEN resets_at ELSE excluded.resets_at END \
             RETURNING hits, resets_at",
        )
        .bind(key)
        .bind(micros(window_end(now, window, DateTime::<Utc>::MAX_UTC)))
        .bind(micros(now))
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        Ok(ThrottleCount {
            count: count_u64(hits),
            resets_at: time(resets_at)?,
        })
    }

    async fn throttle_peek(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ThrottleCount>, StoreError> {
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT hits, resets_at FROM auth_throttle WHERE throttle_key = ?1 AND resets_at > ?2",
        )
        .bind(key)
        .bind(micros(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(|(hits, resets_at)| {
            Ok(ThrottleCount {
                count: count_u64(hits),
                resets_at: time(resets_at)?,
            })
        })
        .transpose()
    }

    async fn throttle_clear(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM auth_throttle WHERE throttle_key = ?1")
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
        sqlx::query(
            "UPDATE auth_throttle SET hits = hits - 1 \
             WHERE throttle_key = ?1 AND resets_at = ?2 AND resets_at > ?3 AND hits > 0",
        )
        .bind(key)
        .bind(micros(resets_at))
        .bind(micros(now))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Login history

#[async_trait]
impl LoginHistoryStore for SqliteStore {
    async fn record_history(&self, entry: &HistoryEntry) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO auth_login_history (user_id, occurred_at, event, ip, user_agent) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(entry.user_id.0)
        .bind(micros(entry.at))
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
            sqlx::query_scalar("SELECT COUNT(*) FROM auth_login_history WHERE user_id = ?1")
                .bind(user.0)
                .fetch_one(&self.pool)
                .await
                .map_err(db)?;
        let rows = sqlx::query(
            "SELECT occurred_at, event, ip, user_agent FROM auth_login_history \
             WHERE user_id = ?1 ORDER BY occurred_at DESC, id DESC LIMIT ?2 OFFSET ?3",
        )
        .bind(user.0)
        .bind(clamp_i64(limit))
        .bind(clamp_i64(offset))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            let event: String = row.try_get("event").map_err(db)?;
            items.push(HistoryEntry {
                user_id: user,
                at: time(row.try_get("occurred_at").map_err(db)?)?,
                event: parse_event(&event)?,
                ip: row.try_get("ip").map_err(db)?,
                user_agent: row.try_get("user_agent").map_err(db)?,
            });
        }
        Ok(Page {
            items,
            total: count_u64(total),
        })
    }

    async fn delete_user_history(&self, user: UserId) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM auth_login_history WHERE user_id = ?1")
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
    fn times_round_trip_as_micros() {
        let at = DateTime::from_timestamp_micros(1_700_000_000_123_457).unwrap_or_default();
        assert_eq!(time(micros(at)).ok(), Some(at));
        let before_1970 = DateTime::from_timestamp_micros(-86_400_000_001).unwrap_or_default();
        assert_eq!(time(micros(before_1970)).ok(), Some(before_1970));
        assert!(
            time(i64::MAX).is_err(),
            "out of chrono's range is an error, not a panic"
        );
    }
}
