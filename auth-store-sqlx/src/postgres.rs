//! [`PostgresStore`]: every store trait over PostgreSQL (feature `postgres`).
//!
//! Schema: `migrations/postgres/` (UUID ids, `TIMESTAMPTZ` times at
//! microsecond precision, the profile as `JSONB`), applied by
//! [`PostgresStore::migrate`].
//!
//! The reads that authenticate a request can run on a few connections kept
//! beside the pool, which saves the ping sqlx makes on every connection
//! given back to it ([`PostgresStore::with_read_connections`];
//! [`PostgresStore::connect`] keeps [`DEFAULT_READ_CONNECTIONS`]).
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
//! let store = PostgresStore::connect_with(options, PoolSettings::default()).await?;
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
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{Postgres, Row, Transaction};

use crate::DEFAULT_READ_CONNECTIONS;
use crate::common::{
    PoolSettings, SWEEP_EVERY, SWEEP_MARGIN, clamp_i64, contains_pattern, count_u64,
    eviction_cutoff, impl_apply_settings, nul_free, parse_event, require_runtime, retrying,
    window_end,
};
use crate::common::{bind_user_update, update_user_sql};

use crate::error::{SqlxStoreError, db, db_or_conflict, is_retryable};
use crate::kept::{ReadConnections, impl_read_queries};

impl_apply_settings!(PgPoolOptions);
impl_read_queries!(Postgres);

/// The embedded migrations (`migrations/postgres/`). Applied migrations
/// that this crate does not know are ignored, so the `_sqlx_migrations`
/// table may be shared with the application's own.
static MIGRATOR: LazyLock<Migrator> = LazyLock::new(|| {
    let mut migrator = sqlx::migrate!("migrations/postgres");
    migrator.set_ignore_missing(true);
    migrator
});

/// Whether the server's error says it could not be used for now: 08
/// (connection exception); 57P01-57P03 (the server is shutting down,
/// crashed or starting); 53300 (too many connections).
pub(crate) fn is_unavailable_code(err: &sqlx::postgres::PgDatabaseError) -> bool {
    let code = err.code();
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
}

