//! What every store type has, written once: the struct, its `Debug`, the
//! constructors over pool settings, kept read connections, migrations,
//! and the helpers the per-trait files (`users.rs`, `knox.rs`, ...) write
//! their queries with.
//!
//! The shared queries use `?` placeholders, bound in the order they appear:
//! SQLite and MySQL take them as they are, and [`numbered`] writes them as
//! `$1`, `$2`, ... for PostgreSQL. No query text holds a `?` of its own.

#[cfg(feature = "postgres")]
use std::borrow::Cow;

/// `text` with each `?` placeholder numbered, `$1` first, as PostgreSQL
/// wants them.
#[cfg(feature = "postgres")]
pub(crate) fn numbered(text: &str) -> Cow<'_, str> {
    let mut out = String::with_capacity(text.len() + 32);
    for (n, part) in text.split('?').enumerate() {
        if n > 0 {
            out.push('$');
            out.push_str(&n.to_string());
        }
        out.push_str(part);
    }
    Cow::Owned(out)
}

/// A query on `DB` with its arguments.
pub(crate) type Query<'q, DB> = sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>;

/// A query on `DB` read as `R`s, with its arguments.
pub(crate) type QueryAs<'q, DB, R> =
    sqlx::query::QueryAs<'q, DB, R, <DB as sqlx::Database>::Arguments<'q>>;

/// A row type the stores read.
pub(crate) trait Row<DB: sqlx::Database>:
    Send + Unpin + for<'r> sqlx::FromRow<'r, DB::Row>
{
}

impl<DB: sqlx::Database, R: Send + Unpin + for<'r> sqlx::FromRow<'r, DB::Row>> Row<DB> for R {}

/// The text of a shared query (`?` placeholders, `format!` arguments) as
/// `$store`'s database takes it: a `&'static str`, made once per store type.
macro_rules! sql {
    ($store:ty, $($text:tt)+) => {{
        static TEXT: ::std::sync::LazyLock<String> = ::std::sync::LazyLock::new(|| {
            <$store>::sql(&format!($($text)+)).into_owned()
        });
        TEXT.as_str()
    }};
}
pub(crate) use sql;

/// Defines one store type over one database: the struct (with the
/// attributes and docs given), `Debug`, and the constructors and helpers
/// that are the same for every database.
///
/// - `placeholders`: a function from a shared query's text (with `?`
///   placeholders) to the text the database takes.
/// - `kept_ping`: a function from the [`PoolSettings`](crate::PoolSettings)
///   a store was built with to how long a kept read connection may sit idle
///   before it is pinged (`None`: never).
macro_rules! sql_store {
    (
        $(#[$attr:meta])*
        pub struct $store:ident {
            database: $db:ty,
            pool: $pool:ty,
            pool_options: $pool_options:ty,
            connect_options: $connect_options:ty,
            migrations: $migrations:literal,
            placeholders: $placeholders:expr,
            kept_ping: $kept_ping:expr,
            $(connect_url: $url:literal,)?
        }
    ) => {
        $crate::kept::impl_read_queries!($db);

        $(#[$attr])*
        ///
        /// Cheap to clone (the pool is shared). Build it with `connect`,
        /// [`connect_with`](Self::connect_with),
        /// [`connect_lazy_with`](Self::connect_lazy_with) or
        /// [`from_pool`](Self::from_pool), then run
        /// [`migrate`](Self::migrate) once. Operations that wait longer
        /// than the pool's acquire timeout for a connection fail with
        /// `StoreError::Unavailable`; the pool reconnects by itself once
        /// the database is back.
        ///
        /// `Debug` shows the pool's size, never the connection URL, a path
        /// or a record.
        #[derive(Clone)]
        pub struct $store {
            pub(crate) pool: $pool,
            /// Throttle hits through this value, to sweep ended windows
            /// now and then.
            pub(crate) hits: ::std::sync::Arc<::std::sync::atomic::AtomicU64>,
            /// Connections kept out of the pool for the reads that
            /// authenticate a request.
            pub(crate) reads: ::std::sync::Arc<$crate::kept::ReadConnections<$db>>,
        }

        impl ::std::fmt::Debug for $store {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($store))
                    .field("connections", &self.pool.size())
                    .field("idle", &self.pool.num_idle())
                    .field("closed", &self.pool.is_closed())
                    .field("read_connections", &self.reads.limit())
                    .finish()
            }
        }

        $(impl $store {
            #[doc = concat!("Connects to `url` (`", $url, "`) with the default")]
            /// [`PoolSettings`](crate::PoolSettings). Fails if no
            /// connection can be made within the acquire timeout.
            ///
            /// The store keeps
            /// [`DEFAULT_READ_CONNECTIONS`](crate::DEFAULT_READ_CONNECTIONS)
            /// connections for the reads that authenticate a request (see
            /// [`with_read_connections`](Self::with_read_connections)).
            pub async fn connect(url: &str) -> Result<Self, $crate::SqlxStoreError> {
                let options = <$connect_options as ::std::str::FromStr>::from_str(url)?;
                let store = Self::connect_with(options, $crate::PoolSettings::default()).await?;
                Ok(store.with_read_connections($crate::DEFAULT_READ_CONNECTIONS))
            }
        })?

        impl $store {
            /// Connects with explicit connection options and pool settings,
            /// which are validated first. Fails if no connection can be
            /// made within the acquire timeout. No connections are kept
            /// for reads (see
            /// [`with_read_connections`](Self::with_read_connections)).
            pub async fn connect_with(
                options: $connect_options,
                settings: $crate::PoolSettings,
            ) -> Result<Self, $crate::SqlxStoreError> {
                settings.validate()?;
                let pool = Self::pool_options(&settings)
                    .connect_with(options)
                    .await?;
                Ok(Self::from_pool_pinging(pool, $kept_ping(&settings)))
            }

            /// Like [`connect_with`](Self::connect_with) but connects only
            /// when the first operation needs a connection, so building
            /// never fails on a database that is down (operations then
            /// fail with `StoreError::Unavailable` until it is up). Must
            /// be called within a Tokio runtime (it is a configuration
            /// error otherwise).
            pub fn connect_lazy_with(
                options: $connect_options,
                settings: $crate::PoolSettings,
            ) -> Result<Self, $crate::SqlxStoreError> {
                settings.validate()?;
                $crate::common::require_runtime()?;
                let pool = Self::pool_options(&settings).connect_lazy_with(options);
                Ok(Self::from_pool_pinging(pool, $kept_ping(&settings)))
            }

            /// The pool options `settings` make.
            fn pool_options(settings: &$crate::PoolSettings) -> $pool_options {
                let ping_after_idle = settings.ping_after_idle();
                let options = <$pool_options>::new()
                    .max_connections(settings.max_connections)
                    .min_connections(settings.min_connections)
                    .acquire_timeout(settings.acquire_timeout)
                    .idle_timeout(settings.idle_timeout)
                    .max_lifetime(settings.max_lifetime)
                    .test_before_acquire(ping_after_idle.is_some_and(|idle| idle.is_zero()));
                match ping_after_idle {
                    // sqlx's own recipe for pinging only connections idle
                    // for a while; a failed ping closes the connection and
                    // the pool hands out another.
                    Some(window) if !window.is_zero() => options.before_acquire(move |conn, meta| {
                        ::std::boxed::Box::pin(async move {
                            if meta.idle_for >= window {
                                ::sqlx::Connection::ping(conn).await?;
                            }
                            Ok(true)
                        })
                    }),
                    _ => options,
                }
            }

            /// Wraps an existing pool (its own settings apply: sqlx's
            /// default acquire timeout is 30 s). No connections are kept
            /// for reads (see
            /// [`with_read_connections`](Self::with_read_connections), whose
            /// kept connections are pinged as with the default
            /// [`PoolSettings`](crate::PoolSettings)).
            pub fn from_pool(pool: $pool) -> Self {
                Self::from_pool_pinging(pool, $kept_ping(&$crate::PoolSettings::default()))
            }

            /// [`from_pool`](Self::from_pool), with kept connections pinged
            /// after `ping_after_idle` idle.
            fn from_pool_pinging(
                pool: $pool,
                ping_after_idle: Option<::std::time::Duration>,
            ) -> Self {
                Self {
                    pool,
                    hits: ::std::sync::Arc::default(),
                    reads: ::std::sync::Arc::new($crate::kept::ReadConnections::new(
                        0,
                        ping_after_idle,
                    )),
                }
            }

            /// Keeps up to `count` connections out of the pool for the
            /// reads that authenticate a request (`GET /me` and every other
            /// authenticated route): the user by id, the JWT revocation
            /// state (alone or with the user), Knox tokens by key and static
            /// tokens by digest. 0 sends them through the pool. `connect`
            /// sets [`DEFAULT_READ_CONNECTIONS`](crate::DEFAULT_READ_CONNECTIONS)
            /// (on SQLite, for a file); the other constructors set 0.
            ///
            /// Why: sqlx 0.8 pings every connection given back to its pool,
            /// a round trip to the server (PostgreSQL, MySQL) or to the
            /// connection's worker thread (SQLite) after the query's own,
            /// and has no option to skip it. Upstream issue
            /// launchbadge/sqlx#1743 asked for pings only after a connection
            /// sat idle; launchbadge/sqlx#1901 closed it by giving the pool's
            /// callbacks the idle time (the recipe
            /// [`test_after_idle`](crate::PoolSettings::test_after_idle) uses
            /// before an acquire), while the ping on release stayed
            /// (`return_to_pool` in sqlx-core 0.8's `pool/connection.rs`). A
            /// kept connection is detached from the pool, used for one
            /// statement and kept again with no ping; one whose statement
            /// fails or is cancelled is closed instead, not kept in an
            /// unknown state. When all are in use, a read goes through the
            /// pool.
            ///
            /// Kept connections follow the pool's rules when they are taken
            /// for a read: on PostgreSQL and MySQL one idle for at least the
            /// settings' `test_after_idle` is pinged first (within the
            /// acquire timeout; a failed ping closes it and the next is
            /// tried), so that a connection the server dropped
            /// (`wait_timeout`, a restart) is replaced instead of failing a
            /// request (nothing outside the process can close a SQLite
            /// connection, so those are never pinged); one kept for longer
            /// than `max_lifetime` or idle longer than `idle_timeout` is
            /// closed and replaced. They do not count against the pool's
            /// `max_connections`, so the store may open up to `count` more
            /// than that, and an unused one stays open until the next read
            /// comes, until the pool is closed, or until the store and all
            /// its clones are dropped.
            pub fn with_read_connections(mut self, count: usize) -> Self {
                self.reads = ::std::sync::Arc::new(self.reads.with_limit(count));
                self
            }

            /// The connection pool.
            pub fn pool(&self) -> &$pool {
                &self.pool
            }

            /// The embedded migrations, for running them another way.
            /// Applied migrations that this crate does not know are
            /// ignored, so sqlx's `_sqlx_migrations` table may be shared
            /// with the application's own.
            pub fn migrator() -> &'static ::sqlx::migrate::Migrator {
                static MIGRATOR: ::std::sync::LazyLock<::sqlx::migrate::Migrator> =
                    ::std::sync::LazyLock::new(|| {
                        let mut migrator = ::sqlx::migrate!($migrations);
                        migrator.set_ignore_missing(true);
                        migrator
                    });
                &MIGRATOR
            }

            /// Creates or upgrades the tables (idempotent; sqlx serialises
            /// concurrent runs from several processes with an advisory or
            /// named lock on PostgreSQL and MySQL).
            pub async fn migrate(&self) -> Result<(), $crate::SqlxStoreError> {
                Self::migrator().run(&self.pool).await?;
                Ok(())
            }

            /// A shared query's text (`?` placeholders) as this database
            /// takes it.
            pub(crate) fn sql(text: &str) -> ::std::borrow::Cow<'_, str> {
                $placeholders(text)
            }

            /// Runs `query` on the pool for at most one row, as a `T`.
            pub(crate) async fn fetch_optional<'q, R: $crate::store::Row<$db>, T: From<R>>(
                &self,
                query: $crate::store::QueryAs<'q, $db, R>,
            ) -> Result<Option<T>, ::auth_core::error::StoreError> {
                let row = query.fetch_optional(&self.pool).await;
                Ok(row.map_err($crate::error::db)?.map(T::from))
            }

            /// Runs `query` on the pool for all its rows, as `T`s.
            pub(crate) async fn fetch_all<'q, R: $crate::store::Row<$db>, T: From<R>>(
                &self,
                query: $crate::store::QueryAs<'q, $db, R>,
            ) -> Result<Vec<T>, ::auth_core::error::StoreError> {
                let rows = query.fetch_all(&self.pool).await.map_err($crate::error::db)?;
                Ok(rows.into_iter().map(T::from).collect())
            }

            /// Runs `query` on a kept read connection (or through the pool
            /// when none can be had) for at most one row, read as `R`.
            pub(crate) async fn read_optional<'q, R: $crate::store::Row<$db>, T: From<R>>(
                &self,
                query: $crate::store::Query<'q, $db>,
            ) -> Result<Option<T>, ::auth_core::error::StoreError> {
                let row = self.reads.fetch_optional(&self.pool, query).await;
                let row = row.map_err($crate::error::db)?.as_ref().map(R::from_row);
                Ok(row.transpose().map_err($crate::error::db)?.map(T::from))
            }

            /// Runs `query` on a kept read connection (or through the pool
            /// when none can be had) for all its rows, read as `R`s.
            pub(crate) async fn read_all<'q, R: $crate::store::Row<$db>, T: From<R>>(
                &self,
                query: $crate::store::Query<'q, $db>,
            ) -> Result<Vec<T>, ::auth_core::error::StoreError> {
                let rows = self.reads.fetch_all(&self.pool, query).await;
                let rows = rows.map_err($crate::error::db)?;
                let read = rows.iter().map(|row| R::from_row(row).map(T::from));
                read.collect::<Result<_, _>>().map_err($crate::error::db)
            }

            /// Runs a `COUNT(*)` query on the pool.
            pub(crate) async fn count<'q>(
                &self,
                query: ::sqlx::query::QueryScalar<'q, $db, i64, <$db as ::sqlx::Database>::Arguments<'q>>,
            ) -> Result<u64, ::auth_core::error::StoreError> {
                let count = query.fetch_one(&self.pool).await.map_err($crate::error::db)?;
                Ok($crate::common::count_u64(count))
            }

            /// Runs `query` on the pool; how many rows it changed.
            pub(crate) async fn execute<'q>(
                &self,
                query: $crate::store::Query<'q, $db>,
            ) -> Result<u64, ::auth_core::error::StoreError> {
                let done = query.execute(&self.pool).await.map_err($crate::error::db)?;
                Ok(done.rows_affected())
            }
        }
    };
}
pub(crate) use sql_store;

/// Expands `$macro!(Store, Database)` for each store whose feature is on.
macro_rules! for_each_store {
    ($macro:ident) => {
        #[cfg(feature = "sqlite")]
        $macro!($crate::SqliteStore, ::sqlx::Sqlite);
        #[cfg(feature = "postgres")]
        $macro!($crate::PostgresStore, ::sqlx::Postgres);
        #[cfg(feature = "mysql")]
        $macro!($crate::MySqlStore, ::sqlx::MySql);
    };
}
pub(crate) use for_each_store;

#[cfg(all(test, feature = "postgres"))]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        assert_eq!(
            numbered("UPDATE t SET a = ? WHERE b = ? AND c = ?"),
            "UPDATE t SET a = $1 WHERE b = $2 AND c = $3"
        );
        assert_eq!(numbered("SELECT 1"), "SELECT 1");
        assert_eq!(numbered("?"), "$1");
    }
}