/// Every store trait over PostgreSQL.
///
/// Cheap to clone (the pool is shared). Build it with
/// [`connect`](Self::connect), [`connect_with`](Self::connect_with),
/// [`connect_lazy_with`](Self::connect_lazy_with) or
/// [`from_pool`](Self::from_pool), then run [`migrate`](Self::migrate)
/// once. Operations that wait longer than the pool's acquire timeout for a
/// connection fail with [`StoreError::Unavailable`]; the pool reconnects by
/// itself once the server is back.
///
/// Atomicity: unique indexes decide username, email and digest conflicts;
/// a blacklist insert is one `INSERT ... ON CONFLICT DO NOTHING` whose row
/// count says who won; a throttle hit is one upsert; Knox inserts under a
/// limit and static-token creation lock the user's row in
/// `auth_user_locks` (`SELECT ... FOR UPDATE`) for their transaction.
///
/// `auth_user_locks` gains one 16-byte row per user who ever inserted a
/// Knox token under a limit or a static token. Rows are never deleted: a
/// deletion could slip between another transaction's lookup and its lock.
///
/// `Debug` shows the pool's size, never the connection URL or any record.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// Throttle hits through this value, to sweep ended windows now and then.
    hits: std::sync::Arc<AtomicU64>,
    /// Connections kept out of the pool for the reads that authenticate a
    /// request.
    reads: std::sync::Arc<ReadConnections<Postgres>>,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("connections", &self.pool.size())
            .field("idle", &self.pool.num_idle())
            .field("closed", &self.pool.is_closed())
            .field("read_connections", &self.reads.limit())
            .finish()
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`)
    /// with the default [`PoolSettings`]. Fails if no connection can be made
    /// within the acquire timeout.
    ///
    /// The store keeps [`DEFAULT_READ_CONNECTIONS`] connections for the
    /// reads that authenticate a request (see
    /// [`with_read_connections`](Self::with_read_connections)).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), auth_store_sqlx::SqlxStoreError> {
    /// let store = auth_store_sqlx::PostgresStore::connect("postgres://postgres@localhost/app").await?;
    /// store.migrate().await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(url: &str) -> Result<Self, SqlxStoreError> {
        let options = PgConnectOptions::from_str(url)?;
        let store = Self::connect_with(options, PoolSettings::default()).await?;
        Ok(store.with_read_connections(DEFAULT_READ_CONNECTIONS))
    }

    /// Connects with explicit connection options and pool settings (which
    /// are validated first). Fails if no connection can be made within the
    /// acquire timeout.
    pub async fn connect_with(
        options: PgConnectOptions,
        settings: PoolSettings,
    ) -> Result<Self, SqlxStoreError> {
        settings.validate()?;
        let pool = settings
            .apply_to(PgPoolOptions::new())
            .connect_with(options)
            .await?;
        Ok(Self::from_pool_pinging(pool, settings.ping_after_idle()))
    }

    /// Like [`connect_with`](Self::connect_with) but connects only when the
    /// first operation needs a connection, so building never fails on a
    /// server that is down (operations then fail with
    /// `StoreError::Unavailable` until it is up). Must be called within a
    /// Tokio runtime (it is a configuration error otherwise).
    pub fn connect_lazy_with(
        options: PgConnectOptions,
        settings: PoolSettings,
    ) -> Result<Self, SqlxStoreError> {
        settings.validate()?;
        require_runtime()?;
        let pool = settings
            .apply_to(PgPoolOptions::new())
            .connect_lazy_with(options);
        Ok(Self::from_pool_pinging(pool, settings.ping_after_idle()))
    }

    /// Wraps an existing pool (its own settings apply: sqlx's default
    /// acquire timeout is 30 s). No connections are kept for reads (see
    /// [`with_read_connections`](Self::with_read_connections), whose kept
    /// connections are pinged after a second idle, as with the default
    /// [`PoolSettings`]).
    pub fn from_pool(pool: PgPool) -> Self {
        Self::from_pool_pinging(pool, PoolSettings::default().ping_after_idle())
    }

    /// [`from_pool`](Self::from_pool), with kept connections pinged after
    /// `ping_after_idle` idle.
    fn from_pool_pinging(pool: PgPool, ping_after_idle: Option<std::time::Duration>) -> Self {
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
    /// network round trip after the query's own. A kept connection is
    /// detached from the pool, used for one statement and kept again with
    /// no ping; one whose statement fails or is cancelled is closed
    /// instead. When all are in use, a read goes through the pool.
    ///
    /// Kept connections follow the pool's rules when they are taken for a
    /// read: one idle for at least the settings'
    /// [`test_after_idle`](PoolSettings::test_after_idle) is pinged first
    /// (within the acquire timeout), so a connection the server dropped is
    /// replaced instead of failing a request; one kept for longer than
    /// `max_lifetime` or idle longer than `idle_timeout` is closed and
    /// replaced. They do not count against the pool's `max_connections`,
    /// so the store may open up to `count` more than that, and an unused
    /// one stays open until the next read comes or the pool is closed.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::str::FromStr;
    /// use auth_store_sqlx::{PoolSettings, PostgresStore};
    /// use auth_store_sqlx::sqlx::postgres::PgConnectOptions;
    ///
    /// let options = PgConnectOptions::from_str("postgres://app@db.internal/app")?;
    /// let store = PostgresStore::connect_with(options, PoolSettings::default().max_connections(8))
    ///     .await?
    ///     .with_read_connections(2);
    /// # Ok(()) }
    /// ```
    pub fn with_read_connections(mut self, count: usize) -> Self {
        self.reads = std::sync::Arc::new(self.reads.with_limit(count));
        self
    }

    /// The connection pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The embedded migrations, for running them another way.
    pub fn migrator() -> &'static Migrator {
        &MIGRATOR
    }

    /// Creates or upgrades the tables (idempotent; safe to run from several
    /// processes at once, sqlx serialises them with an advisory lock).
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
        let done = sqlx::query("DELETE FROM auth_throttle WHERE resets_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }

    /// Locks the user's row in `auth_user_locks` until `tx` ends, creating
    /// it first if needed.
    async fn lock_user(tx: &mut Transaction<'_, Postgres>, user: UserId) -> Result<(), StoreError> {
        const LOCK: &str = "SELECT 1 FROM auth_user_locks WHERE user_id = $1 FOR UPDATE";
        let locked = sqlx::query(LOCK)
            .bind(user.0)
            .fetch_optional(&mut **tx)
            .await
            .map_err(db)?;
        if locked.is_none() {
            // A concurrent creator makes this wait for its commit, then do
            // nothing; either way the row exists afterwards.
            sqlx::query(
                "INSERT INTO auth_user_locks (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING",
            )
            .bind(user.0)
            .execute(&mut **tx)
            .await
            .map_err(db)?;
            sqlx::query(LOCK)
                .bind(user.0)
                .fetch_one(&mut **tx)
                .await
                .map_err(db)?;
        }
        Ok(())
    }

    async fn try_insert_knox_token(
        &self,
        record: &KnoxTokenRecord,
        limit: TokenLimit,
        now: DateTime<Utc>,
    ) -> Result<KnoxInsert, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        Self::lock_user(&mut tx, record.user_id).await?;
        let mut evicted = 0;
        match limit {
            TokenLimit::Unlimited => {}
            TokenLimit::Refuse(max) => {
                let live: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM auth_knox_tokens \
                     WHERE user_id = $1 AND (expiry IS NULL OR expiry > $2)",
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
                let live: Vec<(DateTime<Utc>, String)> = sqlx::query_as(
                    "SELECT created, digest FROM auth_knox_tokens \
                     WHERE user_id = $1 AND (expiry IS NULL OR expiry > $2) \
                     ORDER BY created, digest",
                )
                .bind(record.user_id.0)
                .bind(now)
                .fetch_all(&mut *tx)
                .await
                .map_err(db)?;
                if let Some((_, (created, digest))) = eviction_cutoff(&live, max) {
                    evicted = sqlx::query(
                        "DELETE FROM auth_knox_tokens \
                         WHERE user_id = $1 AND (expiry IS NULL OR expiry > $2) \
                         AND (created < $3 OR (created = $3 AND digest <= $4))",
                    )
                    .bind(record.user_id.0)
                    .bind(now)
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
        let mut tx = self.pool.begin().await.map_err(db)?;
        Self::lock_user(&mut tx, record.user_id).await?;
        let existing = sqlx::query(
            "SELECT user_id, digest, seed, created FROM auth_static_tokens WHERE user_id = $1",
        )
        .bind(record.user_id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        if let Some(row) = existing {
            tx.commit().await.map_err(db)?;
            return static_from_row(&row).map_err(db);
        }
        sqlx::query(
            "INSERT INTO auth_static_tokens (user_id, digest, seed, created) VALUES ($1, $2, $3, $4)",
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
}

/// The latest instant PostgreSQL's `TIMESTAMPTZ` holds that chrono does too.
fn latest_time() -> DateTime<Utc> {
    DateTime::<Utc>::MAX_UTC
}

// ---------------------------------------------------------------------------
// Users

/// The columns a [`User`] is read from, in [`user_from_row`]'s terms.
const USER_COLUMNS: &str = "id, username, email, first_name, last_name, is_active, is_staff, \
     is_superuser, email_verified, date_joined, last_login, password_hash, profile";

/// [`RevocationState`] as two columns (`$1` the user's id, `$2` the family),
/// alone or beside a user's row; read back by [`revocation_state_from_row`].
const REVOCATION_COLUMNS: &str = "\
    (SELECT valid_after FROM auth_jwt_valid_after WHERE user_id = $1) AS jwt_valid_after, \
    EXISTS (SELECT 1 FROM auth_jwt_revoked_families WHERE family = $2) AS jwt_family_revoked";

fn revocation_state_from_row(row: &PgRow) -> Result<RevocationState, sqlx::Error> {
    Ok(RevocationState {
        tokens_valid_after: row.try_get("jwt_valid_after")?,
        family_revoked: row.try_get("jwt_family_revoked")?,
    })
}

fn user_from_row(row: &PgRow) -> Result<User, sqlx::Error> {
    let Json(profile): Json<Map<String, Value>> = row.try_get("profile")?;
    Ok(User {
        id: UserId(row.try_get("id")?),
        username: row.try_get("username")?,
        email: row.try_get("email")?,
        first_name: row.try_get("first_name")?,
        last_name: row.try_get("last_name")?,
        is_active: row.try_get("is_active")?,
        is_staff: row.try_get("is_staff")?,
        is_superuser: row.try_get("is_superuser")?,
        email_verified: row.try_get("email_verified")?,
        date_joined: row.try_get("date_joined")?,
        last_login: row.try_get("last_login")?,
        password_hash: row.try_get("password_hash")?,
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

impl PostgresStore {
    async fn user_where(&self, condition: &str, value: String) -> Result<Option<User>, StoreError> {
        if !nul_free(&value) {
            return Ok(None);
        }
        let sql = format!("SELECT {USER_COLUMNS} FROM auth_users WHERE {condition} = $1");
        let row = sqlx::query(&sql)
            .bind(value)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.as_ref().map(user_from_row).transpose().map_err(db)
    }
}

#[async_trait]
impl UserStore for PostgresStore {
    async fn insert_user(&self, user: &User) -> Result<(), StoreError> {
        let folded = Folded::of(user);
        sqlx::query(
            "INSERT INTO auth_users (id, username, username_folded, email, email_folded, \
             first_name, first_name_folded, last_name, last_name_folded, is_active, is_staff, \
             is_superuser, email_verified, date_joined, last_login, password_hash, profile) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
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
        let sql = format!("SELECT {USER_COLUMNS} FROM auth_users WHERE id = $1");
        let query = sqlx::query(&sql).bind(id.0);
        let row = self
            .reads
            .fetch_optional(&self.pool, query)
            .await
            .map_err(db)?;
        row.as_ref().map(user_from_row).transpose().map_err(db)
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.user_where("username_folded", fold_case(username))
            .await
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        self.user_where("email_folded", fold_case(email)).await
    }

    async fn update_user(&self, id: UserId, update: &UserUpdate) -> Result<(), StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| update_user_sql(|i| format!("${i}")));
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
        let done = sqlx::query("UPDATE auth_users SET password_hash = $2 WHERE id = $1")
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
            "UPDATE auth_users SET password_hash = $2 WHERE id = $1 AND password_hash = $3",
        )
        .bind(id.0)
        .bind(new)
        .bind(current)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    /// Does not wait for a user row that another transaction is writing:
    /// that write stands, and `last_login` keeps what it leaves. Waiting
    /// would make concurrent logins to one account queue on the row's lock,
    /// one commit (one WAL flush) at a time, each holding a pool
    /// connection, until every other query of the service waited for a
    /// connection too.
    async fn set_last_login(&self, id: UserId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE auth_users SET last_login = $2 WHERE id = \
             (SELECT id FROM auth_users WHERE id = $1 FOR NO KEY UPDATE SKIP LOCKED)",
        )
        .bind(id.0)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        if done.rows_affected() == 0 {
            // Skipped (the row is being written) or no such user.
            let found = sqlx::query("SELECT 1 FROM auth_users WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await
                .map_err(db)?;
            if found.is_none() {
                return Err(StoreError::NotFound);
            }
        }
        Ok(())
    }

    async fn delete_user(&self, id: UserId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM auth_users WHERE id = $1")
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_users(&self, query: &UserQuery) -> Result<Page<User>, StoreError> {
        let limit = clamp_i64(query.limit);
        let offset = clamp_i64(query.offset);
        let (total, rows) = match &query.search {
            None => {
                let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM auth_users")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db)?;
                let sql = format!(
                    "SELECT {USER_COLUMNS} FROM auth_users \
                     ORDER BY date_joined, id LIMIT $1 OFFSET $2"
                );
                let rows = sqlx::query(&sql)
                    .bind(limit)
                    .bind(offset)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                (total, rows)
            }
            Some(search) if !nul_free(search) => (0, Vec::new()),
            Some(search) => {
                const FILTER: &str = "username_folded LIKE $1 ESCAPE '!' \
                     OR email_folded LIKE $1 ESCAPE '!' \
                     OR first_name_folded LIKE $1 ESCAPE '!' \
                     OR last_name_folded LIKE $1 ESCAPE '!'";
                let pattern = contains_pattern(search);
                let sql = format!("SELECT COUNT(*) FROM auth_users WHERE {FILTER}");
                let total: i64 = sqlx::query_scalar(&sql)
                    .bind(&pattern)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db)?;
                let sql = format!(
                    "SELECT {USER_COLUMNS} FROM auth_users WHERE {FILTER} \
                     ORDER BY date_joined, id LIMIT $2 OFFSET $3"
                );
                let rows = sqlx::query(&sql)
                    .bind(&pattern)
                    .bind(limit)
                    .bind(offset)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                (total, rows)
            }
        };
        let items = rows
            .iter()
            .map(user_from_row)
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        Ok(Page {
            items,
            total: count_u64(total),
        })
    }
}

// ---------------------------------------------------------------------------
// Knox tokens

const KNOX_COLUMNS: &str = "token_key, digest, user_id, created, expiry, last_used, name";

fn knox_from_row(row: &PgRow) -> Result<KnoxTokenRecord, sqlx::Error> {
    Ok(KnoxTokenRecord {
        token_key: row.try_get("token_key")?,
        digest: row.try_get("digest")?,
        user_id: UserId(row.try_get("user_id")?),
        created: row.try_get("created")?,
        expiry: row.try_get("expiry")?,
        last_used: row.try_get("last_used")?,
        name: row.try_get("name")?,
    })
}

/// Inserts a Knox token; a taken digest is `Conflict("digest")`.
async fn insert_knox(
    record: &KnoxTokenRecord,
    conn: &mut sqlx::PgConnection,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO auth_knox_tokens (digest, token_key, user_id, created, expiry, last_used, name) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
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
impl KnoxTokenStore for PostgresStore {
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
        if !nul_free(token_key) {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT {KNOX_COLUMNS} FROM auth_knox_tokens WHERE token_key = $1");
        let query = sqlx::query(&sql).bind(token_key);
        let rows = self.reads.fetch_all(&self.pool, query).await.map_err(db)?;
        rows.iter()
            .map(knox_from_row)
            .collect::<Result<_, _>>()
            .map_err(db)
    }

    async fn touch_knox_token(
        &self,
        digest: &str,
        expiry: Option<DateTime<Utc>>,
        last_used: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        if !nul_free(digest) {
            return Ok(false);
        }
        let done = sqlx::query(
            "UPDATE auth_knox_tokens SET expiry = $2, last_used = $3 WHERE digest = $1",
        )
        .bind(digest)
        .bind(expiry)
        .bind(last_used)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_knox_token(&self, digest: &str) -> Result<bool, StoreError> {
        if !nul_free(digest) {
            return Ok(false);
        }
        let done = sqlx::query("DELETE FROM auth_knox_tokens WHERE digest = $1")
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
        if !nul_free(token_key) {
            return Ok(false);
        }
        let done =
            sqlx::query("DELETE FROM auth_knox_tokens WHERE user_id = $1 AND token_key = $2")
                .bind(user.0)
                .bind(token_key)
                .execute(&self.pool)
                .await
                .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_user_knox_tokens(&self, user: UserId) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM auth_knox_tokens WHERE user_id = $1")
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
             WHERE user_id = $1 AND (expiry IS NULL OR expiry > $2) \
             ORDER BY created DESC, digest DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(user.0)
            .bind(now)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter()
            .map(knox_from_row)
            .collect::<Result<_, _>>()
            .map_err(db)
    }

    async fn purge_expired_knox_tokens(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM auth_knox_tokens WHERE expiry <= $1")
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }
}

// ---------------------------------------------------------------------------
// Static tokens

fn static_from_row(row: &PgRow) -> Result<StaticTokenRecord, sqlx::Error> {
    Ok(StaticTokenRecord {
        user_id: UserId(row.try_get("user_id")?),
        digest: row.try_get("digest")?,
        seed: row.try_get("seed")?,
        created: row.try_get("created")?,
    })
}

#[async_trait]
impl StaticTokenStore for PostgresStore {
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
        if !nul_free(digest) {
            return Ok(None);
        }
        let query = sqlx::query(
            "SELECT user_id, digest, seed, created FROM auth_static_tokens WHERE digest = $1",
        )
        .bind(digest);
        let row = self
            .reads
            .fetch_optional(&self.pool, query)
            .await
            .map_err(db)?;
        row.as_ref().map(static_from_row).transpose().map_err(db)
    }

    async fn static_token_for_user(
        &self,
        user: UserId,
    ) -> Result<Option<StaticTokenRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT user_id, digest, seed, created FROM auth_static_tokens WHERE user_id = $1",
        )
        .bind(user.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.as_ref().map(static_from_row).transpose().map_err(db)
    }

    async fn delete_static_token(&self, user: UserId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM auth_static_tokens WHERE user_id = $1")
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
impl JwtRevocationStore for PostgresStore {
    async fn blacklist_jti(&self, entry: &BlacklistEntry) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO auth_jwt_blacklist (jti, user_id, family, expires_at, blacklisted_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (jti) DO NOTHING",
        )
        .bind(&entry.jti)
        .bind(entry.user_id.0)
        .bind(&entry.family)
        .bind(entry.expires_at)
        .bind(entry.blacklisted_at)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn blacklisted_jti(&self, jti: &str) -> Result<Option<BlacklistEntry>, StoreError> {
        if !nul_free(jti) {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT jti, user_id, family, expires_at, blacklisted_at \
             FROM auth_jwt_blacklist WHERE jti = $1",
        )
        .bind(jti)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(|row| {
            Ok(BlacklistEntry {
                jti: row.try_get("jti")?,
                user_id: UserId(row.try_get("user_id")?),
                family: row.try_get("family")?,
                expires_at: row.try_get("expires_at")?,
                blacklisted_at: row.try_get("blacklisted_at")?,
            })
        })
        .transpose()
        .map_err(db)
    }

    async fn revoke_family(
        &self,
        family: &str,
        user: UserId,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO auth_jwt_revoked_families (family, user_id, expires_at) \
             VALUES ($1, $2, $3) ON CONFLICT (family) DO UPDATE SET expires_at = \
             GREATEST(auth_jwt_revoked_families.expires_at, EXCLUDED.expires_at)",
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
            "INSERT INTO auth_jwt_valid_after (user_id, valid_after) VALUES ($1, $2) \
             ON CONFLICT (user_id) DO UPDATE SET valid_after = \
             GREATEST(auth_jwt_valid_after.valid_after, EXCLUDED.valid_after)",
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
        // A family PostgreSQL cannot hold was never revoked.
        let family = family.filter(|family| nul_free(family));
        let sql = format!("SELECT {REVOCATION_COLUMNS}");
        let query = sqlx::query(&sql).bind(user.0).bind(family);
        // A SELECT without FROM always gives one row.
        let row = self.reads.fetch_one(&self.pool, query).await.map_err(db)?;
        revocation_state_from_row(&row).map_err(db)
    }

    async fn revocation_state_and_user(
        &self,
        user: UserId,
        family: Option<&str>,
    ) -> Result<Option<(RevocationState, Option<User>)>, StoreError> {
        let family = family.filter(|family| nul_free(family));
        let sql =
            format!("SELECT {USER_COLUMNS}, {REVOCATION_COLUMNS} FROM auth_users WHERE id = $1");
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
            revocation_state_from_row(&row).map_err(db)?,
            Some(user_from_row(&row).map_err(db)?),
        )))
    }

    async fn purge_expired_revocations(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let jtis = sqlx::query("DELETE FROM auth_jwt_blacklist WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        let families = sqlx::query("DELETE FROM auth_jwt_revoked_families WHERE expires_at <= $1")
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
impl ThrottleStore for PostgresStore {
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
        let (hits, resets_at): (i64, DateTime<Utc>) = sqlx::query_as(
            "INSERT INTO auth_throttle (throttle_key, hits, resets_at) VALUES ($1, 1, $2) \
             ON CONFLICT (throttle_key) DO UPDATE SET \
             hits = CASE WHEN auth_throttle.resets_at > $3 \
                    THEN auth_throttle.hits + 1 ELSE 1 END, \
             resets_at = CASE WHEN auth_throttle.resets_at > $3 \
                    THEN auth_throttle.resets_at ELSE EXCLUDED.resets_at END \
             RETURNING hits, resets_at",
        )
        .bind(key)
        .bind(window_end(now, window, latest_time()))
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        Ok(ThrottleCount {
            count: count_u64(hits),
            resets_at,
        })
    }

    async fn throttle_peek(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ThrottleCount>, StoreError> {
        if !nul_free(key) {
            return Ok(None);
        }
        let row: Option<(i64, DateTime<Utc>)> = sqlx::query_as(
            "SELECT hits, resets_at FROM auth_throttle WHERE throttle_key = $1 AND resets_at > $2",
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
        if !nul_free(key) {
            return Ok(());
        }
        sqlx::query("DELETE FROM auth_throttle WHERE throttle_key = $1")
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
             WHERE throttle_key = $1 AND resets_at = $2 AND resets_at > $3 AND hits > 0",
        )
        .bind(key)
        .bind(resets_at)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Login history

#[async_trait]
impl LoginHistoryStore for PostgresStore {
    async fn record_history(&self, entry: &HistoryEntry) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO auth_login_history (user_id, occurred_at, event, ip, user_agent) \
             VALUES ($1, $2, $3, $4, $5)",
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
            sqlx::query_scalar("SELECT COUNT(*) FROM auth_login_history WHERE user_id = $1")
                .bind(user.0)
                .fetch_one(&self.pool)
                .await
                .map_err(db)?;
        let rows = sqlx::query(
            "SELECT occurred_at, event, ip, user_agent FROM auth_login_history \
             WHERE user_id = $1 ORDER BY occurred_at DESC, id DESC LIMIT $2 OFFSET $3",
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
                at: row.try_get("occurred_at").map_err(db)?,
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
        let done = sqlx::query("DELETE FROM auth_login_history WHERE user_id = $1")
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
    fn invalid_settings_are_refused() {
        let options = PgConnectOptions::new().host("127.0.0.1").port(1);
        let result =
            PostgresStore::connect_lazy_with(options, PoolSettings::default().max_connections(0));
        assert!(matches!(result, Err(SqlxStoreError::Settings(_))));
    }
}
